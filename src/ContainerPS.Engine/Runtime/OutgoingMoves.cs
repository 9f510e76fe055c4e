using ContainerPS.Engine.Migration;
using ContainerPS.Engine.Network;
using ContainerPS.Engine.Storage;

namespace ContainerPS.Engine.Runtime;

/// <summary>
/// The source of Move-Container, stop-and-copy: it dumps the container (CRIU), streams its
/// filesystem and checkpoint to the destination (<see cref="IncomingMoves"/>), and only when the
/// destination confirms is the container removed here. If anything fails before that, the
/// container runs here again from its own checkpoint.
/// </summary>
public sealed class OutgoingMoves
{
    private readonly StateStore store;
    private readonly StorageService storage;
    private readonly NetworkService networks;
    private readonly ExternalTool tool;
    private readonly ContainerRecords records;
    private readonly ContainerPaths paths;
    private readonly ContainerIdmaps idmaps;
    private readonly ContainerLauncher launcher;
    private readonly ContainerCheckpoints checkpoints;
    private readonly ContainerService containers;
    private readonly SharedHandover handover;
    private readonly OutgoingArchives outgoing;

    internal OutgoingMoves(StateStore store, StorageService storage, NetworkService networks, ExternalTool tool, ContainerRecords records,
        ContainerPaths paths, ContainerIdmaps idmaps, ContainerLauncher launcher, ContainerCheckpoints checkpoints, ContainerService containers)
    {
        this.store = store;
        this.storage = storage;
        this.networks = networks;
        this.tool = tool;
        this.records = records;
        this.paths = paths;
        this.idmaps = idmaps;
        this.launcher = launcher;
        this.checkpoints = checkpoints;
        this.containers = containers;
        handover = new SharedHandover(store, storage);
        outgoing = new OutgoingArchives(storage, tool, records, paths);
        PostCopy = new PostCopySource(this, records, paths, checkpoints, launcher, containers);
        PreCopy = new PreCopySource(this, records, paths, checkpoints, launcher, tool);
    }

    /// <summary>
    /// Checks that a container can be moved and describes it for the destination. The filesystem goes
    /// as the pool driver's own stream (btrfs or zfs send) when <paramref name="destinationReceives"/>,
    /// the destination's answer (the stream its pool receives, see <see cref="MigrationPlan.ParseReceives"/>),
    /// names the same; else as a tar. Snapshots, volumes and a saved state go only to a destination that takes them.
    /// </summary>
    public MigrationPlan PlanMove(string name, string? destinationReceives = null)
    {
        var (destinationFormat, carries) = MigrationPlan.ParseReceives(destinationReceives);
        var row = records.ReadyRow(Names.Validate(name, "container"));
        var running = paths.Runtime(name).Inspect().IsRunning;
        if (running)
            ContainerLauncher.CheckCriu();
        var map = idmaps.MapOf(row);
        // Snapshots oldest first (the order the destination builds them in): as a driver stream, the
        // oldest whole, each next one and the filesystem as the difference from the one before.
        var snapshots = store.Snapshots(row.Id).Select(s => s.State == RowState.Ready ? s
                : throw ContainerPSException.Busy($"Snapshot '{s.Name}' of container '{name}'", Errors.ContainerBusy))
            .Select(s => new MigrationSnapshot(s.Name, s.CreatedAt, s.Stateful,
                storage.VolumeRecord(row.Pool, VolumeType.Snapshot, ContainerSnapshots.SnapshotVolume(name, s.Name)).Config.GetValueOrDefault(StorageService.IdmapLastKey)))
            .ToList();
        // On an OSD pool the destination shares, the images are handed over; else the files are copied.
        var shared = carries ? handover.Plan(row, MigrationPlan.ParseShared(destinationReceives)) : null;
        var format = shared is null && destinationFormat is not null && storage.StreamFormat(row.Pool) == destinationFormat ? destinationFormat : null;
        var stored = storage.VolumeRecord(row.Pool, VolumeType.Container, name).Config.GetValueOrDefault(StorageService.IdmapLastKey);
        var plan = new MigrationPlan(row.Name, row.Image, row.Config, row.Privileged, row.Isolated, map?.UidBase, map?.Size,
            networks.Memberships(row.Id).Select(a => new MigrationNetwork(a.Network, a.IfName)).ToList(), running, format, stored,
            snapshots, CarriedVolumes(row, shared), !running && Directory.Exists(paths.StopStateDir(row)), shared);
        if (!carries && (plan.SnapshotList.Count > 0 || plan.VolumeList.Count > 0 || plan.StopState))
            throw new ContainerPSException(Errors.CarryNotSupported,
                $"Container '{name}' has snapshots, mounted storage volumes or a saved running state, and the destination's ContainerPS does not take them " +
                "(it is older than this one, or did not answer): update ContainerPS there, or remove the snapshots, dismount the volumes, start the container first.", name);
        return plan;
    }

