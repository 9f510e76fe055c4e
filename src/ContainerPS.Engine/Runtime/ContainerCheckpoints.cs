using System.Diagnostics;
using ContainerPS.Engine.Migration;
using ContainerPS.Engine.Network;
using ContainerPS.Engine.Storage;

namespace ContainerPS.Engine.Runtime;

/// <summary>
/// Checkpoint and restore with CRIU through runc: stateful snapshots, stateful stop/start, and
/// checkpoints to a directory of the user's. The network namespace is not dumped: a restore gets
/// a new one, configured by CNI ADD (from the createRuntime hook) with the addresses the
/// container had, before its processes and sockets come back.
/// </summary>
public sealed class ContainerCheckpoints
{
    private readonly StateStore store;
    private readonly StorageService storage;
    private readonly NetworkService networks;
    private readonly ExternalTool tool;
    private readonly IEngineLog log;
    private readonly ContainerRecords records;
    private readonly ContainerPaths paths;
    private readonly ContainerLauncher launcher;
    private readonly ContainerSnapshots snapshots;

    internal ContainerCheckpoints(StateStore store, StorageService storage, NetworkService networks, ExternalTool tool, IEngineLog log,
        ContainerRecords records, ContainerPaths paths, ContainerLauncher launcher, ContainerSnapshots snapshots)
    {
        this.store = store;
        this.storage = storage;
        this.networks = networks;
        this.tool = tool;
        this.log = log;
        this.records = records;
        this.paths = paths;
        this.launcher = launcher;
        this.snapshots = snapshots;
    }

    /// <summary>Test-ContainerCheckpoint: CRIU's version, `criu check`, and what this kernel allows.</summary>
    public CheckpointSupport Support() => Criu.Check(tool);

    /// <summary>
    /// Dumps a running container: to <paramref name="path"/> (a new or empty directory), else into a
    /// stateful snapshot (named <paramref name="snapshot"/>, or snapN). The container stops, unless
    /// <paramref name="leaveRunning"/>. Returns the snapshot, or null for a -Path checkpoint.
    /// </summary>
    public ContainerSnapshot? Checkpoint(string name, string? path, string? snapshot, bool leaveRunning)
    {
        if (path is not null && snapshot is not null)
            throw new ContainerPSException(Errors.InvalidCheckpointTarget, "Give either a path or a snapshot name, not both.", name);
        if (snapshot is not null)
            Names.Validate(snapshot, "snapshot");
        if (path is not null)
            CheckNewCheckpointPath(path);
        using var _ = records.Lock(name);
        var row = records.ReadyRow(name);
        var rt = paths.Runtime(name);
        if (!rt.Inspect().IsRunning)
            throw new ContainerPSException(Errors.ContainerNotRunning, $"Container '{name}' is not running.", name);
        ContainerLauncher.CheckCriu();
        if (path is not null)
        {
            var owns = !Directory.Exists(path);
            records.InStep(row, new ContainerStep(ContainerStep.Checkpoint, Dir: Path.GetFullPath(path), Owns: owns, LeaveRunning: leaveRunning), () => Dump(row, rt, path, leaveRunning, owns));
            return null;
        }

        snapshot ??= Enumerable.Range(0, int.MaxValue).Select(i => $"snap{i}").First(n => store.Snapshots(row.Id).All(s => s.Name != n));
        var id = store.Write(() => store.InsertSnapshot(row.Id, name, snapshot, stateful: true));
        var dir = paths.SnapshotStateDir(row, snapshot);
        try
        {
            if (leaveRunning)
            {
                // Frozen while both the processes and the filesystem are saved, so they match.
                launcher.RunRunc("pause", rt.RuncId(row.Name));
                try
                {
                    FaultPoints.Hit("checkpoint.snapshot.after-pause");
                    Dump(row, rt, dir, leaveRunning: true, ownsDirectory: true);
                    storage.CloneVolume(row.Pool, VolumeType.Container, name, row.Pool, VolumeType.Snapshot, ContainerSnapshots.SnapshotVolume(name, snapshot));
                }
                finally
                {
                    launcher.RunRunc("resume", rt.RuncId(row.Name));
                }
            }
            else
            {
                Dump(row, rt, dir, leaveRunning: false, ownsDirectory: true);
                FaultPoints.Hit("checkpoint.snapshot.after-dump");
                storage.CloneVolume(row.Pool, VolumeType.Container, name, row.Pool, VolumeType.Snapshot, ContainerSnapshots.SnapshotVolume(name, snapshot));
            }
            store.Write(() => store.Release("snapshots", id));
        }
        catch
        {
            snapshots.UndoSnapshot(row, snapshot, id);
            throw;
        }
        return ContainerSnapshots.ToSnapshot(row, snapshots.SnapshotRowOf(row, snapshot));
    }

