using System.Text.RegularExpressions;
using static ContainerPS.Engine.Storage.CephCluster;
using static ContainerPS.Engine.Storage.BlockVolumes;
using static ContainerPS.Engine.Storage.CephNames;

namespace ContainerPS.Engine.Storage;

/// <summary>
/// The ceph driver, as Incus's: a pool is an OSD pool (ceph.osd.pool_name, made with
/// ceph.osd.pg_num placement groups, or an existing empty one given as -Source); a volume is an RBD
/// image (custom_NAME, container_NAME, image_FINGERPRINT) holding an ext4 or xfs filesystem
/// (block.filesystem); container snapshots are RBD snapshots (container_C@snapshot_S); copies are
/// clones of a protected snapshot (ceph.rbd.clone_copy, the default) or full copies. An image that
/// clones still depend on is renamed zombie_* and removed with its last clone.
/// A volume is reached as /dev/rbdN (`rbd map`, kernel rbd, as LXD does) or, where the kernel has
/// no rbd module or ceph.rbd.map=fuse, as rbd-fuse (one image, never the whole OSD pool) + a loop
/// device; then a mount at the volume's path, made when the volume is first needed and torn down
/// (umount, then rbd unmap, or losetup -d and umount of the fuse) before a rollback, rename or removal.
/// The cluster is found as the ceph tools find it: $CEPH_CONF, else /etc/ceph/CLUSTER.conf.
/// This class is the driver's steps; it composes <see cref="CephCluster"/> (the tools and
/// connections), <see cref="CephOsdPool"/> (what the OSD pool holds) and <see cref="CephMapping"/>
/// (rbd-fuse + loop + mount), with the names in <see cref="CephNames"/>.
/// </summary>
public sealed class CephDriver : IStorageDriver, IDisposable
{
    public const string ClusterKey = "ceph.cluster_name";
    public const string UserKey = "ceph.user.name";
    public const string OsdPoolKey = "ceph.osd.pool_name";
    public const string PgNumKey = "ceph.osd.pg_num";
    public const string CloneCopyKey = "ceph.rbd.clone_copy";
    public const string FeaturesKey = "ceph.rbd.features";
    public const string SharedKey = "ceph.osd.shared";
    public const string RbdMapKey = "ceph.rbd.map";

    private static readonly Regex OsdPoolName = new(@"^[A-Za-z0-9][A-Za-z0-9_.-]{0,99}\z", RegexOptions.CultureInvariant);
    private static readonly Regex CephName = new(@"^[A-Za-z0-9][A-Za-z0-9_.-]{0,62}\z", RegexOptions.CultureInvariant);
    private static readonly string[] KnownFeatures = { "layering", "striping", "exclusive-lock", "object-map", "fast-diff", "deep-flatten", "journaling", "data-pool" };

    private readonly ExternalTool tool;
    private readonly CephCluster cluster;
    private readonly CephOsdPool osdPool;
    private readonly CephMapping mapping;
    private readonly CephOwnership ownership;
    private readonly CephKrbd krbd;

    public CephDriver(ExternalTool tool)
    {
        this.tool = tool;
        cluster = new CephCluster(tool);
        ownership = new CephOwnership(cluster);
        osdPool = new CephOsdPool(cluster, ownership);
        krbd = new CephKrbd(cluster, tool);
        mapping = new CephMapping(cluster, tool, ownership, krbd);
    }

    /// <summary>Closes the driver's librbd connections.</summary>
    public void Dispose() => cluster.Dispose();

    public string Name => "ceph";

