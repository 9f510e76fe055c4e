using ContainerPS.Engine.State;
using ContainerPS.Engine.Platform;

namespace ContainerPS.Engine.Storage;

/// <summary>
/// Storage pools and volumes: validation, the state rows, and the order of steps that keeps a crash
/// half-way recoverable. A row is inserted (or claimed) with an owner before disk work starts and
/// released or deleted after it ends; <see cref="RepairInterrupted"/> finishes or undoes the work of
/// owners that died.
/// </summary>
public sealed class StorageService : IDisposable
{
    private readonly StateStore store;
    private readonly string root;
    private readonly ExternalTool tool;
    private readonly IEngineLog log;
    private readonly Dictionary<string, IStorageDriver> drivers = new(StringComparer.Ordinal);

    public StorageService(StateStore store, string root, ExternalTool tool, IEngineLog log)
    {
        this.store = store;
        this.root = root;
        this.tool = tool;
        this.log = log;
    }

    /// <summary>Closes what drivers hold for the command (the ceph driver's cluster connections).</summary>
    public void Dispose()
    {
        foreach (var d in drivers.Values.OfType<IDisposable>())
            d.Dispose();
        drivers.Clear();
    }

    public IStorageDriver Driver(string name)
    {
        if (!drivers.TryGetValue(name, out var d))
            drivers[name] = d = StorageDrivers.Create(name, tool);
        return d;
    }

    private static PoolContext Ctx(PoolRow p) => new(p.Name, p.Source, p.OwnsSource, p.Config);
    private static VolumeContext Ctx(VolumeRow v) => new(v.Name, v.Type, v.Config);

    // ------------------------------------------------------------------ pools

