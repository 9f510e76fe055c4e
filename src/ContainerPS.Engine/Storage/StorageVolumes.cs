using static ContainerPS.Engine.Storage.StorageContext;

namespace ContainerPS.Engine.Storage;

/// <summary>
/// Storage volumes of one pool at a time: custom volumes (create, update, rename, remove), the
/// engine's container and image volumes (created, filled or received, renamed), and what the engine
/// reads and records of a volume (its path, state row, volatile keys, usage, free space).
/// </summary>
internal sealed class StorageVolumes(StorageContext ctx)
{
    public StorageVolume CreateVolume(string poolName, string name, IReadOnlyDictionary<string, string?>? config, string? description = null)
    {
        Names.Validate(name, "storage volume");
        var pool = Ready(ctx.PoolRow(poolName));
        var driver = ctx.Driver(pool.Driver);
        var changes = config ?? new Dictionary<string, string?>();
        driver.Schema.CheckVolume(changes, creating: true);
        var cfg = Merge(VolumeDefaults(pool, driver), changes);

        var id = ctx.Store.Write(() =>
        {
            Ready(ctx.PoolRow(poolName));
            return ctx.Store.InsertVolume(pool.Id, pool.Name, name, VolumeType.Custom, description ?? "", cfg);
        });
        var vctx = new VolumeContext(name, VolumeType.Custom, cfg);
        ctx.Complete(id, () =>
        {
            // Every driver keeps a volume at TYPEDIR/NAME; pools made before custom/ was 0700 get it now.
            VolumeLayout.MakePrivate(Path.GetDirectoryName(driver.VolumePath(Ctx(pool), vctx))!);
            driver.CreateVolume(Ctx(pool), vctx);
            // A volume's root is 0711, as in Incus: inside a container it is root's; a chmod there sticks.
            File.SetUnixFileMode(driver.MountVolume(Ctx(pool), vctx), VolumeLayout.Mode0711);
        }, () => driver.DeleteVolume(Ctx(pool), vctx), "volume.create.after-disk");
        WarnIfSizeNotEnforced(pool, driver, cfg);
        return GetVolume(poolName, VolumeType.Custom, name);
    }

    /// <summary>
    /// Creates a container or image volume (names are the engine's: container names, image
    /// fingerprints) whose content <paramref name="fill"/> writes into the new volume's directory.
    /// Crash safe like custom volumes: a half-filled volume is removed by the repair.
    /// </summary>
    public StorageVolume CreateInternalVolume(string poolName, VolumeType type, string name, IReadOnlyDictionary<string, string>? config, Action<string>? fill) =>
        NewInternalVolume(poolName, type, name, config, (driver, pool, vctx) =>
        {
            // An image already whole on the pool's storage (another host sharing it unpacked it) is taken as it is: containers are clones of it.
            if (type == VolumeType.Image && driver.ImageVolumeReady(pool, vctx))
                return;
            driver.CreateVolume(pool, vctx);
            try { fill?.Invoke(driver.MountVolume(pool, vctx)); }
            catch
            {
                ctx.Undo($"volume {type.Name()}/{name}", () => driver.DeleteVolume(pool, vctx));
                throw;
            }
        });

    /// <summary>Creates a container or image volume from a driver stream (<see cref="StreamFormat"/>) received from another host, crash safe like <see cref="CreateInternalVolume"/>.</summary>
    /// <param name="parent">The snapshot (of the same container, received before) the stream is the difference from, if any.</param>
    public StorageVolume ReceiveInternalVolume(string poolName, VolumeType type, string name, IReadOnlyDictionary<string, string>? config, string compressedFile, string? parent = null)
    {
        var parentRow = parent is null ? null : Ctx(Ready(ctx.VolumeRow(ctx.PoolRow(poolName), VolumeType.Snapshot, parent)));
        return NewInternalVolume(poolName, type, name, config, (driver, pool, vctx) => driver.ReceiveVolume(pool, vctx, compressedFile, parentRow));
    }

