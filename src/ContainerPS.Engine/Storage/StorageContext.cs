namespace ContainerPS.Engine.Storage;

/// <summary>
/// What the storage classes of one host share: the state store and the drivers (one instance each
/// per command), the state rows looked up and checked (not found, wrong type, busy), and the steps
/// that keep a crash half-way recoverable: a row is inserted (or claimed) with an owner before disk
/// work starts and released or deleted after it ends (<see cref="Complete"/>,
/// <see cref="AbandonOnFailure"/>, <see cref="Undo"/>).
/// </summary>
internal sealed class StorageContext(StateStore store, string root, ExternalTool tool, IEngineLog log) : IDisposable
{
    private readonly Dictionary<string, IStorageDriver> drivers = new(StringComparer.Ordinal);

    public StateStore Store { get; } = store;

    /// <summary>The ContainerPS state root (pools without -Source live below it).</summary>
    public string Root { get; } = root;

    public ExternalTool Tool { get; } = tool;

    public IEngineLog Log { get; } = log;

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
            drivers[name] = d = StorageDrivers.Create(name, Tool);
        return d;
    }

    public static PoolContext Ctx(PoolRow p) => new(p.Name, p.Source, p.OwnsSource, p.Config);
    public static VolumeContext Ctx(VolumeRow v) => new(v.Name, v.Type, v.Config);

    public PoolRow PoolRow(string name) => Store.Pool(name) ?? throw ContainerPSException.PoolNotFound(name);

    public static PoolRow Ready(PoolRow p) =>
        p.State == RowState.Ready ? p : throw ContainerPSException.Busy($"Storage pool '{p.Name}'", Errors.PoolBusy);

    public VolumeRow VolumeRow(PoolRow pool, VolumeType type, string name)
    {
        return Store.Volume(pool.Id, type, name) ?? throw ContainerPSException.VolumeNotFound(pool.Name, type, name);
    }

    public static VolumeRow Ready(VolumeRow v) =>
        v.State == RowState.Ready ? v : throw ContainerPSException.Busy($"Storage volume '{v.Pool}/{v.Type.Name()}/{v.Name}'", Errors.VolumeBusy);

    public static void CustomOnly(VolumeType type, string name, string verb)
    {
        if (type != VolumeType.Custom)
            throw new ContainerPSException(Errors.VolumeTypeNotSupported,
                $"Only custom volumes are {verb} with the storage cmdlets; '{type.Name()}/{name}' belongs to its {type.Name()}.", $"{type.Name()}/{name}");
    }

    /// <summary>The snapshot volumes (NAME@SNAPSHOT) of a container or custom volume among <paramref name="volumes"/>, by name.</summary>
    /// <param name="volumes">The pool's rows when already read; else they are read, only for a type that has snapshots.</param>
    public IEnumerable<VolumeRow> SnapshotRows(PoolRow pool, VolumeType type, string name, IEnumerable<VolumeRow>? volumes = null) =>
        VolumeTypes.SnapshotOf(type) is { } snapshotType
            ? (volumes ?? Store.Volumes(pool.Id)).Where(s => s.PoolId == pool.Id && s.Type == snapshotType && s.Name.StartsWith(name + "@", StringComparison.Ordinal)).OrderBy(s => s.Name, StringComparer.Ordinal)
            : Enumerable.Empty<VolumeRow>();

    public long? Usage(PoolRow pool, VolumeRow v)
    {
        try { return Driver(pool.Driver).VolumeUsage(Ctx(pool), Ctx(v)); }
        catch (IOException e)
        {
            Log.Verbose($"usage of volume {v.Name}: {e.Message}");
            return null;
        }
    }

    public static SortedDictionary<string, string> Merge(IReadOnlyDictionary<string, string> current, IReadOnlyDictionary<string, string?> changes)
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

    public static string Status(RowState state) => state == RowState.Ready ? "Created" : state.ToString();

    /// <summary>
    /// Runs the disk step of an operation on a claimed row; if it fails, the row is released (back
    /// to Ready, so the user can retry) and the failure is reported with a stable ID.
    /// </summary>
    public void AbandonOnFailure(string table, long id, Action disk)
    {
        try { disk(); }
        catch (Exception e)
        {
            Store.Write(() => Store.Release(table, id));
            if (e is IOException or UnauthorizedAccessException)
                throw new ContainerPSException(Errors.StorageIOError, e.Message, null, e);
            throw;
        }
    }

    /// <summary>Undoes disk work after a failure. False (and a warning) if that failed too: the row then stays pending for repair.</summary>
    public bool Undo(string what, Action undo)
    {
        try
        {
            undo();
            return true;
        }
        catch (Exception e) when (e is IOException or ContainerPSException or UnauthorizedAccessException)
        {
            Log.Warning($"Could not undo the disk work for {what}: {e.Message}. It is repaired when this process has exited.");
            return false;
        }
    }

    /// <summary>
    /// Runs the disk step of a new volume row (state Creating, owned by us), then marks it ready.
    /// If the disk step fails, the row goes; if anything after it fails, the disk work is undone too.
    /// </summary>
    public void Complete(long id, Action disk, Action undoDisk, string faultPoint)
    {
        try { disk(); }
        catch
        {
            Store.Write(() => Store.DeleteVolumeRow(id));
            throw;
        }
        try
        {
            FaultPoints.Hit(faultPoint);
            Store.Write(() => Store.Release("volumes", id));
        }
        catch
        {
            if (Undo("the new volume", undoDisk))
                Store.Write(() => Store.DeleteVolumeRow(id));
            throw;
        }
    }
}