    public StoragePool CreatePool(string name, string driverName, string? source, IReadOnlyDictionary<string, string?>? config, string? description = null)
    {
        Names.Validate(name, "storage pool");
        var driver = Driver(driverName);
        var changes = new Dictionary<string, string?>(config ?? new Dictionary<string, string?>(), StringComparer.Ordinal);
        if (changes.Remove("source", out var configSource) && configSource is not null)
        {
            if (source is not null && source != configSource)
                throw new ContainerPSException(Errors.InvalidSource,
                    $"-Source '{source}' and config key source '{configSource}' disagree; give one.", source);
            source = configSource;
        }
        driver.Schema.CheckPool(changes, creating: true);
        if (store.Pool(name) is not null)
            throw new ContainerPSException(Errors.PoolExists, $"Storage pool '{name}' already exists.", name);

        var pools = Path.Join(root, "storage-pools");
        if (source is not null)
            CheckSourcePlacement(source, source, userGiven: true);
        var src = driver.CheckSource(source, Path.Join(pools, name));
        var cfg = changes.Where(kv => kv.Value is not null).ToDictionary(kv => kv.Key, kv => kv.Value!, StringComparer.Ordinal);
        cfg["source"] = src.Path;
        foreach (var (k, v) in src.Config ?? new Dictionary<string, string>())
            cfg[k] = v;

        var id = store.Write(() =>
        {
            // Where the driver places a pool itself (a btrfs device is mounted below the state root) is not the user's choice.
            CheckSourcePlacement(src.Path, source ?? src.Path, userGiven: source is not null && IsSamePath(src.Path, source));
            return store.InsertPool(name, driver.Name, src.Path, src.Owned, description ?? "", cfg);
        });
        var ctx = new PoolContext(name, src.Path, src.Owned, cfg);
        try
        {
            if (source is null)
                Directory.CreateDirectory(pools, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
            driver.CreatePool(ctx);
            FaultPoints.Hit("pool.create.after-disk");
            store.Write(() => store.Release("pools", id));
        }
        catch
        {
            if (Undo($"pool '{name}'", () => driver.DeletePool(ctx)))
                store.Write(() => store.DeletePoolRow(id));
            throw;
        }
        return GetPool(name);
    }

    /// <summary>
    /// For a source that is a host path: SourceInsideRoot when it lies inside the state root (an
    /// explicit -Source never does), SourceInUse when it is, contains, or lies inside another pool's source.
    /// </summary>
    private void CheckSourcePlacement(string path, string asGiven, bool userGiven)
    {
        if (!Path.IsPathRooted(path) || HostPath.HasControlCharacters(path))
            return; // not a host path: the driver's own checks report it
        string canonical;
        try { canonical = HostPath.Canonical(path); }
        catch (IOException) { return; }
        if (userGiven && HostPath.IsWithin(canonical, HostPath.Canonical(root)))
            throw new ContainerPSException(Errors.SourceInsideRoot,
                $"Source '{asGiven}' is inside the ContainerPS state root {root}; give a directory outside it, or omit -Source to let ContainerPS place the pool.", asGiven);
        foreach (var other in store.Pools())
        {
            if (!Path.IsPathRooted(other.Source))
                continue;
            if (HostPath.IsWithin(canonical, other.Source) || HostPath.IsWithin(other.Source, canonical))
                throw new ContainerPSException(Errors.SourceInUse,
                    $"Source '{asGiven}' overlaps the source of storage pool '{other.Name}' ({other.Source}); pools cannot share or nest directories.", asGiven);
        }
    }

    private static bool IsSamePath(string a, string b)
    {
        try { return HostPath.Canonical(a) == HostPath.Canonical(b); }
        catch (IOException) { return a == b; }
    }

    public IReadOnlyList<StoragePool> ListPools()
    {
        var volumes = store.Volumes();
        return store.Pools().Select(p => ToPool(p, volumes)).ToList();
    }

    public StoragePool GetPool(string name) => ToPool(PoolRow(name), store.Volumes());

    private PoolRow PoolRow(string name) => store.Pool(name) ?? throw ContainerPSException.PoolNotFound(name);

    private static PoolRow Ready(PoolRow p) =>
        p.State == RowState.Ready ? p : throw ContainerPSException.Busy($"Storage pool '{p.Name}'", Errors.PoolBusy);

    public StoragePool UpdatePool(string name, IReadOnlyDictionary<string, string?> changes, string? description = null)
    {
        store.Write(() =>
        {
            var p = Ready(PoolRow(name));
            var driver = Driver(p.Driver);
            driver.Schema.CheckPool(changes, creating: false);
            var merged = Merge(p.Config, changes);
            driver.UpdatePool(Ctx(p) with { Config = merged }, changes);
            store.UpdatePool(p.Id, merged, description ?? p.Description);
        });
        return GetPool(name);
    }

    public void RemovePool(string name, bool force)
    {
        var pool = PoolRow(name);
        var volumes = store.Volumes(pool.Id);
        var owned = volumes.Where(v => v.Type is VolumeTypes.Container or VolumeTypes.Snapshot).Select(v => v.Name.Split('@')[0]).Distinct().ToList();
        if (owned.Count > 0)
            throw new ContainerPSException(Errors.PoolInUse,
                $"Storage pool '{name}' holds the containers {string.Join(", ", owned.Take(5))}{(owned.Count > 5 ? ", ..." : "")}; remove them first (-Force removes only custom and image volumes).", name);
        if (volumes.Count > 0)
        {
            if (!force)
                throw new ContainerPSException(Errors.PoolInUse,
                    $"Storage pool '{name}' is in use by {volumes.Count} volume(s) ({string.Join(", ", volumes.Take(5).Select(v => $"{v.Type}/{v.Name}"))}); remove them first or use -Force.", name);
            foreach (var v in volumes.OrderByDescending(v => VolumeTypes.IsSnapshot(v.Type)))
                RemoveVolume(name, v.Type, v.Name, anyType: true);
        }
        store.Write(() =>
        {
            var left = store.Volumes(pool.Id).Count;
            if (left > 0)
                throw new ContainerPSException(Errors.PoolInUse, $"Storage pool '{name}' gained {left} volume(s) while it was being removed.", name);
            if (!store.Claim("pools", pool.Id, RowState.Deleting))
                throw ContainerPSException.Busy($"Storage pool '{name}'", Errors.PoolBusy);
        });
        AbandonOnFailure("pools", pool.Id, () => Driver(pool.Driver).DeletePool(Ctx(pool)));
        FaultPoints.Hit("pool.delete.after-disk");
        store.Write(() => store.DeletePoolRow(pool.Id));
    }

    private StoragePool ToPool(PoolRow p, List<VolumeRow> allVolumes)
    {
        (long? used, long? size) = (null, null);
        try { (used, size) = Driver(p.Driver).PoolUsage(Ctx(p)); }
        catch (IOException e) { log.Verbose($"usage of pool {p.Name}: {e.Message}"); }
        return new StoragePool
        {
            Name = p.Name,
            Driver = p.Driver,
            Source = p.Source,
            Description = p.Description,
            Config = new SortedDictionary<string, string>(p.Config, StringComparer.Ordinal),
            Used = used,
            Size = size,
            CreatedAt = p.CreatedAt,
            UsedBy = allVolumes.Where(v => v.PoolId == p.Id).Select(v => $"{v.Type}/{v.Name}").ToArray(),
            Status = Status(p.State),
        };
    }

    // ------------------------------------------------------------------ volumes

    public StorageVolume CreateVolume(string poolName, string name, IReadOnlyDictionary<string, string?>? config, string? description = null)
    {
        Names.Validate(name, "storage volume");
        var pool = Ready(PoolRow(poolName));
        var driver = Driver(pool.Driver);
        var changes = config ?? new Dictionary<string, string?>();
        driver.Schema.CheckVolume(changes, creating: true);
        var cfg = Merge(VolumeDefaults(pool, driver), changes);

        var id = store.Write(() =>
        {
            Ready(PoolRow(poolName));
            return store.InsertVolume(pool.Id, pool.Name, name, VolumeTypes.Custom, description ?? "", cfg);
        });
        var vctx = new VolumeContext(name, VolumeTypes.Custom, cfg);
        Complete(id, () =>
        {
            // Every driver keeps a volume at TYPEDIR/NAME; pools made before custom/ was 0700 get it now.
            VolumeLayout.MakePrivate(Path.GetDirectoryName(driver.VolumePath(Ctx(pool), vctx))!);
            driver.CreateVolume(Ctx(pool), vctx);
            // A volume's root is 0711, as in Incus: inside a container it is root's; a chmod there sticks.
            File.SetUnixFileMode(driver.MountVolume(Ctx(pool), vctx), VolumeLayout.Mode0711);
        }, () => driver.DeleteVolume(Ctx(pool), vctx), "volume.create.after-disk");
        WarnIfSizeNotEnforced(pool, driver, cfg);
        return GetVolume(poolName, VolumeTypes.Custom, name);
    }

    /// <summary>
    /// Creates a container or image volume (names are the engine's: container names, image
    /// fingerprints) whose content <paramref name="fill"/> writes into the new volume's directory.
    /// Crash safe like custom volumes: a half-filled volume is removed by the repair.
    /// </summary>
    public StorageVolume CreateInternalVolume(string poolName, string type, string name, IReadOnlyDictionary<string, string>? config, Action<string>? fill) =>
        NewInternalVolume(poolName, type, name, config, (driver, pool, vctx) =>
        {
            driver.CreateVolume(pool, vctx);
            try { fill?.Invoke(driver.MountVolume(pool, vctx)); }
            catch
            {
                Undo($"volume {type}/{name}", () => driver.DeleteVolume(pool, vctx));
                throw;
            }
        });

    /// <summary>Creates a container or image volume from a driver stream (<see cref="StreamFormat"/>) received from another host, crash safe like <see cref="CreateInternalVolume"/>.</summary>
    public StorageVolume ReceiveInternalVolume(string poolName, string type, string name, IReadOnlyDictionary<string, string>? config, string compressedFile) =>
        NewInternalVolume(poolName, type, name, config, (driver, pool, vctx) => driver.ReceiveVolume(pool, vctx, compressedFile));

    private StorageVolume NewInternalVolume(string poolName, string type, string name, IReadOnlyDictionary<string, string>? config,
        Action<IStorageDriver, PoolContext, VolumeContext> disk)
    {
        CheckType(type);
        var pool = Ready(PoolRow(poolName));
        var driver = Driver(pool.Driver);
        var cfg = new SortedDictionary<string, string>((config ?? new Dictionary<string, string>()).ToDictionary(), StringComparer.Ordinal);
        var id = store.Write(() =>
        {
            Ready(PoolRow(poolName));
            return store.InsertVolume(pool.Id, pool.Name, name, type, "", cfg);
        });
        var vctx = new VolumeContext(name, type, cfg);
        Complete(id, () => disk(driver, Ctx(pool), vctx), () => driver.DeleteVolume(Ctx(pool), vctx), "volume.create.after-disk");
        return GetVolume(poolName, type, name);
    }

    /// <summary>The pool driver's own volume stream format (btrfs, zfs), or null when it has none.</summary>
    public string? StreamFormat(string poolName) => Driver(PoolRow(poolName).Driver).StreamFormat;

    /// <summary>Starts the driver stream of a volume: the program to run and the cleanup for afterwards.</summary>
    public (string[] Command, Action Cleanup) SendVolume(string poolName, string type, string name)
    {
        var pool = PoolRow(poolName);
        return Driver(pool.Driver).SendVolume(Ctx(pool), Ctx(Ready(VolumeRow(pool, type, name))));
    }

    /// <summary>
    /// Makes <paramref name="type"/>/<paramref name="name"/> in <paramref name="targetPoolName"/> a copy of
    /// <paramref name="sourceType"/>/<paramref name="sourceName"/> in <paramref name="poolName"/> (any types;
    /// the driver clones where it can). Used for containers from images, container copies and snapshots.
    /// </summary>
    public StorageVolume CloneVolume(string poolName, string sourceType, string sourceName, string targetPoolName, string type, string name)
    {
        CheckType(type);
        var pool = PoolRow(poolName);
        var source = Ready(VolumeRow(pool, sourceType, sourceName));
        var targetPool = Ready(PoolRow(targetPoolName));
        var driver = Driver(targetPool.Driver);
        var id = store.Write(() =>
        {
            Ready(PoolRow(targetPoolName));
            return store.InsertVolume(targetPool.Id, targetPool.Name, name, type, "", source.Config);
        });
        var vctx = new VolumeContext(name, type, source.Config);
        Complete(id, () => Copy(pool, source, targetPool, vctx),
            () => driver.DeleteVolume(Ctx(targetPool), vctx), "volume.copy.after-disk");
        return GetVolume(targetPoolName, type, name);
    }

    /// <summary>
    /// Copies a volume into another pool or the same one: the driver's own copy between pools of one
    /// driver (a snapshot, btrfs send/receive, cp --reflink), else a new volume of the target driver
    /// filled by cp -a (owners, modes, times, hard links, xattrs, ACLs and file capabilities kept).
    /// </summary>
    private void Copy(PoolRow pool, VolumeRow source, PoolRow targetPool, VolumeContext target)
    {
        var to = Driver(targetPool.Driver);
        if (pool.Driver == targetPool.Driver)
        {
            to.CopyVolume(Ctx(pool), Ctx(source), Ctx(targetPool), target);
            return;
        }
        var from = Driver(pool.Driver);
        to.CreateVolume(Ctx(targetPool), target);
        try
        {
            tool.Run("cp", new[] { "-a", "--no-target-directory", from.MountVolume(Ctx(pool), Ctx(source)), to.MountVolume(Ctx(targetPool), target) });
        }
        catch
        {
            Undo($"volume {target.Type}/{target.Name}", () => to.DeleteVolume(Ctx(targetPool), target));
            throw;
        }
    }

    /// <summary>Replaces the content of a volume with that of another (a snapshot) in the same pool.</summary>
    public void RestoreVolume(string poolName, string fromType, string fromName, string type, string name)
    {
        var pool = Ready(PoolRow(poolName));
        var from = Ready(VolumeRow(pool, fromType, fromName));
        var target = store.Write(() =>
        {
            var row = Ready(VolumeRow(pool, type, name));
            // Claimed as restoring from that snapshot: a restore cut short is done again by the repair.
            if (!store.Claim("volumes", row.Id, RowState.Restoring, $"{fromType}/{fromName}"))
                throw ContainerPSException.Busy($"Storage volume '{poolName}/{type}/{name}'", Errors.VolumeBusy);
            return row;
        });
        try
        {
            AbandonOnFailure("volumes", target.Id, () => RestoreOnDisk(pool, from, target));
        }
        finally { store.Write(() => store.Release("volumes", target.Id)); }
    }

    /// <summary>The driver's restore (which can be run again after a crash half-way), and the record of the map the restored files are in.</summary>
    private void RestoreOnDisk(PoolRow pool, VolumeRow from, VolumeRow target)
    {
        Driver(pool.Driver).RestoreVolume(Ctx(pool), Ctx(from), Ctx(target));
        // The files came with the owners they have in the snapshot: so does the record of their id map.
        SetVolumeState(pool.Name, target.Type, target.Name, new Dictionary<string, string?>
        {
            [IdmapLastKey] = from.Config.GetValueOrDefault(IdmapLastKey), [IdmapShiftingKey] = from.Config.GetValueOrDefault(IdmapShiftingKey),
        });
    }

    /// <summary>Renames an engine-owned volume (a container's, or its snapshots') on disk and in the state.</summary>
    public void RenameInternalVolume(string poolName, string type, string name, string newName)
    {
        var pool = Ready(PoolRow(poolName));
        var v = store.Write(() =>
        {
            var row = Ready(VolumeRow(pool, type, name));
            if (store.Volume(pool.Id, type, newName) is not null)
                throw new ContainerPSException(Errors.VolumeExists, $"Storage volume '{type}/{newName}' already exists in pool '{poolName}'.", newName);
            if (!store.Claim("volumes", row.Id, RowState.Renaming, newName))
                throw ContainerPSException.Busy($"Storage volume '{poolName}/{type}/{name}'", Errors.VolumeBusy);
            return row;
        });
        AbandonOnFailure("volumes", v.Id, () => Driver(pool.Driver).RenameVolume(Ctx(pool), Ctx(v), newName));
        store.Write(() =>
        {
            store.RenameVolumeRow(v.Id, newName);
            store.Release("volumes", v.Id);
        });
    }

    /// <summary>The id map a volume's files are stored in (absent: unshifted, the container's own ids; see <see cref="Idmap.IdShifter"/>).</summary>
    public const string IdmapLastKey = "volatile.idmap.last";
    /// <summary>The id map a shift of the volume's files was going to when it started (present only while one runs or after it crashed).</summary>
    public const string IdmapShiftingKey = "volatile.idmap.shifting";

    /// <summary>A volume's state row (id, config) with its host path, mounted first where the driver needs that (ceph).</summary>
    public (long Id, string Path, IReadOnlyDictionary<string, string> Config) VolumeState(string poolName, string type, string name)
    {
        var pool = PoolRow(poolName);
        var v = VolumeRow(pool, type, name);
        return (v.Id, Driver(pool.Driver).MountVolume(Ctx(pool), Ctx(v)), v.Config);
    }

    /// <summary>A volume's state row (id, config) alone: nothing is mounted.</summary>
    public (long Id, IReadOnlyDictionary<string, string> Config) VolumeRecord(string poolName, string type, string name)
    {
        var v = VolumeRow(PoolRow(poolName), type, name);
        return (v.Id, v.Config);
    }

    /// <summary>Sets (null: removes) engine-kept volatile.* keys of a volume.</summary>
    public void SetVolumeState(string poolName, string type, string name, IReadOnlyDictionary<string, string?> changes)
    {
        if (changes.Keys.FirstOrDefault(k => !k.StartsWith("volatile.", StringComparison.Ordinal)) is { } bad)
            throw new ArgumentException($"not a volatile key: {bad}", nameof(changes));
        var pool = PoolRow(poolName);
        store.Write(() =>
        {
            var v = VolumeRow(pool, type, name);
            store.UpdateVolume(v.Id, Merge(v.Config, changes), v.Description);
        });
    }

    /// <summary>The host directory of a volume's files, mounted first where the driver needs that (ceph).</summary>
    public string VolumePath(string poolName, string type, string name)
    {
        var pool = PoolRow(poolName);
        return Driver(pool.Driver).MountVolume(Ctx(pool), Ctx(VolumeRow(pool, type, name)));
    }

    /// <summary>
    /// Bytes a new volume of <paramref name="type"/> can take on the pool's filesystem (statvfs
    /// f_bavail where its volumes live), or null where the pool's space is not the host's to measure
    /// that way (ceph: each volume is an image of its own size).
    /// </summary>
    public long? FreeBytes(string poolName, string type)
    {
        var pool = PoolRow(poolName);
        if (pool.Driver == "ceph")
            return null;
        var dir = Path.GetDirectoryName(Driver(pool.Driver).VolumePath(Ctx(pool), new VolumeContext("-", type, new Dictionary<string, string>())));
        while (dir is not null && !Directory.Exists(dir))
            dir = Path.GetDirectoryName(dir);
        if (dir is null)
            return null;
        var st = LibC.StatVfsOf(dir);
        return (long)(st.f_bavail * st.f_frsize);
    }

    /// <summary>Bytes a volume uses, as Get-StorageVolume reports them (Used), or null where the driver cannot tell.</summary>
    public long? VolumeUsage(string poolName, string type, string name)
    {
        var pool = PoolRow(poolName);
        return Usage(pool, VolumeRow(pool, type, name));
    }

    private long? Usage(PoolRow pool, VolumeRow v)
    {
        try { return Driver(pool.Driver).VolumeUsage(Ctx(pool), Ctx(v)); }
        catch (IOException e)
        {
            log.Verbose($"usage of volume {v.Name}: {e.Message}");
            return null;
        }
    }

    /// <summary>True when the pool has a volume row of that type and name (in any state).</summary>
    public bool HasVolume(string poolName, string type, string name) => store.Volume(PoolRow(poolName).Id, type, name) is not null;

    /// <summary>
    /// Runs the disk step of a new volume row (state Creating, owned by us), then marks it ready.
    /// If the disk step fails, the row goes; if anything after it fails, the disk work is undone too.
    /// </summary>
    private void Complete(long id, Action disk, Action undoDisk, string faultPoint)
    {
        try { disk(); }
        catch
        {
            store.Write(() => store.DeleteVolumeRow(id));
            throw;
        }
        try
        {
            FaultPoints.Hit(faultPoint);
            store.Write(() => store.Release("volumes", id));
        }
        catch
        {
            if (Undo("the new volume", undoDisk))
                store.Write(() => store.DeleteVolumeRow(id));
            throw;
        }
    }

    private static SortedDictionary<string, string> VolumeDefaults(PoolRow pool, IStorageDriver driver)
    {
        var d = new SortedDictionary<string, string>(StringComparer.Ordinal);
        foreach (var (key, value) in pool.Config)
            if (key.StartsWith("volume.", StringComparison.Ordinal) && driver.Schema.VolumeKeys.ContainsKey(key["volume.".Length..]))
                d[key["volume.".Length..]] = value;
        return d;
    }

    private void WarnIfSizeNotEnforced(PoolRow pool, IStorageDriver driver, IReadOnlyDictionary<string, string> cfg)
    {
        if (cfg.ContainsKey("size") && !driver.EnforcesSize(Ctx(pool)))
            log.Warning($"Size {cfg["size"]} is recorded but not enforced: the {driver.Name} driver cannot limit a volume's size on pool '{pool.Name}'. Use a btrfs, zfs or ceph pool for enforced sizes.");
    }

    public IReadOnlyList<StorageVolume> ListVolumes(string? poolName = null)
    {
        var pools = store.Pools().ToDictionary(p => p.Id);
        long? poolId = poolName is null ? null : PoolRow(poolName).Id;
        var volumes = store.Volumes(poolId);
        return volumes.Select(v => ToVolume(pools[v.PoolId], v, volumes)).ToList();
    }

    public StorageVolume GetVolume(string poolName, string type, string name)
    {
        var pool = PoolRow(poolName);
        return ToVolume(pool, VolumeRow(pool, type, name));
    }

    private VolumeRow VolumeRow(PoolRow pool, string type, string name)
    {
        CheckType(type);
        return store.Volume(pool.Id, type, name) ?? throw ContainerPSException.VolumeNotFound(pool.Name, type, name);
    }

    private static void CheckType(string type)
    {
        if (!VolumeTypes.All.Contains(type))
            throw new ContainerPSException(Errors.InvalidVolumeType,
                $"Unknown volume type '{Names.Printable(type)}' (known: {string.Join(", ", VolumeTypes.All)}).", type);
    }

    private static void CustomOnly(string type, string name, string verb)
    {
        CheckType(type);
        if (type != VolumeTypes.Custom)
            throw new ContainerPSException(Errors.VolumeTypeNotSupported,
                $"Only custom volumes are {verb} with the storage cmdlets; '{type}/{name}' belongs to its {type}.", $"{type}/{name}");
    }

    private static VolumeRow Ready(VolumeRow v) =>
        v.State == RowState.Ready ? v : throw ContainerPSException.Busy($"Storage volume '{v.Pool}/{v.Type}/{v.Name}'", Errors.VolumeBusy);

    public StorageVolume UpdateVolume(string poolName, string type, string name, IReadOnlyDictionary<string, string?> changes, string? description = null)
    {
        var pool = PoolRow(poolName);
        var driver = Driver(pool.Driver);
        driver.Schema.CheckVolume(changes, creating: false);
        var cfg = store.Write(() =>
        {
            var v = Ready(VolumeRow(pool, type, name));
            var merged = Merge(v.Config, changes);
            driver.UpdateVolume(Ctx(pool), Ctx(v) with { Config = merged }, changes);
            store.UpdateVolume(v.Id, merged, description ?? v.Description);
            return merged;
        });
        if (changes.ContainsKey("size"))
            WarnIfSizeNotEnforced(pool, driver, cfg);
        return GetVolume(poolName, type, name);
    }

    public StorageVolume RenameVolume(string poolName, string type, string name, string newName)
    {
        CustomOnly(type, name, "renamed");
        Names.Validate(newName, "storage volume");
        var pool = Ready(PoolRow(poolName));
        var v = store.Write(() =>
        {
            var row = Ready(VolumeRow(pool, VolumeTypes.Custom, name));
            if (newName == name)
                return row;
            if (store.Volume(pool.Id, VolumeTypes.Custom, newName) is not null)
                throw new ContainerPSException(Errors.VolumeExists, $"Storage volume 'custom/{newName}' already exists in pool '{poolName}'.", newName);
            if (!store.Claim("volumes", row.Id, RowState.Renaming, newName))
                throw ContainerPSException.Busy($"Storage volume '{poolName}/custom/{name}'", Errors.VolumeBusy);
            return row;
        });
        if (newName == name)
            return GetVolume(poolName, VolumeTypes.Custom, name);
        AbandonOnFailure("volumes", v.Id, () => Driver(pool.Driver).RenameVolume(Ctx(pool), Ctx(v), newName));
        FaultPoints.Hit("volume.rename.after-disk");
        store.Write(() =>
        {
            store.RenameVolumeRow(v.Id, newName);
            store.Release("volumes", v.Id);
        });
        // Its snapshots follow (zfs and ceph snapshots moved with the dataset or image already).
        foreach (var snap in SnapshotRows(pool, VolumeTypes.Custom, name))
            RenameInternalVolume(poolName, VolumeTypes.CustomSnapshot, snap.Name, newName + snap.Name[name.Length..]);
        return GetVolume(poolName, VolumeTypes.Custom, newName);
    }

    public StorageVolume CopyVolume(string poolName, string type, string name, string? targetPoolName, string? newName)
    {
        CustomOnly(type, name, "copied");
        var pool = Ready(PoolRow(poolName));
        var targetPool = targetPoolName is null ? pool : Ready(PoolRow(targetPoolName));
        var target = Names.Validate(newName ?? name, "storage volume");
        var source = Ready(VolumeRow(pool, VolumeTypes.Custom, name));
        if (targetPool.Id == pool.Id && target == name)
            throw new ContainerPSException(Errors.VolumeExists,
                $"Copying 'custom/{name}' onto itself: give -NewName or -TargetPool.", name);
        var driver = Driver(targetPool.Driver);

        var id = store.Write(() =>
        {
            Ready(PoolRow(targetPool.Name));
            return store.InsertVolume(targetPool.Id, targetPool.Name, target, VolumeTypes.Custom, source.Description, source.Config);
        });
        var vctx = new VolumeContext(target, VolumeTypes.Custom, source.Config);
        Complete(id, () => Copy(pool, source, targetPool, vctx),
            () => driver.DeleteVolume(Ctx(targetPool), vctx), "volume.copy.after-disk");
        return GetVolume(targetPool.Name, VolumeTypes.Custom, target);
    }

    /// <param name="anyType">Also remove container and image volumes (pool removal with -Force).</param>
    public void RemoveVolume(string poolName, string type, string name, bool anyType = false)
    {
        var pool = PoolRow(poolName);
        if (type != VolumeTypes.Custom && !anyType)
            throw new ContainerPSException(Errors.VolumeTypeNotRemovable,
                $"Storage volumes of type {type} belong to their {type}; remove the {type} instead.", $"{poolName}/{type}/{name}");
        if (type == VolumeTypes.Custom)
        {
            // A custom volume goes with its snapshots (as in LXD), once nothing has it mounted.
            var row = Ready(VolumeRow(pool, type, name));
            if (store.VolumeDevices(row.Id) is { Count: > 0 } users)
                throw VolumeInUse(poolName, type, name, users.Select(u => u.Container), "Dismount-StorageVolume it first");
            foreach (var snap in SnapshotRows(pool, VolumeTypes.Custom, name))
                RemoveVolume(poolName, VolumeTypes.CustomSnapshot, snap.Name, anyType: true);
        }
        var v = store.Write(() =>
        {
            var row = Ready(VolumeRow(pool, type, name));
            if (store.VolumeDevices(row.Id) is { Count: > 0 } users)
                throw VolumeInUse(poolName, type, name, users.Select(u => u.Container), "Dismount-StorageVolume it first");
            if (!store.Claim("volumes", row.Id, RowState.Deleting))
                throw ContainerPSException.Busy($"Storage volume '{poolName}/{type}/{name}'", Errors.VolumeBusy);
            return row;
        });
        AbandonOnFailure("volumes", v.Id, () => Driver(pool.Driver).DeleteVolume(Ctx(pool), Ctx(v)));
        FaultPoints.Hit("volume.delete.after-disk");
        store.Write(() => store.DeleteVolumeRow(v.Id));
    }

    /// <param name="volumes">Volumes already read (a listing), so a container's snapshots are not queried again for each volume.</param>
    private StorageVolume ToVolume(PoolRow pool, VolumeRow v, IReadOnlyList<VolumeRow>? volumes = null)
    {
        var driver = Driver(pool.Driver);
        return new StorageVolume
        {
            Pool = pool.Name,
            Name = v.Name,
            Type = v.Type,
            Description = v.Description,
            Config = new SortedDictionary<string, string>(v.Config, StringComparer.Ordinal),
            Used = Usage(pool, v),
            Size = v.Config.TryGetValue("size", out var s) && ByteSize.TryParse(s, out var n) ? n : null,
            SizeEnforced = v.Config.ContainsKey("size") && driver.EnforcesSize(Ctx(pool)),
            Path = driver.VolumePath(Ctx(pool), Ctx(v)),
            CreatedAt = v.CreatedAt,
            UsedBy = store.VolumeDevices(v.Id).Select(d => d.Container).ToArray(),
            Snapshots = SnapshotRows(pool, v.Type, v.Name, volumes).Select(s => s.Name[(v.Name.Length + 1)..]).ToArray(),
            Status = Status(v.State),
        };
    }

    private static ContainerPSException VolumeInUse(string pool, string type, string name, IEnumerable<string> containers, string hint) =>
        new(Errors.VolumeInUse, $"Storage volume '{pool}/{type}/{name}' is mounted into {string.Join(", ", containers)}; {hint}.", $"{pool}/{type}/{name}");

    /// <summary>The snapshot volumes (NAME@SNAPSHOT) of a container or custom volume among <paramref name="volumes"/>, by name.</summary>
    /// <param name="volumes">The pool's rows when already read; else they are read, only for a type that has snapshots.</param>
    private IEnumerable<VolumeRow> SnapshotRows(PoolRow pool, string type, string name, IEnumerable<VolumeRow>? volumes = null) =>
        VolumeTypes.SnapshotOf(type) is { } snapshotType
            ? (volumes ?? store.Volumes(pool.Id)).Where(s => s.PoolId == pool.Id && s.Type == snapshotType && s.Name.StartsWith(name + "@", StringComparison.Ordinal)).OrderBy(s => s.Name, StringComparer.Ordinal)
            : Enumerable.Empty<VolumeRow>();

    // ------------------------------------------------------------------ custom volume snapshots

    /// <summary>Takes a snapshot of a custom volume (a read-only copy: btrfs and zfs snapshots, RBD snapshots, cp -a on dir).</summary>
    public StorageVolumeSnapshot CreateVolumeSnapshot(string poolName, string volume, string name)
    {
        Names.Validate(name, "snapshot");
        var pool = Ready(PoolRow(poolName));
        Ready(VolumeRow(pool, VolumeTypes.Custom, volume));
        if (store.Volume(pool.Id, VolumeTypes.CustomSnapshot, $"{volume}@{name}") is not null)
            throw new ContainerPSException(Errors.SnapshotExists, $"Snapshot '{name}' of storage volume '{poolName}/{volume}' already exists.", name);
        CloneVolume(poolName, VolumeTypes.Custom, volume, poolName, VolumeTypes.CustomSnapshot, $"{volume}@{name}");
        return GetVolumeSnapshot(poolName, volume, name);
    }

    public IReadOnlyList<StorageVolumeSnapshot> ListVolumeSnapshots(string poolName, string volume)
    {
        var pool = PoolRow(poolName);
        VolumeRow(pool, VolumeTypes.Custom, volume);
        return SnapshotRows(pool, VolumeTypes.Custom, volume).Select(s => ToSnapshot(pool, volume, s)).ToList();
    }

    public StorageVolumeSnapshot GetVolumeSnapshot(string poolName, string volume, string name)
    {
        var pool = PoolRow(poolName);
        return ToSnapshot(pool, volume, SnapshotRow(pool, volume, name));
    }

    private VolumeRow SnapshotRow(PoolRow pool, string volume, string name)
    {
        VolumeRow(pool, VolumeTypes.Custom, volume);
        return store.Volume(pool.Id, VolumeTypes.CustomSnapshot, $"{volume}@{name}")
               ?? throw new ContainerPSException(Errors.SnapshotNotFound, $"Snapshot '{name}' of storage volume '{pool.Name}/{volume}' not found.", name);
    }

    private StorageVolumeSnapshot ToSnapshot(PoolRow pool, string volume, VolumeRow s)
    {
        return new StorageVolumeSnapshot
        {
            Pool = pool.Name, Volume = volume, Name = s.Name[(volume.Length + 1)..], Used = Usage(pool, s), CreatedAt = s.CreatedAt,
        };
    }

    /// <summary>Puts a custom volume back to a snapshot; refused while the volume is mounted into a container.</summary>
    public void RestoreVolumeSnapshot(string poolName, string volume, string name)
    {
        var pool = PoolRow(poolName);
        var snap = SnapshotRow(pool, volume, name);
        var row = VolumeRow(pool, VolumeTypes.Custom, volume);
        if (store.VolumeDevices(row.Id) is { Count: > 0 } users)
            throw VolumeInUse(poolName, VolumeTypes.Custom, volume, users.Select(u => u.Container), "Dismount-StorageVolume it before restoring a snapshot");
        RestoreVolume(poolName, VolumeTypes.CustomSnapshot, snap.Name, VolumeTypes.Custom, volume);
    }

    public void RemoveVolumeSnapshot(string poolName, string volume, string name)
    {
        var pool = PoolRow(poolName);
        RemoveVolume(poolName, VolumeTypes.CustomSnapshot, SnapshotRow(pool, volume, name).Name, anyType: true);
    }

    // ------------------------------------------------------------------ repair

    /// <summary>
    /// Finishes or undoes operations whose process died half-way (SIGKILL, crash, power loss): a
    /// create or copy is rolled back, a delete is finished, a rename is completed or reverted
    /// according to what is on disk. Called whenever a host is opened; cheap when nothing is pending.
    /// </summary>
    public IReadOnlyList<string> RepairInterrupted()
    {
        var done = new List<string>();
        if (!store.AnyUnfinished("pools", "volumes"))
            return done;
        foreach (var v in store.Volumes().Where(v => v.State != RowState.Ready && v.Owner is { IsAlive: false }))
        {
            if (!store.Write(() => store.TakeOver("volumes", v.Id, v.Owner!.Value)))
                continue;
            var pool = store.Pool(v.PoolId)!;
            var driver = Driver(pool.Driver);
            var what = $"storage volume '{pool.Name}/{v.Type}/{v.Name}'";
            TryRepair(what, () => RepairVolume(pool, driver, v, what, done));
        }
        foreach (var p in store.Pools().Where(p => p.State != RowState.Ready && p.Owner is { IsAlive: false }))
        {
            if (!store.Write(() => store.TakeOver("pools", p.Id, p.Owner!.Value)))
                continue;
            TryRepair($"storage pool '{p.Name}'", () =>
            {
                Driver(p.Driver).DeletePool(Ctx(p));
                store.Write(() =>
                {
                    foreach (var v in store.Volumes(p.Id))
                        store.DeleteVolumeRow(v.Id);
                    store.DeletePoolRow(p.Id);
                });
                done.Add(p.State == RowState.Creating
                    ? $"rolled back the unfinished creation of storage pool '{p.Name}'"
                    : $"finished the unfinished removal of storage pool '{p.Name}'");
            });
        }
        foreach (var line in done)
            log.Warning("Repaired an interrupted operation: " + line + ".");
        return done;
    }

    /// <summary>One repair; a failure is reported as a warning and retried by a later process (the row keeps a dead owner once this one exits).</summary>
    private void TryRepair(string what, Action repair)
    {
        try { repair(); }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or ContainerPSException)
        {
            log.Warning($"Could not repair the interrupted operation on {what}: {e.Message}. A later command will try again.");
        }
    }

