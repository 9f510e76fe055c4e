using System.Text.Json;
using ContainerPS.Engine.Idmap;
using ContainerPS.Engine.Migration;
using ContainerPS.Engine.Network;
using ContainerPS.Engine.Storage;

namespace ContainerPS.Engine.Runtime;

/// <summary>
/// The destination of Move-Container: the container is created (Creating) from the source's plan,
/// its archives are collected and unpacked, it is restored frozen, and it is kept (thawed) only when
/// the source commits; until then a failure or a kill drops it here and the source keeps it.
/// </summary>
public sealed class IncomingMoves
{
    private readonly StateStore store;
    private readonly StorageService storage;
    private readonly NetworkService networks;
    private readonly ExternalTool tool;
    private readonly IEngineLog log;
    private readonly ContainerRecords records;
    private readonly ContainerPaths paths;
    private readonly ContainerIdmaps idmaps;
    private readonly ContainerConfig config;
    private readonly ContainerLauncher launcher;
    private readonly ContainerService containers;
    private readonly IncomingArchives archives;
    private readonly SharedHandover handover;

    internal IncomingMoves(StateStore store, StorageService storage, NetworkService networks, ExternalTool tool, IEngineLog log, ContainerRecords records,
        ContainerPaths paths, ContainerIdmaps idmaps, ContainerConfig config, ContainerLauncher launcher, ContainerService containers)
    {
        this.store = store;
        this.storage = storage;
        this.networks = networks;
        this.tool = tool;
        this.log = log;
        this.records = records;
        this.paths = paths;
        this.idmaps = idmaps;
        this.config = config;
        this.launcher = launcher;
        this.containers = containers;
        archives = new IncomingArchives(store, storage, tool, log, paths);
        handover = new SharedHandover(store, storage);
    }

    public const string ArchiveRootfs = MigrationPlan.PartRootfs, ArchiveState = MigrationPlan.PartState;

    /// <summary>The volume stream (btrfs, zfs) the default pool of this host, where moved containers land, receives; null: tar only.</summary>
    public string? IncomingFormat() => storage.StreamFormat(config.DefaultPool());

    /// <inheritdoc cref="SharedHandover.SharedPools"/>
    public IReadOnlyList<string> SharedPools() => handover.SharedPools(log);

