using System.Globalization;
using static ContainerPS.Engine.Storage.LvmNames;

namespace ContainerPS.Engine.Storage;

/// <summary>
/// The lvm driver, as LXD's: a pool is a volume group (made on a sparse loop file when there is no
/// -Source, on a block device, or an existing empty VG given as -Source) with a thin pool
/// (lvm.thinpool_name) unless lvm.use_thinpool is false; a volume is a logical volume holding an
/// ext4 or xfs filesystem (block.filesystem) mounted at the volume's path; snapshots are thin
/// snapshots activated read-only (classic snapshots of the origin's size without a thin pool);
/// containers are thin snapshots of their image (constant time); restores swap in a thin snapshot
/// of the snapshot. Every LV it makes carries the tag containerps, and nothing untagged is touched.
/// Refused where the kernel has no device-mapper (<see cref="StorageDrivers"/>).
/// </summary>
public sealed class LvmDriver : IStorageDriver
{
    private readonly ExternalTool tool;
    private readonly LvmPools pools;

    public LvmDriver(ExternalTool tool)
    {
        this.tool = tool;
        pools = new LvmPools(tool);
    }

    /// <summary>The LVM commands for one pool (acting only on LVs with its tag).</summary>
    private LvmTools Tools(PoolContext pool) => new(tool, PoolTag(pool));

    public string Name => "lvm";

    public bool SnapshotFilesReadable => true;

    public ConfigSchema Schema { get; } = new("lvm",
        poolKeys: new[]
        {
            new ConfigKey("source", ConfigValues.Any, "A block device, an existing empty volume group, or (without -Source) a loop file made for the pool.", SetOnlyAtCreation: true),
            new ConfigKey("size", ConfigValues.Size, "Size of the loop file made when there is no -Source (default: 20% of free space, 5-30 GiB).", SetOnlyAtCreation: true),
            new ConfigKey(VgKey, CheckName, "The volume group (default: the pool's name; an existing one given as -Source).", SetOnlyAtCreation: true),
            new ConfigKey(ThinPoolKey, CheckName, $"The thin pool LV holding the volumes (default {DefaultThinPool}).", SetOnlyAtCreation: true),
            new ConfigKey(UseThinKey, ConfigValues.Bool, "Volumes are thin LVs of a thin pool (true, the default) or plain LVs with classic snapshots (false).", SetOnlyAtCreation: true),
            new ConfigKey(MetadataSizeKey, ConfigValues.Size, "Size of the thin pool's metadata LV (default: LVM's choice).", SetOnlyAtCreation: true),
        },
        volumeKeys: new[]
        {
            new ConfigKey("size", ConfigValues.Size, "Size of the volume's LV and filesystem (default 10GiB); it can grow (online), not shrink."),
            new ConfigKey("block.filesystem", v => v is "ext4" or "xfs" ? null : $"'{v}' is not ext4 or xfs", "Filesystem of the volume: ext4 (default) or xfs.", SetOnlyAtCreation: true),
            new ConfigKey("block.mount_options", v => v.All(c => char.IsAsciiLetterOrDigit(c) || "_=,.:-".Contains(c)) ? null : $"'{v}' is not a comma-separated list of mount options",
                "Mount options of the volume's filesystem (default none)."),
        });

    // ------------------------------------------------------------------ pools

    /// <inheritdoc cref="LvmPools"/>
    public PoolSource CheckSource(string? source, string defaultSource) => pools.CheckSource(source, defaultSource);

    public void CreatePool(PoolContext pool) => pools.CreatePool(pool);

    public void UpdatePool(PoolContext pool, IReadOnlyDictionary<string, string?> changes)
    {
        // Every lvm key is set at creation; volume.* defaults only change later volumes.
    }

    public void DeletePool(PoolContext pool) => pools.DeletePool(pool);

    public (long? Used, long? Size) PoolUsage(PoolContext pool) => pools.PoolUsage(pool);

