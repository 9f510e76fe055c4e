using CliWrap;
using System.Text.Json;
using ContainerPS.Engine.Idmap;
using ContainerPS.Engine.Migration;
using ContainerPS.Engine.Network;
using ContainerPS.Engine.State;
using ContainerPS.Engine.Storage;
using ContainerPS.Engine.Platform;

namespace ContainerPS.Engine.Runtime;

/// <summary>
/// Move-Container, stop-and-copy: the source dumps the container (CRIU), streams its filesystem and
/// checkpoint as tar archives to the destination, the destination restores it, and only then is
/// the source removed. If anything fails before that, the destination drops what it received and
/// the source is restored from its own checkpoint.
/// </summary>
public sealed partial class ContainerService
{
    public const string ArchiveRootfs = "rootfs", ArchiveState = "state";

    // ------------------------------------------------------------------ source

    /// <summary>
    /// Checks that a container can be moved and describes it for the destination. The filesystem goes
    /// as the pool driver's own stream (btrfs or zfs send) when <paramref name="destinationFormat"/>,
    /// the stream the destination's pool receives, is the same; else as a tar.
    /// </summary>
    public MigrationPlan PlanMove(string name, bool live, string? destinationFormat = null)
    {
        var row = ReadyRow(Names.Validate(name, "container"));
        var running = Runtime(name).Inspect().IsRunning;
        if (live)
            throw new ContainerPSException(Errors.PreCopyNotSupported,
                (CheckpointSupport().MemoryTracking
                    ? "Live migration by pre-copy is not in this version (it was built on a kernel without memory dirty tracking, where it cannot work or be tested). "
                    : "Live migration by pre-copy needs memory dirty tracking, which this kernel lacks (CONFIG_MEM_SOFT_DIRTY is not set; " +
                      "`criu check --feature mem_dirty_track` says \"Dirty tracking is OFF\"). ") +
                "Move without -Live: the container is dumped, copied and restored (stop-and-copy), keeping its processes, memory and addresses.", name);
        if (running)
            CheckCriu();
        // What a move does not carry yet is refused rather than lost with the source.
        if (store.Snapshots(row.Id).Count is var snaps and > 0)
            throw new ContainerPSException(Errors.SnapshotsNotMoved,
                $"Container '{name}' has {snaps} snapshot(s); Move-Container does not carry snapshots: remove them (or copy them to containers of their own) first.", name);
        if (store.Devices(row.Id) is { Count: > 0 } devices)
            throw new ContainerPSException(Errors.VolumesNotMoved,
                $"Container '{name}' has storage volumes mounted ({string.Join(", ", devices.Select(d => $"{d.Pool}/{d.Volume}"))}); Move-Container does not carry volumes: dismount them first.", name);
        if (Directory.Exists(StopStateDir(row)))
            throw new ContainerPSException(Errors.StatefulStopNotMoved,
                $"Container '{name}' was stopped with -Stateful; start it (its state is restored) and move it running, or start it with -Stateless.", name);
        var map = MapOf(row);
        var format = destinationFormat is not null && storage.StreamFormat(row.Pool) == destinationFormat ? destinationFormat : null;
        var stored = storage.VolumeRecord(row.Pool, VolumeTypes.Container, name).Config.GetValueOrDefault(StorageService.IdmapLastKey);
        return new MigrationPlan(row.Name, row.Image, row.Config, row.Privileged, row.Isolated, map?.UidBase, map?.Size,
            networks.Memberships(row.Id).Select(a => new MigrationNetwork(a.Network, a.IfName)).ToList(), running, format, stored);
    }

    /// <summary>The volume stream (btrfs, zfs) the default pool of this host, where moved containers land, receives; null: tar only.</summary>
    public string? IncomingFormat() => storage.StreamFormat(DefaultPool());

    /// <summary>Dumps a running container for a move (it stops); returns the checkpoint directory, or null when it was not running.</summary>
    /// The move is recorded on the container until <see cref="FinishMove"/> or <see cref="ResumeAfterFailedMove"/>
    /// (<see cref="ConfirmMove"/> in between), so a source killed mid-move is repaired by its next command.
    public string? FreezeForMove(string name)
    {
        using var _ = Lock(name);
        var row = ReadyRow(name);
        var rt = Runtime(name);
        if (!rt.Inspect().IsRunning)
        {
            BeginStep(row, new Step(Step.MoveOut, Phase: MoveSending));
            return null;
        }
        var dir = Path.Join(CheckpointsDir(row), "move");
        if (Directory.Exists(dir))
            Directory.Delete(dir, recursive: true);
        BeginStep(row, new Step(Step.MoveOut, Dir: dir, Owns: true, Phase: MoveSending));
        try
        {
            Dump(row, rt, dir, leaveRunning: false, ownsDirectory: true);
        }
        catch
        {
            EndStep(row);
            throw;
        }
        FaultPoints.Hit("move.source.after-dump");
        return dir;
    }