    /// <summary>
    /// The custom volumes mounted in the container, which move with it. A volume also mounted in
    /// another container here cannot leave that one, and one with snapshots would lose them: both
    /// are refused (VolumesNotMoved).
    /// </summary>
    private List<MigrationVolume> CarriedVolumes(ContainerRow row, MigrationShared? shared)
    {
        var carried = new List<MigrationVolume>();
        foreach (var d in store.Devices(row.Id))
        {
            if (store.VolumeDevices(d.VolumeId).Where(u => u.ContainerId != row.Id).Select(u => u.Container).ToList() is { Count: > 0 } others)
                throw new ContainerPSException(Errors.VolumesNotMoved,
                    $"Storage volume '{d.Pool}/{d.Volume}' of container '{row.Name}' is also mounted in {string.Join(", ", others.Select(o => $"'{o}'"))} on this host, " +
                    "so it cannot move away: dismount it from one of them (Dismount-StorageVolume) first.", row.Name);
            if (storage.ListVolumeSnapshots(d.Pool, d.Volume).Count > 0)
                throw new ContainerPSException(Errors.VolumesNotMoved,
                    $"Storage volume '{d.Pool}/{d.Volume}' of container '{row.Name}' has snapshots, which Move-Container does not carry: remove them (Remove-StorageVolumeSnapshot) first.", row.Name);
            var config = storage.VolumeRecord(d.Pool, VolumeType.Custom, d.Volume).Config;
            var handed = handover.HandsOver(d.Pool, d.Volume, shared);
            carried.Add(new MigrationVolume(d.Pool, d.Volume, d.Name, d.Path, d.ReadOnly, config.GetValueOrDefault("size"), config.GetValueOrDefault(StorageService.IdmapLastKey),
                handed, handed ? handover.Portable(d.Pool, VolumeType.Custom, d.Volume) : null));
        }
        return carried;
    }

    /// <inheritdoc cref="OutgoingArchives.Archives"/>
    public IReadOnlyList<(string Part, string Label)> Archives(MigrationPlan plan, string? stateDir) => outgoing.Archives(plan, stateDir);

    /// <inheritdoc cref="OutgoingArchives.SendPart"/>
    public void SendPart(MigrationPlan plan, string part, string? stateDir, int chunkSize, Action<ReadOnlyMemory<byte>> consume) =>
        outgoing.SendPart(plan, part, stateDir, chunkSize, consume);

    /// <summary>The source of a post-copy move (Move-Container -Mode PostCopy).</summary>
    public PostCopySource PostCopy { get; }

    /// <summary>The source of a pre-copy move (Move-Container -Live): its memory rounds.</summary>
    public PreCopySource PreCopy { get; }

    /// <summary>The state directory of a move of the container (its dump; a pre-copy move's rounds at pre.I in it), on both hosts.</summary>
    internal static string MoveDir(ContainerPaths paths, ContainerRow row) => Path.Join(paths.CheckpointsDir(row), "move");

