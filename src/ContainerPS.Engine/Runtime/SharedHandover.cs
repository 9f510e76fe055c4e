using ContainerPS.Engine.Migration;
using ContainerPS.Engine.Storage;

namespace ContainerPS.Engine.Runtime;

/// <summary>
/// Moves between two hosts whose pools share their storage (ceph pools on one OSD pool,
/// ceph.osd.shared): the container's volume (its snapshots are snapshots of it) and its custom
/// volumes there are handed over instead of copied. Each one's owner record
/// (<see cref="IStorageDriver.SharedOwner"/>) goes from the source's pool to a handover to the
/// destination (<see cref="SharedOwners.Handover"/>) once the source has stopped and unmapped it,
/// then to the destination's pool when the destination takes it. Until the commit either side can
/// put it back: the destination gives back what it took, the source takes back what nobody took. A
/// host maps, writes and deletes only volumes it owns, so two hosts never write one.
/// </summary>
internal sealed class SharedHandover(StateStore store, StorageService storage)
{
    // ------------------------------------------------------------------ source

    /// <summary>
    /// The plan's shared part when the destination has a pool on the container's storage
    /// (<paramref name="destinationPools"/>: its answer, see <see cref="MigrationPlan.ParseShared"/>), else null.
    /// </summary>
    public MigrationShared? Plan(ContainerRow row, IReadOnlyList<string> destinationPools)
    {
        if (destinationPools.Count == 0 || storage.SharedIdentity(row.Pool) is not { } mine || SharedOwners.Split(mine) is not var (fsid, osd, self))
            return null;
        foreach (var d in destinationPools)
            if (SharedOwners.Split(d) is var (f, o, owner) && f == fsid && o == osd && owner != self)
            {
                ClaimOrRefuse(row.Pool, VolumeType.Container, row.Name, self);
                return new MigrationShared(fsid, osd, self, owner, Portable(row.Pool, VolumeType.Container, row.Name));
            }
        return null;
    }

    /// <summary>
    /// Whether a custom volume of <paramref name="pool"/> is handed over by a move of <paramref name="shared"/>
    /// (it is on the same storage, in the same pool); VolumeBusy when it is not this pool's.
    /// </summary>
    public bool HandsOver(string pool, string volume, MigrationShared? shared)
    {
        if (shared is null || storage.SharedIdentity(pool) != SharedOwners.Identity(shared.Fsid, shared.OsdPool, shared.SourceOwner))
            return false;
        ClaimOrRefuse(pool, VolumeType.Custom, volume, shared.SourceOwner);
        return true;
    }

    /// <summary>A volume to hand over must be this pool's: one without an owner record (made before records) is claimed now, so the destination finds its owner.</summary>
    private void ClaimOrRefuse(string pool, VolumeType type, string name, string self)
    {
        var owner = storage.SharedOwner(pool, type, name);
        if (owner != self && !(owner is null && storage.TransferShared(pool, type, name, null, self)))
            throw NotOurs(pool, type, name);
    }

    private ContainerPSException NotOurs(string pool, VolumeType type, string name) =>
        new(Errors.VolumeBusy, $"The {type.Name()} volume '{pool}/{name}' is not this host's to hand over (its owner is {storage.SharedOwner(pool, type, name) ?? "not recorded"}).", name);

    /// <summary>A volume's keys that describe its storage (size, filesystem, mount options), without the volatile ones.</summary>
    public Dictionary<string, string> Portable(string pool, VolumeType type, string name) =>
        storage.VolumeRecord(pool, type, name).Config.Where(kv => !kv.Key.StartsWith("volatile.", StringComparison.Ordinal)).ToDictionary(kv => kv.Key, kv => kv.Value);

    /// <summary>The custom volumes a move of <paramref name="plan"/> hands over, as "POOL/NAME" (recorded on the source's step).</summary>
    public static List<string> Handed(MigrationPlan plan) => plan.VolumeList.Where(v => v.HandedOver).Select(v => $"{v.Pool}/{v.Name}").ToList();

    /// <summary>
    /// The source hands the container's volume and its handed-over volumes to the destination (the
    /// container is stopped or dumped): each is unmapped and marked as handed over with the move's token.
    /// </summary>
    public void HandOver(ContainerRow row, MigrationPlan plan, string token)
    {
        var shared = plan.Shared!;
        foreach (var (pool, type, name) in SourceVolumes(row, Handed(plan)))
        {
            if (!storage.TransferShared(pool, type, name, shared.SourceOwner, SharedOwners.Handover(shared.TargetOwner, token)))
                throw NotOurs(pool, type, name);
            FaultPoints.Hit("move.source.after-handover");
        }
    }

    private static IEnumerable<(string Pool, VolumeType Type, string Name)> SourceVolumes(ContainerRow row, IEnumerable<string> handed) =>
        new[] { (row.Pool, VolumeType.Container, row.Name) }.Concat(handed.Select(v => (v.Split('/')[0], VolumeType.Custom, v.Split('/')[^1])));