    public ConfigSchema Schema { get; } = new("ceph",
        poolKeys: new[]
        {
            new ConfigKey("source", ConfigValues.Any, "An existing, empty OSD pool to use (or one to create under that name).", SetOnlyAtCreation: true),
            new ConfigKey(ClusterKey, Plain("cluster name"), "The Ceph cluster (its config is $CEPH_CONF, else /etc/ceph/NAME.conf; default ceph).", SetOnlyAtCreation: true),
            new ConfigKey(UserKey, Plain("user name"), "The Ceph user the tools connect as (client.NAME; default admin).", SetOnlyAtCreation: true),
            new ConfigKey(OsdPoolKey, v => OsdPoolName.IsMatch(v) ? null : $"'{v}' is not an OSD pool name", "The OSD pool holding the pool's RBD images (default: the pool's name).", SetOnlyAtCreation: true),
            new ConfigKey(SharedKey, ConfigValues.Bool, "Join an OSD pool that a ContainerPS pool on another host uses (true): both see its images, each maps and removes only those it owns, and Move-Container hands containers over without copying.", SetOnlyAtCreation: true),
            new ConfigKey(PgNumKey, ConfigValues.PositiveInt, "Placement groups of an OSD pool ContainerPS creates (default 32).", SetOnlyAtCreation: true),
            new ConfigKey(CloneCopyKey, ConfigValues.Bool, "Copies are clones of a protected snapshot (true, the default) or full rbd copies (false)."),
            new ConfigKey(RbdMapKey, v => v is CephKrbd.Auto or CephKrbd.Krbd or CephKrbd.Fuse ? null : $"'{v}' is not auto, krbd or fuse",
                "How images are mapped: krbd (the kernel's rbd, /dev/rbdN), fuse (rbd-fuse + a loop device) or auto (the default: krbd where the kernel has the rbd module, else fuse). A mapped volume keeps its mapping until it is unmapped; the new way applies at its next mapping."),
            new ConfigKey(FeaturesKey, Features, "RBD features of new images, comma-separated (default: the cluster's, layering included)."),
        },
        volumeKeys: new[]
        {
            new ConfigKey("size", ConfigValues.Size, "Size of the volume's RBD image and filesystem (default 10GiB); it can grow, not shrink."),
            new ConfigKey("block.filesystem", v => v is "ext4" or "xfs" ? null : $"'{v}' is not ext4 or xfs", "Filesystem of the volume: ext4 (default) or xfs.", SetOnlyAtCreation: true),
            new ConfigKey("block.mount_options", MountOptions, "Mount options of the volume's filesystem (default none)."),
        });

    private static Func<string, string?> Plain(string what) => v => CephName.IsMatch(v) ? null : $"'{v}' is not a Ceph {what}";

    private static string? Features(string v) =>
        v.Split(',').All(f => KnownFeatures.Contains(f)) && v.Split(',').Contains("layering")
            ? null : $"'{v}' is not a comma-separated list of RBD features including layering ({string.Join(", ", KnownFeatures)})";

    private static string? MountOptions(string v) =>
        v.All(c => char.IsAsciiLetterOrDigit(c) || "_=,.:-".Contains(c)) ? null : $"'{v}' is not a comma-separated list of mount options";

    // ------------------------------------------------------------------ pools

    public PoolSource CheckSource(string? source, string defaultSource)
    {
        if (source is not null && !OsdPoolName.IsMatch(source))
            throw new ContainerPSException(Errors.InvalidSource,
                $"Invalid source '{Names.Printable(source)}' for a ceph pool: give the name of an OSD pool (letters, digits, '.', '_', '-').", source);
        if (Directory.Exists(defaultSource) && Directory.EnumerateFileSystemEntries(defaultSource).Any())
            throw new ContainerPSException(Errors.SourceNotEmpty,
                $"The pool's directory {defaultSource}, where its volumes are mounted, is not empty (left over from an earlier pool?).", defaultSource);
        return new PoolSource(defaultSource, Owned: true, source is null ? null : new Dictionary<string, string> { [OsdPoolKey] = source });
    }

    public void CreatePool(PoolContext pool)
    {
        krbd.CheckMode(pool);
        osdPool.Claim(pool);
        VolumeLayout.CreateTypeDirs(pool.Source);
        Directory.CreateDirectory(FuseRoot(pool), VolumeLayout.Mode0700);
    }