    private string Group(PoolContext pool) => pools.Group(pool);
    // ------------------------------------------------------------------ volumes

    public string VolumePath(PoolContext pool, VolumeContext volume) => LvmNames.VolumePath(pool, volume);

    public bool VolumeExists(PoolContext pool, VolumeContext volume) => Tools(pool).Lv(Group(pool), Lv(volume)) is not null;

    private static long SizeOf(PoolContext pool, VolumeContext volume) => BlockVolumes.SizeOf(pool, volume);

    private static string Filesystem(PoolContext pool, VolumeContext volume) => BlockVolumes.FilesystemOf(pool, volume);

    public void CreateVolume(PoolContext pool, VolumeContext volume)
    {
        var lvm = Tools(pool);
        var vg = Group(pool);
        var lv = Lv(volume);
        if (lvm.Lv(vg, lv) is not null)
            throw new ContainerPSException(Errors.VolumeExists, $"Logical volume {vg}/{lv} already exists but the pool has no such volume; remove it first.", lv);
        NewLv(pool, vg, lv, SizeOf(pool, volume));
        FaultPoints.Hit("volume.create.after-lvcreate");
        try
        {
            BlockVolumes.MakeFilesystem(tool, Filesystem(pool, volume), Device(vg, lv));
            MountVolume(pool, volume);
        }
        catch
        {
            try { DeleteVolume(pool, volume); }
            catch (ContainerPSException e) { tool.Log.Warning($"Could not remove the half-made logical volume {vg}/{lv}: {e.Message}"); }
            throw;
        }
    }

    /// <summary>A new empty LV: thin in the pool's thin pool, else plain.</summary>
    private void NewLv(PoolContext pool, string vg, string lv, long bytes)
    {
        var lvm = Tools(pool);
        var size = bytes.ToString(CultureInfo.InvariantCulture) + "b";
        if (Thin(pool))
            lvm.Run(["lvcreate", "-q", "-y", "--thin", "-V", size, .. lvm.TagArgs, "-n", lv, $"{vg}/{ThinPool(pool)}"]);
        else
            lvm.Run(["lvcreate", "-q", "-y", "-Wy", "-L", size, .. lvm.TagArgs, "-n", lv, vg]);
    }

    public void DeleteVolume(PoolContext pool, VolumeContext volume)
    {
        var lvm = Tools(pool);
        var vg = Group(pool);
        var path = VolumePath(pool, volume);
        Tools(pool).Unmount(path);
        foreach (var lv in new[] { TempLv(volume), OldLv(volume), Lv(volume) })
            lvm.Remove(vg, lv);
        if (Directory.Exists(path) && !Directory.EnumerateFileSystemEntries(path).Any())
            Directory.Delete(path);
    }


    /// <summary>Activates the volume's LV and mounts its filesystem at its path (a snapshot read-only) unless it is mounted already.</summary>
    public string MountVolume(PoolContext pool, VolumeContext volume)
    {
        var lvm = Tools(pool);
        var path = VolumePath(pool, volume);
        if (Mounts.IsMountPoint(path))
            return path;
        var vg = Group(pool);
        var lv = Lv(volume);
        if (lvm.Lv(vg, lv) is null)
            throw new ContainerPSException(Errors.VolumeNotFound, $"Logical volume {vg}/{lv} of volume '{volume.Name}' does not exist.", volume.Name);
        lvm.Activate(vg, lv);
        VolumeLayout.EnsureTypeDir(pool.Source, volume.Type);
        Directory.CreateDirectory(path, VolumeLayout.Mode0711);
        var fs = Filesystem(pool, volume);
        var options = BlockVolumes.MountOptionsOf(pool, volume, fs);
        if (VolumeTypes.IsSnapshot(volume.Type))
            options += fs == "xfs" ? ",ro,norecovery" : ",ro,noload";
        tool.Run("mount", new[] { "-t", fs, "-o", options, Device(vg, lv), path });
        return path;
    }

