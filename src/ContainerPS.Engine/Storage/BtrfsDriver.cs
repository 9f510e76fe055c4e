using System.Globalization;

namespace ContainerPS.Engine.Storage;

/// <summary>
/// The btrfs driver, as Incus's: a pool is a btrfs filesystem (a sparse loop file made for it, a
/// block device, or an existing btrfs directory), volumes are subvolumes below
/// MOUNT/{custom,containers,images,containers-snapshots}/NAME, snapshots are read-only snapshots,
/// copies of images and containers are writable snapshots (constant time), a volume's size is a
/// qgroup limit (writes past it fail with EDQUOT), and copies to another btrfs pool go through
/// btrfs send/receive. A device-backed pool is mounted (with btrfs.mount_options) when it is first
/// used by a process whose mount namespace does not have it yet.
/// </summary>
public sealed class BtrfsDriver : IStorageDriver
{
    /// <summary>The loop file or block device behind a pool ContainerPS mounts (absent for a btrfs directory given as source).</summary>
    public const string DeviceKey = "volatile.btrfs.device";
    private const string DefaultMountOptions = "user_subvol_rm_allowed";
    private const long BTRFS_SUPER_MAGIC = 0x9123683E;


    private readonly ExternalTool tool;

    public BtrfsDriver(ExternalTool tool) => this.tool = tool;

    public string Name => "btrfs";

    public bool SnapshotFilesReadable => true;

    public ConfigSchema Schema { get; } = new("btrfs",
        poolKeys: new[]
        {
            new ConfigKey("source", ConfigValues.Any, "A block device, an existing btrfs directory, or (without -Source) a loop file made for the pool.", SetOnlyAtCreation: true),
            new ConfigKey("size", ConfigValues.Size, "Size of the loop file made when there is no -Source (default: 20% of free space, 5-30 GiB).", SetOnlyAtCreation: true),
            new ConfigKey("btrfs.mount_options", MountOptions, "Mount options of the pool's filesystem (default user_subvol_rm_allowed); changing it remounts."),
        },
        volumeKeys: new[]
        {
            new ConfigKey("size", ConfigValues.Size, "Size limit of the volume (a btrfs qgroup limit)."),
        });

    private static string? MountOptions(string v) =>
        v.Length > 0 && v.All(c => char.IsAsciiLetterOrDigit(c) || "_=,.:-/".Contains(c)) ? null : $"'{v}' is not a comma-separated list of mount options";

    // ------------------------------------------------------------------ pools

    public PoolSource CheckSource(string? source, string defaultSource)
    {
        if (source is null)
            return new PoolSource(defaultSource, Owned: true, new Dictionary<string, string> { [DeviceKey] = PoolDevices.CheckLoopImage(defaultSource) });
        if (source.Length == 0 || HostPath.HasControlCharacters(source) || !Path.IsPathRooted(source))
            throw InvalidSource(source, "it must be an absolute path without control characters");
        if (PoolDevices.IsDevicePath(source))
        {
            PoolDevices.CheckBlockDevice(tool, source, "btrfs", "btrfs");
            if (Directory.Exists(defaultSource) && Directory.EnumerateFileSystemEntries(defaultSource).Any())
                throw new ContainerPSException(Errors.SourceNotEmpty, $"The pool's mount point {defaultSource} is not empty.", defaultSource);
            return new PoolSource(defaultSource, Owned: true, new Dictionary<string, string> { [DeviceKey] = source });
        }
        string path;
        try { path = HostPath.Canonical(source); }
        catch (IOException e) { throw InvalidSource(source, e.Message); }
        if (!Directory.Exists(path))
            throw InvalidSource(source, "it is neither a block device nor an existing directory");
        if (!IsBtrfs(path))
            throw InvalidSource(source, "it is not on a btrfs filesystem");
        if (Directory.EnumerateFileSystemEntries(path).Any())
            throw new ContainerPSException(Errors.SourceNotEmpty, $"Source '{source}' is a directory that is not empty.", source);
        return new PoolSource(path, Owned: false);
    }

    private static bool IsBtrfs(string path) => LibC.StatFsType(path) == BTRFS_SUPER_MAGIC;

    private static ContainerPSException InvalidSource(string source, string why) =>
        new(Errors.InvalidSource, $"Invalid source '{Names.Printable(source)}' for a btrfs pool: {why}.", source);

    public void CreatePool(PoolContext pool)
    {
        if (pool.Config.TryGetValue(DeviceKey, out var device))
        {
            var isImage = !PoolDevices.IsDevicePath(device);
            if (isImage)
                PoolDevices.CreateLoopImage(device, pool.Config);
            if (isImage || !PoolDevices.Signatures(tool, device).ContainsKey("TYPE"))
                tool.Run("mkfs.btrfs", new[] { "-q", "-f", device });
            Directory.CreateDirectory(pool.Source, VolumeLayout.Mode0711);
            Mount(pool);
        }
        else if (!Directory.Exists(pool.Source))
        {
            Directory.CreateDirectory(pool.Source, VolumeLayout.Mode0711);
        }
        VolumeLayout.CreateTypeDirs(pool.Source);
    }