    /// <summary>
    /// After a move that did not finish, the source takes back the volumes it handed over with
    /// <paramref name="token"/> that the destination did not take (or gave back). False when the
    /// destination holds one: the container cannot run here until that host gives it back.
    /// </summary>
    /// <param name="handed">The custom volumes the move handed over ("POOL/NAME", see <see cref="Handed"/>).</param>
    public bool TakeBack(ContainerRow row, IEnumerable<string> handed, string token)
    {
        var all = true;
        foreach (var (pool, type, name) in SourceVolumes(row, handed))
        {
            if (store.Pool(pool) is null || storage.SharedIdentity(pool) is not { } id || SharedOwners.Split(id) is not var (_, _, self))
                continue;
            var owner = storage.SharedOwner(pool, type, name);
            if (owner != self && !(SharedOwners.IsHandover(owner, token) && storage.TransferShared(pool, type, name, owner, self)))
                all = false;
        }
        return all;
    }

    // ------------------------------------------------------------------ destination

    /// <summary>This host's pools that other hosts share (their identities), for <see cref="Moves.MigrationTarget.Receives"/>; a pool whose storage cannot be reached is left out.</summary>
    public IReadOnlyList<string> SharedPools(IEngineLog? log) => Identities(log).Select(p => p.Identity).ToList();

    private List<(string Pool, string Identity)> Identities(IEngineLog? log)
    {
        var shared = new List<(string, string)>();
        foreach (var p in store.Pools().Where(p => p.State == RowState.Ready))
        {
            try { if (storage.SharedIdentity(p.Name) is { } id) shared.Add((p.Name, id)); }
            catch (ContainerPSException e) { log?.Verbose($"pool {p.Name}: {e.Message}"); }
        }
        return shared;
    }

    /// <summary>This host's pool the plan's shared part names (same storage and owner id), or MoveRefused.</summary>
    public string TargetPool(MigrationPlan plan)
    {
        var shared = plan.Shared!;
        var identity = SharedOwners.Identity(shared.Fsid, shared.OsdPool, shared.TargetOwner);
        foreach (var (pool, id) in Identities(null))
            if (id == identity)
                return pool;
        throw new ContainerPSException(Errors.MoveRefused,
            $"Container '{plan.Name}' would be handed over into a pool of this host on OSD pool '{Names.Printable(shared.OsdPool)}' that is not here (or whose cluster cannot be reached).", plan.Name);
    }

    /// <summary>
    /// Checks what the source says it hands over, before anything is made: each volume is on the
    /// shared storage, owned by the source's pool (not this one), and this host has no volume of that name.
    /// </summary>
    public void Check(MigrationPlan plan, string pool)
    {
        var shared = plan.Shared!;
        if (shared.SourceOwner == shared.TargetOwner)
            throw new ContainerPSException(Errors.InvalidMigrationPlan, $"The migration plan of container '{plan.Name}' hands its volumes from this pool to itself.", plan.Name);
        var schema = storage.Driver(store.Pool(pool)!.Driver).Schema;
        foreach (var (type, name, config) in TargetVolumes(plan))
        {
            schema.CheckVolume(config.ToDictionary(kv => kv.Key, kv => (string?)kv.Value), creating: true, noun: $"{type.Name()} volume '{name}'");
            if (storage.HasVolume(pool, type, name))
                throw new ContainerPSException(Errors.VolumeExists, $"Storage volume '{pool}/{name}' ({type.Name()}) already exists on the destination.", name);
            if (storage.SharedOwner(pool, type, name) is var owner && owner != shared.SourceOwner)
                throw new ContainerPSException(Errors.MoveRefused,
                    $"The {type.Name()} volume '{name}' of container '{plan.Name}' is not the source's to hand over (its owner is {Names.Printable(owner ?? "not recorded")}).", name);
        }
    }

    private static IEnumerable<(VolumeType Type, string Name, IReadOnlyDictionary<string, string> Config)> TargetVolumes(MigrationPlan plan) =>
        new[] { (VolumeType.Container, plan.Name, plan.Shared!.RootfsConfig ?? new Dictionary<string, string>()) }
            .Concat(plan.VolumeList.Where(v => v.HandedOver).Select(v => (VolumeType.Custom, v.Name, v.Config ?? new Dictionary<string, string>())));

    /// <summary>The destination takes the volumes the source handed over with the move's token: from now on it maps them, the source cannot.</summary>
    public void Take(ContainerRow row, MigrationPlan plan, string token)
    {
        var shared = plan.Shared!;
        foreach (var (type, name, _) in TargetVolumes(plan))
            if (!storage.TransferShared(row.Pool, type, name, SharedOwners.Handover(shared.TargetOwner, token), shared.TargetOwner))
                throw new ContainerPSException(Errors.MigrationDataFailed,
                    $"The source did not hand over the {type.Name()} volume '{name}' (its owner is {storage.SharedOwner(row.Pool, type, name) ?? "not recorded"}).", name);
        FaultPoints.Hit("move.target.after-take");
    }

    /// <summary>
    /// A move that does not finish: the destination gives back what it took (unmapped first), and
    /// what the source handed over to it, before its rows go (the driver then forgets the volumes
    /// instead of deleting them).
    /// </summary>
    public void GiveBack(string pool, MigrationPlan plan, string token)
    {
        var shared = plan.Shared!;
        if (store.Pool(pool) is null)
            return;
        foreach (var (type, name, _) in TargetVolumes(plan))
        {
            var owner = storage.SharedOwner(pool, type, name);
            if (owner is not null && (owner == shared.TargetOwner || owner == SharedOwners.Handover(shared.TargetOwner, token)))
                storage.TransferShared(pool, type, name, owner, shared.SourceOwner);
        }
    }
}