    public void UpdatePool(PoolContext pool, IReadOnlyDictionary<string, string?> changes)
    {
        // ceph.rbd.clone_copy and ceph.rbd.features only change how later volumes are made, ceph.rbd.map how volumes are mapped next.
        krbd.CheckMode(pool);
    }

    /// <summary>How the pool maps its images from now on: krbd or fuse (ceph.rbd.map, auto resolved on this host).</summary>
    public string? RbdMap(PoolContext pool) => krbd.Mode(pool);

    public string? SharedIdentity(PoolContext pool) =>
        osdPool.Shared(pool) ? SharedOwners.Identity(ownership.Fsid(pool), OsdPool(pool), CephOwnership.PoolId(pool)) : null;

    public void CheckPoolRemovable(PoolContext pool) => osdPool.CheckNotShared(pool);

    public bool ImageVolumeReady(PoolContext pool, VolumeContext volume) =>
        volume.Type == VolumeType.Image && osdPool.Image(pool, ImageName(volume)) is { } image
        && image.Snapshots.Any(s => s.Name == ImageSnapshot && s.Protected);

    public string? SharedOwner(PoolContext pool, VolumeContext volume) => ownership.Owner(pool, ImageName(volume));

    public bool TransferShared(PoolContext pool, VolumeContext volume, string? expected, string owner)
    {
        var image = ImageName(volume);
        var self = CephOwnership.PoolId(pool);
        using (CephMapping.MapLock(pool, image))
        {
            // Given away: unmapped first, so nothing of this host writes it once the other owns it.
            if (expected == self && owner != self)
                mapping.Unmap(pool, image);
            return ownership.Swap(pool, image, expected, owner);
        }
    }

    public void DeletePool(PoolContext pool)
    {
        foreach (var mapped in CephMapping.MappedImages(pool))
            mapping.Unmap(pool, mapped);
        osdPool.Release(pool);
        if (Directory.Exists(FuseRoot(pool)))
            foreach (var leftover in Directory.GetFiles(FuseRoot(pool), ".*"))
                File.Delete(leftover);
        if (Directory.Exists(pool.Source))
        {
            foreach (var dir in VolumeTypes.All.Select(t => Path.Join(pool.Source, VolumeLayout.TypeDir(t))).Append(FuseRoot(pool)))
                if (Directory.Exists(dir))
                    foreach (var d in Directory.GetDirectories(dir).Append(dir))
                        if (!Mounts.IsMountPoint(d) && !Directory.EnumerateFileSystemEntries(d).Any())
                            Directory.Delete(d);
            if (pool.OwnsSource && !Directory.EnumerateFileSystemEntries(pool.Source).Any())
                Directory.Delete(pool.Source);
        }
    }

    /// <inheritdoc cref="CephOsdPool.Usage(PoolContext)"/>
    public (long? Used, long? Size) PoolUsage(PoolContext pool) => osdPool.Usage(pool);

    // ------------------------------------------------------------------ volumes

    public string VolumePath(PoolContext pool, VolumeContext volume) => CephNames.VolumePath(pool, volume);

    /// <inheritdoc cref="CephMapping.MountVolume"/>
    public string MountVolume(PoolContext pool, VolumeContext volume) => mapping.MountVolume(pool, volume);

    public bool VolumeExists(PoolContext pool, VolumeContext volume)
    {
        return osdPool.Image(pool, ImageName(volume)) is { } image
               && (!VolumeTypes.IsSnapshot(volume.Type) || image.Snapshots.Any(s => s.Name == SnapshotName(volume)));
    }

