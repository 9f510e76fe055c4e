namespace ContainerPS.Engine.Storage;

/// <summary>
/// Storage pools and volumes: validation, the state rows, and the order of steps that keeps a crash
/// half-way recoverable. A row is inserted (or claimed) with an owner before disk work starts and
/// released or deleted after it ends; <see cref="RepairInterrupted"/> finishes or undoes the work of
/// owners that died. This is the entry point the engine and the cmdlets use; each concern is a
/// class of its own: <see cref="StoragePools"/>, <see cref="StorageVolumes"/>,
/// <see cref="StorageCopies"/>, <see cref="StorageSnapshots"/> and <see cref="StorageRepair"/>, on
/// what they share (<see cref="StorageContext"/>).
/// </summary>
public sealed class StorageService : IDisposable
{
    /// <summary>The id map a volume's files are stored in (absent: unshifted, the container's own ids; see <see cref="Idmap.IdShifter"/>).</summary>
    public const string IdmapLastKey = "volatile.idmap.last";
    /// <summary>The id map a shift of the volume's files was going to when it started (present only while one runs or after it crashed).</summary>
    public const string IdmapShiftingKey = "volatile.idmap.shifting";

    private readonly StorageContext context;
    private readonly StoragePools pools;
    private readonly StorageVolumes volumes;
    private readonly StorageCopies copies;
    private readonly StorageSnapshots snapshots;
    private readonly StorageRepair repair;

    public StorageService(StateStore store, string root, ExternalTool tool, IEngineLog log)
    {
        context = new StorageContext(store, root, tool, log);
        volumes = new StorageVolumes(context);
        pools = new StoragePools(context, volumes);
        copies = new StorageCopies(context, volumes);
        snapshots = new StorageSnapshots(context, volumes, copies);
        repair = new StorageRepair(context, snapshots);
    }

    /// <inheritdoc cref="StorageContext.Dispose"/>
    public void Dispose() =>
        context.Dispose();

    public IStorageDriver Driver(string name) => context.Driver(name);

    /// <inheritdoc cref="StoragePools.CreatePool"/>
    public StoragePool CreatePool(string name, string driverName, string? source, IReadOnlyDictionary<string, string?>? config, string? description = null) =>
        pools.CreatePool(name, driverName, source, config, description);

    /// <inheritdoc cref="StoragePools.ListPools"/>
    public IReadOnlyList<StoragePool> ListPools() =>
        pools.ListPools();

    /// <inheritdoc cref="StoragePools.GetPool"/>
    public StoragePool GetPool(string name) =>
        pools.GetPool(name);

    /// <inheritdoc cref="StoragePools.UpdatePool"/>
    public StoragePool UpdatePool(string name, IReadOnlyDictionary<string, string?> changes, string? description = null) =>
        pools.UpdatePool(name, changes, description);

    /// <inheritdoc cref="StoragePools.RemovePool"/>
    public void RemovePool(string name, bool force) =>
        pools.RemovePool(name, force);

    /// <inheritdoc cref="StorageVolumes.CreateVolume"/>
    public StorageVolume CreateVolume(string poolName, string name, IReadOnlyDictionary<string, string?>? config, string? description = null) =>
        volumes.CreateVolume(poolName, name, config, description);

    /// <inheritdoc cref="StorageVolumes.CreateInternalVolume"/>
    public StorageVolume CreateInternalVolume(string poolName, VolumeType type, string name, IReadOnlyDictionary<string, string>? config, Action<string>? fill) =>
        volumes.CreateInternalVolume(poolName, type, name, config, fill);

    /// <inheritdoc cref="StorageVolumes.ReceiveInternalVolume"/>
    public StorageVolume ReceiveInternalVolume(string poolName, VolumeType type, string name, IReadOnlyDictionary<string, string>? config, string compressedFile, string? parent = null) =>
        volumes.ReceiveInternalVolume(poolName, type, name, config, compressedFile, parent);

    /// <inheritdoc cref="StorageVolumes.StreamFormat"/>
    public string? StreamFormat(string poolName) =>
        volumes.StreamFormat(poolName);

    /// <inheritdoc cref="StorageVolumes.SharedIdentity"/>
    public string? SharedIdentity(string poolName) => volumes.SharedIdentity(poolName);

    /// <inheritdoc cref="StorageVolumes.AdoptVolume"/>
    public StorageVolume AdoptVolume(string poolName, VolumeType type, string name, IReadOnlyDictionary<string, string>? config) =>
        volumes.AdoptVolume(poolName, type, name, config);

    /// <inheritdoc cref="StorageVolumes.SharedOwner"/>
    public string? SharedOwner(string poolName, VolumeType type, string name) => volumes.SharedOwner(poolName, type, name);

    /// <inheritdoc cref="StorageVolumes.TransferShared"/>
    public bool TransferShared(string poolName, VolumeType type, string name, string? expected, string owner) =>
        volumes.TransferShared(poolName, type, name, expected, owner);

    /// <inheritdoc cref="StorageVolumes.SendVolume"/>
    public (string[] Command, Action Cleanup) SendVolume(string poolName, VolumeType type, string name, string? parent = null) =>
        volumes.SendVolume(poolName, type, name, parent);

    /// <inheritdoc cref="StorageVolumes.RenameInternalVolume"/>
    public void RenameInternalVolume(string poolName, VolumeType type, string name, string newName) =>
        volumes.RenameInternalVolume(poolName, type, name, newName);