    private StorageVolume NewInternalVolume(string poolName, VolumeType type, string name, IReadOnlyDictionary<string, string>? config,
        Action<IStorageDriver, PoolContext, VolumeContext> disk)
    {
        var pool = Ready(ctx.PoolRow(poolName));
        var driver = ctx.Driver(pool.Driver);
        var cfg = new SortedDictionary<string, string>((config ?? new Dictionary<string, string>()).ToDictionary(), StringComparer.Ordinal);
        var id = ctx.Store.Write(() =>
        {
            Ready(ctx.PoolRow(poolName));
            return ctx.Store.InsertVolume(pool.Id, pool.Name, name, type, "", cfg);
        });
        var vctx = new VolumeContext(name, type, cfg);
        ctx.Complete(id, () => disk(driver, Ctx(pool), vctx), () => driver.DeleteVolume(Ctx(pool), vctx), "volume.create.after-disk");
        return GetVolume(poolName, type, name);
    }

    /// <summary>
    /// Records a container, snapshot or custom volume that is already on the pool's storage (an image
    /// of an OSD pool shared with another host, handed over by a move) without making it: the driver
    /// only checks that it is there. Removing the row later forgets it unless this pool owns it.
    /// </summary>
    public StorageVolume AdoptVolume(string poolName, VolumeType type, string name, IReadOnlyDictionary<string, string>? config) =>
        NewInternalVolume(poolName, type, name, config, (driver, pool, vctx) =>
        {
            if (!driver.VolumeExists(pool, vctx))
                throw new ContainerPSException(Errors.VolumeNotFound, $"Storage volume '{pool.Name}/{name}' ({type.Name()}) is not on the pool's storage.", name);
        });

    /// <inheritdoc cref="IStorageDriver.SharedOwner"/>
    public string? SharedOwner(string poolName, VolumeType type, string name) => Shared(poolName, type, name, (d, p, v) => d.SharedOwner(p, v));

    /// <inheritdoc cref="IStorageDriver.TransferShared"/>
    public bool TransferShared(string poolName, VolumeType type, string name, string? expected, string owner) =>
        Shared(poolName, type, name, (d, p, v) => d.TransferShared(p, v, expected, owner));

    /// <summary>A shared pool's volume by name (its row, or only its name and type where this host has no row for it yet).</summary>
    private T Shared<T>(string poolName, VolumeType type, string name, Func<IStorageDriver, PoolContext, VolumeContext, T> act)
    {
        var pool = Ready(ctx.PoolRow(poolName));
        var row = ctx.Store.Volume(pool.Id, type, name);
        return act(ctx.Driver(pool.Driver), Ctx(pool), row is not null ? Ctx(row) : new VolumeContext(name, type, new Dictionary<string, string>()));
    }

    /// <summary>The pool driver's own volume stream format (btrfs, zfs), or null when it has none.</summary>
    public string? StreamFormat(string poolName) => ctx.Driver(ctx.PoolRow(poolName).Driver).StreamFormat;

    /// <inheritdoc cref="IStorageDriver.SharedIdentity"/>
    public string? SharedIdentity(string poolName) => ctx.PoolRow(poolName) is var p ? ctx.Driver(p.Driver).SharedIdentity(Ctx(p)) : null;

    /// <summary>Starts the driver stream of a volume (with <paramref name="parent"/>, a snapshot of it: the difference from that one): the program to run and the cleanup for afterwards.</summary>
    public (string[] Command, Action Cleanup) SendVolume(string poolName, VolumeType type, string name, string? parent = null)
    {
        var pool = ctx.PoolRow(poolName);
        var parentRow = parent is null ? null : Ctx(Ready(ctx.VolumeRow(pool, VolumeType.Snapshot, parent)));
        return ctx.Driver(pool.Driver).SendVolume(Ctx(pool), Ctx(Ready(ctx.VolumeRow(pool, type, name))), parentRow);
    }

