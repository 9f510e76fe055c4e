using System.Diagnostics;
using ContainerPS.Engine.Images;
using ContainerPS.Engine.Migration;
using ContainerPS.Engine.Network;
using ContainerPS.Engine.Storage;

namespace ContainerPS.Engine.Runtime;

/// <summary>
/// Container lifecycle: create from an image (unprivileged by default), start, stop, wait,
/// rename, remove; what a container is and uses now. Starting and stopping the processes is
/// <see cref="ContainerLauncher"/>'s; a stateful stop and start go through <see cref="ContainerCheckpoints"/>,
/// a copy through <see cref="ContainerCopies"/>.
/// </summary>
public sealed class ContainerService
{
    private readonly StateStore store;
    private readonly StorageService storage;
    private readonly ImageService images;
    private readonly NetworkService networks;
    private readonly IEngineLog log;
    private readonly ContainerRecords records;
    private readonly ContainerPaths paths;
    private readonly ContainerIdmaps idmaps;
    private readonly ContainerConfig containerConfig;
    private readonly ContainerLauncher launcher;
    private readonly ContainerSnapshots snapshots;
    private readonly ContainerCheckpoints checkpoints;

    internal ContainerService(StateStore store, StorageService storage, ImageService images, NetworkService networks, IEngineLog log,
        ContainerRecords records, ContainerPaths paths, ContainerIdmaps idmaps, ContainerConfig config, ContainerLauncher launcher,
        ContainerSnapshots snapshots, ContainerCheckpoints checkpoints)
    {
        this.store = store;
        this.storage = storage;
        this.images = images;
        this.networks = networks;
        this.log = log;
        this.records = records;
        this.paths = paths;
        this.idmaps = idmaps;
        this.containerConfig = config;
        this.launcher = launcher;
        this.snapshots = snapshots;
        this.checkpoints = checkpoints;
    }

    public IReadOnlyList<Container> List() => records.List();

    public Container Get(string name) => records.Get(name);

    // ------------------------------------------------------------------ create

    public Container Create(string name, string image, string? poolName, IReadOnlyDictionary<string, string?>? config, bool isolated, bool privileged,
        IReadOnlyList<string>? networkNames = null)
    {
        Names.Validate(name, "container");
        var changes = new Dictionary<string, string?>(config ?? new Dictionary<string, string?>(), StringComparer.Ordinal);
        ContainerConfig.CheckConfig(changes, creating: true);
        if (store.Container(name) is not null)
            throw new ContainerPSException(Errors.ContainerExists, $"Container '{name}' already exists.", name);
        isolated |= changes.TryGetValue("security.idmap.isolated", out var iso) && iso == "true";
        privileged |= changes.TryGetValue("security.privileged", out var priv) && priv == "true";
        if (privileged && isolated)
            throw new ContainerPSException(Errors.InvalidIdmap, "A privileged container has no id map to isolate.", name);
        foreach (var n in networkNames ?? Array.Empty<string>())
            networks.Row(n);
        if (networkNames is not null && networkNames.Distinct(StringComparer.Ordinal).Count() != networkNames.Count)
            throw new ContainerPSException(Errors.DuplicateNetwork, "A network is named twice: a container has one interface per network.", name);
        var img = images.Resolve(image);
        if (poolName is not null && store.Pool(poolName) is null)
            throw ContainerPSException.PoolNotFound(poolName);
        var pool = poolName ?? containerConfig.DefaultPool();
        var poolRow = store.Pool(pool) ?? throw ContainerPSException.PoolNotFound(pool);

        var cfg = changes.Where(kv => kv.Value is not null).ToDictionary(kv => kv.Key, kv => kv.Value!, StringComparer.Ordinal);
        foreach (var (k, v) in img.Properties)
            cfg["image." + k] = v;
        if (privileged)
            cfg["security.privileged"] = "true";
        if (isolated)
            cfg["security.idmap.isolated"] = "true";
        if (privileged && changes.Keys.Any(k => ContainerIdmaps.IdmapKeys.Contains(k)))
            throw new ContainerPSException(Errors.InvalidIdmap, "A privileged container has no id map: security.idmap.* and raw.idmap do not apply.", name);

        var id = store.Write(() =>
        {
            (long Base, long Size)? alloc = privileged ? null : idmaps.AllocateBase(cfg, null, null, name);
            return store.InsertContainer(name, image, poolRow.Id, privileged, isolated, alloc?.Base, alloc?.Size, cfg);
        });
        try
        {
            var created = store.Container(name)!;
            foreach (var n in networkNames ?? Array.Empty<string>())
                networks.AddMembership(created, n, null, AttachOptions.None);
            var fingerprint = images.EnsureVolume(img, pool);
            storage.CloneVolume(pool, VolumeType.Image, fingerprint, pool, VolumeType.Container, name);
            ContainerLauncher.WriteHostname(storage.VolumePath(pool, VolumeType.Container, name), name);
            FaultPoints.Hit("container.create.after-disk");
            store.Write(() => store.Release("containers", id));
        }
        catch
        {
            UndoCreate(id, pool, name);
            throw;
        }
        return Get(name);
    }

