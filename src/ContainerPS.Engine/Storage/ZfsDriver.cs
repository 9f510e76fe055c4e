using System.Globalization;
using System.Text.RegularExpressions;

namespace ContainerPS.Engine.Storage;

/// <summary>
/// The zfs driver, as Incus's: a pool is a zpool made on a sparse file or a block device, or an
/// existing dataset (zfs.pool_name); volumes are datasets DATASET/{custom,containers,images}/NAME
/// mounted at the pool's directory; container snapshots are zfs snapshots (CONTAINER@NAME);
/// copies are clones of a snapshot (zfs.clone_copy, the default) or zfs send/receive; a volume's
/// size is its refquota; properties are read with `zfs get -H -p -o value`. A dataset that clones
/// still depend on (an image, say) is kept unmounted (containerps:deleted=true) and destroyed with
/// its last clone.
/// Works with zfs-fuse (pool version 23: no zvols, no .zfs directory), whose daemon must run.
/// The zfs and zpool commands are run by <see cref="ZfsTools"/>.
/// </summary>
public sealed class ZfsDriver : IStorageDriver
{
    /// <summary>The file or block device of a zpool ContainerPS created (absent for an existing dataset given as source).</summary>
    public const string DeviceKey = "volatile.zfs.device";
    public const string PoolNameKey = "zfs.pool_name";
    /// <summary>User property of a dataset whose volume is gone but that clones still depend on.</summary>
    private const string DeletedProperty = "containerps:deleted";
    /// <summary>On a dataset that snapshots received in a move made, until the container's own stream arrives.</summary>
    private const string HeldProperty = "containerps:snapshots-only";
    /// <summary>User property on the root dataset of a zpool ContainerPS created: the pool's name (only such a zpool is ever destroyed).</summary>
    private const string OwnerProperty = "containerps:pool";

    private static readonly Regex DatasetName = new(@"^[A-Za-z][A-Za-z0-9_.:-]*(/[A-Za-z0-9_.:-]+)*\z", RegexOptions.CultureInvariant);

    private readonly ExternalTool tool;
    private readonly ZfsTools zfs;

    public ZfsDriver(ExternalTool tool)
    {
        this.tool = tool;
        zfs = new ZfsTools(tool);
    }

    public string Name => "zfs";

    public ConfigSchema Schema { get; } = new("zfs",
        poolKeys: new[]
        {
            new ConfigKey("source", ConfigValues.Any, "An existing zpool or dataset, a block device, or (without -Source) a file made for the pool.", SetOnlyAtCreation: true),
            new ConfigKey("size", ConfigValues.Size, "Size of the file made when there is no -Source (default: 20% of free space, 5-30 GiB).", SetOnlyAtCreation: true),
            new ConfigKey(PoolNameKey, PoolName, "The zpool (or dataset) holding the pool's volumes (default: the pool's name).", SetOnlyAtCreation: true),
            new ConfigKey("zfs.clone_copy", ConfigValues.Bool, "Copies are clones of a snapshot (true, the default) or full zfs send/receive copies (false)."),
        },
        volumeKeys: new[]
        {
            new ConfigKey("size", ConfigValues.Size, "Size limit of the volume (its refquota)."),
        });

    private static string? PoolName(string v) => DatasetName.IsMatch(v) ? null : $"'{v}' is not a zpool or dataset name";

    // ------------------------------------------------------------------ pools

    private static string Dataset(PoolContext pool) => pool.Config.GetValueOrDefault(PoolNameKey) ?? pool.Name;