    private void Mount(PoolContext pool)
    {
        var device = pool.Config[DeviceKey];
        var options = pool.Config.GetValueOrDefault("btrfs.mount_options") ?? DefaultMountOptions;
        tool.Run("mount", new[] { "-t", "btrfs", "-o", (PoolDevices.IsDevicePath(device) ? "" : "loop,") + options, device, pool.Source });
    }

    /// <summary>The pool's mount point, mounted first when this process's mount namespace does not have it yet.</summary>
    private string Root(PoolContext pool)
    {
        if (pool.Config.ContainsKey(DeviceKey) && !IsMounted(pool.Source))
            Mount(pool);
        return pool.Source;
    }

    private static bool IsMounted(string path) => Directory.Exists(path) && IsBtrfs(path) && Mounts.IsMountPoint(path);

    public void UpdatePool(PoolContext pool, IReadOnlyDictionary<string, string?> changes)
    {
        if (!changes.ContainsKey("btrfs.mount_options") || !pool.Config.ContainsKey(DeviceKey))
            return;
        var options = pool.Config.GetValueOrDefault("btrfs.mount_options") ?? DefaultMountOptions;
        if (IsMounted(pool.Source))
            tool.Run("mount", new[] { "-o", "remount," + options, pool.Source });
        else
            Mount(pool);
    }

    public void DeletePool(PoolContext pool)
    {
        if (Directory.Exists(pool.Source) && (!pool.Config.ContainsKey(DeviceKey) || IsMounted(pool.Source) || TryMount(pool)))
        {
            foreach (var type in VolumeTypes.All)
            {
                var dir = Path.Join(pool.Source, VolumeLayout.TypeDir(type));
                if (!Directory.Exists(dir))
                    continue;
                foreach (var v in Directory.GetDirectories(dir))
                    DeleteTree(v);
                Directory.Delete(dir);
            }
        }
        if (pool.Config.TryGetValue(DeviceKey, out var device))
        {
            while (IsMounted(pool.Source))
                tool.Run("umount", new[] { pool.Source });
            if (!PoolDevices.IsDevicePath(device))
                PoolDevices.DeleteLoopImage(device);
        }
        if (pool.OwnsSource && Directory.Exists(pool.Source) && !Directory.EnumerateFileSystemEntries(pool.Source).Any())
            Directory.Delete(pool.Source);
    }

    private bool TryMount(PoolContext pool)
    {
        try { Mount(pool); return true; }
        catch (ContainerPSException e) { tool.Log.Warning($"Could not mount pool '{pool.Name}' to remove its volumes: {e.Message}"); return false; }
    }

    public (long? Used, long? Size) PoolUsage(PoolContext pool)
    {
        if (!Directory.Exists(pool.Source))
            return (null, null);
        var (total, used) = DiskUsage.Filesystem(Root(pool));
        return (used, total);
    }

    // ------------------------------------------------------------------ volumes

    public string VolumePath(PoolContext pool, VolumeContext volume) => VolumeLayout.Path(Root(pool), volume);

    private string TempPath(PoolContext pool, VolumeContext volume) => VolumeLayout.TempPath(Root(pool), volume);

    public bool VolumeExists(PoolContext pool, VolumeContext volume) => Directory.Exists(VolumePath(pool, volume));

    public void CreateVolume(PoolContext pool, VolumeContext volume)
    {
        var path = VolumePath(pool, volume);
        if (Path.Exists(path))
            throw new ContainerPSException(Errors.VolumeExists,
                $"The subvolume for volume '{volume.Type.Name()}/{volume.Name}' already exists at {path} but the pool has no such volume; remove it first.", path);
        tool.Run("btrfs", new[] { "-q", "subvolume", "create", path });
        try { ApplySize(pool, path, volume.Config.GetValueOrDefault("size")); }
        catch
        {
            DeleteTree(path);
            throw;
        }
    }

    public void DeleteVolume(PoolContext pool, VolumeContext volume)
    {
        DeleteTree(TempPath(pool, volume));
        DeleteTree(VolumePath(pool, volume));
    }

    public void RenameVolume(PoolContext pool, VolumeContext volume, string newName) => VolumeLayout.Rename(Root(pool), volume, newName);