    /// <summary>Dumps a running container for a move (it stops); returns the checkpoint directory, or null when it was not running.</summary>
    /// The move is recorded on the container until <see cref="FinishMove"/> or <see cref="ResumeAfterFailedMove"/>
    /// (<see cref="ConfirmMove"/> in between), so a source killed mid-move is repaired by its next command.
    /// <param name="plan">The move's plan: the container must still be as it says (what it carries), checked under the container's lock.</param>
    /// <param name="token">The destination's token for the move: a shared-ceph move hands the images over with it.</param>
    /// <param name="preCopied">A pre-copy move's last round (<see cref="PreCopySource.RoundName"/>): the dump holds only the pages written since, and the move's record (begun by <see cref="PreCopySource.Begin"/>) goes on.</param>
    public string? FreezeForMove(string name, MigrationPlan? plan = null, string? token = null, string? preCopied = null)
    {
        using var _ = records.Lock(name);
        var row = records.ReadyRow(name);
        var rt = paths.Runtime(name);
        if (plan is not null)
            CheckUnchanged(row, plan, rt.Inspect().IsRunning);
        var handing = plan?.Shared is not null ? token ?? throw new ArgumentNullException(nameof(token)) : null;
        var handed = handing is null ? null : SharedHandover.Handed(plan!);
        if (!rt.Inspect().IsRunning)
        {
            records.BeginStep(row, new ContainerStep(ContainerStep.MoveOut, Phase: MoveSending, Volumes: Carried(row), Token: handing, Handed: handed));
            HandOver(row, plan, handing, null);
            return null;
        }
        var dir = MoveDir(paths, row);
        var step = new ContainerStep(ContainerStep.MoveOut, Dir: dir, Owns: true, Phase: MoveSending, Volumes: Carried(row), Token: handing, Handed: handed);
        if (preCopied is null)
        {
            if (Directory.Exists(dir))
                Directory.Delete(dir, recursive: true);
            records.BeginStep(row, step);
        }
        else if (ContainerRecords.StepOf(row) is { Phase: PreCopySource.Phase, Dir: var rounds } && rounds == dir)
            records.UpdateStep(row, step);
        else
            throw new ContainerPSException(Errors.ContainerBusy, $"Container '{name}' is not in a pre-copy move.", name);
        try
        {
            checkpoints.Dump(row, rt, dir, leaveRunning: false, ownsDirectory: true, parent: preCopied);
        }
        catch
        {
            records.EndStep(row);
            throw;
        }
        FaultPoints.Hit("move.source.after-dump");
        HandOver(row, plan, handing, dir);
        return dir;
    }

    /// <summary>A shared-ceph move: the stopped container's images go to the destination; if that fails, it runs here again as it was.</summary>
    private void HandOver(ContainerRow row, MigrationPlan? plan, string? token, string? dump)
    {
        if (token is null)
            return;
        try { handover.HandOver(row, plan!, token); }
        catch
        {
            if (handover.TakeBack(row, SharedHandover.Handed(plan!), token) && dump is not null)
                ResumeFromMove(row, dump);
            records.EndStep(row);
            throw;
        }
    }

    /// <summary>
    /// A container changed between the plan and the freeze (another command got in between): the move
    /// stops rather than leave a new snapshot or volume behind, or remove a volume it did not carry.
    /// </summary>
    internal void CheckUnchanged(ContainerRow row, MigrationPlan plan, bool running)
    {
        if (running != plan.Running
            || !store.Snapshots(row.Id).Select(s => s.Name).SequenceEqual(plan.SnapshotList.Select(s => s.Name), StringComparer.Ordinal)
            || !Carried(row).SequenceEqual(plan.VolumeList.Select(v => $"{v.Pool}/{v.Name}"), StringComparer.Ordinal)
            || (!running && Directory.Exists(paths.StopStateDir(row))) != plan.StopState)
            throw new ContainerPSException(Errors.ContainerBusy,
                $"Container '{row.Name}' changed as its move began (started or stopped, or a snapshot or volume added or removed); nothing was moved: try again.", row.Name);
    }