    public PoolSource CheckSource(string? source, string defaultSource)
    {
        if (source is null)
            return new PoolSource(defaultSource, Owned: true, new Dictionary<string, string> { [DeviceKey] = PoolDevices.CheckLoopImage(defaultSource) });
        if (PoolDevices.IsDevicePath(source))
        {
            PoolDevices.CheckBlockDevice(tool, source, "zfs_member", "zfs");
            return new PoolSource(defaultSource, Owned: true, new Dictionary<string, string> { [DeviceKey] = source });
        }
        if (!DatasetName.IsMatch(source))
            throw new ContainerPSException(Errors.InvalidSource,
                $"Invalid source '{Names.Printable(source)}' for a zfs pool: give an existing zpool or dataset (tank, tank/containerps) or a block device.", source);
        if (!zfs.Exists(source))
            throw new ContainerPSException(Errors.InvalidSource, $"Invalid source '{source}' for a zfs pool: no such zpool or dataset.", source);
        if (zfs.Run("zfs", "list", "-H", "-o", "name", "-r", "-d", "1", source).Split('\n', StringSplitOptions.RemoveEmptyEntries).Length > 1)
            throw new ContainerPSException(Errors.SourceNotEmpty, $"Dataset '{source}' has datasets below it; give an empty one.", source);
        return new PoolSource(defaultSource, Owned: true, new Dictionary<string, string> { [PoolNameKey] = source });
    }

    public void CreatePool(PoolContext pool)
    {
        var ds = Dataset(pool);
        if (pool.Config.TryGetValue(DeviceKey, out var device))
        {
            if (ds.Contains('/'))
                throw new ContainerPSException(Errors.InvalidConfigValue, $"zfs.pool_name '{ds}' names a dataset; a new zpool needs a plain name.", ds);
            if (zfs.Exists(ds))
                throw new ContainerPSException(Errors.SourceInUse, $"A zpool named '{ds}' exists already; set zfs.pool_name or give -Source {ds}.", ds);
            if (!PoolDevices.IsDevicePath(device))
                PoolDevices.CreateLoopImage(device, pool.Config);
            zfs.Run("zpool", "create", "-o", "cachefile=none", "-m", "none", ds, device);
            zfs.Run("zfs", "set", $"{OwnerProperty}={pool.Name}", ds);
        }
        Directory.CreateDirectory(pool.Source, VolumeLayout.Mode0711);
        VolumeLayout.CreateTypeDirs(pool.Source);
        foreach (var child in new[] { VolumeType.Custom, VolumeType.Container, VolumeType.Image }.Select(VolumeLayout.TypeDir))
            if (!zfs.Exists($"{ds}/{child}"))
                zfs.Run("zfs", "create", "-o", "mountpoint=none", $"{ds}/{child}");
    }

    /// <summary>Pool datasets seen present (a driver lives for one command): checked with zfs list once, not on every volume operation.</summary>
    private readonly HashSet<string> ready = new(StringComparer.Ordinal);

    /// <summary>The pool's dataset, its zpool imported first when this zfs daemon does not have it yet (a restarted zfs-fuse).</summary>
    private string Ready(PoolContext pool)
    {
        var ds = Dataset(pool);
        if (ready.Contains(ds))
            return ds;
        if (!zfs.Exists(ds) && pool.Config.TryGetValue(DeviceKey, out var device))
            zfs.Run("zpool", "import", "-o", "cachefile=none", "-d", PoolDevices.IsDevicePath(device) ? "/dev" : Path.GetDirectoryName(device)!, ds);
        ready.Add(ds);
        return ds;
    }

    public void UpdatePool(PoolContext pool, IReadOnlyDictionary<string, string?> changes)
    {
        // zfs.clone_copy only changes how later copies are made.
    }

    public void DeletePool(PoolContext pool)
    {
        var ds = Dataset(pool);
        if (zfs.Exists(ds) || (pool.Config.ContainsKey(DeviceKey) && TryImport(pool)))
        {
            if (pool.Config.ContainsKey(DeviceKey) && zfs.Get(ds, OwnerProperty) == pool.Name)
            {
                zfs.Run("zpool", "destroy", "-f", ds);
                ready.Remove(ds);
            }
            else if (!pool.Config.ContainsKey(DeviceKey))
                foreach (var child in zfs.Run("zfs", "list", "-H", "-o", "name", "-r", "-d", "1", ds).Split('\n', StringSplitOptions.RemoveEmptyEntries).Skip(1))
                    zfs.Run("zfs", "destroy", "-R", child);
            // else: a zpool of that name that is not this pool's (its creation failed): left alone.
        }
        if (pool.Config.TryGetValue(DeviceKey, out var device) && !PoolDevices.IsDevicePath(device) && File.Exists(device))
            PoolDevices.DeleteLoopImage(device);
        if (Directory.Exists(pool.Source))
        {
            foreach (var type in VolumeTypes.All)
            {
                var dir = Path.Join(pool.Source, VolumeLayout.TypeDir(type));
                if (Directory.Exists(dir) && !Directory.EnumerateFileSystemEntries(dir).Any())
                    Directory.Delete(dir);
            }
            if (pool.OwnsSource && !Directory.EnumerateFileSystemEntries(pool.Source).Any())
                Directory.Delete(pool.Source);
        }
    }