    public void CreateVolume(PoolContext pool, VolumeContext volume)
    {
        var image = ImageName(volume);
        var exists = osdPool.Image(pool, image) is not null;
        if (volume.Type == VolumeType.Image && !exists && osdPool.Image(pool, Zombie(image)) is not null)
        {
            // The same image again (its name is its content's hash): the image kept for its clones is taken back.
            cluster.Client(pool).Rename(OsdPool(pool), Zombie(image), image);
            MountVolume(pool, volume);
            return;
        }
        if (exists)
            throw new ContainerPSException(Errors.VolumeExists, volume.Type == VolumeType.Image && osdPool.Shared(pool)
                ? $"RBD image {OsdPool(pool)}/{image} is being made by another ContainerPS host sharing the OSD pool: try again in a moment."
                : $"RBD image {OsdPool(pool)}/{image} already exists but the pool has no such volume; remove it first.", image);
        var size = SizeOf(pool, volume);
        cluster.Client(pool).Create(OsdPool(pool), image, size, CephOsdPool.FeatureMask(pool));
        try
        {
            ownership.Claim(pool, image, made: true);
            string loop;
            using (CephMapping.MapLock(pool, image))
                loop = mapping.Map(pool, image);
            MakeFilesystem(tool, FilesystemOf(pool, volume), loop);
            MountVolume(pool, volume);
        }
        catch
        {
            try { DeleteVolume(pool, volume); }
            catch (ContainerPSException e) { tool.Log.Warning($"Could not remove the half-made RBD image {image}: {e.Message}"); }
            throw;
        }
    }

    public void DeleteVolume(PoolContext pool, VolumeContext volume)
    {
        var image = ImageName(volume);
        // An image another host owns now (a move handed it over) is forgotten here, never deleted; so is
        // an image volume while other hosts share the OSD pool (theirs may be that very image).
        var owned = image.StartsWith("image_", StringComparison.Ordinal) ? !osdPool.Shared(pool)
            : osdPool.Image(pool, image) is null || ownership.Owns(pool, image);
        if (VolumeTypes.IsSnapshot(volume.Type))
        {
            if (owned)
                osdPool.DeleteSnapshot(pool, image, SnapshotName(volume));
            return; // the snapshot of a live image frees nothing else
        }
        using (CephMapping.MapLock(pool, image))
            mapping.Unmap(pool, image);
        if (owned)
        {
            osdPool.DeleteImage(pool, image);
            ownership.Forget(pool, image);
        }
        var path = VolumePath(pool, volume);
        if (Directory.Exists(path) && !Mounts.IsMountPoint(path) && !Directory.EnumerateFileSystemEntries(path).Any())
            Directory.Delete(path);
        foreach (var leftover in new[] { LockFile(pool, image), GrowMarker(pool, image) })
            if (File.Exists(leftover))
                File.Delete(leftover);
    }

    public void RenameVolume(PoolContext pool, VolumeContext volume, string newName)
    {
        var target = volume with { Name = newName };
        var osd = OsdPool(pool);
        if (VolumeTypes.IsSnapshot(volume.Type))
        {
            // A snapshot moves with its container's image; only a rename within one image is left to do.
            if (VolumeExists(pool, target))
                return;
            if (ImageName(volume) != ImageName(target))
                throw new ContainerPSException(Errors.VolumeExists, $"Snapshot {Spec(pool, volume)} cannot move to another image ({Spec(pool, target)}).", newName);
            cluster.Client(pool).SnapRename(osd, ImageName(volume), SnapshotName(volume), SnapshotName(target));
            return;
        }
        if (VolumeExists(pool, target))
            throw new ContainerPSException(Errors.VolumeExists, $"RBD image {Spec(pool, target)} already exists.", newName);
        ownership.CheckOwned(pool, ImageName(volume));
        using (CephMapping.MapLock(pool, ImageName(volume)))
            mapping.Unmap(pool, ImageName(volume));
        ownership.Claim(pool, ImageName(target), made: false);
        cluster.Client(pool).Rename(osd, ImageName(volume), ImageName(target));
        ownership.Forget(pool, ImageName(volume));
        var old = VolumePath(pool, volume);
        if (Directory.Exists(old) && !Mounts.IsMountPoint(old) && !Directory.EnumerateFileSystemEntries(old).Any())
            Directory.Delete(old);
        mapping.MountAfter(pool, target, "renaming");
    }