    /// <inheritdoc cref="StorageVolumes.VolumeState"/>
    public (long Id, string Path, IReadOnlyDictionary<string, string> Config) VolumeState(string poolName, VolumeType type, string name) =>
        volumes.VolumeState(poolName, type, name);

    /// <inheritdoc cref="StorageVolumes.VolumeRecord"/>
    public (long Id, IReadOnlyDictionary<string, string> Config) VolumeRecord(string poolName, VolumeType type, string name) =>
        volumes.VolumeRecord(poolName, type, name);

    /// <inheritdoc cref="StorageVolumes.SetVolumeState"/>
    public void SetVolumeState(string poolName, VolumeType type, string name, IReadOnlyDictionary<string, string?> changes) =>
        volumes.SetVolumeState(poolName, type, name, changes);

    /// <inheritdoc cref="StorageVolumes.VolumePath"/>
    public string VolumePath(string poolName, VolumeType type, string name) =>
        volumes.VolumePath(poolName, type, name);

    /// <inheritdoc cref="StorageVolumes.FreeBytes"/>
    public long? FreeBytes(string poolName, VolumeType type) =>
        volumes.FreeBytes(poolName, type);

    /// <inheritdoc cref="StorageVolumes.VolumeUsage"/>
    public long? VolumeUsage(string poolName, VolumeType type, string name) =>
        volumes.VolumeUsage(poolName, type, name);

    /// <inheritdoc cref="StorageVolumes.HasVolume"/>
    public bool HasVolume(string poolName, VolumeType type, string name) =>
        volumes.HasVolume(poolName, type, name);

    /// <inheritdoc cref="StorageVolumes.ListVolumes"/>
    public IReadOnlyList<StorageVolume> ListVolumes(string? poolName = null) =>
        volumes.ListVolumes(poolName);

    /// <inheritdoc cref="StorageVolumes.GetVolume"/>
    public StorageVolume GetVolume(string poolName, VolumeType type, string name) =>
        volumes.GetVolume(poolName, type, name);

    /// <inheritdoc cref="StorageVolumes.UpdateVolume"/>
    public StorageVolume UpdateVolume(string poolName, VolumeType type, string name, IReadOnlyDictionary<string, string?> changes, string? description = null) =>
        volumes.UpdateVolume(poolName, type, name, changes, description);

    /// <inheritdoc cref="StorageVolumes.RenameVolume"/>
    public StorageVolume RenameVolume(string poolName, VolumeType type, string name, string newName) =>
        volumes.RenameVolume(poolName, type, name, newName);

    /// <inheritdoc cref="StorageVolumes.RemoveVolume"/>
    public void RemoveVolume(string poolName, VolumeType type, string name, bool anyType = false) =>
        volumes.RemoveVolume(poolName, type, name, anyType);

    /// <inheritdoc cref="StorageCopies.CloneVolume"/>
    public StorageVolume CloneVolume(string poolName, VolumeType sourceType, string sourceName, string targetPoolName, VolumeType type, string name) =>
        copies.CloneVolume(poolName, sourceType, sourceName, targetPoolName, type, name);

    /// <inheritdoc cref="StorageCopies.CopyVolume"/>
    public StorageVolume CopyVolume(string poolName, VolumeType type, string name, string? targetPoolName, string? newName) =>
        copies.CopyVolume(poolName, type, name, targetPoolName, newName);

    /// <inheritdoc cref="StorageSnapshots.CreateVolumeSnapshot"/>
    public StorageVolumeSnapshot CreateVolumeSnapshot(string poolName, string volume, string name) =>
        snapshots.CreateVolumeSnapshot(poolName, volume, name);

    /// <inheritdoc cref="StorageSnapshots.ListVolumeSnapshots"/>
    public IReadOnlyList<StorageVolumeSnapshot> ListVolumeSnapshots(string poolName, string volume) =>
        snapshots.ListVolumeSnapshots(poolName, volume);

    /// <inheritdoc cref="StorageSnapshots.GetVolumeSnapshot"/>
    public StorageVolumeSnapshot GetVolumeSnapshot(string poolName, string volume, string name) =>
        snapshots.GetVolumeSnapshot(poolName, volume, name);

    /// <inheritdoc cref="StorageSnapshots.RestoreVolumeSnapshot"/>
    public void RestoreVolumeSnapshot(string poolName, string volume, string name) =>
        snapshots.RestoreVolumeSnapshot(poolName, volume, name);

    /// <inheritdoc cref="StorageSnapshots.RemoveVolumeSnapshot"/>
    public void RemoveVolumeSnapshot(string poolName, string volume, string name) =>
        snapshots.RemoveVolumeSnapshot(poolName, volume, name);

    /// <inheritdoc cref="StorageSnapshots.RestoreVolume"/>
    public void RestoreVolume(string poolName, VolumeType fromType, string fromName, VolumeType type, string name) =>
        snapshots.RestoreVolume(poolName, fromType, fromName, type, name);

    /// <inheritdoc cref="StorageSnapshots.ReadVolumeFiles"/>
    public void ReadVolumeFiles(string poolName, VolumeType type, string name, Action<string> read) =>
        snapshots.ReadVolumeFiles(poolName, type, name, read);

    /// <inheritdoc cref="StorageRepair.RepairInterrupted"/>
    public IReadOnlyList<string> RepairInterrupted() =>
        repair.RepairInterrupted();
}