    internal List<string> Carried(ContainerRow row) => store.Devices(row.Id).Select(d => $"{d.Pool}/{d.Volume}").ToList();

    private const string MoveSending = "sending", MoveCommitting = "committing", MoveConfirmed = "confirmed";
    internal const string MoveServing = "serving", MoveServingResumed = "serving-resumed";

    /// <summary>
    /// The destination has the container (frozen there): recorded before the source tells it to keep
    /// it, because from then on the source cannot know by itself which copy lives. A repair in this
    /// phase resumes neither copy here (see <see cref="KeepUnconfirmedMove"/>).
    /// </summary>
    public void BeginCommitMove(string name) => SetMovePhase(name, MoveCommitting, "move.source.before-commit");

    /// <summary>The destination kept the container: from now on a repair finishes the move (removes it here) instead of resuming it.</summary>
    public void ConfirmMove(string name) => SetMovePhase(name, MoveConfirmed, "move.source.after-confirm");

    internal void SetMovePhase(string name, string phase, string faultPoint)
    {
        var row = records.Row(name);
        if (ContainerRecords.StepOf(row) is { Op: ContainerStep.MoveOut } step)
            records.UpdateStep(row, step with { Phase = phase });
        FaultPoints.Hit(faultPoint);
    }

    /// <summary>
    /// A move whose commit got no answer (the session died as the destination took it): the source
    /// cannot know whether the destination kept the container, so it runs nowhere here. It stays
    /// Stopped, its running state kept as a stateful stop: Start-Container restores it here when the
    /// destination does not have it. Returns what was done, for the caller's message.
    /// </summary>
    public string KeepUnconfirmedMove(string name)
    {
        using var _ = records.Lock(name);
        var row = records.Row(name);
        try { return KeepUnconfirmedHeld(row, ContainerRecords.StepOf(row)); }
        finally { records.EndStep(row); }
    }

    private string KeepUnconfirmedHeld(ContainerRow row, ContainerStep? step)
    {
        if (step?.Dir is { } lazy && LazyPages.Endpoint(lazy) is not null)
        {
            // A post-copy dump: its memory went to the destination, nothing here can be restored from it.
            ContainerCheckpoints.DiscardDump(lazy, ownsDirectory: true);
            return $"container '{row.Name}' stays here Stopped (its memory went to the destination): if the destination does not have it, Start-Container boots it afresh here; if it does, remove it here with Remove-Container";
        }
        if (step?.Dir is { } dir && Criu.DumpFinished(dir))
        {
            var stop = paths.StopStateDir(row);
            if (Directory.Exists(stop))
                Directory.Delete(stop, recursive: true);
            Directory.Move(dir, stop);
            paths.Runtime(row.Name).WriteExit(RuntimeDirectory.MoveUnconfirmedExit);
            return $"container '{row.Name}' stays here Stopped, its running state saved: if the destination does not have it, Start-Container restores it here; if it does, remove it here with Remove-Container";
        }
        return $"container '{row.Name}' stays here Stopped: if the destination does not have it, start it here; if it does, remove it here with Remove-Container";
    }

    /// <summary>After a failed move: the source container runs again from the checkpoint the move made.</summary>
    public void ResumeAfterFailedMove(string name, string? stateDir)
    {
        using var _ = records.Lock(name);
        var row = records.Row(name);
        try
        {
            if (ContainerRecords.StepOf(row) is { Token: { } token } step && !handover.TakeBack(row, step.Handed ?? Array.Empty<string>(), token))
                throw new ContainerPSException(Errors.MoveUnconfirmed, $"the destination holds its RBD images: {KeepUnconfirmedHeld(row, step)}, once the destination gave them back", name);
            if (stateDir is not null)
                ResumeFromMove(row, stateDir);
            else if (ContainerRecords.StepOf(row) is { Phase: PreCopySource.Phase, Dir: { } rounds })
                PreCopy.Discard(row, rounds);
        }
        finally
        {
            records.EndStep(row);
        }
    }