    /// <summary>
    /// A container snapshot (an RBD snapshot, the filesystem frozen around it), else a clone of a
    /// protected snapshot (ceph.rbd.clone_copy, the default; constant time), else a full rbd copy
    /// (another OSD pool, or clone_copy=false), or export | import between clusters.
    /// </summary>
    public void CopyVolume(PoolContext sourcePool, VolumeContext source, PoolContext pool, VolumeContext target)
    {
        if (VolumeTypes.IsSnapshot(target.Type))
        {
            if (VolumeTypes.IsSnapshot(source.Type) || ImageName(source) != ImageName(target))
                throw new ContainerPSException(Errors.InvalidSnapshot, $"An RBD snapshot is taken of its own image: {target.Name} is not a snapshot of {source.Name}.", target.Name);
            ownership.CheckOwned(sourcePool, ImageName(source));
            mapping.Snapshot(sourcePool, source, SnapshotName(target));
            return;
        }
        if (osdPool.Image(pool, ImageName(target)) is not null)
            throw new ContainerPSException(Errors.VolumeExists, $"RBD image {Spec(pool, target)} already exists.", target.Name);
        var sameCluster = Cluster(sourcePool) == Cluster(pool) && ConfigFile(sourcePool) == ConfigFile(pool);
        var clone = sameCluster && OsdPool(sourcePool) == OsdPool(pool) && pool.Config.GetValueOrDefault(CloneCopyKey) != "false";
        var (originImage, originSnap, originSize) = Origin(sourcePool, source, protect: clone);
        var origin = $"{OsdPool(sourcePool)}/{originImage}@{originSnap}";
        var made = false;
        try
        {
            if (clone)
                cluster.Client(pool).Clone(OsdPool(sourcePool), originImage, originSnap, OsdPool(pool), ImageName(target), CephOsdPool.FeatureMask(pool));
            else if (sameCluster)
                cluster.Rbd(pool, "cp", "--no-progress", origin, Spec(pool, target));
            else
                tool.RunPipe(new[] { "rbd" }.Concat(Connect(sourcePool)).Concat(new[] { "export", "--no-progress", origin, "-" }).ToArray(),
                    new[] { "rbd" }.Concat(Connect(pool)).Concat(new[] { "import", "--no-progress", "-", Spec(pool, target) }).ToArray());
            // Claimed once made: an image of that name another host made meanwhile (the clone then failed) is never taken, nor removed below.
            ownership.Claim(pool, ImageName(target), made: true);
            made = true;
            // A copy has the size the origin had when it was taken.
            var wanted = SizeOf(pool, target);
            if (wanted > originSize)
                mapping.Grow(pool, target, wanted);
            MountVolume(pool, target);
        }
        catch
        {
            try
            {
                if (made)
                    DeleteVolume(pool, target);
            }
            catch (ContainerPSException e) { tool.Log.Warning($"Could not remove the half-made copy {Spec(pool, target)}: {e.Message}"); }
            throw;
        }
        finally
        {
            // A full copy needs the copy-* snapshot it was read from no more (a clone keeps it as its parent).
            if (!clone && originSnap.StartsWith("copy-", StringComparison.Ordinal))
                cluster.Client(sourcePool).SnapRemove(OsdPool(sourcePool), originImage, originSnap);
        }
    }