    private void RepairVolume(PoolRow pool, IStorageDriver driver, VolumeRow v, string what, List<string> done)
    {
        switch (v.State)
        {
            case RowState.Creating:
                driver.DeleteVolume(Ctx(pool), Ctx(v));
                store.Write(() => store.DeleteVolumeRow(v.Id));
                done.Add($"rolled back the unfinished creation of {what}");
                break;
            case RowState.Deleting:
                driver.DeleteVolume(Ctx(pool), Ctx(v));
                store.Write(() => store.DeleteVolumeRow(v.Id));
                done.Add($"finished the unfinished removal of {what}");
                break;
            case RowState.Renaming when v.OpArg is string newName:
                var renamed = !driver.VolumeExists(Ctx(pool), Ctx(v)) && driver.VolumeExists(Ctx(pool), Ctx(v) with { Name = newName });
                store.Write(() =>
                {
                    if (renamed)
                        store.RenameVolumeRow(v.Id, newName);
                    store.Release("volumes", v.Id);
                });
                done.Add(renamed ? $"finished renaming {what} to '{newName}'" : $"reverted the unfinished rename of {what}");
                break;
            case RowState.Restoring when v.OpArg?.Split('/', 2) is [var fromType, var fromName] && store.Volume(pool.Id, fromType, fromName) is { } from:
                RestoreOnDisk(pool, from, v);
                store.Write(() => store.Release("volumes", v.Id));
                done.Add($"finished the unfinished restore of {what} from '{fromName}'");
                break;
            default:
                store.Write(() => store.Release("volumes", v.Id));
                done.Add($"released {what} from an unknown operation '{v.State}'");
                break;
        }
    }