    /// <summary>
    /// A snapshot of the source in the same filesystem (constant time; read-only for snapshot volumes),
    /// else btrfs send of a read-only snapshot into the other pool's filesystem.
    /// </summary>
    public void CopyVolume(PoolContext sourcePool, VolumeContext source, PoolContext pool, VolumeContext target)
    {
        VolumeLayout.EnsureTypeDir(Root(pool), target.Type);
        var temp = TempPath(pool, target);
        DeleteTree(temp);
        var final = VolumePath(pool, target);
        VolumeLayout.CheckFree(final);
        var from = VolumePath(sourcePool, source);
        var readOnly = VolumeTypes.IsSnapshot(target.Type);
        if (sourcePool.Source == pool.Source)
        {
            tool.Run("btrfs", readOnly ? new[] { "-q", "subvolume", "snapshot", "-r", from, temp } : new[] { "-q", "subvolume", "snapshot", from, temp });
        }
        else if (readOnly)
        {
            SendReceive(from, Path.GetDirectoryName(temp)!, temp);
        }
        else
        {
            // A received subvolume stays read-only (its received_uuid ties it to the sender): a
            // writable snapshot of it becomes the volume, as Incus does.
            var received = temp + ".received";
            SendReceive(from, Path.GetDirectoryName(temp)!, received);
            try { tool.Run("btrfs", new[] { "-q", "subvolume", "snapshot", received, temp }); }
            finally { DeleteTree(received); }
        }
        FaultPoints.Hit("volume.copy.before-rename");
        Directory.Move(temp, final);
        if (!readOnly && target.Config.GetValueOrDefault("size") is { } size)
            ApplySize(pool, final, size);
    }

    /// <summary>btrfs send of <paramref name="from"/> (through a read-only snapshot when it is writable) received as <paramref name="target"/>.</summary>
    private void SendReceive(string from, string intoDir, string target)
    {
        var ro = IsReadOnly(from) ? null : Path.Join(Path.GetDirectoryName(from)!, ".send-" + Path.GetFileName(from) + "-" + Guid.NewGuid().ToString("n")[..8]);
        try
        {
            if (ro is not null)
                tool.Run("btrfs", new[] { "-q", "subvolume", "snapshot", "-r", from, ro });
            var sent = ro ?? from;
            var received = Path.Join(intoDir, Path.GetFileName(sent));
            DeleteTree(received);
            try { tool.RunPipe(new[] { "btrfs", "-q", "send", sent }, new[] { "btrfs", "-q", "receive", intoDir }); }
            catch
            {
                DeleteTree(received);
                throw;
            }
            Directory.Move(received, target);
        }
        finally
        {
            if (ro is not null)
                DeleteTree(ro);
        }
    }

    public string? StreamFormat => "btrfs";

    /// <summary>btrfs send (-p PARENT) of a read-only snapshot made beside the volume (removed by the cleanup); a snapshot (read-only) is sent itself.</summary>
    public (string[] Command, Action Cleanup) SendVolume(PoolContext pool, VolumeContext volume, VolumeContext? parent = null)
    {
        var from = VolumePath(pool, volume);
        var send = new List<string> { "btrfs", "-q", "send" };
        if (parent is not null)
            send.AddRange(new[] { "-p", VolumePath(pool, parent) });
        if (VolumeTypes.IsSnapshot(volume.Type))
            return (send.Append(from).ToArray(), () => { });
        var ro = Path.Join(Path.GetDirectoryName(from)!, ".send-" + Path.GetFileName(from) + "-" + Guid.NewGuid().ToString("n")[..8]);
        tool.Run("btrfs", new[] { "-q", "subvolume", "snapshot", "-r", from, ro });
        return (send.Append(ro).ToArray(), () => DeleteTree(ro));
    }

    /// <summary>
    /// btrfs receive into a staging directory (an incremental stream finds its parent by uuid), then a
    /// writable snapshot of the received subvolume becomes the volume (as for copies between pools); a
    /// snapshot volume is the received subvolume itself (read-only, the parent of the next stream),
    /// received in place (a read-only subvolume cannot be moved to another directory).
    /// </summary>
    public void ReceiveVolume(PoolContext pool, VolumeContext volume, string compressedFile, VolumeContext? parent = null)
    {
        VolumeLayout.EnsureTypeDir(Root(pool), volume.Type);
        var final = VolumePath(pool, volume);
        VolumeLayout.CheckFree(final);
        if (VolumeTypes.IsSnapshot(volume.Type))
        {
            // The stream names the subvolume it makes: only one of the expected name is received.
            var first = tool.Run("sh", new[] { "-c", "zstd -dc \"$1\" | btrfs receive --dump | head -n 1", "sh", compressedFile });
            if (first.Split((char[]?)null, 3, StringSplitOptions.RemoveEmptyEntries) is not [_, var made, ..] || made != "./" + volume.Name)
                throw new ContainerPSException(Errors.InvalidSnapshot, $"The btrfs stream for snapshot '{volume.Name}' makes another subvolume ({Names.Printable(first.Trim())}).", volume.Name);
            try { tool.RunPipe(new[] { "zstd", "-dc", compressedFile }, new[] { "btrfs", "-q", "receive", "-e", Path.GetDirectoryName(final)! }); }
            catch
            {
                DeleteTree(final);
                throw;
            }
            return;
        }
        var staging = Path.Join(Path.GetDirectoryName(final)!, ".recv-" + volume.Name);
        DeleteStaging(staging);
        Directory.CreateDirectory(staging, VolumeLayout.Mode0700);
        try
        {
            tool.RunPipe(new[] { "zstd", "-dc", compressedFile }, new[] { "btrfs", "-q", "receive", staging });
            var received = Directory.GetDirectories(staging).Single();
            tool.Run("btrfs", new[] { "-q", "subvolume", "snapshot", received, final });
        }
        finally { DeleteStaging(staging); }
        if (volume.Config.GetValueOrDefault("size") is { } size)
            ApplySize(pool, final, size);
    }