    /// <summary>
    /// The snapshot a copy is made from: a snapshot volume's own, an image volume's `readonly`
    /// snapshot (made once), else a new copy-* snapshot; protected when it is to be cloned. Returns
    /// it with its size.
    /// </summary>
    private (string Image, string Snapshot, long Size) Origin(PoolContext pool, VolumeContext source, bool protect)
    {
        if (osdPool.Image(pool, ImageName(source)) is not { } image)
            throw new ContainerPSException(Errors.VolumeNotFound, $"RBD image {OsdPool(pool)}/{ImageName(source)} does not exist.", source.Name);
        if (source.Type != VolumeType.Image)
            ownership.CheckOwned(pool, image.Name); // a copy-* snapshot is a change to the image
        var snapshot = source.Type switch
        {
            VolumeType.Snapshot or VolumeType.CustomSnapshot => SnapshotName(source),
            VolumeType.Image => ImageSnapshot,
            _ => $"copy-{Guid.NewGuid():n}",
        };
        var existing = image.Snapshots.FirstOrDefault(s => s.Name == snapshot);
        if (existing is null)
        {
            if (VolumeTypes.IsSnapshot(source.Type))
                throw new ContainerPSException(Errors.VolumeNotFound, $"RBD snapshot {Spec(pool, source)} does not exist.", source.Name);
            mapping.Snapshot(pool, source, snapshot);
        }
        if (protect && existing is not { Protected: true })
            cluster.Client(pool).SnapProtect(OsdPool(pool), image.Name, snapshot);
        return (image.Name, snapshot, existing?.Size ?? image.Size);
    }

    /// <summary>rbd snap rollback, with the image unmapped (no mount or cache may hold the old blocks), then mounted again.</summary>
    public void RestoreVolume(PoolContext pool, VolumeContext snapshot, VolumeContext target)
    {
        ownership.CheckOwned(pool, ImageName(target));
        using (CephMapping.MapLock(pool, ImageName(target)))
            mapping.Unmap(pool, ImageName(target));
        krbd.CheckNotMappedElsewhere(pool, ImageName(target)); // (librbd would refuse the rollback: read-only)
        cluster.Client(pool).SnapRollback(OsdPool(pool), ImageName(snapshot), SnapshotName(snapshot));
        FaultPoints.Hit("ceph.restore.after-rollback");
        mapping.MountAfter(pool, target, "restoring");
    }

    public void UpdateVolume(PoolContext pool, VolumeContext volume, IReadOnlyDictionary<string, string?> changes)
    {
        if (changes.ContainsKey("block.mount_options"))
        {
            var path = VolumePath(pool, volume);
            if (Mounts.IsMountPoint(path))
            {
                tool.Run("mount", new[] { "-o", "remount," + MountOptionsOf(pool, volume, FilesystemOf(pool, volume)), path });
            }
        }
        if (!changes.TryGetValue("size", out var size))
            return;
        var wanted = SizeOf(pool, volume);
        var current = osdPool.Image(pool, ImageName(volume)) is { } image ? image.Size
            : throw new ContainerPSException(Errors.VolumeNotFound, $"RBD image {Spec(pool, volume)} does not exist.", volume.Name);
        if (wanted < current)
            throw new ContainerPSException(Errors.VolumeShrinkNotSupported,
                $"A ceph volume can grow, not shrink: '{volume.Name}' is {ByteSize.Format(current)} and size {size ?? DefaultVolumeSize} is smaller.", volume.Name);
        if (wanted > current)
            mapping.Grow(pool, volume, wanted);
    }

    /// <summary>Used bytes: the mounted filesystem's (statvfs), else the image's or snapshot's in `rbd du`.</summary>
    public long? VolumeUsage(PoolContext pool, VolumeContext volume)
    {
        var path = VolumePath(pool, volume);
        if (!VolumeTypes.IsSnapshot(volume.Type) && Mounts.IsMountPoint(path))
            return DiskUsage.Filesystem(path).Used;
        return osdPool.Usage(pool, ImageName(volume), VolumeTypes.IsSnapshot(volume.Type) ? SnapshotName(volume) : null);
    }

    public bool EnforcesSize(PoolContext pool) => true;
}
