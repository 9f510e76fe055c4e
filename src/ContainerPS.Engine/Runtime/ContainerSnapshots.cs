using ContainerPS.Engine.Migration;
using ContainerPS.Engine.Storage;

namespace ContainerPS.Engine.Runtime;

/// <summary>
/// Container snapshots (New-/Get-/Restore-/Remove-ContainerSnapshot): a snapshot volume
/// CONTAINER@NAME of the container's root volume and its row; a stateful one also holds a
/// checkpoint (see <see cref="ContainerCheckpoints"/>). A snapshot cut short is rolled back by the
/// next command, and a container its checkpoint left frozen or stopped runs again.
/// </summary>
public sealed class ContainerSnapshots
{
    private readonly StateStore store;
    private readonly StorageService storage;
    private readonly IEngineLog log;
    private readonly ContainerRecords records;
    private readonly ContainerPaths paths;
    private readonly ContainerLauncher launcher;

    internal ContainerSnapshots(StateStore store, StorageService storage, IEngineLog log, ContainerRecords records, ContainerPaths paths, ContainerLauncher launcher) =>
        (this.store, this.storage, this.log, this.records, this.paths, this.launcher) = (store, storage, log, records, paths, launcher);

    internal static string SnapshotVolume(string container, string snapshot) => $"{container}@{snapshot}";

    internal SnapshotRow SnapshotRowOf(ContainerRow row, string snapshot) =>
        store.Snapshots(row.Id).FirstOrDefault(s => s.Name == snapshot)
        ?? throw new ContainerPSException(Errors.SnapshotNotFound, $"Snapshot '{Names.Printable(snapshot)}' of container '{row.Name}' not found.", snapshot);

    public ContainerSnapshot Create(string name, string snapshot)
    {
        Names.Validate(snapshot, "snapshot");
        using var _ = records.Lock(name);
        var row = records.ReadyRow(name);
        var id = store.Write(() => store.InsertSnapshot(row.Id, name, snapshot, stateful: false));
        try
        {
            FaultPoints.Hit("snapshot.create.after-row");
            storage.CloneVolume(row.Pool, VolumeType.Container, name, row.Pool, VolumeType.Snapshot, SnapshotVolume(name, snapshot));
            FaultPoints.Hit("snapshot.create.after-disk");
            store.Write(() => store.Release("snapshots", id));
        }
        catch
        {
            store.Write(() => store.DeleteSnapshotRow(id));
            throw;
        }
        return ToSnapshot(row, SnapshotRowOf(row, snapshot));
    }

    public IReadOnlyList<ContainerSnapshot> List(string name)
    {
        var row = records.Row(name);
        return store.Snapshots(row.Id).Select(s => ToSnapshot(row, s)).ToList();
    }

    internal static ContainerSnapshot ToSnapshot(ContainerRow row, SnapshotRow s) =>
        new() { Container = row.Name, Name = s.Name, Stateful = s.Stateful, CreatedAt = s.CreatedAt };

    public void Restore(string name, string snapshot)
    {
        using var _ = records.Lock(name);
        var row = records.ReadyRow(name);
        SnapshotRowOf(row, snapshot);
        if (paths.Runtime(name).Inspect().IsRunning)
            throw new ContainerPSException(Errors.ContainerRunning, $"Container '{name}' is running; stop it before restoring a snapshot.", name);
        storage.RestoreVolume(row.Pool, VolumeType.Snapshot, SnapshotVolume(name, snapshot), VolumeType.Container, name);
        // A state saved by Stop-Container -Stateful belongs to the filesystem just replaced.
        if (Directory.Exists(paths.StopStateDir(row)))
            Directory.Delete(paths.StopStateDir(row), recursive: true);
    }

    public void Remove(string name, string snapshot)
    {
        using var _ = records.Lock(name);
        var row = records.ReadyRow(name);
        var snap = SnapshotRowOf(row, snapshot);
        // Claimed first (state deleting): a removal cut short is finished by the repair.
        if (!store.Write(() => store.Claim("snapshots", snap.Id, RowState.Deleting)))
            throw ContainerPSException.Busy($"Snapshot '{snapshot}' of container '{name}'", Errors.ContainerBusy);
        storage.RemoveVolume(row.Pool, VolumeType.Snapshot, SnapshotVolume(name, snapshot), anyType: true);
        FaultPoints.Hit("snapshot.delete.after-disk");
        UndoSnapshot(row, snapshot, snap.Id);
    }

    /// <summary>Removes what a snapshot that did not finish left: its volume, its saved state, its row.</summary>
    internal void UndoSnapshot(ContainerRow row, string snapshot, long id)
    {
        if (storage.HasVolume(row.Pool, VolumeType.Snapshot, SnapshotVolume(row.Name, snapshot)))
            storage.RemoveVolume(row.Pool, VolumeType.Snapshot, SnapshotVolume(row.Name, snapshot), anyType: true);
        if (Directory.Exists(paths.SnapshotStateDir(row, snapshot)))
            Directory.Delete(paths.SnapshotStateDir(row, snapshot), recursive: true);
        store.Write(() => store.DeleteSnapshotRow(id));
    }

    /// <summary>
    /// Repairs snapshots whose process died (New-ContainerSnapshot, Checkpoint-Container
    /// -SnapshotName): the snapshot is rolled back, and a container its checkpoint left frozen is
    /// thawed, or one the dump stopped is restored from that dump (the state it had).
    /// </summary>
    internal void RepairSnapshots()
    {
        foreach (var s in store.UnfinishedSnapshots().Where(s => s.Owner is { IsAlive: false }))
        {
            var row = store.Containers().FirstOrDefault(c => c.Id == s.ContainerId);
            if (row is null || row.State != RowState.Ready)
                continue; // goes with its container's own repair
            ContainerLock l;
            try { l = ContainerLock.Take(paths.Root, row.Name, TimeSpan.Zero); }
            catch (ContainerPSException) { continue; } // the container is busy: a later command repairs
            using (l)
            {
                if (!store.Write(() => store.TakeOver("snapshots", s.Id, s.Owner!.Value)))
                    continue;
                try
                {
                    var deleting = s.State == RowState.Deleting;
                    var what = s.Stateful && !deleting ? RecoverFromCheckpoint(row, s.Name) : "";
                    UndoSnapshot(row, s.Name, s.Id);
                    log.Warning($"Repaired an interrupted operation: {(deleting ? "finished the unfinished removal of" : "rolled back the unfinished")} {(s.Stateful ? "stateful " : "")}snapshot '{s.Name}' of container '{row.Name}'{what}.");
                }
                catch (Exception e) when (e is IOException or ContainerPSException)
                {
                    log.Warning($"Could not repair the interrupted snapshot '{s.Name}' of container '{row.Name}': {e.Message}. A later command will try again.");
                }
            }
        }
    }

    /// <summary>
    /// A container whose checkpoint was cut short: thawed when it was left frozen (-LeaveRunning);
    /// restored from the finished dump when the dump stopped it. Says what it did.
    /// </summary>
    private string RecoverFromCheckpoint(ContainerRow row, string snapshot)
    {
        var rt = paths.Runtime(row.Name);
        if (rt.Inspect().IsRunning)
            return launcher.ThawIfPaused(row, rt) ? "; the container, left frozen, runs again" : "";
        var dir = paths.SnapshotStateDir(row, snapshot);
        if (rt.ReadExit() is not null && Criu.DumpFinished(dir))
        {
            launcher.Launch(row, CheckpointImage.Open(dir));
            return "; the container, stopped by the dump, was restored from it";
        }
        return "";
    }
}