    private const string MoveSending = "sending", MoveCommitting = "committing", MoveConfirmed = "confirmed";

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
        var row = Row(name);
        if (StepOf(row) is { Op: Step.MoveOut } step)
            UpdateStep(row, step with { Phase = phase });
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
        using var _ = Lock(name);
        var row = Row(name);
        try { return KeepUnconfirmedHeld(row, StepOf(row)); }
        finally { EndStep(row); }
    }

    private string KeepUnconfirmedHeld(ContainerRow row, Step? step)
    {
        if (step?.Dir is { } dir && Criu.DumpFinished(dir))
        {
            var stop = StopStateDir(row);
            if (Directory.Exists(stop))
                Directory.Delete(stop, recursive: true);
            Directory.Move(dir, stop);
            Runtime(row.Name).WriteExit(RuntimeDirectory.MoveUnconfirmedExit);
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
        var row = ReadyRow(name);
        Command command;
        string line;
        Action? cleanup = null;
        if (stateDir is null && format is not null)
        {
            string[] send;
            (send, cleanup) = storage.SendVolume(row.Pool, VolumeTypes.Container, name);
            command = Cli.Wrap(send[0]).WithArguments(send.Skip(1)) | Cli.Wrap("zstd").WithArguments(new[] { "-1", "-T0", "-c" });
            line = $"{string.Join(' ', send)} | zstd -1 -T0 -c";
        }
        else
        {
            var dir = stateDir ?? storage.VolumePath(row.Pool, VolumeTypes.Container, name);
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
        using var _ = Lock(name);
        var row = Row(name);
        try
        {
            if (stateDir is not null)
                ResumeFromMove(row, stateDir);
        }
        finally
        {
            EndStep(row);
        }
    }

    /// <summary>The source runs again from the checkpoint its move made (which is then removed).</summary>
    private void ResumeFromMove(ContainerRow row, string stateDir)
    {
        CheckCriu();
        Launch(row, CheckpointImage.Open(stateDir));
        AfterRestore(row, null);
        Directory.Delete(stateDir, recursive: true);
    }

    /// <summary>
    /// The source of a move whose process died: when the destination had confirmed, the move is
    /// finished (removed here); before that, the container runs here again from the move's checkpoint
    /// (a destination that took the container only in part drops it at its own next command).
    /// </summary>
    private string RepairMoveOut(ContainerRow row, Step step)
    {
        if (step.Phase == MoveCommitting)
            return $"the move of container '{row.Name}' was cut short as the destination took it, so which host keeps it is unknown: {KeepUnconfirmedHeld(row, step)}";
        if (step.Phase == MoveConfirmed)
        {
            RemoveHeld(row, force: true);
            return $"finished the unfinished move of container '{row.Name}' (the destination had confirmed it): removed it here";
        }
        if (step.Dir is not { } dir)
            return $"forgot the unfinished move of container '{row.Name}', cut short before the destination took it: it stays here, as it was";
        if (!Runtime(row.Name).Inspect().IsRunning && Criu.DumpFinished(dir))
        {
            ResumeFromMove(row, dir);
            return $"the move of container '{row.Name}' was cut short before the destination took it: it runs here again from the move's checkpoint";
        }
        return RepairDump(row, step with { Op = Step.Checkpoint });
    }

    /// <summary>After the destination reported the container running (or created, for a stopped one): the source goes.</summary>
    public void FinishMove(string name) => Remove(name, force: true);

    // ------------------------------------------------------------------ destination

    private string IncomingDir(string token)
    {
        if (token.Length != 32 || !token.All(char.IsAsciiHexDigitLower))
            throw new ContainerPSException(Errors.InvalidMigrationToken, "Not a migration token.", token);
        return Path.Join(root, "incoming", token);
    }

    /// <summary>Creates the incoming container (state Creating) after checking that this host can take it.</summary>
    public string BeginIncoming(MigrationPlan plan)
    {
        Names.Validate(plan.Name, "container");
        if (store.Container(plan.Name) is not null)
            throw new ContainerPSException(Errors.ContainerExists, $"Container '{plan.Name}' already exists on the destination.", plan.Name);
        foreach (var n in plan.Networks)
            networks.Row(n.Network);
        IdMapping? map = null;
        if (!plan.Privileged)
        {
            CheckDelegated(plan.Config, plan.Name); // this host's /etc/subuid decides
            map = plan.Isolated ? AllocateIsolated(plan.IdmapSize ?? IdmapAllocator.DefaultSize) : SharedMap();
            if (plan.Running && (map.UidBase != plan.IdmapBase || map.Size != plan.IdmapSize))
                throw new ContainerPSException(Errors.IdmapMismatch,
                    $"Container '{plan.Name}' runs with the id map 0 {plan.IdmapBase} {plan.IdmapSize}; this host would give it 0 {map.UidBase} {map.Size}. " +
                    "CRIU restores a user namespace as it was dumped: stop the container to move it, or give both hosts the same subordinate ids.", plan.Name);
        }
        var pool = DefaultPool();
        var poolRow = store.Pool(pool) ?? throw ContainerPSException.PoolNotFound(pool);
        if (plan.RootfsFormat is { } format && storage.StreamFormat(pool) != format)
            throw new ContainerPSException(Errors.MigrationFormatNotSupported,
                $"The filesystem of '{plan.Name}' comes as a {format} stream, which pool '{pool}' ({poolRow.Driver}) cannot receive.", plan.Name);
        var token = Guid.NewGuid().ToString("n");
        var dir = IncomingDir(token);
        // The row first, naming the token (op_arg): an incoming directory no row names is a leftover the repair removes.
        var id = store.Write(() =>
        {
            var id = store.InsertContainer(plan.Name, plan.Image, poolRow.Id, plan.Privileged, plan.Isolated, map?.UidBase, map?.Size,
                plan.Config.ToDictionary(kv => kv.Key, kv => kv.Value));
            store.UpdateStep(id, token);
            return id;
        });
        try
        {
            Directory.CreateDirectory(dir, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
            var row = store.Container(plan.Name)!;
            foreach (var n in plan.Networks)
                networks.AddMembership(row, n.Network, n.Interface, AttachOptions.None);
            File.WriteAllText(Path.Join(dir, "plan.json"), plan.ToJson());
        }
        catch
        {
            UndoCreate(id, pool, plan.Name);
            Directory.Delete(dir, recursive: true);
            throw;
        }
        log.Verbose($"incoming {plan.Name}: token {token}");
        return token;
    }

    /// <summary>Where an incoming archive (part: rootfs or state) is collected.</summary>
    public string IncomingArchivePath(string token, string part)
    {
        if (part is not (ArchiveRootfs or ArchiveState))
            throw new ContainerPSException(Errors.InvalidArchivePart, $"Unknown archive '{Names.Printable(part)}'.", part);
        var dir = IncomingDir(token);
        if (!Directory.Exists(dir))
            throw new ContainerPSException(Errors.MigrationNotFound, $"No incoming migration {token} on this host.", token);
        return Path.Join(dir, part + ".tar");
    }

    public void AppendIncoming(string token, string part, byte[] data)
    {
        using var f = new FileStream(IncomingArchivePath(token, part), FileMode.Append, FileAccess.Write);
        f.Write(data);
    }

    /// <summary>Unpacks the archives and restores (or just creates, for a stopped container) the incoming container.</summary>
    public Container CompleteIncoming(string token)
    {
        var dir = IncomingDir(token);
        var (plan, found) = Incoming(token) ?? throw new ContainerPSException(Errors.MigrationNotFound, $"No incoming migration {token} on this host.", token);
        var row = found ?? throw new ContainerPSException(Errors.MigrationNotFound, $"The incoming container '{plan.Name}' is gone.", plan.Name);
        try
        {
            // The files come with the owners they had on the source's storage, and so does the record of their map.
            var stored = plan.RootfsIdmap is { } m ? new Dictionary<string, string> { [StorageService.IdmapLastKey] = m } : null;
            var rootfs = Path.Join(dir, ArchiveRootfs + ".tar");
            if (plan.RootfsFormat is not null)
                storage.ReceiveInternalVolume(row.Pool, VolumeTypes.Container, row.Name, stored, Received(rootfs));
            else
                storage.CreateInternalVolume(row.Pool, VolumeTypes.Container, row.Name, stored, path => Untar(rootfs, path));
            // A filesystem that arrives brings no device nodes onto this host, as an image does not.
            if (new Images.ImageFiles(tool).RemoveDeviceNodes(storage.VolumePath(row.Pool, VolumeTypes.Container, row.Name)) is { Count: > 0 } nodes)
                log.Warning($"Container '{row.Name}': skipped {nodes.Count} device node(s) of the moved filesystem ({Images.ImageFiles.NameList(nodes)}).");
            string? state = null;
            if (File.Exists(Path.Join(dir, ArchiveState + ".tar")))
            {
                state = Path.Join(EnsureCheckpointsDir(row), "move");
                Directory.CreateDirectory(state);
                Untar(Path.Join(dir, ArchiveState + ".tar"), state);
            }
            // Ready, with the arrival recorded until the source commits it (CommitIncoming): a destination
            // killed before that, or whose source never commits, drops the container at its next command.
            store.Write(() =>
            {
                store.Release("containers", row.Id);
                store.BeginStep(row.Id, JsonSerializer.Serialize(new Step(Step.Incoming, Dir: token)));
            });
            if (state is not null)
            {
                try
                {
                    // The source container's checkpoint, into this copy of it (same filesystem, another uuid).
                    using var _ = ContainerLock.Take(root, row.Name, LockWait);
                    CheckCriu();
                    Launch(row, CheckpointImage.Open(state));
                    // Frozen until the commit: a source that resumes its own copy (it never heard back) never runs beside this one.
                    RunRunc("pause", Runtime(row.Name).RuncId(row.Name));
                }
                finally
                {
                    Directory.Delete(state, recursive: true);
                }
            }
            FaultPoints.Hit("move.target.after-restore");
        }
        catch
        {
            AbortIncoming(token);
            throw;
        }
        return Get(plan.Name);
    }

    /// <summary>
    /// The source's word that the move is done (it has stopped its copy for good): the arrived
    /// container is thawed and kept. Until this, the arrival can be rolled back.
    /// </summary>
    public Container CommitIncoming(string token)
    {
        var dir = IncomingDir(token);
        var row = Incoming(token) is (_, { } r) && StepOf(r) is { Op: Step.Incoming } s && s.Dir == token ? r : null;
        if (row is null)
            throw new ContainerPSException(Errors.MigrationNotFound, $"No incoming migration {token} waits for its commit on this host.", token);
        using (Lock(row.Name))
        {
            FaultPoints.Hit("move.target.commit");
            var rt = Runtime(row.Name);
            if (rt.Inspect().IsRunning)
                ThawIfPaused(row, rt);
            EndStep(row);
        }
        if (Directory.Exists(dir))
            Directory.Delete(dir, recursive: true);
        return Get(row.Name);
    }

    /// <summary>A destination killed after the container arrived, or whose source never committed it: the container is dropped here (the source keeps it).</summary>
    private string RepairIncoming(ContainerRow row, Step step)
    {
        RemoveHeld(row, force: true);
        if (step.Dir is { } token && Directory.Exists(IncomingDir(token)))
            Directory.Delete(IncomingDir(token), recursive: true);
        return $"rolled back the unfinished arrival of container '{row.Name}' moved from another host (the source keeps it)";
    }

    /// <summary>Removes incoming directories that no container row names any more (their move was undone or repaired).</summary>
    private void RemoveLeftIncoming()
    {
        var dir = Path.Join(root, "incoming");
        if (!Directory.Exists(dir))
            return;
        var named = store.Containers().Select(c => c.OpArg).OfType<string>().ToList();
        foreach (var left in Directory.GetDirectories(dir))
        {
            var token = Path.GetFileName(left);
            if (named.Any(a => a.Contains(token, StringComparison.Ordinal)))
                continue;
            try { Directory.Delete(left, recursive: true); }
            catch (DirectoryNotFoundException) { } // removed meanwhile by its own move
        }
    }

    /// <summary>An incoming migration's plan (ROOT/incoming/TOKEN/plan.json) and the row of its container (null when gone); null when there is no such migration.</summary>
    private (MigrationPlan Plan, ContainerRow? Row)? Incoming(string token)
    {
        var planFile = Path.Join(IncomingDir(token), "plan.json");
        if (!File.Exists(planFile))
            return null;
        var plan = MigrationPlan.FromJson(File.ReadAllText(planFile));
        return (plan, store.Container(plan.Name));
    }

    /// <summary>Drops an incoming migration: the container (in whatever state) and what was received.</summary>
    public void AbortIncoming(string token)
    {
        var dir = IncomingDir(token);
        if (Incoming(token) is (_, { } row))
        {
            if (row.State == RowState.Ready)
                Remove(row.Name, force: true);
            else
                UndoCreate(row.Id, row.Pool, row.Name);
        }
        if (Directory.Exists(dir))
            Directory.Delete(dir, recursive: true);
    }

    private void Untar(string archive, string into) =>
        tool.Run("tar", new[] { "--numeric-owner", "--xattrs", "--xattrs-include=*", "--acls", "--zstd", "-xpf", Received(archive), "-C", into });

    /// <summary>The path of an archive that arrived; ArchiveMissing when nothing was received for it.</summary>
    private static string Received(string archive) =>
        File.Exists(archive) ? archive
            : throw new ContainerPSException(Errors.ArchiveMissing, $"Nothing was received for {Path.GetFileName(archive)}.", archive);
}
