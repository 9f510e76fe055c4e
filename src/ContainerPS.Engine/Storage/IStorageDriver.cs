namespace ContainerPS.Engine.Storage;

/// <summary>What a driver needs to know about a pool.</summary>
public sealed record PoolContext(string Name, string Source, bool OwnsSource, IReadOnlyDictionary<string, string> Config);

/// <summary>What a driver needs to know about a volume.</summary>
public sealed record VolumeContext(string Name, VolumeType Type, IReadOnlyDictionary<string, string> Config);

/// <summary>
/// A checked pool source: where the pool will live, whether ContainerPS creates (and later removes)
/// it, and config keys the driver records with the pool (volatile.*: where its device is).
/// </summary>
public sealed record PoolSource(string Path, bool Owned, IReadOnlyDictionary<string, string>? Config = null);

/// <summary>
/// One storage backend. A driver does disk work only; the <see cref="StorageService"/> validates
/// input, keeps the state database and rolls back. Every method that removes something is
/// idempotent, so a crashed operation can be finished or undone by calling it again.
/// </summary>
public interface IStorageDriver
{
    string Name { get; }

    ConfigSchema Schema { get; }

    /// <summary>
    /// Checks a user's -Source (or the default) before anything is created and says where the pool
    /// will live. Throws InvalidSource, SourceNotEmpty. (The service has already refused sources
    /// inside the state root or overlapping another pool.)
    /// </summary>
    PoolSource CheckSource(string? source, string defaultSource);

    void CreatePool(PoolContext pool);

    /// <summary>Applies changed pool keys (<paramref name="pool"/> has them already), such as mount options.</summary>
    void UpdatePool(PoolContext pool, IReadOnlyDictionary<string, string?> changes);

    /// <summary>Refuses the removal of a pool before any of its volumes goes (ceph: an OSD pool other hosts share).</summary>
    void CheckPoolRemovable(PoolContext pool) { }

    /// <summary>Removes what <see cref="CreatePool"/> made. Idempotent.</summary>
    void DeletePool(PoolContext pool);

    /// <summary>Used and total bytes of the pool's backing store, where known.</summary>
    (long? Used, long? Size) PoolUsage(PoolContext pool);

    /// <summary>How the pool maps its block volumes from now on, where a driver has a choice (ceph: krbd or fuse, ceph.rbd.map resolved on this host), else null.</summary>
    string? RbdMap(PoolContext pool) => null;

    void CreateVolume(PoolContext pool, VolumeContext volume);

    /// <summary>Removes the volume and any leftovers of a crashed create or copy. Idempotent.</summary>
    void DeleteVolume(PoolContext pool, VolumeContext volume);

    void RenameVolume(PoolContext pool, VolumeContext volume, string newName);

    /// <summary>Copies <paramref name="source"/> of <paramref name="sourcePool"/> into a new volume of <paramref name="pool"/> (same driver).</summary>
    void CopyVolume(PoolContext sourcePool, VolumeContext source, PoolContext pool, VolumeContext target);

    /// <summary>Replaces the content of <paramref name="target"/> with that of <paramref name="snapshot"/> (same pool).</summary>
    void RestoreVolume(PoolContext pool, VolumeContext snapshot, VolumeContext target);

    /// <summary>Applies changed volume keys (such as size) to the volume on disk.</summary>
    void UpdateVolume(PoolContext pool, VolumeContext volume, IReadOnlyDictionary<string, string?> changes);

    bool VolumeExists(PoolContext pool, VolumeContext volume);

    /// <summary>The host directory holding the volume's files (for filesystem volumes).</summary>
    string VolumePath(PoolContext pool, VolumeContext volume);

    /// <summary>
    /// Makes the volume's files reachable at <see cref="VolumePath"/> and returns that path: a no-op for
    /// drivers whose volumes are always there, a map and mount for block-backed ones (ceph). Callers that
    /// read or write the files use this; listings use <see cref="VolumePath"/>.
    /// </summary>
    string MountVolume(PoolContext pool, VolumeContext volume) => VolumePath(pool, volume);

