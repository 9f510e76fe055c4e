using ContainerPS.Engine.Migration;
using ContainerPS.Engine.Storage;

namespace ContainerPS.Engine.Runtime;

/// <summary>
/// Moves between two hosts whose ceph pools share one OSD pool (ceph.osd.shared): the container's
/// RBD image (its snapshots are RBD snapshots of it) and its custom volumes on that OSD pool are
/// handed over instead of copied. Each image's owner record (<see cref="CephOwnership"/>) goes from
/// the source's pool to "handover DESTINATION TOKEN" when the source has stopped and unmapped it,
/// then to the destination's pool when the destination takes it. Until the commit either side can
/// put it back: the destination gives back what it took, the source takes back what nobody took. A
/// host maps, writes and deletes only images it owns, so at no time do two hosts write one image.
/// </summary>
internal sealed class SharedHandover(StateStore store, StorageService storage)
{
    private static (string Fsid, string OsdPool, string Owner)? Split(string identity) =>
        identity.Split('/') is [var f, var o, var w] ? (f, o, w) : null;

    private static string Handover(string to, string token) => CephOwnership.Handover(to, token);

    // ------------------------------------------------------------------ source

    /// <summary>
    /// The plan's shared part when the destination has a pool on the container's OSD pool
    /// (<paramref name="destinationPools"/>: its answer, see <see cref="MigrationPlan.ParseShared"/>), else null.
    /// </summary>
    public MigrationShared? Plan(ContainerRow row, IReadOnlyList<string> destinationPools)
    {
        if (destinationPools.Count == 0 || storage.SharedIdentity(row.Pool) is not { } mine || Split(mine) is not var (fsid, osd, self))
            return null;
        foreach (var d in destinationPools)
            if (Split(d) is var (f, o, owner) && f == fsid && o == osd && owner != self)
            {
                CheckOwned(row.Pool, VolumeType.Container, row.Name, self);
                return new MigrationShared(fsid, osd, self, owner, Portable(row.Pool, VolumeType.Container, row.Name));
            }
        return null;
    }

    /// <summary>
    /// Whether a custom volume of <paramref name="pool"/> is handed over by a move of <paramref name="shared"/>
    /// (it is on the same OSD pool, in the same pool); VolumeBusy when its image is not this pool's.
    /// </summary>
    public bool HandsOver(string pool, string volume, MigrationShared? shared)
    {
        if (shared is null || storage.SharedIdentity(pool) != $"{shared.Fsid}/{shared.OsdPool}/{shared.SourceOwner}")
            return false;
        CheckOwned(pool, VolumeType.Custom, volume, shared.SourceOwner);
        return true;
    }

    /// <summary>An image to hand over must be this pool's: one without an owner record (made before records) is claimed now, so the destination finds its owner.</summary>
    private void CheckOwned(string pool, VolumeType type, string name, string self)
    {
        var owner = storage.SharedOwner(pool, type, name);
        if (owner is null && storage.TransferShared(pool, type, name, null, self))
            return;
        if (owner != self)
            throw new ContainerPSException(Errors.VolumeBusy,
                $"The RBD image of {type.Name()} volume '{pool}/{name}' is not this host's to hand over (its owner is {storage.SharedOwner(pool, type, name) ?? "not recorded"}).", name);
    }

    /// <summary>A volume's keys that describe its storage (size, filesystem, mount options), without the volatile ones.</summary>
    public Dictionary<string, string> Portable(string pool, VolumeType type, string name) =>
        storage.VolumeRecord(pool, type, name).Config.Where(kv => !kv.Key.StartsWith("volatile.", StringComparison.Ordinal)).ToDictionary(kv => kv.Key, kv => kv.Value);

    /// <summary>
    /// The source hands the container's image and its handed-over volumes to the destination (the
    /// container is stopped or dumped): each is unmapped and marked "handover DESTINATION TOKEN".
    /// </summary>
    public void HandOver(ContainerRow row, MigrationPlan plan, string token)
    {
        var shared = plan.Shared!;
        foreach (var (pool, type, name) in SourceImages(row, plan))
        {
            if (!storage.TransferShared(pool, type, name, shared.SourceOwner, Handover(shared.TargetOwner, token)))
                throw new ContainerPSException(Errors.VolumeBusy,
                    $"The RBD image of {type.Name()} volume '{pool}/{name}' is not this host's to hand over (its owner is {storage.SharedOwner(pool, type, name) ?? "not recorded"}).", name);
            FaultPoints.Hit("move.source.after-handover");
        }
    }

    private static IEnumerable<(string Pool, VolumeType Type, string Name)> SourceImages(ContainerRow row, MigrationPlan plan) =>
        new[] { (row.Pool, VolumeType.Container, row.Name) }.Concat(plan.VolumeList.Where(v => v.HandedOver).Select(v => (v.Pool, VolumeType.Custom, v.Name)));