    /// <summary>Stop-Container -Stateful: the running state is saved and used by the next Start-Container.</summary>
    internal void StopStateful(ContainerRow row, RuntimeDirectory rt)
    {
        ContainerLauncher.CheckCriu();
        var dir = paths.StopStateDir(row);
        if (Directory.Exists(dir))
            Directory.Delete(dir, recursive: true); // a state the last start did not use
        records.InStep(row, new ContainerStep(ContainerStep.StatefulStop, Dir: dir, Owns: true), () => Dump(row, rt, dir, leaveRunning: false, ownsDirectory: true));
    }

    /// <summary>
    /// Restores a stopped container from a checkpoint directory, or from a stateful snapshot (its
    /// filesystem first, then its processes).
    /// </summary>
    public Container Restore(string name, string? path, string? snapshot)
    {
        if ((path is null) == (snapshot is null))
            throw new ContainerPSException(Errors.InvalidCheckpointTarget, "Give either a checkpoint path or a snapshot name.", name);
        using var _ = records.Lock(name);
        var row = records.ReadyRow(name);
        if (paths.Runtime(name).Inspect().IsRunning)
            throw new ContainerPSException(Errors.ContainerRunning, $"Container '{name}' is running; stop it before restoring a checkpoint.", name);
        ContainerLauncher.CheckCriu();
        CheckpointImage image;
        string? staged = null;
        if (snapshot is not null)
        {
            var snap = snapshots.SnapshotRowOf(row, snapshot);
            if (!snap.Stateful)
                throw new ContainerPSException(Errors.SnapshotNotStateful,
                    $"Snapshot '{snapshot}' of container '{name}' holds only the filesystem: use Restore-ContainerSnapshot, then Start-Container.", snapshot);
            image = CheckpointImage.Open(paths.SnapshotStateDir(row, snapshot));
            records.BeginStep(row, new ContainerStep(ContainerStep.Restore, Dir: image.Path));
            try
            {
                storage.RestoreVolume(row.Pool, VolumeType.Snapshot, ContainerSnapshots.SnapshotVolume(name, snapshot), VolumeType.Container, name);
            }
            catch
            {
                records.EndStep(row);
                throw;
            }
        }
        else
        {
            image = CheckpointImage.Open(path!);
            if (image.Uuid != row.Uuid)
                throw new ContainerPSException(Errors.CheckpointOfAnotherContainer,
                    $"{path} is a checkpoint of container '{image.Container}' (uuid {image.Uuid}), not of this '{name}' (uuid {row.Uuid}): " +
                    "its processes would run on another filesystem.", path);
            // A directory of the user's is restored from a private copy (hard links where it can):
            // making its images readable for the restore must not show them to the host's users.
            staged = HostPath.IsWithin(Path.GetFullPath(image.Path), paths.Root) ? null : NewStage(row);
            records.BeginStep(row, new ContainerStep(ContainerStep.Restore, Dir: staged ?? image.Path, Owns: staged is not null));
            try
            {
                if (staged is not null)
                    CheckpointStage.StageCheckpoint(image.Path, staged);
            }
            catch
            {
                CheckpointStage.Unstage(staged!);
                records.EndStep(row);
                throw;
            }
        }
        try
        {
            FaultPoints.Hit("checkpoint.restore.before-launch");
            launcher.Launch(row, staged is null ? image : CheckpointImage.Open(staged));
            AfterRestore(row, null); // the staged copy goes below, on failure too
        }
        finally
        {
            if (staged is not null)
                CheckpointStage.Unstage(staged);
            records.EndStep(row);
        }
        return records.ToContainer(records.Row(name));
    }