    internal void UndoCreate(long id, string pool, string name)
    {
        try
        {
            // (Snapshots and saved states: a container that arrived with a move has them before it is created.)
            foreach (var snap in store.Snapshots(id))
                if (storage.HasVolume(pool, VolumeType.Snapshot, ContainerSnapshots.SnapshotVolume(name, snap.Name)))
                    storage.RemoveVolume(pool, VolumeType.Snapshot, ContainerSnapshots.SnapshotVolume(name, snap.Name), anyType: true);
            // (and a saved state: of a stateful copy, or one that arrived with a move)
            if (store.Container(name) is { } row && row.Id == id && Directory.Exists(paths.CheckpointsDir(row)))
                Directory.Delete(paths.CheckpointsDir(row), recursive: true);
            if (storage.HasVolume(pool, VolumeType.Container, name))
                storage.RemoveVolume(pool, VolumeType.Container, name, anyType: true);
            store.Write(() => store.DeleteContainerRow(id));
        }
        catch (Exception e) when (e is IOException or ContainerPSException)
        {
            log.Warning($"Could not undo the creation of container '{name}': {e.Message}. It is repaired when this process has exited.");
        }
    }

    public string ConsoleLog(string name) => paths.Runtime(records.Row(name).Name).ReadConsole();

    // ------------------------------------------------------------------ start / stop

    /// <summary>
    /// Starts a container; one stopped with Stop-Container -Stateful is restored from its saved state
    /// instead (the state is used once), unless <paramref name="stateless"/> discards it.
    /// </summary>
    public Container Start(string name, bool stateless = false)
    {
        using var _ = records.Lock(name);
        var row = records.ReadyRow(name);
        if (paths.Runtime(name).Inspect().IsRunning)
            throw new ContainerPSException(Errors.ContainerRunning, $"Container '{name}' is already running.", name);
        var saved = paths.StopStateDir(row);
        if (Directory.Exists(saved) && !stateless && !Criu.DumpFinished(saved))
        {
            log.Warning($"Container '{name}': the state saved by Stop-Container -Stateful is incomplete (its dump did not finish: was the command killed?); it is discarded and the container boots normally.");
            stateless = true;
        }
        if (Directory.Exists(saved) && !stateless)
        {
            try
            {
                launcher.Launch(row, CheckpointImage.Open(saved));
            }
            catch (ContainerPSException e) when (e.Code == Errors.RestoreFailed || e.Code == Errors.CheckpointNotFound || e.Code == Errors.InvalidCheckpoint)
            {
                throw new ContainerPSException(e.Code,
                    e.Message + "\nThe state saved by Stop-Container -Stateful is kept; Start-Container -Stateless boots the container normally and discards it.", name, e);
            }
            Directory.Delete(saved, recursive: true);
        }
        else
        {
            if (Directory.Exists(saved))
                Directory.Delete(saved, recursive: true);
            launcher.Launch(row, null);
        }
        return records.ToContainer(records.Row(name));
    }