    private bool TryImport(PoolContext pool)
    {
        try { Ready(pool); return true; }
        catch (ContainerPSException e) { tool.Log.Warning($"Could not import zpool of pool '{pool.Name}' to remove it: {e.Message}"); return false; }
    }

    public (long? Used, long? Size) PoolUsage(PoolContext pool)
    {
        var ds = Ready(pool);
        var used = long.Parse(zfs.Get(ds, "used"), CultureInfo.InvariantCulture);
        return (used, used + long.Parse(zfs.Get(ds, "available"), CultureInfo.InvariantCulture));
    }

    // ------------------------------------------------------------------ volumes

    /// <summary>The dataset of a volume; a snapshot volume NAME@SNAPSHOT is the zfs snapshot of its container's or custom volume's dataset.</summary>
    private string Dataset(PoolContext pool, VolumeContext volume) =>
        $"{Ready(pool)}/{VolumeLayout.TypeDir(VolumeTypes.Parent(volume.Type))}/{volume.Name}";

    /// <summary>Where the volume's dataset is mounted (a snapshot is not mounted: zfs-fuse has no .zfs directory).</summary>
    public string VolumePath(PoolContext pool, VolumeContext volume) => VolumeLayout.Path(pool.Source, volume);

    public bool VolumeExists(PoolContext pool, VolumeContext volume) => zfs.Exists(Dataset(pool, volume));

    public void CreateVolume(PoolContext pool, VolumeContext volume)
    {
        var ds = Dataset(pool, volume);
        if (zfs.Exists(ds) && volume.Type == VolumeType.Image && Parked(pool).Contains(ds))
        {
            // The same image again (its name is its content's hash): the dataset kept for its clones is taken back.
            zfs.Run("zfs", "inherit", DeletedProperty, ds);
            zfs.Run("zfs", "set", "mountpoint=" + VolumePath(pool, volume), ds);
            return;
        }
        if (zfs.Exists(ds))
            throw new ContainerPSException(Errors.VolumeExists, Parked(pool).Contains(ds)
                ? $"Dataset {ds} of an earlier volume of that name is kept while copies cloned from it exist; remove them or choose another name."
                : $"Dataset {ds} already exists but the pool has no such volume; remove it first.", ds);
        var args = new List<string> { "create", "-o", "mountpoint=" + VolumePath(pool, volume) };
        if (volume.Config.GetValueOrDefault("size") is { } size && ByteSize.TryParse(size, out var bytes))
            args.AddRange(new[] { "-o", "refquota=" + bytes.ToString(CultureInfo.InvariantCulture) });
        args.Add(ds);
        zfs.Run("zfs", args.ToArray());
    }