    /// <summary>After a restore: a saved stop state is older than what now runs.</summary>
    internal void AfterRestore(ContainerRow row, string? staged)
    {
        if (staged is not null)
            CheckpointStage.Unstage(staged);
        if (Directory.Exists(paths.StopStateDir(row)))
            Directory.Delete(paths.StopStateDir(row), recursive: true);
    }

    /// <summary>
    /// A restore whose process died: finished from its checkpoint when the container is not running
    /// yet (the checkpoint is whole), else its private copy is removed and the container stays stopped.
    /// </summary>
    internal string RepairRestore(ContainerRow row, ContainerStep step)
    {
        var staged = step.Owns ? step.Dir : null;
        var rt = paths.Runtime(row.Name);
        if (rt.Inspect().IsRunning)
        {
            AfterRestore(row, staged);
            return $"finished the unfinished restore of container '{row.Name}' (it runs)";
        }
        if (step.Dir is { } dir && Criu.DumpFinished(dir))
        {
            try
            {
                launcher.Launch(row, CheckpointImage.Open(dir));
                AfterRestore(row, staged);
                return $"finished the unfinished restore of container '{row.Name}' from its checkpoint (it runs)";
            }
            catch (ContainerPSException e)
            {
                if (staged is not null)
                    CheckpointStage.Unstage(staged);
                return $"rolled back the unfinished restore of container '{row.Name}': it could not be restored ({e.Message}); it stays stopped";
            }
        }
        if (staged is not null)
            CheckpointStage.Unstage(staged);
        return $"rolled back the unfinished restore of container '{row.Name}' (it stays stopped)";
    }

    /// <summary>
    /// A checkpoint (-Path) or stateful stop whose process died: finished when CRIU's dump finished
    /// (the container is then stopped, as the command leaves it); else the partial dump is removed and
    /// the container runs on (thawed if it was left frozen), or, when the processes went with the
    /// dump, is Error until Start-Container boots it afresh.
    /// </summary>
    internal string RepairDump(ContainerRow row, ContainerStep step)
    {
        var rt = paths.Runtime(row.Name);
        var dir = step.Dir!;
        var what = step.Op == ContainerStep.StatefulStop ? $"stateful stop of container '{row.Name}'" : $"checkpoint of container '{row.Name}' to {dir}";
        if (rt.Inspect().State == RunState.Stopping)
            rt.WaitStopped(TimeSpan.FromSeconds(15));
        if (rt.Inspect().IsRunning)
        {
            var thawed = launcher.ThawIfPaused(row, rt) ? "; the container, left frozen, runs again" : "; the container runs on";
            if (step.LeaveRunning && Criu.DumpFinished(dir))
                return $"finished the unfinished {what}{thawed}";
            DiscardDump(dir, step.Owns);
            return $"rolled back the unfinished {what}{thawed}";
        }
        if (Criu.DumpFinished(dir))
        {
            AfterDump(row, rt);
            return step.Op == ContainerStep.StatefulStop
                ? $"finished the unfinished {what}: Start-Container restores its saved state"
                : $"finished the unfinished {what}: it is stopped, as the checkpoint leaves it (Restore-Container -Path {dir} runs it again)";
        }
        DiscardDump(dir, step.Owns);
        launcher.CleanupRuntime(row, rt);
        Directory.CreateDirectory(rt.Path);
        rt.WriteExit(RuntimeDirectory.InterruptedExit);
        return $"rolled back the unfinished {what}: its dump did not finish and took the container's processes with it; the container is Error until Start-Container boots it afresh";
    }

