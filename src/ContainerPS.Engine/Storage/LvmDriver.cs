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

    public LvmDriver(ExternalTool tool) => this.tool = tool;

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

    public PoolSource CheckSource(string? source, string defaultSource)
    {
        var lvm = new LvmTools(tool, "");
        if (Directory.Exists(defaultSource) && Directory.EnumerateFileSystemEntries(defaultSource).Any())
            throw new ContainerPSException(Errors.SourceNotEmpty,
                $"The pool's directory {defaultSource}, where its volumes are mounted, is not empty (left over from an earlier pool?).", defaultSource);
        if (source is null)
            return new PoolSource(defaultSource, Owned: true, new Dictionary<string, string> { [DeviceKey] = PoolDevices.CheckLoopImage(defaultSource) });
        if (PoolDevices.IsDevicePath(source))
        {
            PoolDevices.CheckBlockDevice(tool, source, "LVM2_member", "lvm");
            return new PoolSource(defaultSource, Owned: true, new Dictionary<string, string> { [DeviceKey] = source });
        }
        if (CheckName(source) is not null)
            throw new ContainerPSException(Errors.InvalidSource,
                $"Invalid source '{Names.Printable(source)}' for an lvm pool: give a block device (/dev/...) or the name of an existing, empty volume group.", source);
        if (!lvm.VgExists(source))
            throw new ContainerPSException(Errors.InvalidSource, $"Invalid source '{source}' for an lvm pool: there is no volume group of that name.", source);
        if (lvm.Lvs(source).Count > 0)
            throw new ContainerPSException(Errors.SourceNotEmpty, $"Volume group '{source}' already holds logical volumes: give an empty one.", source);
        return new PoolSource(defaultSource, Owned: true, new Dictionary<string, string> { [VgKey] = source });
    }

    public void CreatePool(PoolContext pool)
    {
        var lvm = Tools(pool);
        var vg = Vg(pool);
        if (pool.Config.TryGetValue(DeviceKey, out var device))
        {
            if (lvm.VgExists(vg))
                throw new ContainerPSException(Errors.SourceInUse, $"Volume group '{vg}' exists already: give it as -Source (when empty), or choose another {VgKey}.", vg);
            var isImage = !PoolDevices.IsDevicePath(device);
            if (isImage)
                PoolDevices.CreateLoopImage(device, pool.Config);
            var pv = isImage ? Loop(device) : device;
            lvm.Run("pvcreate", "-q", "-y", pv);
            lvm.Run(["vgcreate", "-q", .. lvm.TagArgs, vg, pv]);
        }
        else if (lvm.Lvs(vg).Count > 0)
        {
            throw new ContainerPSException(Errors.SourceNotEmpty, $"Volume group '{vg}' already holds logical volumes: give an empty one.", vg);
        }
        Directory.CreateDirectory(pool.Source, VolumeLayout.Mode0711);
        VolumeLayout.CreateTypeDirs(pool.Source);
        if (!Thin(pool))
            return;
        var args = new List<string> { "lvcreate", "-q", "-y", "--type", "thin-pool", "-l", "100%FREE", "-n", ThinPool(pool) };
        args.AddRange(lvm.TagArgs);
        if (pool.Config.GetValueOrDefault(MetadataSizeKey) is { } meta && ByteSize.TryParse(meta, out var bytes))
            args.AddRange(new[] { "--poolmetadatasize", bytes / 1024 + "k" });
        lvm.Run(args.Append(vg).ToArray());
    }

    /// <summary>The loop device of a pool's loop file, attached when it is not (after a reboot).</summary>
    private string Loop(string file)
    {
        var attached = tool.Run("losetup", new[] { "-j", file, "-O", "NAME", "-n" }).Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
        return attached.FirstOrDefault() ?? tool.Run("losetup", new[] { "-f", "--show", file }).Trim();
    }

    /// <summary>The pool's volume group, its loop file attached first when a reboot detached it.</summary>
    private string Group(PoolContext pool)
    {
        var vg = Vg(pool);
        if (pool.Config.GetValueOrDefault(DeviceKey) is { } device && !PoolDevices.IsDevicePath(device) && File.Exists(device)
            && tool.Run("losetup", new[] { "-j", device, "-O", "NAME", "-n" }).Trim().Length == 0)
        {
            Loop(device);
            tool.Execute("vgchange", new[] { "-q", "--refresh", vg }, null, null);
        }
        return vg;
    }

    public void UpdatePool(PoolContext pool, IReadOnlyDictionary<string, string?> changes)
    {
        // Every lvm key is set at creation; volume.* defaults only change later volumes.
    }

    /// <summary>Unmounts and removes the pool's LVs (tagged ones only), its thin pool, and the VG, PV and loop file it made.</summary>
    public void DeletePool(PoolContext pool)
    {
        var lvm = Tools(pool);
        var vg = Group(pool);
        foreach (var type in VolumeTypes.All)
        {
            var dir = Path.Join(pool.Source, VolumeLayout.TypeDir(type));
            if (!Directory.Exists(dir))
                continue;
            foreach (var d in Directory.GetDirectories(dir))
            {
                Unmount(d);
                if (!Directory.EnumerateFileSystemEntries(d).Any())
                    Directory.Delete(d);
            }
        }
        var lvs = lvm.Lvs(vg);
        // Thin volumes first, the thin pool last (its hidden _tdata/_tmeta LVs go with it).
        foreach (var lv in lvs.Values.Where(l => lvm.Ours(l) && !l.Name.StartsWith('[')).OrderBy(l => l.Attr.StartsWith('t') ? 1 : 0))
            lvm.Remove(vg, lv.Name);
        if (pool.Config.TryGetValue(DeviceKey, out var device))
        {
            var pv = PoolDevices.IsDevicePath(device) ? device
                : !File.Exists(device) ? null
                : tool.Run("losetup", new[] { "-j", device, "-O", "NAME", "-n" }).Split('\n', StringSplitOptions.TrimEntries).FirstOrDefault(l => l.Length > 0);
            var (tags, pvs) = lvm.VgExists(vg) ? lvm.Vg(vg) : (new HashSet<string>(), Array.Empty<string>());
            // Only the VG this pool made: tagged, on its own device, and nothing else in it.
            if (tags.Contains(PoolTag(pool)) && pv is not null && pvs.SequenceEqual(new[] { pv }) && lvm.Lvs(vg).Count == 0)
                lvm.Run("vgremove", "-q", "-y", vg);
            if (pv is not null && !lvm.VgExists(vg) && tool.Execute("pvs", new[] { "--noheadings", "-o", "vg_name", pv }, null, null) is { ExitCode: 0 } p && p.StandardOutput.Trim().Length == 0)
                lvm.Run("pvremove", "-q", "-y", pv);
            if (!PoolDevices.IsDevicePath(device))
            {
                if (pv is not null)
                    tool.Run("losetup", new[] { "-d", pv });
                PoolDevices.DeleteLoopImage(device);
            }
        }
        foreach (var type in VolumeTypes.All)
        {
            var dir = Path.Join(pool.Source, VolumeLayout.TypeDir(type));
            if (Directory.Exists(dir) && !Directory.EnumerateFileSystemEntries(dir).Any())
                Directory.Delete(dir);
        }
        if (pool.OwnsSource && Directory.Exists(pool.Source) && !Directory.EnumerateFileSystemEntries(pool.Source).Any())
            Directory.Delete(pool.Source);
    }

    /// <summary>Used and total bytes: the thin pool's data (size and data%), else the VG's.</summary>
    public (long? Used, long? Size) PoolUsage(PoolContext pool)
    {
        var lvm = Tools(pool);
        var vg = Group(pool);
        if (Thin(pool))
            return lvm.Lv(vg, ThinPool(pool)) is { } tp ? ((long)(tp.Size * (tp.DataPercent ?? 0) / 100), tp.Size) : (null, null);
        return lvm.VgSpace(vg) is { } s ? (s.Size - s.Free, s.Size) : (null, null);
    }

    // ------------------------------------------------------------------ volumes

    public string VolumePath(PoolContext pool, VolumeContext volume) => LvmNames.VolumePath(pool, volume);

    public bool VolumeExists(PoolContext pool, VolumeContext volume) => Tools(pool).Lv(Group(pool), Lv(volume)) is not null;

    private static long SizeOf(PoolContext pool, VolumeContext volume) => CephNames.SizeOf(pool, volume);

    private static string Filesystem(PoolContext pool, VolumeContext volume) => CephNames.FilesystemOf(pool, volume);

    public void CreateVolume(PoolContext pool, VolumeContext volume)
    {
        var lvm = Tools(pool);
        var vg = Group(pool);
        var lv = Lv(volume);
        if (lvm.Lv(vg, lv) is not null)
            throw new ContainerPSException(Errors.VolumeExists, $"Logical volume {vg}/{lv} already exists but the pool has no such volume; remove it first.", lv);
        NewLv(pool, vg, lv, SizeOf(pool, volume));
        FaultPoints.Hit("lvm.create.after-lvcreate");
        try
        {
            lvm.MakeFilesystem(Filesystem(pool, volume), Device(vg, lv));
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
        Unmount(path);
        foreach (var lv in new[] { TempLv(volume), OldLv(volume), Lv(volume) })
            lvm.Remove(vg, lv);
        if (Directory.Exists(path) && !Directory.EnumerateFileSystemEntries(path).Any())
            Directory.Delete(path);
    }

    /// <summary>Unmounts a volume's filesystem in this mount namespace; VolumeBusy while in use.</summary>
    private void Unmount(string path)
    {
        while (Mounts.IsMountPoint(path))
        {
            var r = tool.Execute("umount", new[] { path }, null, null);
            if (r.ExitCode != 0)
                throw new ContainerPSException(Errors.VolumeBusy, $"Cannot unmount {path}: {r.StandardError.Trim()} (is a container using it?).", path);
        }
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
        var options = CephNames.MountOptionsOf(pool, volume, fs);
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
        Unmount(old);
        lvm.Rename(vg, Lv(volume), Lv(target));
        if (Directory.Exists(old) && !Directory.EnumerateFileSystemEntries(old).Any())
            Directory.Delete(old);
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
        Unmount(path);
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
    }

    public void UpdateVolume(PoolContext pool, VolumeContext volume, IReadOnlyDictionary<string, string?> changes)
    {
        var lvm = Tools(pool);
        var path = VolumePath(pool, volume);
        if (changes.ContainsKey("block.mount_options") && Mounts.IsMountPoint(path))
            tool.Run("mount", new[] { "-o", "remount," + CephNames.MountOptionsOf(pool, volume, Filesystem(pool, volume)), path });
        if (!changes.TryGetValue("size", out var size))
            return;
        var vg = Group(pool);
        var current = lvm.Lv(vg, Lv(volume))?.Size ?? throw new ContainerPSException(Errors.VolumeNotFound, $"Logical volume {vg}/{Lv(volume)} does not exist.", volume.Name);
        var wanted = SizeOf(pool, volume);
        if (wanted < current)
            throw new ContainerPSException(Errors.VolumeShrinkNotSupported,
                $"An lvm volume can grow, not shrink: '{volume.Name}' is {ByteSize.Format(current)} and size {size ?? CephNames.DefaultVolumeSize} is smaller.", volume.Name);
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
