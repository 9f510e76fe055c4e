using CliWrap;
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
    }

    /// <summary>
    /// Checks that a container can be moved and describes it for the destination. The filesystem goes
    /// as the pool driver's own stream (btrfs or zfs send) when <paramref name="destinationFormat"/>,
    /// the stream the destination's pool receives, is the same; else as a tar.
    /// </summary>
    public MigrationPlan PlanMove(string name, bool live, string? destinationFormat = null)
    {
        var row = records.ReadyRow(Names.Validate(name, "container"));
        var running = paths.Runtime(name).Inspect().IsRunning;
        if (live)
            throw new ContainerPSException(Errors.PreCopyNotSupported,
                (checkpoints.Support().MemoryTracking
                    ? "Live migration by pre-copy is not in this version (it was built on a kernel without memory dirty tracking, where it cannot work or be tested). "
                    : "Live migration by pre-copy needs memory dirty tracking, which this kernel lacks (CONFIG_MEM_SOFT_DIRTY is not set; " +
                      "`criu check --feature mem_dirty_track` says \"Dirty tracking is OFF\"). ") +
                "Move without -Live: the container is dumped, copied and restored (stop-and-copy), keeping its processes, memory and addresses.", name);
        if (running)
            ContainerLauncher.CheckCriu();
        // What a move does not carry yet is refused rather than lost with the source.
        if (store.Snapshots(row.Id).Count is var snaps and > 0)
            throw new ContainerPSException(Errors.SnapshotsNotMoved,
                $"Container '{name}' has {snaps} snapshot(s); Move-Container does not carry snapshots: remove them (or copy them to containers of their own) first.", name);
        if (store.Devices(row.Id) is { Count: > 0 } devices)
            throw new ContainerPSException(Errors.VolumesNotMoved,
                $"Container '{name}' has storage volumes mounted ({string.Join(", ", devices.Select(d => $"{d.Pool}/{d.Volume}"))}); Move-Container does not carry volumes: dismount them first.", name);
        if (Directory.Exists(paths.StopStateDir(row)))
            throw new ContainerPSException(Errors.StatefulStopNotMoved,
                $"Container '{name}' was stopped with -Stateful; start it (its state is restored) and move it running, or start it with -Stateless.", name);
        var map = idmaps.MapOf(row);
        var format = destinationFormat is not null && storage.StreamFormat(row.Pool) == destinationFormat ? destinationFormat : null;
        var stored = storage.VolumeRecord(row.Pool, VolumeType.Container, name).Config.GetValueOrDefault(StorageService.IdmapLastKey);
        return new MigrationPlan(row.Name, row.Image, row.Config, row.Privileged, row.Isolated, map?.UidBase, map?.Size,
            networks.Memberships(row.Id).Select(a => new MigrationNetwork(a.Network, a.IfName)).ToList(), running, format, stored);
    }

    /// <summary>True when CRIU here can serve memory lazily (userfaultfd; Test-ContainerCheckpoint's LazyPages).</summary>
    public bool LazyPagesSupported() => checkpoints.Support().LazyPages;

    /// <summary>Dumps a running container for a move (it stops); returns the checkpoint directory, or null when it was not running.</summary>
    /// The move is recorded on the container until <see cref="FinishMove"/> or <see cref="ResumeAfterFailedMove"/>
    /// (<see cref="ConfirmMove"/> in between), so a source killed mid-move is repaired by its next command.
    public string? FreezeForMove(string name)
    {
        using var _ = records.Lock(name);
        var row = records.ReadyRow(name);
        var rt = paths.Runtime(name);
        if (!rt.Inspect().IsRunning)
        {
            records.BeginStep(row, new ContainerStep(ContainerStep.MoveOut, Phase: MoveSending));
            return null;
        }
        var dir = Path.Join(paths.CheckpointsDir(row), "move");
        if (Directory.Exists(dir))
            Directory.Delete(dir, recursive: true);
        records.BeginStep(row, new ContainerStep(ContainerStep.MoveOut, Dir: dir, Owns: true, Phase: MoveSending));
        try
        {
            checkpoints.Dump(row, rt, dir, leaveRunning: false, ownsDirectory: true);
        }
        catch
        {
            records.EndStep(row);
            throw;
        }
        FaultPoints.Hit("move.source.after-dump");
        return dir;
    }

    private const string MoveSending = "sending", MoveCommitting = "committing", MoveConfirmed = "confirmed",
        MoveServing = "serving", MoveServingResumed = "serving-resumed";

    /// <summary>
    /// Post-copy: dumps everything of the running container but its memory and serves the pages
    /// from its frozen processes on <paramref name="address"/> (the address the destination reaches
    /// this host at), with TLS on the move's own key; returns once the page server listens. The dump
    /// directory (the saved state to send) is <paramref name="dir"/>; it also holds the endpoint, the
    /// certificate and the key the destination needs. Recorded, so a source killed from here on is
    /// repaired (<see cref="RepairMoveOut"/>).
    /// </summary>
    public LazyDump FreezeForPostCopy(string name, System.Net.IPAddress address, out string dir)
    {
        using var _ = records.Lock(name);
        var row = records.ReadyRow(name);
        var rt = paths.Runtime(name);
        if (!rt.Inspect().IsRunning)
            throw new ContainerPSException(Errors.ContainerNotRunning, $"Container '{name}' is not running: post-copy moves a running container's memory.", name);
        dir = Path.Join(paths.CheckpointsDir(row), "move");
        if (Directory.Exists(dir))
            Directory.Delete(dir, recursive: true);
        records.BeginStep(row, new ContainerStep(ContainerStep.MoveOut, Dir: dir, Owns: true, Phase: MoveServing));
        try
        {
            var args = checkpoints.DumpArguments(row, rt, dir);
            var port = LazyPages.FreePort(address);
            LazyPages.WriteCredentials(dir, address.ToString(), port);
            LazyPages.WriteDumpConfig(rt.CriuConfig, dir, address.ToString());
            var dump = LazyDump.Start(NativePrograms.Runc, args, rt.RuncId(name), new System.Net.IPEndPoint(address, port), Criu.Environment);
            if (!dump.WaitReady(TimeSpan.FromMinutes(2)))
            {
                dump.Abort();
                var exit = dump.WaitExit(TimeSpan.FromSeconds(30));
                dump.Dispose();
                throw ContainerCheckpoints.DumpFailed(row, exit?.Stderr ?? "CRIU did not report its page server within 2 minutes", dir);
            }
            FaultPoints.Hit("move.source.pages-ready");
            return dump;
        }
        catch
        {
            File.Delete(rt.CriuConfig);
            ContainerCheckpoints.DiscardDump(dir, ownsDirectory: true);
            records.EndStep(row);
            throw;
        }
    }

    /// <summary>
    /// A post-copy move that failed before the destination resumed the container: the page server is
    /// ended, CRIU resumes the processes here, and the saved state goes.
    /// </summary>
    public void ResumeAfterFailedPostCopy(string name, LazyDump dump, string dir)
    {
        using var _ = records.Lock(name);
        var row = records.Row(name);
        try
        {
            dump.Abort();
            if (dump.WaitExit(TimeSpan.FromSeconds(60)) is not { } exit)
                throw new ContainerPSException(Errors.MoveFailed, $"CRIU's page server for container '{name}' did not end within 60 s after the move failed.", name);
            if (exit.ExitCode == 0 || !paths.Runtime(name).Inspect().IsRunning)
                throw new ContainerPSException(Errors.MoveFailed, $"Container '{name}' did not resume here after the failed post-copy move: {ContainerLauncher.RuncMessage(exit.Stderr)}", name);
        }
        finally
        {
            File.Delete(paths.Runtime(name).CriuConfig);
            ContainerCheckpoints.DiscardDump(dir, ownsDirectory: true);
            records.EndStep(row);
        }
    }

    /// <summary>
    /// The destination runs the container and fetches its memory: from now on it owns it. Recorded,
    /// so that a repair here never runs this copy again.
    /// </summary>
    public void DestinationResumed(string name) => SetMovePhase(name, MoveServingResumed, "move.source.post-copy-resumed");

    /// <summary>
    /// Waits until the destination has fetched the last page (CRIU's dump then ends and the processes
    /// are gone here). When the page transfer fails instead, CRIU resumes the processes here: they are
    /// stopped at once, since the destination ran the container meanwhile; this copy keeps its
    /// filesystem, stopped.
    /// </summary>
    public void FinishPostCopy(string name, LazyDump dump)
    {
        var exit = dump.WaitExit(TimeSpan.FromMinutes(30));
        using var _ = records.Lock(name);
        var row = records.Row(name);
        var rt = paths.Runtime(name);
        File.Delete(rt.CriuConfig);
        if (exit is { ExitCode: 0 })
        {
            checkpoints.AfterDump(row, rt);
            return;
        }
        if (exit is null)
            dump.Abort();
        launcher.CleanupRuntime(row, rt);
        records.EndStep(row);
        throw new IOException(exit is null ? "the destination did not fetch all pages within 30 minutes"
            : $"the page transfer failed ({ContainerLauncher.RuncMessage(exit.Value.Stderr).Trim()}{Criu.LogErrors(ContainerRecords.StepOf(row)?.Dir ?? "", "dump.log")}); " +
              $"container '{name}' is stopped here (it had resumed on the destination, so its processes do not run here again)");
    }

    /// <summary>
    /// The destination has the container (frozen there): recorded before the source tells it to keep
    /// it, because from then on the source cannot know by itself which copy lives. A repair in this
    /// phase resumes neither copy here (see <see cref="KeepUnconfirmedMove"/>).
    /// </summary>
    public void BeginCommitMove(string name) => SetMovePhase(name, MoveCommitting, "move.source.before-commit");

    /// <summary>The destination kept the container: from now on a repair finishes the move (removes it here) instead of resuming it.</summary>
    public void ConfirmMove(string name) => SetMovePhase(name, MoveConfirmed, "move.source.after-confirm");

    private void SetMovePhase(string name, string phase, string faultPoint)
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

    /// <summary>
    /// Streams the container's filesystem, zstd-compressed, into <paramref name="consume"/> (in chunks, on this thread): the pool
    /// driver's own stream when <paramref name="format"/> names it (btrfs or zfs send of a temporary
    /// snapshot, which is removed afterwards), else a tar (numeric owners, xattrs, ACLs); or a tar of
    /// a checkpoint directory. A producer that fails is an IOException with its stderr.
    /// </summary>
    public void SendArchive(string name, string? stateDir, string? format, int chunkSize, Action<ReadOnlyMemory<byte>> consume)
    {
        var row = records.ReadyRow(name);
        Command command;
        string line;
        Action? cleanup = null;
        if (stateDir is null && format is not null)
        {
            string[] send;
            (send, cleanup) = storage.SendVolume(row.Pool, VolumeType.Container, name);
            command = Cli.Wrap(send[0]).WithArguments(send.Skip(1)) | Cli.Wrap("zstd").WithArguments(new[] { "-1", "-T0", "-c" });
            line = $"{string.Join(' ', send)} | zstd -1 -T0 -c";
        }
        else
        {
            var dir = stateDir ?? storage.VolumePath(row.Pool, VolumeType.Container, name);
            // Fast compression on every core: the link (a remoting session) is the slow part.
            command = Cli.Wrap("tar").WithArguments(new[] { "--numeric-owner", "--xattrs", "--xattrs-include=*", "--acls", "--zstd", "--sparse", "-C", dir, "-cf", "-", "." })
                .WithEnvironmentVariables(new Dictionary<string, string?> { ["ZSTD_CLEVEL"] = "1", ["ZSTD_NBTHREADS"] = "0" });
            line = $"tar --zstd --sparse -C {dir} -cf - .";
        }
        try { tool.RunInto(command, line, chunkSize, consume); }
        catch (ContainerPSException e) when (e.Code == Errors.ToolFailed)
        {
            throw new IOException(e.Message, e);
        }
        finally
        {
            cleanup?.Invoke();
        }
    }

    /// <summary>After a failed move: the source container runs again from the checkpoint the move made.</summary>
    public void ResumeAfterFailedMove(string name, string? stateDir)
    {
        using var _ = records.Lock(name);
        var row = records.Row(name);
        try
        {
            if (stateDir is not null)
                ResumeFromMove(row, stateDir);
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
            containers.RemoveHeld(row, force: true);
            return $"finished the unfinished move of container '{row.Name}' (the destination had confirmed it): removed it here";
        }
        if (step.Phase is MoveServing or MoveServingResumed && step.Dir is { } served)
            return RepairPostCopy(row, step.Phase == MoveServingResumed, served);
        if (step.Dir is not { } dir)
            return $"forgot the unfinished move of container '{row.Name}', cut short before the destination took it: it stays here, as it was";
        if (!paths.Runtime(row.Name).Inspect().IsRunning && Criu.DumpFinished(dir))
        {
            ResumeFromMove(row, dir);
            return $"the move of container '{row.Name}' was cut short before the destination took it: it runs here again from the move's checkpoint";
        }
        return checkpoints.RepairDump(row, step with { Op = ContainerStep.Checkpoint });
    }

    /// <summary>
    /// A post-copy move whose source process died while CRIU served the pages (CRIU goes on by itself).
    /// Before the destination resumed the container, the page server is ended and the processes run
    /// here again; after, the destination owns the container: once it has every page it is removed
    /// here, and if the transfer failed it is stopped here (its processes were the destination's to run).
    /// </summary>
    private string RepairPostCopy(ContainerRow row, bool resumed, string dir)
    {
        var rt = paths.Runtime(row.Name);
        var log = Path.Join(dir, "dump.log");
        bool Ended() => File.Exists(log) && File.ReadLines(log).Any(l => l.Contains("Dumping FAILED", StringComparison.Ordinal) || l.Contains("Dumping finished successfully", StringComparison.Ordinal));
        if (!resumed && LazyPages.Endpoint(dir) is { } endpoint && !Ended())
            LazyDump.Abort(new System.Net.IPEndPoint(endpoint.Address, endpoint.Port));
        var clock = System.Diagnostics.Stopwatch.StartNew();
        while (!Ended() && clock.Elapsed < TimeSpan.FromSeconds(60))
            Thread.Sleep(50);
        File.Delete(rt.CriuConfig);
        if (Criu.DumpFinished(dir))
        {
            containers.RemoveHeld(row, force: true);
            return $"finished the post-copy move of container '{row.Name}': the destination fetched all of its memory and runs it; removed it here";
        }
        if (!resumed && rt.Inspect().IsRunning)
        {
            launcher.ThawIfPaused(row, rt);
            ContainerCheckpoints.DiscardDump(dir, ownsDirectory: true);
            return $"the post-copy move of container '{row.Name}' was cut short before the destination resumed it: it runs here again";
        }
        launcher.CleanupRuntime(row, rt);
        ContainerCheckpoints.DiscardDump(dir, ownsDirectory: true);
        return resumed
            ? $"the post-copy move of container '{row.Name}' was cut short after the destination resumed it, and its memory did not all arrive there: it is stopped here (its filesystem as it was at the move); check the destination with Get-Container"
            : $"the post-copy move of container '{row.Name}' was cut short and its processes are gone: it is stopped here";
    }

    /// <summary>After the destination reported the container running (or created, for a stopped one): the source goes.</summary>
    public void FinishMove(string name) => containers.Remove(name, force: true);
}
