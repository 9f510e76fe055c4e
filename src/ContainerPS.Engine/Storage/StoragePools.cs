using static ContainerPS.Engine.Storage.StorageContext;

namespace ContainerPS.Engine.Storage;

/// <summary>
/// Storage pools: creating one (its source checked against the state root and the other pools),
/// listing, updating and removing them, with their state rows.
/// </summary>
internal sealed class StoragePools(StorageContext ctx, StorageVolumes storageVolumes)
{
    public StoragePool CreatePool(string name, string driverName, string? source, IReadOnlyDictionary<string, string?>? config, string? description = null)
    {
        Names.Validate(name, "storage pool");
        var driver = ctx.Driver(driverName);
        var changes = new Dictionary<string, string?>(config ?? new Dictionary<string, string?>(), StringComparer.Ordinal);
        if (changes.Remove("source", out var configSource) && configSource is not null)
        {
            if (source is not null && source != configSource)
                throw new ContainerPSException(Errors.InvalidSource,
                    $"-Source '{source}' and config key source '{configSource}' disagree; give one.", source);
            source = configSource;
        }
        driver.Schema.CheckPool(changes, creating: true);
        if (ctx.Store.Pool(name) is not null)
            throw new ContainerPSException(Errors.PoolExists, $"Storage pool '{name}' already exists.", name);

        var pools = Path.Join(ctx.Root, "storage-pools");
        if (source is not null)
            CheckSourcePlacement(source, source, userGiven: true);
        var src = driver.CheckSource(source, Path.Join(pools, name));
        var cfg = changes.Where(kv => kv.Value is not null).ToDictionary(kv => kv.Key, kv => kv.Value!, StringComparer.Ordinal);
        cfg["source"] = src.Path;
        foreach (var (k, v) in src.Config ?? new Dictionary<string, string>())
            cfg[k] = v;

        var id = ctx.Store.Write(() =>
        {
            // Where the driver places a pool itself (a btrfs device is mounted below the state root) is not the user's choice.
            CheckSourcePlacement(src.Path, source ?? src.Path, userGiven: source is not null && IsSamePath(src.Path, source));
            return ctx.Store.InsertPool(name, driver.Name, src.Path, src.Owned, description ?? "", cfg);
        });
        var poolContext = new PoolContext(name, src.Path, src.Owned, cfg);
        try
        {
            if (source is null)
                Directory.CreateDirectory(pools, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
            driver.CreatePool(poolContext);
            FaultPoints.Hit("pool.create.after-disk");
            ctx.Store.Write(() => ctx.Store.Release("pools", id));
        }
        catch
        {
            if (ctx.Undo($"pool '{name}'", () => driver.DeletePool(poolContext)))
                ctx.Store.Write(() => ctx.Store.DeletePoolRow(id));
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
        if (userGiven && HostPath.IsWithin(canonical, HostPath.Canonical(ctx.Root)))
            throw new ContainerPSException(Errors.SourceInsideRoot,
                $"Source '{asGiven}' is inside the ContainerPS state root {ctx.Root}; give a directory outside it, or omit -Source to let ContainerPS place the pool.", asGiven);
        foreach (var other in ctx.Store.Pools())
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
        var volumes = ctx.Store.Volumes();
        return ctx.Store.Pools().Select(p => ToPool(p, volumes)).ToList();
    }

    public StoragePool GetPool(string name) => ToPool(ctx.PoolRow(name), ctx.Store.Volumes());

    public StoragePool UpdatePool(string name, IReadOnlyDictionary<string, string?> changes, string? description = null)
    {
        ctx.Store.Write(() =>
        {
            var p = Ready(ctx.PoolRow(name));
            var driver = ctx.Driver(p.Driver);
            driver.Schema.CheckPool(changes, creating: false);
            var merged = Merge(p.Config, changes);
            driver.UpdatePool(Ctx(p) with { Config = merged }, changes);
            ctx.Store.UpdatePool(p.Id, merged, description ?? p.Description);
        });
        return GetPool(name);
    }

    public void RemovePool(string name, bool force)
    {
        var pool = ctx.PoolRow(name);
        ctx.Driver(pool.Driver).CheckPoolRemovable(Ctx(pool));
        var volumes = ctx.Store.Volumes(pool.Id);
        var owned = volumes.Where(v => v.Type is VolumeType.Container or VolumeType.Snapshot).Select(v => v.Name.Split('@')[0]).Distinct().ToList();
        if (owned.Count > 0)
            throw new ContainerPSException(Errors.PoolInUse,
                $"Storage pool '{name}' holds the containers {string.Join(", ", owned.Take(5))}{(owned.Count > 5 ? ", ..." : "")}; remove them first (-Force removes only custom and image volumes).", name);
        if (volumes.Count > 0)
        {
            if (!force)
                throw new ContainerPSException(Errors.PoolInUse,
                    $"Storage pool '{name}' is in use by {volumes.Count} volume(s) ({string.Join(", ", volumes.Take(5).Select(v => $"{v.Type.Name()}/{v.Name}"))}); remove them first or use -Force.", name);
            foreach (var v in volumes.OrderByDescending(v => VolumeTypes.IsSnapshot(v.Type)))
                storageVolumes.RemoveVolume(name, v.Type, v.Name, anyType: true);
        }
        ctx.Store.Write(() =>
        {
            var left = ctx.Store.Volumes(pool.Id).Count;
            if (left > 0)
                throw new ContainerPSException(Errors.PoolInUse, $"Storage pool '{name}' gained {left} volume(s) while it was being removed.", name);
            if (!ctx.Store.Claim("pools", pool.Id, RowState.Deleting))
                throw ContainerPSException.Busy($"Storage pool '{name}'", Errors.PoolBusy);
        });
        ctx.AbandonOnFailure("pools", pool.Id, () => ctx.Driver(pool.Driver).DeletePool(Ctx(pool)));
        FaultPoints.Hit("pool.delete.after-disk");
        ctx.Store.Write(() => ctx.Store.DeletePoolRow(pool.Id));
    }

    private StoragePool ToPool(PoolRow p, List<VolumeRow> allVolumes)
    {
        (long? used, long? size) = (null, null);
        string? rbdMap = null;
        try { (used, size) = ctx.Driver(p.Driver).PoolUsage(Ctx(p)); }
        catch (IOException e) { ctx.Log.Verbose($"usage of pool {p.Name}: {e.Message}"); }
        try { rbdMap = ctx.Driver(p.Driver).RbdMap(Ctx(p)); }
        catch (ContainerPSException e) { ctx.Log.Verbose($"mapping of pool {p.Name}: {e.Message}"); }
        return new StoragePool
        {
            Name = p.Name,
            Driver = p.Driver,
            Source = p.Source,
            Description = p.Description,
            Config = new SortedDictionary<string, string>(p.Config, StringComparer.Ordinal),
            Used = used,
            Size = size,
            RbdMap = rbdMap,
            CreatedAt = p.CreatedAt,
            UsedBy = allVolumes.Where(v => v.PoolId == p.Id).Select(v => $"{v.Type.Name()}/{v.Name}").ToArray(),
            Status = Status(p.State),
        };
    }
}