    /// <summary>
    /// After a move that did not finish, the source takes back the images it handed over with
    /// <paramref name="token"/> that the destination did not take (or gave back). False when the
    /// destination holds one: the container cannot run here until that host gives it back.
    /// </summary>
    /// <param name="volumes">The custom volumes the move carried ("POOL/NAME").</param>
    public bool TakeBack(ContainerRow row, IEnumerable<string> volumes, string token)
    {
        var all = true;
        var images = new[] { (row.Pool, VolumeType.Container, row.Name) }.Concat(volumes.Select(v => (v.Split('/')[0], VolumeType.Custom, v.Split('/')[^1])));
        foreach (var (pool, type, name) in images)
        {
            if (store.Pool(pool) is null || storage.SharedIdentity(pool) is not { } id || Split(id) is not var (_, _, self))
                continue;
            var owner = storage.SharedOwner(pool, type, name);
            if (owner == self || owner is null)
                continue;
            if (!(owner.StartsWith("handover ", StringComparison.Ordinal) && owner.EndsWith(" " + token, StringComparison.Ordinal)
                  && storage.TransferShared(pool, type, name, owner, self)))
                all = false;
        }
        return all;
    }

    // ------------------------------------------------------------------ destination

    /// <summary>This host's pool the plan's shared part names (same cluster, OSD pool and owner id), or MoveRefused.</summary>
    public string TargetPool(MigrationPlan plan)
    {
        var shared = plan.Shared!;
        var identity = $"{shared.Fsid}/{shared.OsdPool}/{shared.TargetOwner}";
        foreach (var p in store.Pools().Where(p => p.State == RowState.Ready && p.Driver == "ceph"))
            if (storage.SharedIdentity(p.Name) == identity)
                return p.Name;
        throw new ContainerPSException(Errors.MoveRefused,
            $"Container '{plan.Name}' would be handed over into a ceph pool on OSD pool '{Names.Printable(shared.OsdPool)}' of this host that is not here (or its cluster cannot be reached).", plan.Name);
    }

    /// <summary>
    /// Checks what the source says it hands over, before anything is made: each image is on the
    /// shared OSD pool, owned by the source's pool, and this host has no volume of that name.
    /// </summary>
    public void Check(MigrationPlan plan, string pool)
    {
        var shared = plan.Shared!;
        var schema = storage.Driver("ceph").Schema;
        foreach (var (type, name, config) in TargetImages(plan))
        {
            schema.CheckVolume(config.ToDictionary(kv => kv.Key, kv => (string?)kv.Value), creating: true, noun: $"{type.Name()} volume '{name}'");
            if (storage.HasVolume(pool, type, name))
                throw new ContainerPSException(Errors.VolumeExists, $"Storage volume '{pool}/{name}' ({type.Name()}) already exists on the destination.", name);
            if (storage.SharedOwner(pool, type, name) is var owner && owner != shared.SourceOwner)
                throw new ContainerPSException(Errors.MoveRefused,
                    $"The RBD image of {type.Name()} volume '{name}' of container '{plan.Name}' is not the source's to hand over (its owner is {Names.Printable(owner ?? "not recorded")}).", name);
        }
    }

    private static IEnumerable<(VolumeType Type, string Name, IReadOnlyDictionary<string, string> Config)> TargetImages(MigrationPlan plan) =>
        new[] { (VolumeType.Container, plan.Name, plan.Shared!.RootfsConfig ?? new Dictionary<string, string>()) }
            .Concat(plan.VolumeList.Where(v => v.HandedOver).Select(v => (VolumeType.Custom, v.Name, v.Config ?? new Dictionary<string, string>())));

    /// <summary>The destination takes the images the source handed over (with the move's token): from now on it maps them, the source cannot.</summary>
    public void Take(ContainerRow row, MigrationPlan plan, string token)
    {
        var shared = plan.Shared!;
        foreach (var (type, name, _) in TargetImages(plan))
        {
            if (storage.SharedOwner(row.Pool, type, name) == shared.TargetOwner)
                continue;
            if (!storage.TransferShared(row.Pool, type, name, Handover(shared.TargetOwner, token), shared.TargetOwner))
                throw new ContainerPSException(Errors.MigrationDataFailed,
                    $"The source did not hand over the RBD image of {type.Name()} volume '{name}' (its owner is {storage.SharedOwner(row.Pool, type, name) ?? "not recorded"}).", name);
        }
        FaultPoints.Hit("move.target.after-take");
    }

    /// <summary>
    /// A move that does not finish: the destination gives back what it took (unmapped first), and
    /// what the source handed over to it, before its rows go (the driver then forgets the images
    /// instead of deleting them).
    /// </summary>
    public void GiveBack(string pool, MigrationPlan plan, string token)
    {
        var shared = plan.Shared!;
        if (store.Pool(pool) is null)
            return;
        foreach (var (type, name, _) in TargetImages(plan))
        {
            var owner = storage.SharedOwner(pool, type, name);
            if (owner == shared.TargetOwner || owner == Handover(shared.TargetOwner, token))
                storage.TransferShared(pool, type, name, owner, shared.SourceOwner);
        }
    }
}