    /// <summary>
    /// A private copy of checkpoint directory <paramref name="path"/> below ROOT/checkpoints (0700):
    /// files hard-linked (copied across filesystems), symlinks (an incremental dump's parent) kept.
    /// The user's directory becomes 0700, since a hard-linked image is made readable for the restore.
    /// </summary>
    private string NewStage(ContainerRow row)
    {
        var dir = paths.EnsureCheckpointsDir(row);
        foreach (var left in Directory.GetDirectories(dir, "restore-*")) // of a restore that was killed (the container's lock is held)
            CheckpointStage.Unstage(left);
        return Path.Join(dir, "restore-" + Convert.ToHexStringLower(System.Security.Cryptography.RandomNumberGenerator.GetBytes(4)));
    }

    /// <summary>runc checkpoint into <paramref name="dir"/>, with the record of the container's addresses next to CRIU's images.</summary>
    /// <param name="parent">A pre-dump's directory, relative to <paramref name="dir"/>: only pages written since it are dumped (runc --parent-path, CRIU --track-mem).</param>
    internal void Dump(ContainerRow row, RuntimeDirectory rt, string dir, bool leaveRunning, bool ownsDirectory, string? parent = null)
    {
        var clock = Stopwatch.StartNew();
        try
        {
            var args = DumpArguments(row, rt, dir);
            if (leaveRunning)
                args.Add("--leave-running");
            if (parent is not null)
                args.AddRange(new[] { "--parent-path", parent });
            args.Add(rt.RuncId(row.Name));
            FaultPoints.Hit("checkpoint.dump.before-runc");
            var r = tool.Execute(NativePrograms.Runc, args, null, Criu.Environment, TimeSpan.FromMinutes(10));
            if (r.ExitCode != 0)
                throw DumpFailed(row, r.StandardError, dir);
        }
        catch
        {
            // Nothing half-written stays behind (the error message carries CRIU's error lines).
            DiscardDump(dir, ownsDirectory);
            throw;
        }
        FaultPoints.Hit("checkpoint.dump.after-runc");
        if (!leaveRunning)
            AfterDump(row, rt);
        log.Verbose($"checkpoint {row.Name}: {clock.Elapsed.TotalMilliseconds:0.0} ms into {dir}");
    }

    /// <summary>
    /// Readies a dump into <paramref name="dir"/> (no hot-mounted volumes, exec sessions ended, the
    /// directory private, the record of the container's addresses written) and returns runc's
    /// checkpoint arguments up to the options that differ per dump (and the container's id).
    /// </summary>
    internal List<string> DumpArguments(ContainerRow row, RuntimeDirectory rt, string dir)
    {
        if (File.Exists(rt.HotMountsFile))
            throw new ContainerPSException(Errors.HotMountNotCheckpointable,
                $"A storage volume was mounted into or dismounted from container '{row.Name}' while it runs; CRIU restores the mounts the container started with. Restart it before checkpointing.", row.Name);
        EndExecSessions(row, rt);
        if (HostPath.IsWithin(dir, paths.CheckpointsDir(row)))
            paths.EnsureCheckpointsDir(row);
        VolumeLayout.MakePrivate(dir); // also an empty -Path directory the user made
        var interfaces = networks.Memberships(row.Id).Select(NetworkService.ToAttachment).Where(a => a.Attached)
            .ToDictionary(a => a.Network, a => new InterfaceIdentity(a.Addresses, a.MacAddress));
        CheckpointImage.Write(dir, row.Name, row.Uuid, interfaces);
        var args = new List<string>(Criu.RuncOptions) { "--root", paths.RuncRoot, "checkpoint", "--image-path", dir, "--work-path", dir };
        args.AddRange(Criu.DumpOptions);
        return args;
    }