    // ------------------------------------------------------------------ helpers

    private static SortedDictionary<string, string> Merge(IReadOnlyDictionary<string, string> current, IReadOnlyDictionary<string, string?> changes)
    {
        var merged = new SortedDictionary<string, string>(current.ToDictionary(), StringComparer.Ordinal);
        foreach (var (key, value) in changes)
        {
            if (value is null)
                merged.Remove(key);
            else
                merged[key] = value;
        }
        return merged;
    }

    private static string Status(string state) => state switch
    {
        RowState.Ready => "Created",
        RowState.Creating => "Creating",
        RowState.Deleting => "Deleting",
        RowState.Renaming => "Renaming",
        RowState.Restoring => "Restoring",
        _ => state,
    };

    /// <summary>
    /// Runs the disk step of an operation on a claimed row; if it fails, the row is released (back
    /// to Ready, so the user can retry) and the failure is reported with a stable ID.
    /// </summary>
    private void AbandonOnFailure(string table, long id, Action disk)
    {
        try { disk(); }
        catch (Exception e)
        {
            store.Write(() => store.Release(table, id));
            if (e is IOException or UnauthorizedAccessException)
                throw new ContainerPSException(Errors.StorageIOError, e.Message, null, e);
            throw;
        }
    }

    /// <summary>Undoes disk work after a failure. False (and a warning) if that failed too: the row then stays pending for repair.</summary>
    private bool Undo(string what, Action undo)
    {
        try
        {
            undo();
            return true;
        }
        catch (Exception e) when (e is IOException or ContainerPSException or UnauthorizedAccessException)
        {
            log.Warning($"Could not undo the disk work for {what}: {e.Message}. It is repaired when this process has exited.");
            return false;
        }
    }
}
