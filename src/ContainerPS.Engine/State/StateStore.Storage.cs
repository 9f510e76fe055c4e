using Microsoft.Data.Sqlite;

namespace ContainerPS.Engine.State;

/// <summary>States of a row. Anything but Ready has an owner process (op_pid, op_start) doing it.</summary>
public enum RowState
{
    Ready,
    Creating,
    Deleting,
    Renaming,
    Restoring,
    /// <summary>A state this version does not know (written by a newer one).</summary>
    Unknown,
}

/// <summary>How a <see cref="RowState"/> is stored: its name in lower case.</summary>
internal static class RowStates
{
    public static string ToDb(this RowState state) => state switch
    {
        RowState.Ready => "ready",
        RowState.Creating => "creating",
        RowState.Deleting => "deleting",
        RowState.Renaming => "renaming",
        RowState.Restoring => "restoring",
        _ => throw new ArgumentOutOfRangeException(nameof(state), state, "not a state a row is stored in"),
    };

    public static RowState Parse(string stored) => stored switch
    {
        "ready" => RowState.Ready,
        "creating" => RowState.Creating,
        "deleting" => RowState.Deleting,
        "renaming" => RowState.Renaming,
        "restoring" => RowState.Restoring,
        _ => RowState.Unknown,
    };
}

public sealed record PoolRow(
    long Id, string Name, string Driver, string Source, bool OwnsSource, string Description,
    SortedDictionary<string, string> Config, DateTime CreatedAt, RowState State, ProcessIdentity? Owner, string? OpArg);

public sealed record VolumeRow(
    long Id, long PoolId, string Pool, string Name, VolumeType Type, string Description,
    SortedDictionary<string, string> Config, DateTime CreatedAt, RowState State, ProcessIdentity? Owner, string? OpArg);

public sealed partial class StateStore
{
    private const string PoolColumns = "id, name, driver, source, owns_source, description, config, created_at, state, op_pid, op_start, op_arg";
    private const string VolumeColumns = "v.id, v.pool_id, p.name, v.name, v.type, v.description, v.config, v.created_at, v.state, v.op_pid, v.op_start, v.op_arg";

    private static ProcessIdentity? Owner(SqliteDataReader r, int pidColumn) =>
        r.IsDBNull(pidColumn) ? null : new ProcessIdentity(r.GetInt32(pidColumn), r.GetInt64(pidColumn + 1));

    private static PoolRow MapPool(SqliteDataReader r) => new(
        r.GetInt64(0), r.GetString(1), r.GetString(2), r.GetString(3), r.GetInt64(4) != 0, r.GetString(5),
        FromJson(r.GetString(6)), ParseTimestamp(r.GetString(7)), RowStates.Parse(r.GetString(8)), Owner(r, 9), r.IsDBNull(11) ? null : r.GetString(11));

    private static VolumeRow MapVolume(SqliteDataReader r) => new(
        r.GetInt64(0), r.GetInt64(1), r.GetString(2), r.GetString(3), StoredType(r.GetString(4)), r.GetString(5),
        FromJson(r.GetString(6)), ParseTimestamp(r.GetString(7)), RowStates.Parse(r.GetString(8)), Owner(r, 9), r.IsDBNull(11) ? null : r.GetString(11));

    private static VolumeType StoredType(string name) =>
        VolumeTypes.TryParse(name, out var type) ? type : throw new InvalidDataException($"The state database holds a volume of unknown type '{name}'.");

    private static bool IsUniqueViolation(SqliteException e) => e.SqliteErrorCode == 19; // SQLITE_CONSTRAINT

    // ---- pools ----

    public List<PoolRow> Pools() => Query($"SELECT {PoolColumns} FROM pools ORDER BY name", MapPool);

    public PoolRow? Pool(string name) =>
        Query($"SELECT {PoolColumns} FROM pools WHERE name = $n", MapPool, ("$n", name)).SingleOrDefault();

    public PoolRow? Pool(long id) =>
        Query($"SELECT {PoolColumns} FROM pools WHERE id = $id", MapPool, ("$id", id)).SingleOrDefault();

    /// <summary>Inserts a pool in state Creating, owned by this process. Throws PoolExists on a duplicate name.</summary>
    public long InsertPool(string name, string driver, string source, bool ownsSource, string description, IReadOnlyDictionary<string, string> config)
    {
        var me = ProcessIdentity.Current;
        try
        {
            Exec("""
                INSERT INTO pools(name, driver, source, owns_source, description, config, created_at, state, op_pid, op_start)
                VALUES ($n, $d, $s, $o, $desc, $c, $t, $st, $pid, $start)
                """,
                ("$n", name), ("$d", driver), ("$s", source), ("$o", ownsSource ? 1 : 0), ("$desc", description),
                ("$c", ToJson(config)), ("$t", Timestamp(DateTime.UtcNow)), ("$st", RowState.Creating.ToDb()),
                ("$pid", me.Pid), ("$start", me.StartTime));
        }
        catch (SqliteException e) when (IsUniqueViolation(e))
        {
            throw new ContainerPSException(Errors.PoolExists, $"Storage pool '{name}' already exists.", name);
        }
        return (long)Scalar("SELECT last_insert_rowid()")!;
    }