    private void DeleteStaging(string staging)
    {
        if (!Directory.Exists(staging))
            return;
        foreach (var sub in Directory.GetDirectories(staging))
            DeleteTree(sub);
        Directory.Delete(staging);
    }

    private bool IsReadOnly(string subvolume) =>
        tool.Run("btrfs", new[] { "property", "get", "-ts", subvolume, "ro" }).Trim() == "ro=true";

    public void RestoreVolume(PoolContext pool, VolumeContext snapshot, VolumeContext target)
    {
        // A writable snapshot of the snapshot beside the target, then a swap: never half-restored.
        var temp = TempPath(pool, target);
        DeleteTree(temp);
        tool.Run("btrfs", new[] { "-q", "subvolume", "snapshot", VolumePath(pool, snapshot), temp });
        var final = VolumePath(pool, target);
        var old = Path.Join(Path.GetDirectoryName(final)!, ".old-" + target.Name);
        DeleteTree(old);
        if (Directory.Exists(final)) // not after a restore cut short here: it is done again
            Directory.Move(final, old);
        FaultPoints.Hit("volume.restore.mid-swap");
        Directory.Move(temp, final);
        DeleteTree(old);
        if (target.Config.GetValueOrDefault("size") is { } size)
            ApplySize(pool, final, size);
    }

    public void UpdateVolume(PoolContext pool, VolumeContext volume, IReadOnlyDictionary<string, string?> changes)
    {
        if (changes.TryGetValue("size", out var size))
            ApplySize(pool, VolumePath(pool, volume), size);
    }

    /// <summary>The volume's qgroup limit (quotas are enabled on the filesystem the first time a size is set); null removes it.</summary>
    private void ApplySize(PoolContext pool, string subvolume, string? size)
    {
        if (size is null)
        {
            if (QuotaEnabled(Root(pool)))
                tool.Run("btrfs", new[] { "qgroup", "limit", "none", subvolume });
            return;
        }
        if (!ByteSize.TryParse(size, out var bytes))
            throw new ContainerPSException(Errors.InvalidConfigValue, $"Invalid size '{size}'.", size);
        if (!QuotaEnabled(Root(pool)))
            tool.Run("btrfs", new[] { "quota", "enable", Root(pool) });
        tool.Run("btrfs", new[] { "qgroup", "limit", bytes.ToString(CultureInfo.InvariantCulture), subvolume });
    }

    private bool QuotaEnabled(string mount) =>
        tool.Execute("btrfs", new[] { "qgroup", "show", mount }, null, null).ExitCode == 0;

    /// <summary>Bytes the volume's files occupy (like du: extents it shares with snapshots and clones are counted too).</summary>
    public long? VolumeUsage(PoolContext pool, VolumeContext volume) => DiskUsage.Tree(VolumePath(pool, volume));

    public bool EnforcesSize(PoolContext pool) => true;

    /// <summary>Deletes a subvolume and the subvolumes made inside it (deepest first), or a plain directory. Idempotent.</summary>
    private void DeleteTree(string path)
    {
        if (!Path.Exists(path) && !HostPath.IsSymlink(path))
            return;
        if (!Directory.Exists(path) || HostPath.IsSymlink(path) || LibC.LStat(path).stx_ino != 256)
        {
            tool.Run("rm", new[] { "-rf", "--one-file-system", "--", path });
            return;
        }
        // A subvolume's root directory is inode 256; nested ones are found the same way.
        var nested = tool.Run("find", new[] { path, "-mindepth", "1", "-type", "d", "-inum", "256" })
            .Split('\n', StringSplitOptions.RemoveEmptyEntries).OrderByDescending(p => p.Count(c => c == '/')).ToList();
        foreach (var sub in nested.Append(path))
        {
            tool.Run("btrfs", new[] { "-q", "subvolume", "delete", sub });
        }
    }
}