    internal static ContainerPSException DumpFailed(ContainerRow row, string stderr, string dir) =>
        new(Errors.CheckpointFailed, $"Container '{row.Name}' could not be checkpointed: {ContainerLauncher.RuncMessage(stderr)}{Criu.LogErrors(dir, "dump.log")}", row.Name);

    /// <summary>
    /// After a dump that stopped the container: CRIU has killed the processes, the monitor records the
    /// exit and tidies up; the exit is then marked as a checkpoint, and DEL frees the addresses (the
    /// restore asks for them again).
    /// </summary>
    internal void AfterDump(ContainerRow row, RuntimeDirectory rt)
    {
        if (!rt.WaitStopped(TimeSpan.FromSeconds(15)))
            launcher.CleanupRuntime(row, rt);
        rt.WriteExit(RuntimeDirectory.CheckpointedExit);
        launcher.ReleaseNetwork(row);
    }

    /// <summary>Removes a dump that did not finish: the directory when the checkpoint made it, else what is in it.</summary>
    internal static void DiscardDump(string dir, bool ownsDirectory)
    {
        if (!Directory.Exists(dir))
            return;
        if (ownsDirectory)
            Directory.Delete(dir, recursive: true);
        else
            foreach (var entry in new DirectoryInfo(dir).EnumerateFileSystemInfos())
                if (entry is DirectoryInfo d) d.Delete(recursive: true); else entry.Delete();
    }

    /// <summary>
    /// Ends the Invoke-ContainerExec sessions attached to the container: their in-container helper
    /// runs the host's cps-exec binary, which CRIU cannot dump. Their commands go on inside the
    /// container (adopted by its init) and are checkpointed like any other process; the sessions'
    /// pipes to the caller are gone, as an ssh session is after its host migrated.
    /// </summary>
    private void EndExecSessions(ContainerRow row, RuntimeDirectory rt)
    {
        if (rt.Inspect().Pid is not int init)
            return;
        string? pidns;
        try { pidns = new FileInfo($"/proc/{init}/ns/pid").LinkTarget; }
        catch (IOException) { return; }
        var ended = new List<int>();
        foreach (var pid in HostProcesses.Pids())
        {
            if (pid == init)
                continue;
            try
            {
                if (new FileInfo($"/proc/{pid}/ns/pid").LinkTarget != pidns)
                    continue;
                if (!HostProcesses.IsExecHelper(pid))
                    continue;
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
                continue; // gone meanwhile
            }
            if (Platform.LibC.Kill(pid, 9))
                ended.Add(pid);
        }
        if (ended.Count == 0)
            return;
        var clock = Stopwatch.StartNew();
        while (ended.Any(p => Directory.Exists($"/proc/{p}") && Platform.ProcessIdentity.Read(p) is { State: not ('Z' or 'X') }) && clock.ElapsedMilliseconds < 5000)
            Thread.Sleep(5);
        log.Warning($"Container '{row.Name}': ended {ended.Count} attached Invoke-ContainerExec session(s) before the checkpoint; their commands go on inside the container.");
    }

    private static void CheckNewCheckpointPath(string path)
    {
        if (!Path.IsPathRooted(path) || path.Any(char.IsControl))
            throw new ContainerPSException(Errors.InvalidPath, $"The checkpoint path '{Names.Printable(path)}' must be an absolute path.", path);
        if (File.Exists(path) || (Directory.Exists(path) && Directory.EnumerateFileSystemEntries(path).Any()))
            throw new ContainerPSException(Errors.CheckpointPathNotEmpty, $"'{path}' exists and is not an empty directory.", path);
        if (!Directory.Exists(Path.GetDirectoryName(Path.TrimEndingDirectorySeparator(path))))
            throw new ContainerPSException(Errors.CheckpointPathNotFound, $"The parent directory of '{path}' does not exist.", path);
    }
}