    /// <summary>
    /// Whether a snapshot's files can be read at its <see cref="VolumePath"/> (dir, btrfs); else
    /// (zfs, ceph) they are read from a temporary clone.
    /// </summary>
    bool SnapshotFilesReadable => false;

    /// <summary>
    /// The driver's own volume stream (btrfs send, zfs send) that moves carry instead of a tar when
    /// both hosts' pools have it, or null.
    /// </summary>
    string? StreamFormat => null;

    /// <summary>
    /// Where the pool's volumes live when other hosts share it (ceph, an OSD pool joined by another
    /// host's pool or joining one: <see cref="SharedOwners.Identity"/>, the cluster's fsid, the OSD
    /// pool and this pool's owner id), else null. Two hosts whose pools say the same FSID/OSDPOOL
    /// see the same images: a move hands them over instead of copying.
    /// </summary>
    string? SharedIdentity(PoolContext pool) => null;

    /// <summary>
    /// An image volume already whole on the pool's storage without a row here (ceph: the RBD image
    /// with its protected snapshot, from which containers are cloned; made by another host sharing
    /// the OSD pool, or forgotten here while it was shared): true when it is to be recorded as it is,
    /// without unpacking the image into it (an image volume's name is its content's hash).
    /// </summary>
    bool ImageVolumeReady(PoolContext pool, VolumeContext volume) => false;

    /// <summary>
    /// Who owns a volume of a pool other hosts share (<see cref="SharedIdentity"/>): a pool's owner id,
    /// "handover ID TOKEN" while a move hands it to pool ID, or null (no record).
    /// </summary>
    string? SharedOwner(PoolContext pool, VolumeContext volume) => null;

    /// <summary>
    /// Changes the owner of a shared volume from <paramref name="expected"/> to <paramref name="owner"/>
    /// in one atomic step (false when it was not <paramref name="expected"/>; null: no record yet); a volume this pool gives
    /// away is unmapped first. Only for pools with a <see cref="SharedIdentity"/>.
    /// </summary>
    bool TransferShared(PoolContext pool, VolumeContext volume, string? expected, string owner) =>
        throw new ContainerPSException(Errors.DriverNotSupported, $"Pool '{pool.Name}' is not shared with other hosts.", pool.Name);

    /// <summary>
    /// Starts a stream of the volume (<see cref="StreamFormat"/>): the argv of a program that writes it to
    /// stdout, and the cleanup (a temporary read-only snapshot) to run once it has ended. A snapshot
    /// volume is sent as it is (so the receiver's copy can be the parent of the next stream). With
    /// <paramref name="parent"/> (a snapshot of the same container, sent before), the stream holds
    /// only the difference from it (btrfs send -p, zfs send -i).
    /// </summary>
    (string[] Command, Action Cleanup) SendVolume(PoolContext pool, VolumeContext volume, VolumeContext? parent = null) =>
        throw new NotSupportedException($"the {Name} driver has no volume stream");

    /// <summary>
    /// Creates the volume from <paramref name="compressedFile"/>: a zstd-compressed stream that
    /// <see cref="SendVolume"/>'s command wrote on another host; a snapshot volume becomes a real
    /// snapshot of this driver. With <paramref name="parent"/>, the stream is the difference from
    /// that snapshot, which this pool has received before.
    /// </summary>
    void ReceiveVolume(PoolContext pool, VolumeContext volume, string compressedFile, VolumeContext? parent = null) =>
        throw new NotSupportedException($"the {Name} driver has no volume stream");

    /// <summary>Bytes the volume uses, where known.</summary>
    long? VolumeUsage(PoolContext pool, VolumeContext volume);

    /// <summary>Whether a size limit on volumes of this pool is enforced by the storage.</summary>
    bool EnforcesSize(PoolContext pool);
}