    /// <summary>
    /// Stops a container: the stop signal, then SIGKILL after <paramref name="timeout"/> (at once with
    /// <paramref name="force"/>); with <paramref name="stateful"/> its running state is saved by CRIU instead.
    /// </summary>
    public Container Stop(string name, bool force, TimeSpan? timeout = null, bool stateful = false)
    {
        using var _ = records.Lock(name);
        var row = records.ReadyRow(name);
        var rt = paths.Runtime(name);
        var status = rt.Inspect();
        // Under the lock, Starting is a start whose launcher died: its monitor is ended like a broken one.
        if (status.State is RunState.Error or RunState.Starting)
        {
            launcher.CleanupRuntime(row, rt);
            return records.ToContainer(row);
        }
        if (!status.IsRunning)
        {
            launcher.ReleaseNetwork(row); // an init that exited by itself leaves its network to the next command
            throw new ContainerPSException(Errors.ContainerNotRunning, $"Container '{name}' is not running.", name);
        }
        if (stateful)
        {
            checkpoints.StopStateful(row, rt);
            return records.ToContainer(row);
        }
        if (!force)
        {
            var signal = row.Config.GetValueOrDefault("boot.stop.signal") ?? row.Config.GetValueOrDefault("image.stop.signal") ?? ImageInit.DefaultStopSignal;
            launcher.Kill(row, signal);
            if (rt.WaitStopped(timeout ?? TimeSpan.FromSeconds(30)))
            {
                rt.MarkStopped(signal, killed: false);
                launcher.ReleaseNetwork(row);
                return records.ToContainer(row);
            }
            log.Warning($"Container '{name}' did not shut down within {(timeout ?? TimeSpan.FromSeconds(30)).TotalSeconds:0} s after {signal}; killing it.");
        }
        launcher.Kill(row, "KILL");
        if (!rt.WaitStopped(TimeSpan.FromSeconds(15)))
        {
            launcher.CleanupRuntime(row, rt);
            if (rt.Inspect().IsRunning)
                throw new ContainerPSException(Errors.ContainerStopFailed, $"Container '{name}' did not stop.", name);
        }
        else
            rt.MarkStopped("SIGKILL", killed: true);
        launcher.ReleaseNetwork(row);
        return records.ToContainer(row);
    }

    public Container Wait(string name, string state, TimeSpan timeout, CancellationToken cancel = default)
    {
        var clock = Stopwatch.StartNew();
        while (true)
        {
            var c = Get(name);
            if (string.Equals(c.State, state, StringComparison.OrdinalIgnoreCase))
                return c;
            if (clock.Elapsed >= timeout)
                throw new ContainerPSException(Errors.WaitTimeout, $"Container '{name}' is {c.State}, not {state}, after {timeout.TotalSeconds:0} s.", name);
            cancel.WaitHandle.WaitOne(20);
            cancel.ThrowIfCancellationRequested();
        }
    }

    // ------------------------------------------------------------------ remove / rename

    public void Remove(string name, bool force)
    {
        using var l = records.Lock(name);
        RemoveHeld(records.ReadyRow(name), force);
        l.DeleteFile(); // no lock file is left for a name that no longer exists
    }

    /// <summary>Remove-Container with the container's lock held.</summary>
    internal void RemoveHeld(ContainerRow row, bool force)
    {
        var name = row.Name;
        if (paths.Runtime(name).Inspect().IsRunning && !force)
            throw new ContainerPSException(Errors.ContainerRunning, $"Container '{name}' is running; stop it first or use -Force.", name);
        KillHeld(row);
        if (!store.Write(() => store.Claim("containers", row.Id, RowState.Deleting)))
            throw ContainerPSException.Busy($"Container '{name}'", Errors.ContainerBusy);
        FinishRemove(row);
    }

    /// <summary>Ends a running container's processes (also frozen ones) and its exec relays, with its lock held.</summary>
    internal void KillHeld(ContainerRow row)
    {
        var rt = paths.Runtime(row.Name);
        if (!rt.Inspect().IsRunning)
            return;
        launcher.Kill(row, "KILL");
        rt.WaitStopped(TimeSpan.FromSeconds(15));
        launcher.EndExecHelpers(row, rt); // only a running container has them: no /proc scan otherwise
    }

    internal void FinishRemove(ContainerRow row)
    {
        var rt = paths.Runtime(row.Name);
        launcher.CleanupRuntime(row, rt);
        if (Directory.Exists(rt.Path))
            Directory.Delete(rt.Path, recursive: true);
        foreach (var snap in store.Snapshots(row.Id))
            if (storage.HasVolume(row.Pool, VolumeType.Snapshot, ContainerSnapshots.SnapshotVolume(row.Name, snap.Name)))
                storage.RemoveVolume(row.Pool, VolumeType.Snapshot, ContainerSnapshots.SnapshotVolume(row.Name, snap.Name), anyType: true);
        if (Directory.Exists(paths.CheckpointsDir(row)))
            Directory.Delete(paths.CheckpointsDir(row), recursive: true);
        if (storage.HasVolume(row.Pool, VolumeType.Container, row.Name))
            storage.RemoveVolume(row.Pool, VolumeType.Container, row.Name, anyType: true);
        FaultPoints.Hit("container.delete.after-disk");
        store.Write(() => store.DeleteContainerRow(row.Id));
    }

