using Microsoft.Data.Sqlite;

namespace ContainerPS.Engine.State;

public sealed record ContainerRow(
    long Id, string Name, string Uuid, string Image, long PoolId, string Pool, bool Privileged, bool Isolated,
    long? IdmapBase, long? IdmapSize, SortedDictionary<string, string> Config,
    DateTime CreatedAt, DateTime? LastStartedAt, RowState State, ProcessIdentity? Owner, string? OpArg);

public sealed record SnapshotRow(long Id, long ContainerId, string Name, bool Stateful, DateTime CreatedAt, RowState State, ProcessIdentity? Owner);

public sealed partial class StateStore
{
    private const string ContainerColumns =
        "c.id, c.name, c.uuid, c.image, c.pool_id, p.name, c.privileged, c.isolated, c.idmap_base, c.idmap_size, c.config, " +
        "c.created_at, c.last_started_at, c.state, c.op_pid, c.op_start, c.op_arg"; // (the devices column of v2 is unused: see container_volumes)

    private static ContainerRow MapContainer(SqliteDataReader r) => new(
        r.GetInt64(0), r.GetString(1), r.GetString(2), r.GetString(3), r.GetInt64(4), r.GetString(5), r.GetInt64(6) != 0, r.GetInt64(7) != 0,
        r.IsDBNull(8) ? null : r.GetInt64(8), r.IsDBNull(9) ? null : r.GetInt64(9), FromJson(r.GetString(10)),
        ParseTimestamp(r.GetString(11)), r.IsDBNull(12) ? null : ParseTimestamp(r.GetString(12)), RowStates.Parse(r.GetString(13)), Owner(r, 14),
        r.IsDBNull(16) ? null : r.GetString(16));

    public List<ContainerRow> Containers() =>
        Query($"SELECT {ContainerColumns} FROM containers c JOIN pools p ON p.id = c.pool_id ORDER BY c.name", MapContainer);

    public ContainerRow? Container(string name) =>
        Query($"SELECT {ContainerColumns} FROM containers c JOIN pools p ON p.id = c.pool_id WHERE c.name = $n", MapContainer, ("$n", name)).SingleOrDefault();

    /// <summary>Inserts a container in state Creating, owned by this process. Throws ContainerExists on a duplicate name.</summary>
    public long InsertContainer(string name, string image, long poolId, bool privileged, bool isolated, long? idmapBase, long? idmapSize,
        IReadOnlyDictionary<string, string> config)
    {
        var me = ProcessIdentity.Current;
        try
        {
            Exec("""
                INSERT INTO containers(name, uuid, image, pool_id, privileged, isolated, idmap_base, idmap_size, config, created_at, state, op_pid, op_start)
                VALUES ($n, $u, $i, $p, $priv, $iso, $ib, $is, $c, $t, $st, $pid, $start)
                """,
                ("$n", name), ("$u", Guid.NewGuid().ToString("n")), ("$i", image), ("$p", poolId), ("$priv", privileged ? 1 : 0),
                ("$iso", isolated ? 1 : 0), ("$ib", idmapBase), ("$is", idmapSize), ("$c", ToJson(config)), ("$t", Timestamp(DateTime.UtcNow)),
                ("$st", RowState.Creating.ToDb()), ("$pid", me.Pid), ("$start", me.StartTime));
        }
        catch (SqliteException e) when (IsUniqueViolation(e))
        {
            throw new ContainerPSException(Errors.ContainerExists, $"Container '{name}' already exists.", name);
        }
        return (long)Scalar("SELECT last_insert_rowid()")!;
    }

    public void UpdateContainerConfig(long id, IReadOnlyDictionary<string, string> config) =>
        Exec("UPDATE containers SET config = $c WHERE id = $id", ("$c", ToJson(config)), ("$id", id));

    /// <summary>The id allocation (security.idmap.*) the next start uses.</summary>
    public void UpdateContainerIdmap(long id, bool isolated, long? idmapBase, long? idmapSize) =>
        Exec("UPDATE containers SET isolated = $i, idmap_base = $b, idmap_size = $s WHERE id = $id",
            ("$i", isolated ? 1 : 0), ("$b", idmapBase), ("$s", idmapSize), ("$id", id));