    /// <summary>The source runs again from the checkpoint its move made (which is then removed).</summary>
    private void ResumeFromMove(ContainerRow row, string stateDir)
    {
        ContainerLauncher.CheckCriu();
        launcher.Launch(row, CheckpointImage.Open(stateDir));
        checkpoints.AfterRestore(row, null);
        Directory.Delete(stateDir, recursive: true);
    }

    /// <summary>
    /// The source of a move whose process died: when the destination had confirmed, the move is
    /// finished (removed here); before that, the container runs here again from the move's checkpoint
    /// (a destination that took the container only in part drops it at its own next command).
    /// </summary>
    internal string RepairMoveOut(ContainerRow row, ContainerStep step)
    {
        if (step.Phase == MoveCommitting)
            return $"the move of container '{row.Name}' was cut short as the destination took it, so which host keeps it is unknown: {KeepUnconfirmedHeld(row, step)}";
        if (step.Phase == MoveConfirmed)
        {
            RemoveCarried(row, step);
            containers.RemoveHeld(row, force: true);
            return $"finished the unfinished move of container '{row.Name}' (the destination had confirmed it): removed it here";
        }
        if (step.Phase is MoveServing or MoveServingResumed && step.Dir is { } served)
            return PostCopy.Repair(row, step.Phase == MoveServingResumed, served);
        if (step.Phase == PreCopySource.Phase && step.Dir is { } rounds)
            return PreCopy.Repair(row, rounds);
        if (step.Token is { } token && !handover.TakeBack(row, step.Handed ?? Array.Empty<string>(), token))
            return $"the move of container '{row.Name}' was cut short after the destination took its RBD images: {KeepUnconfirmedHeld(row, step)}, once the destination gave them back";
        if (step.Dir is not { } dir)
            return $"forgot the unfinished move of container '{row.Name}', cut short before the destination took it: it stays here, as it was";
        if (!paths.Runtime(row.Name).Inspect().IsRunning && Criu.DumpFinished(dir))
        {
            ResumeFromMove(row, dir);
            return $"the move of container '{row.Name}' was cut short before the destination took it: it runs here again from the move's checkpoint";
        }
        return checkpoints.RepairDump(row, step with { Op = ContainerStep.Checkpoint });
    }

    /// <summary>After the destination reported the container running (or created, for a stopped one): the source goes, with the volumes it carried.</summary>
    public void FinishMove(string name)
    {
        using var l = records.Lock(name);
        var row = records.Row(name);
        if (ContainerRecords.StepOf(row) is { Op: ContainerStep.MoveOut } step)
            RemoveCarried(row, step);
        containers.RemoveHeld(records.ReadyRow(name), force: true);
        l.DeleteFile();
    }

    /// <summary>
    /// Removes the custom volumes a confirmed move carried (dismounted first), each one only once it
    /// is gone here: a repair after a crash half-way finds the rest in the step (the container row,
    /// with the step, goes last).
    /// </summary>
    private void RemoveCarried(ContainerRow row, ContainerStep step)
    {
        foreach (var carried in step.Volumes ?? Array.Empty<string>())
        {
            var (pool, volume) = (carried.Split('/')[0], carried.Split('/')[^1]);
            if (store.Pool(pool) is not { } p || store.Volume(p.Id, VolumeType.Custom, volume) is not { } v)
                continue;
            store.Write(() => store.DeleteDevice(row.Id, v.Id));
            storage.RemoveVolume(pool, VolumeType.Custom, volume);
        }
        if (step.Volumes is { Count: > 0 })
            FaultPoints.Hit("move.source.after-volumes");
    }
}