    public void RenameVolume(PoolContext pool, VolumeContext volume, string newName)
    {
        var lvm = Tools(pool);
        var vg = Group(pool);
        var target = volume with { Name = newName };
        if (lvm.Lv(vg, Lv(target)) is not null)
        {
            if (lvm.Lv(vg, Lv(volume)) is null)
                return; // renamed already (a crash after lvrename)
            throw new ContainerPSException(Errors.VolumeExists, $"Logical volume {vg}/{Lv(target)} already exists.", newName);
        }
        var old = VolumePath(pool, volume);
        lvm.Unmount(old);
        lvm.Rename(vg, Lv(volume), Lv(target));
        if (Directory.Exists(old) && !Directory.EnumerateFileSystemEntries(old).Any())
            Directory.Delete(old);
        MountAfter(pool, target, "renaming");
    }

    /// <summary>
    /// Mounts a volume again after an operation that had to unmount or make it, so that its path shows its
    /// files as on the directory drivers; a failure is a warning (the next command that needs the files mounts them).
    /// </summary>
    private void MountAfter(PoolContext pool, VolumeContext volume, string what)
    {
        if (VolumeTypes.IsSnapshot(volume.Type))
            return; // mounted read-only when its files are read
        try { MountVolume(pool, volume); }
        catch (ContainerPSException e) { tool.Log.Warning($"After {what} '{volume.Name}', its filesystem could not be mounted yet: {e.Message}"); }
    }

    /// <summary>
    /// A thin snapshot of the source within one thin pool (constant time; read-only for a snapshot
    /// volume), a classic snapshot of the origin's size for a snapshot without a thin pool, else a new
    /// volume filled with cp -a (another pool, or copies without a thin pool).
    /// </summary>
    public void CopyVolume(PoolContext sourcePool, VolumeContext source, PoolContext pool, VolumeContext target)
    {
        var lvm = Tools(pool);
        var vg = Group(pool);
        var from = Lv(source);
        var sameVg = Vg(sourcePool) == vg && sourcePool.Source == pool.Source;
        if (lvm.Lv(vg, Lv(target)) is not null)
            throw new ContainerPSException(Errors.VolumeExists, $"Logical volume {vg}/{Lv(target)} already exists.", target.Name);
        var snapshot = VolumeTypes.IsSnapshot(target.Type);
        if (sameVg && (Thin(pool) || snapshot))
        {
            var origin = lvm.Lv(vg, from) ?? throw new ContainerPSException(Errors.VolumeNotFound, $"Logical volume {vg}/{from} does not exist.", source.Name);
            var args = new List<string> { "lvcreate", "-q", "-y", "-s", "-kn", "-p", snapshot ? "r" : "rw", "-n", TempLv(target) };
            args.AddRange(lvm.TagArgs);
            if (!Thin(pool))
                args.AddRange(new[] { "-L", origin.Size.ToString(CultureInfo.InvariantCulture) + "b" });
            lvm.Remove(vg, TempLv(target));
            lvm.Run(args.Append($"{vg}/{from}").ToArray());
            FaultPoints.Hit("volume.copy.before-rename");
            lvm.Rename(vg, TempLv(target), Lv(target));
            if (!snapshot && SizeOf(pool, target) > origin.Size)
                Grow(pool, target, SizeOf(pool, target));
            MountAfter(pool, target, "copying");
            return;
        }
        var src = MountVolume(sourcePool, source);
        CreateVolume(pool, target);
        try { tool.Run("cp", new[] { "-a", "--no-target-directory", src, MountVolume(pool, target) }); }
        catch
        {
            DeleteVolume(pool, target);
            throw;
        }
    }

