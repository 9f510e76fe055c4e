using ContainerPS.Engine.State;
using ContainerPS.Engine.Storage;
using ContainerPS.Engine.Platform;

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

    private const UnixFileMode Mode0700 = UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute;
    private const UnixFileMode Mode0755 = Mode0700 | UnixFileMode.GroupRead | UnixFileMode.GroupExecute | UnixFileMode.OtherRead | UnixFileMode.OtherExecute;
    private static readonly TimeSpan WaitLimit = TimeSpan.FromMinutes(10);

    private readonly StateStore store;
    private readonly StorageService storage;
    private readonly ExternalTool tool;
    private readonly IEngineLog log;
    private readonly ImageFiles files;

    public ImageService(StateStore store, StorageService storage, ExternalTool tool, IEngineLog log, string root)
    {
        this.store = store;
        this.storage = storage;
        this.tool = tool;
        this.log = log;
        this.files = new ImageFiles(tool);
        ImagesDirectory = Path.Join(root, "images");
        WorkDirectory = Path.Join(ImagesDirectory, "tmp");
    }

    /// <summary>$root/images: the image tarballs.</summary>
    public string ImagesDirectory { get; }

    /// <summary>$root/images/tmp: work directories of imports under way (same filesystem as the tarballs).</summary>
    public string WorkDirectory { get; }

    /// <summary>The stored tarball of an image.</summary>
    public string TarballPath(string fingerprint) => Path.Join(ImagesDirectory, fingerprint + ".tar");

    // ------------------------------------------------------------------ create

    /// <summary>
    /// Imports an image from a file (rootfs tarball .tar/.tar.gz/.tgz/.tar.xz, or an LXD/Incus unified
    /// tarball with metadata.yaml and rootfs/) or a directory (OCI image layout). The same content
    /// imported again without an alias returns the existing image; with an alias it is ImageExists.
    /// </summary>
    public ContainerImage Import(string path, string? alias, string? description = null)
    {
        if (alias is not null)
            Names.Validate(alias, "image alias");
        if (string.IsNullOrEmpty(path) || path.Any(char.IsControl))
            throw new ContainerPSException(Errors.PathNotFound, $"Invalid image path '{Names.Printable(path ?? "")}'.", path);
        var full = Path.GetFullPath(path);
        if (Directory.Exists(full))
        {
            if (!OciLayout.IsLayout(full))
                throw new ContainerPSException(Errors.ImageInvalid,
                    $"The directory {full} is not an OCI image layout (it has no oci-layout and index.json). Import a directory only when it is an OCI layout; pack a rootfs directory with tar first.", path);
            log.Verbose($"Importing the OCI image layout {full}.");
            return Create(alias, Formats.Oci, description, returnExisting: alias is null, work =>
            {
                var rootfs = NewDir(work, "rootfs");
                var props = new OciLayout(full, files, log).Unpack(rootfs);
                return (rootfs, props);
            });
        }
        if (!File.Exists(full))
            throw new ContainerPSException(Errors.PathNotFound, $"Cannot import '{path}': no such file or directory.", path);

        string format = Formats.Rootfs;
        var image = Create(alias, Formats.Rootfs, description, returnExisting: alias is null, work =>
        {
            var content = NewDir(work, "content");
            log.Verbose($"Extracting {full}.");
            try { files.Extract(full, content, activity: $"Importing {Path.GetFileName(full)}"); }
            catch (ContainerPSException e) when (e.Code == Errors.ToolFailed)
            {
                throw new ContainerPSException(Errors.ImageInvalid,
                    $"{full} is not a readable tar archive (plain, gzip, xz or bzip2): {ImageFiles.ToolOutput(e)}", path, e);
            }
            var metadata = Path.Join(content, "metadata.yaml");
            var lxdRootfs = Path.Join(content, "rootfs");
            if (File.Exists(metadata) && !HostPath.IsSymlink(metadata) && Directory.Exists(lxdRootfs) && !HostPath.IsSymlink(lxdRootfs))
            {
                format = Formats.Lxd;
                log.Verbose("The tarball is an LXD/Incus unified image (metadata.yaml and rootfs/).");
                LxdMetadata meta;
                try { meta = LxdMetadata.Parse(File.ReadAllText(metadata)); }
                catch (FormatException e)
                {
                    throw new ContainerPSException(Errors.ImageInvalid, $"The metadata.yaml of {full} cannot be read: {e.Message}.", path);
                }
                var props = new SortedDictionary<string, string>(meta.Properties, StringComparer.Ordinal);
                if (!props.ContainsKey("architecture") && meta.TopLevel.TryGetValue("architecture", out var arch))
                    props["architecture"] = arch;
                return (lxdRootfs, props);
            }
            if (File.Exists(metadata) && Directory.EnumerateFileSystemEntries(content).All(e => Path.GetFileName(e) is "metadata.yaml" or "templates"))
                throw new ContainerPSException(Errors.ImageInvalid,
                    $"{full} holds only the metadata of an LXD split image (metadata.yaml without rootfs/). Split images (a metadata tarball plus a squashfs rootfs) are not supported; import a unified image (metadata.yaml and rootfs/ in one tarball).", path);
            if (!Directory.EnumerateFileSystemEntries(content).Any())
                throw new ContainerPSException(Errors.ImageInvalid, $"{full} is an empty archive: there is no rootfs in it.", path);
            log.Verbose("The tarball is a rootfs.");
            return (content, RootfsProperties(content));
        }, formatOf: () => format);
        return image;
    }

    /// <summary>Builds a Debian image with debootstrap --variant=minbase (minutes). "busybox" builds the built-in image instead.</summary>
    public ContainerImage Build(string distribution, string? alias, string? mirror = null)
    {
        if (distribution == BuiltinAlias && mirror is null)
            return BuildBuiltin(alias ?? BuiltinAlias);
        Debootstrap.ValidateDistribution(distribution);
        if (alias is not null)
            Names.Validate(alias, "image alias");
        mirror = mirror is null
            ? Debootstrap.DefaultMirror() ?? throw new ContainerPSException(Errors.MirrorNotFound,
                "No Debian mirror was found in /etc/apt/sources.list or /etc/apt/sources.list.d; give one with -Mirror (for example http://deb.debian.org/debian).")
            : Debootstrap.ValidateMirror(mirror);
        return Create(alias, Formats.Debootstrap, null, returnExisting: false, work =>
        {
            var rootfs = NewDir(work, "rootfs");
            return (rootfs, Debootstrap.Build(distribution, rootfs, mirror, tool, log));
        });
    }

    private ContainerImage BuildBuiltin(string alias)
    {
        Names.Validate(alias, "image alias");
        if (store.ImageByAlias(alias) is { Format: Formats.Builtin, State: RowState.Ready } built)
            return ToImage(built);
        log.Verbose($"Building the built-in busybox image from {BusyboxRootfs.BusyboxPath}.");
        return Create(alias, Formats.Builtin, null, returnExisting: true, work =>
        {
            var rootfs = NewDir(work, "rootfs");
            return (rootfs, BusyboxRootfs.Build(rootfs, tool));
        }, deterministic: true);
    }

    /// <summary>Properties of a plain rootfs: os and release from etc/os-release, architecture from its binaries.</summary>
    private static SortedDictionary<string, string> RootfsProperties(string rootfs)
    {
        var props = new SortedDictionary<string, string>(StringComparer.Ordinal);
        var osRelease = ImageFiles.ResolveInside(rootfs, "etc/os-release") ?? ImageFiles.ResolveInside(rootfs, "usr/lib/os-release");
        if (osRelease is not null && File.Exists(osRelease) && new FileInfo(osRelease).Length < 64 * 1024)
        {
            var fields = new Dictionary<string, string>(StringComparer.Ordinal);
            foreach (var line in File.ReadLines(osRelease))
            {
                var eq = line.IndexOf('=');
                if (eq > 0)
                    fields[line[..eq].Trim()] = line[(eq + 1)..].Trim().Trim('"', '\'');
            }
            if (fields.TryGetValue("ID", out var id) && id.Length > 0)
                props["os"] = id;
            var release = fields.GetValueOrDefault("VERSION_CODENAME");
            if (string.IsNullOrEmpty(release))
                release = fields.GetValueOrDefault("VERSION_ID");
            if (!string.IsNullOrEmpty(release))
                props["release"] = release;
            if (fields.TryGetValue("PRETTY_NAME", out var pretty) && pretty.Length > 0)
                props["description"] = pretty;
        }
        if (ElfInfo.ArchitectureOf(rootfs) is { } arch)
            props["architecture"] = arch;
        return props;
    }

    private static string NewDir(string parent, string name)
    {
        var path = Path.Join(parent, name);
        Directory.CreateDirectory(path);
        File.SetUnixFileMode(path, Mode0755);
        return path;
    }

    /// <summary>
    /// The common steps of every new image. <paramref name="produce"/> fills the work directory and
    /// returns the rootfs in it and the image's properties; the rest (tarball, fingerprint, row,
    /// rollback) is here.
    /// </summary>
    private ContainerImage Create(string? alias, string format, string? description, bool returnExisting,
        Func<string, (string Rootfs, SortedDictionary<string, string> Properties)> produce,
        bool deterministic = false, Func<string>? formatOf = null)
    {
        EnsureDirectories();
        var workName = Guid.NewGuid().ToString("N");
        var work = Path.Join(WorkDirectory, workName);
        var id = store.Write(() => store.InsertImage(alias, format, description ?? "", workName));
        string? placed = null;
        ImageRow? existing;
        string fingerprint;
        try
        {
            Directory.CreateDirectory(work, Mode0700);
            // What an archive holds is unpacked on a nodev,nosuid mount of its own (the tarball is
            // written beside it, on the images' filesystem, and moved into place). debootstrap, our
            // own builder, needs its /dev nodes usable in its chroot.
            var unpack = NewDir(work, "unpack");
            if (format != Formats.Debootstrap)
                files.MountNoDevices(unpack);
            var (rootfs, props) = produce(unpack);
            if (files.RemoveDeviceNodes(rootfs) is { Count: > 0 } nodes)
            {
                var text = $"skipped {nodes.Count} device node(s) of the image ({ImageFiles.NameList(nodes)}): device nodes from images are never created on the host; a container gets its /dev from the runtime.";
                if (format == Formats.Debootstrap)
                    log.Verbose("debootstrap " + text);
                else
                    log.Warning("Image import " + text);
            }
            FaultPoints.Hit("image.create.after-rootfs");
            var finalFormat = formatOf?.Invoke() ?? format;
            var finalDescription = description ?? (props.Remove("description", out var d) ? d : "");
            props.Remove("description");

            var tarball = Path.Join(work, "image.tar");
            log.Verbose("Writing the image tarball.");
            log.Progress($"Image {alias ?? format}", "writing the image tarball and its fingerprint", -2);
            files.Create(rootfs, tarball, deterministic);
            fingerprint = ImageFiles.Sha256(tarball);
            var size = new FileInfo(tarball).Length;
            log.Progress($"Image {alias ?? format}", "done", -1);
            log.Verbose($"Image fingerprint {fingerprint} ({ByteSize.Format(size)}).");

            existing = store.Write(() =>
            {
                var other = store.ImageByFingerprint(fingerprint);
                if (other is null)
                    store.CompleteImage(id, fingerprint, finalFormat, props, size, finalDescription);
                return other;
            });
            if (existing is null)
            {
                placed = TarballPath(fingerprint);
                File.Move(tarball, placed, overwrite: true);
                FaultPoints.Hit("image.create.after-tarball");
                files.RemoveTree(work);
                store.Write(() => store.Release("images", id));
            }
        }
        catch (Exception e) when (e is not OutOfMemoryException)
        {
            Discard(id, work, placed);
            if (e is IOException or UnauthorizedAccessException)
                throw new ContainerPSException(Errors.StorageIOError, e.Message, alias, e);
            throw;
        }
        if (existing is null)
            return Get(fingerprint);

        // The same content is already an image: drop this copy.
        Discard(id, work, null);
        if (!returnExisting)
            throw new ContainerPSException(Errors.ImageExists,
                $"This image is already imported as {existing.Fingerprint}{(existing.Alias is null ? "" : $" (alias '{existing.Alias}')")}.", existing.Fingerprint);
        log.Verbose($"The image is already there as {existing.Fingerprint[..12]}{(existing.Alias is null ? "" : $" ({existing.Alias})")}.");
        return existing.State == RowState.Ready ? ToImage(existing) : WaitReady(existing.Fingerprint);
    }

    /// <summary>Undoes a create: work directory, tarball (when placed), row. A failure leaves the row for the repair.</summary>
    private void Discard(long id, string work, string? tarball)
    {
        try
        {
            files.RemoveTree(work);
            if (tarball is not null)
                File.Delete(tarball);
            store.Write(() => store.DeleteImageRow(id));
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or ContainerPSException)
        {
            log.Warning($"Could not clean up after the failed image import: {e.Message}. It is repaired when this process has exited.");
        }
    }

    private void EnsureDirectories()
    {
        foreach (var dir in new[] { ImagesDirectory, WorkDirectory })
            if (!Directory.Exists(dir))
                Directory.CreateDirectory(dir, Mode0700);
    }

    // ------------------------------------------------------------------ read

    public IReadOnlyList<ContainerImage> List()
    {
        var refs = store.ContainerImageReferences();
        return store.Images().Where(r => r.State == RowState.Ready).Select(r => ToImage(r, refs)).ToList();
    }

    /// <summary>
    /// The image an alias or fingerprint names: an alias (exact), a full fingerprint, or a unique prefix
    /// of at least 12 hex digits. "busybox", when no image has that alias, builds the built-in image.
    /// </summary>
    public ContainerImage Resolve(string aliasOrFingerprint)
    {
        var row = FindRow(aliasOrFingerprint);
        if (row is null && aliasOrFingerprint == BuiltinAlias)
        {
            try { return BuildBuiltin(BuiltinAlias); }
            catch (ContainerPSException e) when (e.Code == Errors.ImageExists)
            {
                // Another process is building it right now: wait for it.
                return WaitReady(null, BuiltinAlias);
            }
        }
        if (row is null)
            throw NotFound(aliasOrFingerprint);
        if (row.State != RowState.Ready)
        {
            if (aliasOrFingerprint == BuiltinAlias && row.State == RowState.Creating)
                return WaitReady(null, BuiltinAlias);
            throw ContainerPSException.Busy($"Image '{aliasOrFingerprint}'", Errors.ImageBusy);
        }
        return ToImage(row);
    }

    private ContainerImage Get(string fingerprint) =>
        ToImage(store.ImageByFingerprint(fingerprint) ?? throw NotFound(fingerprint));

    /// <summary>The row (any state) an alias, fingerprint or unique 12+ digit prefix names, or null.</summary>
    private ImageRow? FindRow(string aliasOrFingerprint)
    {
        if (string.IsNullOrEmpty(aliasOrFingerprint))
            return null;
        if (store.ImageByAlias(aliasOrFingerprint) is { } byAlias)
            return byAlias;
        var hex = aliasOrFingerprint.ToLowerInvariant();
        if (hex.Length < MinPrefix || hex.Length > 64 || !hex.All(char.IsAsciiHexDigit))
            return null;
        var matches = store.ImagesByFingerprintPrefix(hex);
        if (matches.Count > 1)
            throw new ContainerPSException(Errors.ImageAmbiguous,
                $"The fingerprint prefix '{aliasOrFingerprint}' matches {matches.Count} images ({string.Join(", ", matches.Select(m => m.Fingerprint[..16]))}); give more digits.", aliasOrFingerprint);
        return matches.SingleOrDefault();
    }

    private static ContainerPSException NotFound(string what)
    {
        var hint = what.Length < 12 && what.Length > 0 && what.All(c => char.IsAsciiHexDigit(c))
            ? " A fingerprint prefix needs at least 12 hex digits."
            : "";
        return new ContainerPSException(Errors.ImageNotFound, $"Image '{Names.Printable(what)}' not found.{hint}", what);
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
                throw NotFound(fingerprint ?? alias!);
            }
            if (row.State == RowState.Ready)
                return ToImage(row);
            if (row.Owner is { IsAlive: false })
                RepairInterrupted();
            else if (DateTime.UtcNow > deadline)
                throw ContainerPSException.Busy($"Image '{fingerprint ?? alias}'", Errors.ImageBusy);
            else
                Thread.Sleep(200);
        }
    }

    private ContainerImage ToImage(ImageRow r) => ToImage(r, store.ContainerImageReferences());

    private static ContainerImage ToImage(ImageRow r, List<(string Name, string Image)> refs) => new()
    {
        Fingerprint = r.Fingerprint,
        Alias = r.Alias,
        Format = r.Format,
        Description = r.Description,
        Properties = new SortedDictionary<string, string>(r.Properties, StringComparer.Ordinal),
        Size = r.Size,
        CreatedAt = r.CreatedAt,
        UsedBy = refs.Where(c => Refers(c.Image, r)).Select(c => c.Name).ToArray(),
    };

    /// <summary>Whether a container's image reference (alias, fingerprint or 12+ digit prefix, as given at creation) names this image.</summary>
    private static bool Refers(string reference, ImageRow r) =>
        reference == r.Fingerprint || IsNamedBy(r.Alias, r.HasFingerprint ? r.Fingerprint : "", reference, MinPrefix);

    /// <summary>The fewest fingerprint digits that name an image for a command that uses or changes it (a listing takes any).</summary>
    public const int MinPrefix = 12;

    /// <summary>
    /// Whether <paramref name="name"/> names an image: its alias, or its fingerprint or a prefix of it
    /// (hex digits, any case) of at least <paramref name="minPrefix"/> digits. The one rule for
    /// Get-ContainerImage's filter, the images a command acts on and the containers an image is used by.
    /// </summary>
    public static bool IsNamedBy(string? alias, string fingerprint, string name, int minPrefix = 1) =>
        name.Length > 0 && (name == alias
            || (name.Length >= minPrefix && fingerprint.Length > 0 && name.All(char.IsAsciiHexDigit)
                && fingerprint.StartsWith(name.ToLowerInvariant(), StringComparison.Ordinal)));

    // ------------------------------------------------------------------ remove

    /// <summary>
    /// Removes an image: its image volumes in every pool, its tarball and its row. Containers created
    /// from it are copies and keep working (as in LXD).
    /// </summary>
    public void Remove(string aliasOrFingerprint)
    {
        var row = FindRow(aliasOrFingerprint) ?? throw NotFound(aliasOrFingerprint);
        store.Write(() =>
        {
            if (!store.Claim("images", row.Id, RowState.Deleting))
                throw ContainerPSException.Busy($"Image '{aliasOrFingerprint}'", Errors.ImageBusy);
        });
        try
        {
            RemoveDisk(row.Fingerprint);
        }
        catch
        {
            store.Write(() => store.Release("images", row.Id));
            throw;
        }
        FaultPoints.Hit("image.delete.after-disk");
        store.Write(() => store.DeleteImageRow(row.Id));
        log.Verbose($"Removed image {row.Fingerprint[..12]}{(row.Alias is null ? "" : $" ({row.Alias})")}.");
    }

    private void RemoveDisk(string fingerprint)
    {
        foreach (var pool in store.Pools())
        {
            if (store.Volume(pool.Id, VolumeType.Image, fingerprint) is null)
                continue;
            log.Verbose($"Removing the image volume of {fingerprint[..12]} from pool '{pool.Name}'.");
            storage.RemoveVolume(pool.Name, VolumeType.Image, fingerprint, anyType: true);
        }
        var tarball = TarballPath(fingerprint);
        if (File.Exists(tarball))
            File.Delete(tarball);
    }

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
            var row = store.ImageByFingerprint(fingerprint) ?? throw NotFound(fingerprint);
            if (row.State != RowState.Ready)
                throw ContainerPSException.Busy($"Image '{image}'", Errors.ImageBusy);
            var poolRow = store.Pool(pool) ?? throw ContainerPSException.PoolNotFound(pool);
            var volume = store.Volume(poolRow.Id, VolumeType.Image, fingerprint);
            if (volume is null)
            {
                var tarball = TarballPath(fingerprint);
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

    /// <summary>
    /// Rolls back imports and finishes removals whose process died, and removes work directories
    /// nobody owns. Called when a host is opened (after the storage repair); cheap when nothing is pending.
    /// </summary>
    public IReadOnlyList<string> RepairInterrupted()
    {
        var done = new List<string>();
        var rows = store.AnyUnfinished("images") ? store.Images() : new();
        foreach (var r in rows.Where(r => r.State != RowState.Ready && r.Owner is { IsAlive: false }))
        {
            if (!store.Write(() => store.TakeOver("images", r.Id, r.Owner!.Value)))
                continue;
            var what = r.HasFingerprint ? $"image {r.Fingerprint[..12]}" : "an image";
            if (r.Alias is not null)
                what += $" ('{r.Alias}')";
            try
            {
                if (r.State == RowState.Creating)
                {
                    if (r.OpArg is { Length: > 0 } work && !work.Contains('/') && work != "." && work != "..")
                        files.RemoveTree(Path.Join(WorkDirectory, work));
                    if (r.HasFingerprint && File.Exists(TarballPath(r.Fingerprint)))
                        File.Delete(TarballPath(r.Fingerprint));
                    store.Write(() => store.DeleteImageRow(r.Id));
                    done.Add($"rolled back the unfinished import of {what}");
                }
                else if (r.State == RowState.Deleting)
                {
                    RemoveDisk(r.Fingerprint);
                    store.Write(() => store.DeleteImageRow(r.Id));
                    done.Add($"finished the unfinished removal of {what}");
                }
                else
                {
                    store.Write(() => store.Release("images", r.Id));
                    done.Add($"released {what} from an unknown operation '{r.State}'");
                }
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException or ContainerPSException)
            {
                log.Warning($"Could not repair the interrupted operation on {what}: {e.Message}. A later command will try again.");
            }
        }
        SweepWorkDirectory();
        foreach (var line in done)
            log.Warning("Repaired an interrupted operation: " + line + ".");
        return done;
    }

    /// <summary>Removes work directories that no image row names (left by a crash at a point no row covers).</summary>
    private void SweepWorkDirectory()
    {
        if (!Directory.Exists(WorkDirectory))
            return;
        var entries = Directory.GetFileSystemEntries(WorkDirectory);
        if (entries.Length == 0)
            return;
        var owned = store.Images().Select(r => r.OpArg).Where(a => a is not null).ToHashSet(StringComparer.Ordinal);
        foreach (var entry in entries)
        {
            if (owned.Contains(Path.GetFileName(entry)))
                continue;
            try { files.RemoveTree(entry); }
            catch (ContainerPSException e) { log.Verbose($"Could not remove the stale image work directory {entry}: {e.Message}"); }
        }
    }
}