    private string IncomingDir(string token)
    {
        if (token.Length != 32 || !token.All(char.IsAsciiHexDigitLower))
            throw new ContainerPSException(Errors.InvalidMigrationToken, "Not a migration token.", token);
        return Path.Join(paths.Root, "incoming", token);
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
            ContainerIdmaps.CheckDelegated(plan.Config, plan.Name); // this host's /etc/subuid decides
            map = plan.Isolated ? idmaps.AllocateIsolated(plan.IdmapSize ?? IdmapAllocator.DefaultSize) : idmaps.SharedMap();
            if (plan.CarriesState && (map.UidBase != plan.IdmapBase || map.Size != plan.IdmapSize))
                throw new ContainerPSException(Errors.IdmapMismatch,
                    $"Container '{plan.Name}' {(plan.Running ? "runs" : "has a saved running state (a stateful stop or snapshot)")} with the id map 0 {plan.IdmapBase} {plan.IdmapSize}; this host would give it 0 {map.UidBase} {map.Size}. " +
                    "CRIU restores a user namespace as it was dumped: " +
                    (plan.Running ? "stop the container to move it" : "start it (or drop the state: Start-Container -Stateless, remove the stateful snapshots) and stop it without -Stateful") +
                    ", or give both hosts the same subordinate ids.", plan.Name);
        }
        // A container whose images are handed over lands in the pool on the shared OSD pool, else in the default pool.
        var pool = plan.Shared is not null ? handover.TargetPool(plan) : config.DefaultPool();
        var poolRow = store.Pool(pool) ?? throw ContainerPSException.PoolNotFound(pool);
        if (plan.RootfsFormat is { } format && storage.StreamFormat(pool) != format)
            throw new ContainerPSException(Errors.MigrationFormatNotSupported,
                $"The filesystem of '{plan.Name}' comes as a {format} stream, which pool '{pool}' ({poolRow.Driver}) cannot receive.", plan.Name);
        archives.Check(plan, config.DefaultPool(), pool);
        if (plan.Shared is not null)
            handover.Check(plan, pool);
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
            containers.UndoCreate(id, pool, plan.Name);
            Directory.Delete(dir, recursive: true);
            throw;
        }
        log.Verbose($"incoming {plan.Name}: token {token}");
        return token;
    }

    /// <summary>
    /// Where an incoming archive is collected: ROOT/incoming/TOKEN/PART.tar, for a part the plan has
    /// (<see cref="MigrationPlan.Parts"/>: names made here, so none leads out of that directory).
    /// </summary>
    public string IncomingArchivePath(string token, string part)
    {
        var (plan, _) = Incoming(token) ?? throw new ContainerPSException(Errors.MigrationNotFound, $"No incoming migration {token} on this host.", token);
        if (!plan.Parts().Contains(part, StringComparer.Ordinal))
            throw new ContainerPSException(Errors.InvalidArchivePart, $"Unknown archive '{Names.Printable(part)}'.", part);
        return Path.Join(IncomingDir(token), part + ".tar");
    }

    /// <summary>Where each part of an incoming migration is collected, by its number on the data link (its index in <see cref="MigrationPlan.Parts"/>).</summary>
    public IReadOnlyList<string> IncomingArchivePaths(string token)
    {
        var (plan, _) = Incoming(token) ?? throw new ContainerPSException(Errors.MigrationNotFound, $"No incoming migration {token} on this host.", token);
        return plan.Parts().Select(p => Path.Join(IncomingDir(token), p + ".tar")).ToList();
    }

    public void AppendIncoming(string token, string part, byte[] data)
    {
        var path = IncomingArchivePath(token, part);
        if (part.StartsWith("round.", StringComparison.Ordinal))
            FaultPoints.Hit("move.target.pre-copy-round");
        using var f = new FileStream(path, FileMode.Append, FileAccess.Write);
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
            archives.Unpack(row, plan, dir, token, config.DefaultPool());
            string? state = null;
            var postCopy = false;
            if (plan.Running)
            {
                paths.EnsureCheckpointsDir(row);
                state = OutgoingMoves.MoveDir(paths, row);
                Directory.CreateDirectory(state);
                archives.Untar(Path.Join(dir, ArchiveState + ".tar"), state);
                // Pre-copy: the memory rounds that came, where the final dump's images refer to them (parent links).
                for (var i = 0; i < plan.PreCopyRounds && File.Exists(Path.Join(dir, MigrationPlan.RoundPart(i) + ".tar")); i++)
                    archives.Untar(Path.Join(dir, MigrationPlan.RoundPart(i) + ".tar"), Directory.CreateDirectory(PreCopySource.RoundDir(state, i)).FullName);
                // Post-copy: the page server's endpoint and the move's key, kept private (the state is made readable for the restore).
                if (LazyPages.Endpoint(state) is not null)
                {
                    LazyPages.TakeCredentials(state, dir);
                    postCopy = true;
                }
            }
            // Ready, with the arrival recorded until the source commits it (CommitIncoming): a destination
            // killed before that, or whose source never commits, drops the container at its next command.
            store.Write(() =>
            {
                store.Release("containers", row.Id);
                store.BeginStep(row.Id, JsonSerializer.Serialize(new ContainerStep(ContainerStep.Incoming, Dir: token)));
            });
            // Handed over on a shared ceph pool: taken only now, so that every path that drops the arrival gives the images back first.
            if (plan.Shared is not null)
                handover.Take(row, plan, token);
            if (state is not null)
            {
                try
                {
                    // The source container's checkpoint, into this copy of it (same filesystem, another uuid).
                    using var _ = ContainerLock.Take(paths.Root, row.Name, ContainerRecords.LockWait);
                    ContainerLauncher.CheckCriu();
                    if (postCopy)
                        ResumePostCopy(token, dir, row, state);
                    else
                    {
                        launcher.Launch(row, CheckpointImage.Open(state));
                        // Frozen until the commit: a source that resumes its own copy (it never heard back) never runs beside this one.
                        launcher.RunRunc("pause", paths.Runtime(row.Name).RuncId(row.Name));
                    }
                }
                finally
                {
                    if (!postCopy) // the lazy-pages daemon reads the images until the last page is in
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
        return containers.Get(plan.Name);
    }

    /// <summary>The lazy-pages daemons of this process's post-copy arrivals, by token, until their commit (or abort).</summary>
    private static readonly System.Collections.Concurrent.ConcurrentDictionary<string, LazyPagesDaemon> daemons = new();

    private const string PostCopyResumed = "post-copy-resumed";

    /// <summary>
    /// Post-copy: the daemon that fetches the memory from the source's page server first (mutual TLS
    /// with the move's key), then the restore with lazy pages; the container runs at once (not frozen:
    /// its memory comes from the source, which no longer runs it). From here on this host owns it.
    /// </summary>
    private void ResumePostCopy(string token, string dir, ContainerRow row, string state)
    {
        var endpoint = LazyPages.Endpoint(dir)!.Value;
        var daemon = LazyPagesDaemon.Start(Criu.Path!, state, endpoint.Address, endpoint.Port, dir, paths.Runtime(row.Name).InitPidFile);
        daemons[token] = daemon;
        try { launcher.Launch(row, CheckpointImage.Open(state, lazy: true), lazyPages: true); }
        catch (ContainerPSException e)
        {
            daemon.Kill();
            throw new ContainerPSException(e.Code, $"{e.Message}\nThe lazy-pages daemon: {daemon.Failure(state)}", row.Name, e);
        }
        // Running here: from now on this host owns the container (a killed arrival is kept, not dropped, when its memory all came).
        records.UpdateStep(row, new ContainerStep(ContainerStep.Incoming, Dir: token, Phase: PostCopyResumed, Pid: daemon.Pid));
    }

    /// <summary>
    /// The source's word that the move is done (it has stopped its copy for good): the arrived
    /// container is thawed and kept. Until this, the arrival can be rolled back.
    /// </summary>
    public Container CommitIncoming(string token)
    {
        var dir = IncomingDir(token);
        var row = Incoming(token) is (_, { } r) && ContainerRecords.StepOf(r) is { Op: ContainerStep.Incoming } s && s.Dir == token ? r : null;
        if (row is null)
            throw new ContainerPSException(Errors.MigrationNotFound, $"No incoming migration {token} waits for its commit on this host.", token);
        using (records.Lock(row.Name))
        {
            FaultPoints.Hit("move.target.commit");
            var rt = paths.Runtime(row.Name);
            if (daemons.TryRemove(token, out var daemon))
                using (daemon)
                    FinishPages(row, rt, daemon);
            else if (rt.Inspect().IsRunning)
                launcher.ThawIfPaused(row, rt);
            archives.Keep(row);
            records.EndStep(row);
        }
        if (Directory.Exists(dir))
            Directory.Delete(dir, recursive: true);
        return containers.Get(row.Name);
    }

    /// <summary>
    /// The end of a post-copy arrival: the daemon has fetched the last page. When it failed, the
    /// container's memory is incomplete (a page that never came would read as zeros): it is stopped.
    /// </summary>
    private void FinishPages(ContainerRow row, RuntimeDirectory rt, LazyPagesDaemon daemon)
    {
        var state = Path.Join(paths.CheckpointsDir(row), "move");
        if (daemon.WaitFinished(TimeSpan.FromMinutes(30)))
        {
            if (Directory.Exists(state))
                Directory.Delete(state, recursive: true);
            return;
        }
        var why = daemon.Failure(state);
        daemon.Kill();
        StopIncomplete(row, rt);
        archives.Keep(row); // the container stays here, stopped, with what it carried
        records.EndStep(row);
        throw new ContainerPSException(Errors.MigrationDataFailed,
            $"The memory of container '{row.Name}' did not all arrive from the source ({why}); it was stopped here. Start-Container boots it afresh from its filesystem.", row.Name);
    }

    private void StopIncomplete(ContainerRow row, RuntimeDirectory rt)
    {
        launcher.CleanupRuntime(row, rt);
        Directory.CreateDirectory(rt.Path);
        rt.WriteExit(RuntimeDirectory.InterruptedExit);
    }

    /// <summary>A destination killed after the container arrived, or whose source never committed it: the container is dropped here (the source keeps it).</summary>
    internal string RepairIncoming(ContainerRow row, ContainerStep step)
    {
        if (step.Phase == PostCopyResumed && step.Dir is { } lazyToken)
            return RepairPostCopy(row, step, lazyToken);
        if (step.Dir is { } handed && Incoming(handed) is ({ Shared: not null } shared, _))
            GiveBack(row, shared, handed);
        var arrived = archives.Arrived(row);
        containers.RemoveHeld(row, force: true);
        archives.RemoveLeft(arrived);
        if (step.Dir is { } token && Directory.Exists(IncomingDir(token)))
            Directory.Delete(IncomingDir(token), recursive: true);
        return $"rolled back the unfinished arrival of container '{row.Name}' moved from another host (the source keeps it)";
    }

    /// <summary>
    /// A post-copy arrival whose process died after the container resumed here: this host owns it.
    /// It keeps running when its lazy-pages daemon fetched every page; else (the daemon failed, or
    /// its end is unknown) it is stopped, since missing memory would read as zeros.
    /// </summary>
    private string RepairPostCopy(ContainerRow row, ContainerStep step, string token)
    {
        var dir = IncomingDir(token);
        var clock = System.Diagnostics.Stopwatch.StartNew();
        while (step.Pid > 0 && HostProcesses.IsAlive(step.Pid, LazyPagesDaemon.WatcherName) && LazyPagesDaemon.ExitCode(dir) is null && clock.Elapsed < TimeSpan.FromSeconds(60))
            Thread.Sleep(50);
        var rt = paths.Runtime(row.Name);
        var finished = LazyPagesDaemon.ExitCode(dir) == 0 && rt.Inspect().IsRunning;
        if (!finished)
            StopIncomplete(row, rt); // (a daemon still fetching ends with the container's processes: its uffds close)
        archives.Keep(row); // this host owns the container from its resume on, with what it carried
        var state = Path.Join(paths.CheckpointsDir(row), "move");
        if (Directory.Exists(state))
            Directory.Delete(state, recursive: true);
        if (Directory.Exists(dir))
            Directory.Delete(dir, recursive: true);
        return finished
            ? $"finished the post-copy arrival of container '{row.Name}': all of its memory had arrived, it runs here"
            : $"the post-copy arrival of container '{row.Name}' did not get all of its memory: it was stopped here (Start-Container boots it afresh)";
    }

    /// <summary>
    /// A shared-ceph arrival that does not finish: its processes (frozen, or never thawed) end first,
    /// as they hold the images' mounts, then the images go back to the source, before any row goes.
    /// </summary>
    private void GiveBack(ContainerRow row, MigrationPlan plan, string token)
    {
        containers.KillHeld(row);
        launcher.CleanupRuntime(row, paths.Runtime(row.Name));
        handover.GiveBack(row.Pool, plan, token);
    }

    /// <summary>Removes incoming directories that no container row names any more (their move was undone or repaired).</summary>
    internal void RemoveLeftIncoming()
    {
        archives.RemoveLeft(Array.Empty<(string, string)>());
        var dir = Path.Join(paths.Root, "incoming");
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
        if (daemons.TryRemove(token, out var daemon))
            using (daemon)
                daemon.Kill();
        if (Incoming(token) is (var plan, { } row))
        {
            if (plan.Shared is not null)
                GiveBack(row, plan, token);
            var arrived = archives.Arrived(row);
            if (row.State == RowState.Ready)
                containers.Remove(row.Name, force: true);
            else
                containers.UndoCreate(row.Id, row.Pool, row.Name);
            archives.RemoveLeft(arrived);
        }
        if (Directory.Exists(dir))
            Directory.Delete(dir, recursive: true);
    }
}