    /// <summary>
    /// Thin: a thin snapshot of the snapshot becomes the volume (made as +t, the old LV renamed +o,
    /// then removed), so a restore cut short is finished by running it again. Without a thin pool
    /// (a classic snapshot dies with its origin): the volume's files are replaced by the snapshot's.
    /// </summary>
    public void RestoreVolume(PoolContext pool, VolumeContext snapshot, VolumeContext target)
    {
        var lvm = Tools(pool);
        var vg = Group(pool);
        var path = VolumePath(pool, target);
        if (!Thin(pool))
        {
            var from = MountVolume(pool, snapshot);
            var to = MountVolume(pool, target);
            tool.Run("find", new[] { to, "-mindepth", "1", "-maxdepth", "1", "-exec", "rm", "-rf", "--one-file-system", "{}", "+" });
            tool.Run("cp", new[] { "-a", from + "/.", to });
            return;
        }
        Tools(pool).Unmount(path);
        lvm.Remove(vg, TempLv(target));
        lvm.Run(["lvcreate", "-q", "-y", "-s", "-kn", "-p", "rw", .. lvm.TagArgs, "-n", TempLv(target), $"{vg}/{Lv(snapshot)}"]);
        if (lvm.Lv(vg, Lv(target)) is not null)
        {
            lvm.Remove(vg, OldLv(target));
            lvm.Rename(vg, Lv(target), OldLv(target));
        }
        FaultPoints.Hit("volume.restore.mid-swap");
        lvm.Rename(vg, TempLv(target), Lv(target));
        lvm.Remove(vg, OldLv(target));
        if (SizeOf(pool, target) > lvm.Lv(vg, Lv(target))!.Size)
            Grow(pool, target, SizeOf(pool, target));
        MountAfter(pool, target, "restoring");
    }

    public void UpdateVolume(PoolContext pool, VolumeContext volume, IReadOnlyDictionary<string, string?> changes)
    {
        var lvm = Tools(pool);
        var path = VolumePath(pool, volume);
        if (changes.ContainsKey("block.mount_options") && Mounts.IsMountPoint(path))
            tool.Run("mount", new[] { "-o", "remount," + BlockVolumes.MountOptionsOf(pool, volume, Filesystem(pool, volume)), path });
        if (!changes.TryGetValue("size", out var size))
            return;
        var vg = Group(pool);
        var current = lvm.Lv(vg, Lv(volume))?.Size ?? throw new ContainerPSException(Errors.VolumeNotFound, $"Logical volume {vg}/{Lv(volume)} does not exist.", volume.Name);
        var wanted = SizeOf(pool, volume);
        if (wanted < current)
            throw new ContainerPSException(Errors.VolumeShrinkNotSupported,
                $"An lvm volume can grow, not shrink: '{volume.Name}' is {ByteSize.Format(current)} and size {size ?? BlockVolumes.DefaultVolumeSize} is smaller.", volume.Name);
        if (wanted > current)
            Grow(pool, volume, wanted);
    }

    /// <summary>lvextend, then the filesystem grows online (mounted first: resize2fs and xfs_growfs work on a mounted filesystem).</summary>
    private void Grow(PoolContext pool, VolumeContext volume, long bytes)
    {
        var lvm = Tools(pool);
        var vg = Group(pool);
        lvm.Run("lvextend", "-q", "-L", bytes.ToString(CultureInfo.InvariantCulture) + "b", $"{vg}/{Lv(volume)}");
        var path = MountVolume(pool, volume);
        if (Filesystem(pool, volume) == "xfs")
            tool.Run("xfs_growfs", new[] { path });
        else
            tool.Run("resize2fs", new[] { Device(vg, Lv(volume)) });
    }

    /// <summary>Used bytes: the mounted filesystem's (statvfs), else the thin LV's allocated data.</summary>
    public long? VolumeUsage(PoolContext pool, VolumeContext volume)
    {
        var lvm = Tools(pool);
        var path = VolumePath(pool, volume);
        if (Mounts.IsMountPoint(path))
            return DiskUsage.Filesystem(path).Used;
        return Tools(pool).Lv(Group(pool), Lv(volume)) is { DataPercent: { } pct } lv ? (long)(lv.Size * pct / 100) : null;
    }

    public bool EnforcesSize(PoolContext pool) => true;
}