    public Container Rename(string name, string newName)
    {
        Names.Validate(newName, "container");
        if (newName == Names.Validate(name, "container"))
            return Get(name);
        // Both names are locked, always in the same order, so a->b and b->a cannot deadlock.
        var nameFirst = string.CompareOrdinal(name, newName) < 0;
        using var first = nameFirst ? records.Lock(name) : ContainerLock.Take(paths.Root, newName, ContainerRecords.LockWait);
        using var second = nameFirst ? ContainerLock.Take(paths.Root, newName, ContainerRecords.LockWait) : records.Lock(name);
        var row = records.ReadyRow(name);
        if (paths.Runtime(name).Inspect().IsRunning)
            throw new ContainerPSException(Errors.ContainerRunning, $"Container '{name}' is running; stop it before renaming.", name);
        if (store.Container(newName) is not null)
            throw new ContainerPSException(Errors.ContainerExists, $"Container '{newName}' already exists.", newName);
        launcher.CleanupRuntime(row, paths.Runtime(name));
        if (Directory.Exists(paths.Runtime(name).Path))
            Directory.Delete(paths.Runtime(name).Path, recursive: true);
        // Claimed first (state renaming, the new name kept): a rename cut short is finished by the repair.
        if (!store.Write(() => store.Claim("containers", row.Id, RowState.Renaming, newName)))
            throw ContainerPSException.Busy($"Container '{name}'", Errors.ContainerBusy);
        FinishRename(row, newName);
        (nameFirst ? first : second).DeleteFile(); // the old name's
        return Get(newName);
    }

    /// <summary>The disk steps of a rename (each volume renamed unless it already was), then the row, renamed and released.</summary>
    internal void FinishRename(ContainerRow row, string newName)
    {
        var name = row.Name;
        if (storage.HasVolume(row.Pool, VolumeType.Container, name))
            storage.RenameInternalVolume(row.Pool, VolumeType.Container, name, newName);
        FaultPoints.Hit("container.rename.after-volume");
        foreach (var snap in store.Snapshots(row.Id))
            if (storage.HasVolume(row.Pool, VolumeType.Snapshot, ContainerSnapshots.SnapshotVolume(name, snap.Name)))
                storage.RenameInternalVolume(row.Pool, VolumeType.Snapshot, ContainerSnapshots.SnapshotVolume(name, snap.Name), ContainerSnapshots.SnapshotVolume(newName, snap.Name));
        ContainerLauncher.WriteHostname(storage.VolumePath(row.Pool, VolumeType.Container, newName), newName);
        store.Write(() =>
        {
            store.RenameContainerRow(row.Id, newName);
            store.Release("containers", row.Id);
        });
    }

    /// <summary>
    /// What a container uses now (lxc info, podman stats): memory, CPU time and tasks of its cgroup,
    /// its interfaces' counters, its root volume's bytes. A container that does not run has null
    /// counters (its disk usage is still given); one that stops while it is read too.
    /// </summary>
    public ContainerState Usage(string name)
    {
        var row = records.Row(name);
        var (rt, state) = records.StatusOf(row);
        var pid = rt is { IsRunning: true, Pid: int p } ? p : (int?)null;
        var cgroup = pid is int cp ? ContainerUsage.ReadCgroup(cp) : null;
        var net = pid is int np ? ContainerUsage.ReadNetwork(np) : null;
        long? disk = null;
        if (row.State == RowState.Ready)
        {
            try { disk = storage.VolumeUsage(row.Pool, VolumeType.Container, row.Name); }
            catch (ContainerPSException e) { log.Verbose($"disk usage of container {row.Name}: {e.Message}"); }
        }
        return new ContainerState
        {
            Name = row.Name,
            State = state,
            Pid = pid,
            MemoryUsage = cgroup?.MemoryUsage,
            MemoryPeak = cgroup?.MemoryPeak,
            CpuTime = cgroup?.CpuTime,
            Processes = cgroup?.Processes,
            Network = net,
            RxBytes = net?.Where(i => !i.Loopback).Sum(i => i.RxBytes),
            TxBytes = net?.Where(i => !i.Loopback).Sum(i => i.TxBytes),
            RootDiskUsage = disk,
            Timestamp = DateTime.UtcNow,
        };
    }
}