    public void DeleteVolume(PoolContext pool, VolumeContext volume)
    {
        var ds = Dataset(pool, volume);
        if (zfs.Exists(ds))
        {
            if (VolumeTypes.IsSnapshot(volume.Type))
            {
                // Deferred: a snapshot that copies were cloned from goes with its last clone.
                zfs.Run("zfs", "destroy", "-d", ds);
                // A dataset only received snapshots made (a move cut short) goes with the last of them.
                var container = ds[..ds.IndexOf('@', StringComparison.Ordinal)];
                if (zfs.Get(container, HeldProperty) == "true"
                    && zfs.Run("zfs", "list", "-H", "-o", "name", "-t", "snapshot", "-r", "-d", "1", container).Trim().Length == 0)
                    zfs.Run("zfs", "destroy", "-r", container);
            }
            else
            {
                var origin = zfs.Get(ds, "origin");
                if (HasDependentClones(ds))
                {
                    // Kept, unmounted, until its last clone is gone, as Incus keeps images. (Not renamed
                    // away: a rename remounts the clones, which fails while a container uses one.)
                    zfs.Run("zfs", "set", "mountpoint=none", ds);
                    zfs.Run("zfs", "set", DeletedProperty + "=true", ds);
                }
                else
                {
                    zfs.Run("zfs", "destroy", "-r", ds);
                }
                // The snapshot a copy was cloned from is not needed once the copy is gone.
                if (origin.Contains("@copy-", StringComparison.Ordinal) && zfs.Exists(origin))
                    zfs.Run("zfs", "destroy", "-d", origin);
            }
        }
        CollectDeleted(pool);
        var path = VolumePath(pool, volume);
        if (Directory.Exists(path) && !Mounts.IsMountPoint(path) && !Directory.EnumerateFileSystemEntries(path).Any())
            Directory.Delete(path);
    }

    /// <summary>Whether a dataset cloned from <paramref name="snapshotOrDataset"/> (a snapshot, or any snapshot of a dataset) exists in its zpool (zfs-fuse has no clones property).</summary>
    private bool HasDependentClones(string snapshotOrDataset)
    {
        var zpool = snapshotOrDataset.Split('/', '@')[0];
        return zfs.Run("zfs", "list", "-H", "-o", "origin", "-t", "filesystem", "-r", zpool).Split('\n', StringSplitOptions.RemoveEmptyEntries)
            .Any(o => snapshotOrDataset.Contains('@') ? o == snapshotOrDataset : o.StartsWith(snapshotOrDataset + "@", StringComparison.Ordinal));
    }

    /// <summary>Destroys the kept datasets no clone depends on any more (and the copy snapshots they leave).</summary>
    private void CollectDeleted(PoolContext pool)
    {
        for (var progress = true; progress;)
        {
            progress = false;
            foreach (var ds in Parked(pool))
            {
                if (HasDependentClones(ds))
                    continue;
                var origin = zfs.Get(ds, "origin");
                zfs.Run("zfs", "destroy", "-r", ds);
                if (origin.Contains("@copy-", StringComparison.Ordinal) && zfs.Exists(origin))
                    zfs.Run("zfs", "destroy", "-d", origin);
                progress = true; // a kept dataset it was cloned from may be free now
            }
        }
    }

    /// <summary>The pool's datasets kept for their clones (user property containerps:deleted).</summary>
    private List<string> Parked(PoolContext pool) =>
        zfs.Run("zfs", "get", "-H", "-o", "name,value", "-r", DeletedProperty, Ready(pool))
            .Split('\n', StringSplitOptions.RemoveEmptyEntries).Select(l => l.Split('\t'))
            .Where(f => f.Length == 2 && f[1] == "true" && !f[0].Contains('@')).Select(f => f[0]).ToList();

    public void RenameVolume(PoolContext pool, VolumeContext volume, string newName)
    {
        var from = Dataset(pool, volume);
        var to = Dataset(pool, volume with { Name = newName });
        if (VolumeTypes.IsSnapshot(volume.Type))
        {
            // A snapshot moves with its container's dataset; only a rename within one dataset is left to do.
            if (zfs.Exists(to))
                return;
            if (from.Split('@')[0] != to.Split('@')[0])
                throw new ContainerPSException(Errors.VolumeExists, $"Snapshot {from} cannot move to another dataset ({to}).", to);
            zfs.Run("zfs", "rename", from, to);
            return;
        }
        if (zfs.Exists(to))
            throw new ContainerPSException(Errors.VolumeExists, $"Dataset {to} already exists.", to);
        // zfs-fuse cannot rename a mounted dataset ("dataset is busy"): unmount, rename, mount at the new place.
        zfs.Run("zfs", "set", "mountpoint=none", from);
        zfs.Run("zfs", "rename", from, to);
        zfs.Run("zfs", "set", "mountpoint=" + VolumePath(pool, volume with { Name = newName }), to);
        var old = VolumePath(pool, volume);
        if (Directory.Exists(old) && !Directory.EnumerateFileSystemEntries(old).Any())
            Directory.Delete(old);
    }