    /// <summary>Renames an engine-owned volume (a container's, or its snapshots') on disk and in the state.</summary>
    public void RenameInternalVolume(string poolName, VolumeType type, string name, string newName)
    {
        var pool = Ready(ctx.PoolRow(poolName));
        var v = ctx.Store.Write(() =>
        {
            var row = Ready(ctx.VolumeRow(pool, type, name));
            if (ctx.Store.Volume(pool.Id, type, newName) is not null)
                throw new ContainerPSException(Errors.VolumeExists, $"Storage volume '{type.Name()}/{newName}' already exists in pool '{poolName}'.", newName);
            if (!ctx.Store.Claim("volumes", row.Id, RowState.Renaming, newName))
                throw ContainerPSException.Busy($"Storage volume '{poolName}/{type.Name()}/{name}'", Errors.VolumeBusy);
            return row;
        });
        ctx.AbandonOnFailure("volumes", v.Id, () => ctx.Driver(pool.Driver).RenameVolume(Ctx(pool), Ctx(v), newName));
        ctx.Store.Write(() =>
        {
            ctx.Store.RenameVolumeRow(v.Id, newName);
            ctx.Store.Release("volumes", v.Id);
        });
    }

    /// <summary>A volume's state row (id, config) with its host path, mounted first where the driver needs that (ceph).</summary>
    public (long Id, string Path, IReadOnlyDictionary<string, string> Config) VolumeState(string poolName, VolumeType type, string name)
    {
        var pool = ctx.PoolRow(poolName);
        var v = ctx.VolumeRow(pool, type, name);
        return (v.Id, ctx.Driver(pool.Driver).MountVolume(Ctx(pool), Ctx(v)), v.Config);
    }

    /// <summary>A volume's state row (id, config) alone: nothing is mounted.</summary>
    public (long Id, IReadOnlyDictionary<string, string> Config) VolumeRecord(string poolName, VolumeType type, string name)
    {
        var v = ctx.VolumeRow(ctx.PoolRow(poolName), type, name);
        return (v.Id, v.Config);
    }

    /// <summary>Sets (null: removes) engine-kept volatile.* keys of a volume.</summary>
    public void SetVolumeState(string poolName, VolumeType type, string name, IReadOnlyDictionary<string, string?> changes)
    {
        if (changes.Keys.FirstOrDefault(k => !k.StartsWith("volatile.", StringComparison.Ordinal)) is { } bad)
            throw new ArgumentException($"not a volatile key: {bad}", nameof(changes));
        var pool = ctx.PoolRow(poolName);
        ctx.Store.Write(() =>
        {
            var v = ctx.VolumeRow(pool, type, name);
            ctx.Store.UpdateVolume(v.Id, Merge(v.Config, changes), v.Description);
        });
    }

    /// <summary>The host directory of a volume's files, mounted first where the driver needs that (ceph).</summary>
    public string VolumePath(string poolName, VolumeType type, string name)
    {
        var pool = ctx.PoolRow(poolName);
        return ctx.Driver(pool.Driver).MountVolume(Ctx(pool), Ctx(ctx.VolumeRow(pool, type, name)));
    }

    /// <summary>
    /// Bytes a new volume of <paramref name="type"/> can take on the pool's filesystem (statvfs
    /// f_bavail where its volumes live), or null where the pool's space is not the host's to measure
    /// that way (ceph: each volume is an image of its own size).
    /// </summary>
    public long? FreeBytes(string poolName, VolumeType type)
    {
        var pool = ctx.PoolRow(poolName);
        if (pool.Driver == "ceph")
            return null;
        var dir = Path.GetDirectoryName(ctx.Driver(pool.Driver).VolumePath(Ctx(pool), new VolumeContext("-", type, new Dictionary<string, string>())));
        while (dir is not null && !Directory.Exists(dir))
            dir = Path.GetDirectoryName(dir);
        if (dir is null)
            return null;
        var st = LibC.StatVfsOf(dir);
        return (long)(st.f_bavail * st.f_frsize);
    }

    /// <summary>Bytes a volume uses, as Get-StorageVolume reports them (Used), or null where the driver cannot tell.</summary>
    public long? VolumeUsage(string poolName, VolumeType type, string name)
    {
        var pool = ctx.PoolRow(poolName);
        return ctx.Usage(pool, ctx.VolumeRow(pool, type, name));
    }