    public void UpdatePool(long id, IReadOnlyDictionary<string, string> config, string description) =>
        Exec("UPDATE pools SET config = $c, description = $d WHERE id = $id", ("$c", ToJson(config)), ("$d", description), ("$id", id));

    public void DeletePoolRow(long id) => Exec("DELETE FROM pools WHERE id = $id", ("$id", id));

    // ---- volumes ----

    public List<VolumeRow> Volumes(long? poolId = null) => poolId is null
        ? Query($"SELECT {VolumeColumns} FROM volumes v JOIN pools p ON p.id = v.pool_id ORDER BY p.name, v.type, v.name", MapVolume)
        : Query($"SELECT {VolumeColumns} FROM volumes v JOIN pools p ON p.id = v.pool_id WHERE v.pool_id = $p ORDER BY v.type, v.name", MapVolume, ("$p", poolId));

    public VolumeRow? Volume(long poolId, VolumeType type, string name) =>
        Query($"SELECT {VolumeColumns} FROM volumes v JOIN pools p ON p.id = v.pool_id WHERE v.pool_id = $p AND v.type = $t AND v.name = $n",
            MapVolume, ("$p", poolId), ("$t", type.Name()), ("$n", name)).SingleOrDefault();

    public VolumeRow? Volume(long id) =>
        Query($"SELECT {VolumeColumns} FROM volumes v JOIN pools p ON p.id = v.pool_id WHERE v.id = $id", MapVolume, ("$id", id)).SingleOrDefault();

    /// <summary>Inserts a volume in state Creating, owned by this process. Throws VolumeExists on a duplicate.</summary>
    public long InsertVolume(long poolId, string poolName, string name, VolumeType type, string description, IReadOnlyDictionary<string, string> config, string? opArg = null)
    {
        var me = ProcessIdentity.Current;
        try
        {
            Exec("""
                INSERT INTO volumes(pool_id, name, type, description, config, created_at, state, op_pid, op_start, op_arg)
                VALUES ($p, $n, $t, $d, $c, $ts, $st, $pid, $start, $arg)
                """,
                ("$p", poolId), ("$n", name), ("$t", type.Name()), ("$d", description), ("$c", ToJson(config)),
                ("$ts", Timestamp(DateTime.UtcNow)), ("$st", RowState.Creating.ToDb()), ("$pid", me.Pid), ("$start", me.StartTime), ("$arg", opArg));
        }
        catch (SqliteException e) when (IsUniqueViolation(e))
        {
            throw new ContainerPSException(Errors.VolumeExists,
                $"Storage volume '{type.Name()}/{name}' already exists in pool '{poolName}'.", $"{poolName}/{type.Name()}/{name}");
        }
        return (long)Scalar("SELECT last_insert_rowid()")!;
    }

    public void UpdateVolume(long id, IReadOnlyDictionary<string, string> config, string description) =>
        Exec("UPDATE volumes SET config = $c, description = $d WHERE id = $id", ("$c", ToJson(config)), ("$d", description), ("$id", id));

    public void RenameVolumeRow(long id, string newName) =>
        Exec("UPDATE volumes SET name = $n WHERE id = $id", ("$n", newName), ("$id", id));

    public void DeleteVolumeRow(long id) => Exec("DELETE FROM volumes WHERE id = $id", ("$id", id));

    // ---- operation ownership (both tables) ----

    /// <summary>
    /// Moves a Ready row into <paramref name="state"/>, owned by this process. False if the row is
    /// gone or already in another operation.
    /// </summary>
    public bool Claim(string table, long id, RowState state, string? opArg = null)
    {
        var me = ProcessIdentity.Current;
        return Exec($"UPDATE {Table(table)} SET state = $st, op_pid = $pid, op_start = $start, op_arg = $arg WHERE id = $id AND state = 'ready'",
            ("$st", state.ToDb()), ("$pid", me.Pid), ("$start", me.StartTime), ("$arg", opArg), ("$id", id)) == 1;
    }

    /// <summary>Takes over an operation whose owner is <paramref name="from"/> (a dead process). False if someone else took it first.</summary>
    public bool TakeOver(string table, long id, ProcessIdentity from)
    {
        var me = ProcessIdentity.Current;
        return Exec($"UPDATE {Table(table)} SET op_pid = $pid, op_start = $start WHERE id = $id AND op_pid = $opid AND op_start = $ostart",
            ("$pid", me.Pid), ("$start", me.StartTime), ("$id", id), ("$opid", from.Pid), ("$ostart", from.StartTime)) == 1;
    }

    /// <summary>Marks the row Ready again and clears its owner.</summary>
    public void Release(string table, long id) =>
        Exec($"UPDATE {Table(table)} SET state = 'ready', op_pid = NULL, op_start = NULL, op_arg = NULL WHERE id = $id", ("$id", id));

    private static string Table(string table) => table switch
    {
        "pools" => "pools",
        "volumes" => "volumes",
        "images" => "images",
        "containers" => "containers",
        "snapshots" => "snapshots",
        _ => throw new ArgumentOutOfRangeException(nameof(table)),
    };
}