    public void SetLastStarted(long id, DateTime at) =>
        Exec("UPDATE containers SET last_started_at = $t WHERE id = $id", ("$t", Timestamp(at)), ("$id", id));

    /// <summary>
    /// Records a step of several changes on a Ready container (a checkpoint, a restore, a hot mount or
    /// network change, a move) as op_arg, owned by this process; the state stays ready, so the
    /// container shows as it runs. False when another step is recorded. <see cref="Release"/> ends it.
    /// </summary>
    public bool BeginStep(long id, string opArg)
    {
        var me = ProcessIdentity.Current;
        return Exec("UPDATE containers SET op_pid = $pid, op_start = $start, op_arg = $arg WHERE id = $id AND state = 'ready' AND op_pid IS NULL",
            ("$pid", me.Pid), ("$start", me.StartTime), ("$arg", opArg), ("$id", id)) == 1;
    }

    /// <summary>Replaces the op_arg of a step this process owns (a move that reached its next phase).</summary>
    public void UpdateStep(long id, string opArg)
    {
        var me = ProcessIdentity.Current;
        Exec("UPDATE containers SET op_arg = $arg WHERE id = $id AND op_pid = $pid AND op_start = $start",
            ("$arg", opArg), ("$id", id), ("$pid", me.Pid), ("$start", me.StartTime));
    }

    public void RenameContainerRow(long id, string name) => Exec("UPDATE containers SET name = $n WHERE id = $id", ("$n", name), ("$id", id));

    public void DeleteContainerRow(long id)
    {
        Exec("DELETE FROM snapshots WHERE container_id = $id", ("$id", id));
        Exec("DELETE FROM container_networks WHERE container_id = $id", ("$id", id));
        Exec("DELETE FROM container_volumes WHERE container_id = $id", ("$id", id));
        Exec("DELETE FROM containers WHERE id = $id", ("$id", id));
    }

    // ---- snapshots ----

    private static SnapshotRow MapSnapshot(SqliteDataReader r) => new(
        r.GetInt64(0), r.GetInt64(1), r.GetString(2), r.GetInt64(3) != 0, ParseTimestamp(r.GetString(4)), RowStates.Parse(r.GetString(5)), Owner(r, 6));

    public List<SnapshotRow> Snapshots(long containerId) =>
        Query("SELECT id, container_id, name, stateful, created_at, state, op_pid, op_start FROM snapshots WHERE container_id = $c ORDER BY created_at, name",
            MapSnapshot, ("$c", containerId));

    /// <summary>Snapshot rows still in an operation (creating), of every container: one query, for the repair.</summary>
    public List<SnapshotRow> UnfinishedSnapshots() =>
        Query("SELECT id, container_id, name, stateful, created_at, state, op_pid, op_start FROM snapshots WHERE state <> 'ready'", MapSnapshot);

    /// <param name="createdAt">When it was taken (a snapshot that arrived with a moved container keeps its time); default now.</param>
    public long InsertSnapshot(long containerId, string containerName, string name, bool stateful, DateTime? createdAt = null)
    {
        var me = ProcessIdentity.Current;
        try
        {
            Exec("INSERT INTO snapshots(container_id, name, stateful, created_at, state, op_pid, op_start) VALUES ($c, $n, $s, $t, $st, $pid, $start)",
                ("$c", containerId), ("$n", name), ("$s", stateful ? 1 : 0), ("$t", Timestamp(createdAt?.ToUniversalTime() ?? DateTime.UtcNow)),
                ("$st", RowState.Creating.ToDb()), ("$pid", me.Pid), ("$start", me.StartTime));
        }
        catch (SqliteException e) when (IsUniqueViolation(e))
        {
            throw new ContainerPSException(Errors.SnapshotExists, $"Snapshot '{name}' of container '{containerName}' already exists.", name);
        }
        return (long)Scalar("SELECT last_insert_rowid()")!;
    }

    public void DeleteSnapshotRow(long id) => Exec("DELETE FROM snapshots WHERE id = $id", ("$id", id));
}