    /// <summary>
    /// A snapshot of a container (zfs snapshot), else a clone of a snapshot of the source (zfs.clone_copy,
    /// the default; constant time), else zfs send/receive (another zfs pool, or zfs.clone_copy=false).
    /// </summary>
    public void CopyVolume(PoolContext sourcePool, VolumeContext source, PoolContext pool, VolumeContext target)
    {
        var from = Dataset(sourcePool, source);
        var to = Dataset(pool, target);
        if (zfs.Exists(to))
            throw new ContainerPSException(Errors.VolumeExists, $"Dataset {to} already exists.", to);
        if (VolumeTypes.IsSnapshot(target.Type))
        {
            if (from.Contains('@') || to.Split('@')[0] != from)
                throw new ContainerPSException(Errors.InvalidSnapshot, $"A zfs snapshot is taken of its own dataset: {to} is not a snapshot of {from}.", to);
            zfs.Run("zfs", "snapshot", to);
            return;
        }
        var origin = from.Contains('@') ? from : $"{from}@copy-{Guid.NewGuid():n}";
        if (!from.Contains('@'))
            zfs.Run("zfs", "snapshot", origin);
        var mount = "mountpoint=" + VolumePath(pool, target);
        var quota = target.Config.GetValueOrDefault("size") is { } size && ByteSize.TryParse(size, out var bytes) ? bytes.ToString(CultureInfo.InvariantCulture) : "none";
        try
        {
            if (Dataset(sourcePool) == Dataset(pool) && pool.Config.GetValueOrDefault("zfs.clone_copy") != "false")
            {
                zfs.Run("zfs", "clone", "-o", mount, "-o", "refquota=" + quota, origin, to);
                return;
            }
            zfs.Receive(new[] { "zfs", "send", origin }, to);
            zfs.Run("zfs", "destroy", $"{to}@{origin.Split('@')[1]}");
            zfs.Run("zfs", "set", "refquota=" + quota, to);
            zfs.Run("zfs", "set", mount, to);
        }
        finally
        {
            // A clone keeps its origin snapshot until it is destroyed itself; a full copy needs it no more.
            if (!from.Contains('@') && zfs.Exists(origin) && !HasDependentClones(origin))
                zfs.Run("zfs", "destroy", origin);
        }
    }

    public string? StreamFormat => "zfs";

    /// <summary>zfs send (-i PARENT) of a snapshot send-* taken for it (destroyed by the cleanup); a snapshot volume is sent itself.</summary>
    public (string[] Command, Action Cleanup) SendVolume(PoolContext pool, VolumeContext volume, VolumeContext? parent = null)
    {
        var send = new List<string> { "zfs", "send" };
        if (parent is not null)
            send.AddRange(new[] { "-i", Dataset(pool, parent) });
        if (VolumeTypes.IsSnapshot(volume.Type))
            return (send.Append(Dataset(pool, volume)).ToArray(), () => { });
        var snap = $"{Dataset(pool, volume)}@send-{Guid.NewGuid():n}";
        zfs.Run("zfs", "snapshot", snap);
        return (send.Append(snap).ToArray(), () => { if (zfs.Exists(snap)) zfs.Run("zfs", "destroy", snap); });
    }

