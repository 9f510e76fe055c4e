using ContainerPS.Engine.Storage;

namespace ContainerPS.Engine.Images;

/// <summary>
/// Images: a normalised rootfs tarball $root/images/FINGERPRINT.tar (FINGERPRINT = its SHA-256)
/// plus a row in the images table; unpacked on first use in a pool into the image volume
/// image/FINGERPRINT of that pool, which containers are cloned from.
/// <para>
/// Crash safety: an import inserts its row first (state Creating, owned by this process, a
/// placeholder fingerprint, op_arg = its work directory under $root/images/tmp), does the disk work,
/// records the fingerprint, moves the tarball into place, removes its work directory and only then
/// marks the row ready. <see cref="RepairInterrupted"/> rolls back imports and finishes removals
/// whose process died. Any failure leaves nothing: no row, no tarball, no work directory.
/// </para>
/// <para>
/// The entry point callers use. Here: resolving a name (building the built-in image on first use,
/// waiting for another process's create) and the image volumes in pools. The rest is done by
/// <see cref="ImageImporter"/> (new images), <see cref="ImageCatalogue"/> (the records, lookup and
/// naming rules), <see cref="ImageRemoval"/> (removal and repair) and <see cref="ImagePaths"/>
/// (where the files live).
/// </para>
/// </summary>
public sealed class ImageService
{
    /// <summary>The alias of the built-in image, built from the host's busybox on first use.</summary>
    public const string BuiltinAlias = "busybox";

    public static class Formats
    {
        public const string Builtin = "builtin";
        public const string Rootfs = "rootfs";
        public const string Lxd = "lxd";
        public const string Oci = "oci";
        public const string Debootstrap = "debootstrap";
    }

    private static readonly TimeSpan WaitLimit = TimeSpan.FromMinutes(10);

    private readonly StateStore store;
    private readonly StorageService storage;
    private readonly IEngineLog log;
    private readonly ImageFiles files;
    private readonly ImagePaths paths;
    private readonly ImageCatalogue catalogue;
    private readonly ImageImporter importer;
    private readonly ImageRemoval removal;

    public ImageService(StateStore store, StorageService storage, ExternalTool tool, IEngineLog log, string root)
    {
        this.store = store;
        this.storage = storage;
        this.log = log;
        this.files = new ImageFiles(tool);
        this.paths = new ImagePaths(root);
        this.catalogue = new ImageCatalogue(store);
        this.importer = new ImageImporter(store, tool, log, files, paths, catalogue, fingerprint => WaitReady(fingerprint));
        this.removal = new ImageRemoval(store, storage, log, files, paths, catalogue);
    }

    /// <inheritdoc cref="ImagePaths.ImagesDirectory"/>
    public string ImagesDirectory => paths.ImagesDirectory;

    /// <inheritdoc cref="ImagePaths.WorkDirectory"/>
    public string WorkDirectory => paths.WorkDirectory;

    /// <inheritdoc cref="ImagePaths.TarballPath"/>
    public string TarballPath(string fingerprint) => paths.TarballPath(fingerprint);

    // ------------------------------------------------------------------ create

    /// <inheritdoc cref="ImageImporter.Import"/>
    public ContainerImage Import(string path, string? alias, string? description = null) => importer.Import(path, alias, description);

    /// <inheritdoc cref="ImageImporter.Build"/>
    public ContainerImage Build(string distribution, string? alias, string? mirror = null) => importer.Build(distribution, alias, mirror);

    // ------------------------------------------------------------------ read

    /// <inheritdoc cref="ImageCatalogue.List"/>
    public IReadOnlyList<ContainerImage> List() => catalogue.List();

    /// <summary>
    /// The image an alias or fingerprint names: an alias (exact), a full fingerprint, or a unique prefix
    /// of at least 12 hex digits. "busybox", when no image has that alias, builds the built-in image.
    /// </summary>
    public ContainerImage Resolve(string aliasOrFingerprint)
    {
        var row = catalogue.FindRow(aliasOrFingerprint);
        if (row is null && aliasOrFingerprint == BuiltinAlias)
        {
            try { return importer.BuildBuiltin(BuiltinAlias); }
            catch (ContainerPSException e) when (e.Code == Errors.ImageExists)
            {
                // Another process is building it right now: wait for it.
                return WaitReady(null, BuiltinAlias);
            }
        }
        if (row is null)
            throw ImageCatalogue.NotFound(aliasOrFingerprint);
        if (row.State != RowState.Ready)
        {
            if (aliasOrFingerprint == BuiltinAlias && row.State == RowState.Creating)
                return WaitReady(null, BuiltinAlias);
            throw ContainerPSException.Busy($"Image '{aliasOrFingerprint}'", Errors.ImageBusy);
        }
        return catalogue.ToImage(row);
    }