    /// <summary>True when the pool has a volume row of that type and name (in any state).</summary>
    public bool HasVolume(string poolName, VolumeType type, string name) => ctx.Store.Volume(ctx.PoolRow(poolName).Id, type, name) is not null;

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
            ctx.Log.Warning($"Size {cfg["size"]} is recorded but not enforced: the {driver.Name} driver cannot limit a volume's size on pool '{pool.Name}'. Use a btrfs, zfs or ceph pool, or a dir pool on a filesystem with project quotas (ext4 mounted prjquota, xfs pquota), for enforced sizes.");
    }

    public IReadOnlyList<StorageVolume> ListVolumes(string? poolName = null)
    {
        var pools = ctx.Store.Pools().ToDictionary(p => p.Id);
        long? poolId = poolName is null ? null : ctx.PoolRow(poolName).Id;
        var volumes = ctx.Store.Volumes(poolId);
        // Whether a pool enforces sizes is asked once per pool of the listing (a quotactl for dir pools).
        var enforces = new Dictionary<long, bool>();
        bool Enforces(PoolRow p) => enforces.TryGetValue(p.Id, out var e) ? e : enforces[p.Id] = ctx.Driver(p.Driver).EnforcesSize(Ctx(p));
        return volumes.Select(v => ToVolume(pools[v.PoolId], v, volumes, v.Config.ContainsKey("size") && Enforces(pools[v.PoolId]))).ToList();
    }

    public StorageVolume GetVolume(string poolName, VolumeType type, string name)
    {
        var pool = ctx.PoolRow(poolName);
        return ToVolume(pool, ctx.VolumeRow(pool, type, name));
    }

    public StorageVolume UpdateVolume(string poolName, VolumeType type, string name, IReadOnlyDictionary<string, string?> changes, string? description = null)
    {
        var pool = ctx.PoolRow(poolName);
        var driver = ctx.Driver(pool.Driver);
        driver.Schema.CheckVolume(changes, creating: false);
        var cfg = ctx.Store.Write(() =>
        {
            var v = Ready(ctx.VolumeRow(pool, type, name));
            var merged = Merge(v.Config, changes);
            driver.UpdateVolume(Ctx(pool), Ctx(v) with { Config = merged }, changes);
            ctx.Store.UpdateVolume(v.Id, merged, description ?? v.Description);
            return merged;
        });
        if (changes.ContainsKey("size"))
            WarnIfSizeNotEnforced(pool, driver, cfg);
        return GetVolume(poolName, type, name);
    }

    public StorageVolume RenameVolume(string poolName, VolumeType type, string name, string newName)
    {
        CustomOnly(type, name, "renamed");
        Names.Validate(newName, "storage volume");
        var pool = Ready(ctx.PoolRow(poolName));
        var v = ctx.Store.Write(() =>
        {
            var row = Ready(ctx.VolumeRow(pool, VolumeType.Custom, name));
            if (newName == name)
                return row;
            if (ctx.Store.Volume(pool.Id, VolumeType.Custom, newName) is not null)
                throw new ContainerPSException(Errors.VolumeExists, $"Storage volume 'custom/{newName}' already exists in pool '{poolName}'.", newName);
            if (!ctx.Store.Claim("volumes", row.Id, RowState.Renaming, newName))
                throw ContainerPSException.Busy($"Storage volume '{poolName}/custom/{name}'", Errors.VolumeBusy);
            return row;
        });
        if (newName == name)
            return GetVolume(poolName, VolumeType.Custom, name);
        ctx.AbandonOnFailure("volumes", v.Id, () => ctx.Driver(pool.Driver).RenameVolume(Ctx(pool), Ctx(v), newName));
        FaultPoints.Hit("volume.rename.after-disk");
        ctx.Store.Write(() =>
        {
            ctx.Store.RenameVolumeRow(v.Id, newName);
            ctx.Store.Release("volumes", v.Id);
        });
        // Its snapshots follow (zfs and ceph snapshots moved with the dataset or image already).
        foreach (var snap in ctx.SnapshotRows(pool, VolumeType.Custom, name))
            RenameInternalVolume(poolName, VolumeType.CustomSnapshot, snap.Name, newName + snap.Name[name.Length..]);
        return GetVolume(poolName, VolumeType.Custom, newName);
    }

    /// <param name="anyType">Also remove container and image volumes (pool removal with -Force).</param>
    public void RemoveVolume(string poolName, VolumeType type, string name, bool anyType = false)
    {
        var pool = ctx.PoolRow(poolName);
        if (type != VolumeType.Custom && !anyType)
            throw new ContainerPSException(Errors.VolumeTypeNotRemovable,
                $"Storage volumes of type {type.Name()} belong to their {type.Name()}; remove the {type.Name()} instead.", $"{poolName}/{type.Name()}/{name}");
        if (type == VolumeType.Custom)
        {
            // A custom volume goes with its snapshots (as in LXD), once nothing has it mounted.
            var row = Ready(ctx.VolumeRow(pool, type, name));
            if (ctx.Store.VolumeDevices(row.Id) is { Count: > 0 } users)
                throw VolumeInUse(poolName, type, name, users.Select(u => u.Container), "Dismount-StorageVolume it first");
            foreach (var snap in ctx.SnapshotRows(pool, VolumeType.Custom, name))
                RemoveVolume(poolName, VolumeType.CustomSnapshot, snap.Name, anyType: true);
        }
        var v = ctx.Store.Write(() =>
        {
            var row = Ready(ctx.VolumeRow(pool, type, name));
            if (ctx.Store.VolumeDevices(row.Id) is { Count: > 0 } users)
                throw VolumeInUse(poolName, type, name, users.Select(u => u.Container), "Dismount-StorageVolume it first");
            if (!ctx.Store.Claim("volumes", row.Id, RowState.Deleting))
                throw ContainerPSException.Busy($"Storage volume '{poolName}/{type.Name()}/{name}'", Errors.VolumeBusy);
            return row;
        });
        ctx.AbandonOnFailure("volumes", v.Id, () => ctx.Driver(pool.Driver).DeleteVolume(Ctx(pool), Ctx(v)));
        FaultPoints.Hit("volume.delete.after-disk");
        ctx.Store.Write(() => ctx.Store.DeleteVolumeRow(v.Id));
    }

    /// <param name="volumes">Volumes already read (a listing), so a container's snapshots are not queried again for each volume.</param>
    /// <param name="sizeEnforced">Whether the size is enforced, when the listing knows it already (else the driver is asked).</param>
    private StorageVolume ToVolume(PoolRow pool, VolumeRow v, IReadOnlyList<VolumeRow>? volumes = null, bool? sizeEnforced = null)
    {
        var driver = ctx.Driver(pool.Driver);
        return new StorageVolume
        {
            Pool = pool.Name,
            Name = v.Name,
            Type = v.Type.Name(),
            Description = v.Description,
            Config = new SortedDictionary<string, string>(v.Config, StringComparer.Ordinal),
            Used = ctx.Usage(pool, v),
            Size = v.Config.TryGetValue("size", out var s) && ByteSize.TryParse(s, out var n) ? n : null,
            SizeEnforced = sizeEnforced ?? (v.Config.ContainsKey("size") && driver.EnforcesSize(Ctx(pool))),
            Path = driver.VolumePath(Ctx(pool), Ctx(v)),
            CreatedAt = v.CreatedAt,
            UsedBy = ctx.Store.VolumeDevices(v.Id).Select(d => d.Container).ToArray(),
            Snapshots = ctx.SnapshotRows(pool, v.Type, v.Name, volumes).Select(s => s.Name[(v.Name.Length + 1)..]).ToArray(),
            Status = Status(v.State),
        };
    }

    public static ContainerPSException VolumeInUse(string pool, VolumeType type, string name, IEnumerable<string> containers, string hint) =>
        new(Errors.VolumeInUse, $"Storage volume '{pool}/{type.Name()}/{name}' is mounted into {string.Join(", ", containers)}; {hint}.", $"{pool}/{type.Name()}/{name}");
}