    /// <summary>
    /// zfs receive of the stream, then its send-* snapshot goes and the dataset gets its mount point and
    /// refquota. A snapshot volume is received into its container's dataset (the oldest one creates
    /// it, unmounted, marked as held by its snapshots until the container's own stream arrives).
    /// </summary>
    public void ReceiveVolume(PoolContext pool, VolumeContext volume, string compressedFile, VolumeContext? parent = null)
    {
        var ds = Dataset(pool, volume);
        if (VolumeTypes.IsSnapshot(volume.Type))
        {
            var container = ds[..ds.IndexOf('@', StringComparison.Ordinal)];
            var first = !zfs.Exists(container);
            if (first == (parent is not null) || zfs.Exists(ds))
                throw new ContainerPSException(Errors.VolumeExists, $"Dataset {container} {(first ? "does not exist" : "already exists")} or has snapshot {ds}.", ds);
            zfs.Receive(new[] { "zstd", "-dc", compressedFile }, container, incremental: !first);
            if (first)
            {
                zfs.Run("zfs", "set", "mountpoint=none", container);
                zfs.Run("zfs", "set", HeldProperty + "=true", container);
            }
            if (!zfs.Exists(ds))
                throw new ContainerPSException(Errors.InvalidSnapshot, $"The stream received into {container} did not bring snapshot {ds}.", ds);
            return;
        }
        if (zfs.Exists(ds) != (parent is not null))
            throw new ContainerPSException(Errors.VolumeExists, parent is null ? $"Dataset {ds} already exists." : $"Dataset {ds} does not exist.", ds);
        zfs.Receive(new[] { "zstd", "-dc", compressedFile }, ds, incremental: parent is not null);
        if (parent is not null)
            zfs.Run("zfs", "inherit", HeldProperty, ds);
        foreach (var snap in zfs.Run("zfs", "list", "-H", "-o", "name", "-t", "snapshot", "-r", "-d", "1", ds).Split('\n', StringSplitOptions.RemoveEmptyEntries)
                     .Where(s => s.Contains("@send-", StringComparison.Ordinal)))
            zfs.Run("zfs", "destroy", snap);
        var quota = volume.Config.GetValueOrDefault("size") is { } size && ByteSize.TryParse(size, out var bytes) ? bytes.ToString(CultureInfo.InvariantCulture) : "none";
        zfs.Run("zfs", "set", "refquota=" + quota, ds);
        zfs.Run("zfs", "set", "mountpoint=" + VolumePath(pool, volume), ds);
    }

    /// <summary>zfs rollback: the snapshot must be the container's latest (zfs cannot roll back past later ones).</summary>
    public void RestoreVolume(PoolContext pool, VolumeContext snapshot, VolumeContext target)
    {
        var snap = Dataset(pool, snapshot);
        var ds = Dataset(pool, target);
        var later = zfs.Run("zfs", "list", "-H", "-o", "name", "-t", "snapshot", "-r", "-d", "1", ds).Split('\n', StringSplitOptions.RemoveEmptyEntries)
            .SkipWhile(s => s != snap).Skip(1).Where(s => !s.Contains("@copy-", StringComparison.Ordinal)).ToList();
        if (later.Count > 0)
            throw new ContainerPSException(Errors.SnapshotNotLatest,
                $"zfs rolls back only to a dataset's latest snapshot; remove the later snapshot(s) first: {string.Join(", ", later.Select(s => s.Split('@')[1]))}.", snap);
        zfs.Run("zfs", "rollback", "-r", snap);
    }

    public void UpdateVolume(PoolContext pool, VolumeContext volume, IReadOnlyDictionary<string, string?> changes)
    {
        if (!changes.TryGetValue("size", out var size))
            return;
        var value = size is not null && ByteSize.TryParse(size, out var bytes) ? bytes.ToString(CultureInfo.InvariantCulture) : "none";
        zfs.Run("zfs", "set", "refquota=" + value, Dataset(pool, volume));
    }

    public long? VolumeUsage(PoolContext pool, VolumeContext volume)
    {
        var ds = Dataset(pool, volume);
        return zfs.Exists(ds) && long.TryParse(zfs.Get(ds, VolumeTypes.IsSnapshot(volume.Type) ? "referenced" : "used"), NumberStyles.None, CultureInfo.InvariantCulture, out var n) ? n : null;
    }

    public bool EnforcesSize(PoolContext pool) => true;
}