    /// <summary>Waits until another process's create of the image (by fingerprint or alias) is ready.</summary>
    private ContainerImage WaitReady(string? fingerprint, string? alias = null)
    {
        var deadline = DateTime.UtcNow + WaitLimit;
        while (true)
        {
            var row = fingerprint is not null ? store.ImageByFingerprint(fingerprint) : store.ImageByAlias(alias!);
            if (row is null)
            {
                if (alias == BuiltinAlias)
                    return Resolve(BuiltinAlias); // the other build failed or was rolled back: build it here
                throw ImageCatalogue.NotFound(fingerprint ?? alias!);
            }
            if (row.State == RowState.Ready)
                return catalogue.ToImage(row);
            if (row.Owner is { IsAlive: false })
                RepairInterrupted();
            else if (DateTime.UtcNow > deadline)
                throw ContainerPSException.Busy($"Image '{fingerprint ?? alias}'", Errors.ImageBusy);
            else
                Thread.Sleep(200);
        }
    }

    /// <inheritdoc cref="ImageCatalogue.MinPrefix"/>
    public const int MinPrefix = ImageCatalogue.MinPrefix;

    /// <inheritdoc cref="ImageCatalogue.IsNamedBy"/>
    public static bool IsNamedBy(string? alias, string fingerprint, string name, int minPrefix = 1) =>
        ImageCatalogue.IsNamedBy(alias, fingerprint, name, minPrefix);

    // ------------------------------------------------------------------ remove

    /// <inheritdoc cref="ImageRemoval.Remove"/>
    public void Remove(string aliasOrFingerprint) => removal.Remove(aliasOrFingerprint);

    // ------------------------------------------------------------------ volumes

    /// <summary>
    /// Makes sure the image is unpacked in <paramref name="pool"/> as the image volume named by its
    /// fingerprint (done once per pool; a concurrent unpack by another process is waited for).
    /// Returns the volume name.
    /// </summary>
    public string EnsureVolume(ContainerImage image, string pool)
    {
        var fingerprint = image.Fingerprint;
        var deadline = DateTime.UtcNow + WaitLimit;
        while (true)
        {
            var row = store.ImageByFingerprint(fingerprint) ?? throw ImageCatalogue.NotFound(fingerprint);
            if (row.State != RowState.Ready)
                throw ContainerPSException.Busy($"Image '{image}'", Errors.ImageBusy);
            var poolRow = store.Pool(pool) ?? throw ContainerPSException.PoolNotFound(pool);
            var volume = store.Volume(poolRow.Id, VolumeType.Image, fingerprint);
            if (volume is null)
            {
                var tarball = paths.TarballPath(fingerprint);
                if (!File.Exists(tarball))
                    throw new ContainerPSException(Errors.ImageInvalid,
                        $"The tarball of image {fingerprint[..12]} is missing ({tarball}); remove the image and import it again.", fingerprint);
                // Refused up front when it could not fit even unpacked in full: a sparse file kept sparse
                // would fit, but any copy that is not sparse-aware would fill the pool.
                var apparent = files.ApparentSize(tarball);
                if (storage.FreeBytes(pool, VolumeType.Image) is long free && apparent > free)
                    throw new ContainerPSException(Errors.PoolSpaceInsufficient,
                        $"Image {fingerprint[..12]} holds {ByteSize.Format(apparent)} of files (apparent size, sparse files in full) and pool '{pool}' has {ByteSize.Format(free)} free; nothing was created.", pool);
                log.Verbose($"Unpacking image {fingerprint[..12]} into pool '{pool}'.");
                try
                {
                    storage.CreateInternalVolume(pool, VolumeType.Image, fingerprint, null, dir => files.Extract(tarball, dir));
                    return fingerprint;
                }
                catch (ContainerPSException e) when (e.Code == Errors.VolumeExists && store.Volume(poolRow.Id, VolumeType.Image, fingerprint) is not null)
                {
                    continue; // another process created it at the same moment: wait for it below
                }
            }
            if (volume?.State == RowState.Ready)
                return fingerprint;
            if (volume?.Owner is { IsAlive: false })
                storage.RepairInterrupted();
            else if (DateTime.UtcNow > deadline)
                throw ContainerPSException.Busy($"Storage volume '{pool}/image/{fingerprint}'", Errors.VolumeBusy);
            else
                Thread.Sleep(200);
        }
    }

    // ------------------------------------------------------------------ repair

    /// <inheritdoc cref="ImageRemoval.RepairInterrupted"/>
    public IReadOnlyList<string> RepairInterrupted() => removal.RepairInterrupted();
}
