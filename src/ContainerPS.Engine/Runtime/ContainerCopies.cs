using ContainerPS.Engine.Migration;
using ContainerPS.Engine.Network;
using ContainerPS.Engine.Storage;

namespace ContainerPS.Engine.Runtime;

/// <summary>
/// Copy-Container (incus copy): a container, stopped or running, or one of its snapshots, copied to
/// a new stopped container with its own name, hostname, addresses and id map. A running source is
/// frozen (runc pause, the cgroup freezer) while its rootfs is cloned, so the copy holds the
/// filesystem of one instant, as a power cut would leave it, and the source's processes run on with
/// the same pids. With stateful, a CRIU dump taken while it is frozen (leave-running) becomes the
/// copy's saved stop state, so that Start-Container of the copy restores the processes there; of a
/// source stopped with Stop-Container -Stateful, its saved state is copied (incus copy keeps it).
/// The source's part is a recorded step (<see cref="ContainerStep.Copy"/>): a process killed while
/// the source is frozen leaves it to <see cref="RepairCopy"/>, which thaws it; the copy's row stays
/// Creating until the copy is whole, so a killed copy is removed as an unfinished creation.
/// </summary>
public sealed class ContainerCopies
{
    private readonly StateStore store;
    private readonly StorageService storage;
    private readonly NetworkService networks;
    private readonly ContainerRecords records;
    private readonly ContainerPaths paths;
    private readonly ContainerIdmaps idmaps;
    private readonly ContainerLauncher launcher;
    private readonly ContainerSnapshots snapshots;
    private readonly ContainerCheckpoints checkpoints;
    private readonly ContainerService containers;

    internal ContainerCopies(StateStore store, StorageService storage, NetworkService networks, ContainerRecords records, ContainerPaths paths,
        ContainerIdmaps idmaps, ContainerLauncher launcher, ContainerSnapshots snapshots, ContainerCheckpoints checkpoints, ContainerService containers)
    {
        this.store = store;
        this.storage = storage;
        this.networks = networks;
        this.records = records;
        this.paths = paths;
        this.idmaps = idmaps;
        this.launcher = launcher;
        this.snapshots = snapshots;
        this.checkpoints = checkpoints;
        this.containers = containers;
    }

    /// <summary>
    /// Copies container <paramref name="name"/> (running or not), or its snapshot <paramref name="snapshot"/>,
    /// to a new stopped container <paramref name="newName"/> in <paramref name="targetPool"/> (default: the
    /// source's pool). With <paramref name="stateful"/> the running source's processes, or the state
    /// saved by its stateful stop, are copied too (see the class); a source on a network or with an
    /// isolated id map is refused then.
    /// </summary>
    public Container Copy(string name, string? snapshot, string newName, string? targetPool, bool stateful = false)
    {
        Names.Validate(newName, "container");
        if (stateful && snapshot is not null)
            throw new ContainerPSException(Errors.InvalidCheckpointTarget,
                $"A stateful copy is of the running container '{name}', not of its snapshot '{snapshot}'.", name);
        using var _ = records.Lock(name); // nothing starts, stops or checkpoints the source meanwhile
        var row = records.ReadyRow(name);
        var rt = paths.Runtime(name);
        var running = snapshot is null && rt.Inspect().IsRunning;
        if (snapshot is not null)
            snapshots.SnapshotRowOf(row, snapshot);
        if (stateful)
            CheckStateful(row, running);
        if (store.Container(newName) is not null)
            throw new ContainerPSException(Errors.ContainerExists, $"Container '{newName}' already exists.", newName);
        var pool = targetPool ?? row.Pool;
        var poolRow = store.Pool(pool) ?? throw ContainerPSException.PoolNotFound(pool);
        var cfg = new SortedDictionary<string, string>(row.Config, StringComparer.Ordinal);
        if (!stateful)
            cfg.Remove(ContainerIdmaps.IdmapCurrentKey); // the copy has not run yet; a stateful one is restored in the map it was dumped in
        var id = store.Write(() =>
        {
            (long Base, long Size)? alloc = row.Privileged ? null : idmaps.AllocateBase(cfg, null, null, newName);
            return store.InsertContainer(newName, row.Image, poolRow.Id, row.Privileged, row.Isolated, alloc?.Base, alloc?.Size, cfg);
        });
        try
        {
            var copy = store.Container(newName)!;
            if (running)
                CloneRunning(row, rt, copy, pool, stateful);
            else if (snapshot is null)
            {
                storage.CloneVolume(row.Pool, VolumeType.Container, name, pool, VolumeType.Container, newName);
                if (stateful)
                    CopySavedState(row, copy);
            }
            else
                storage.CloneVolume(row.Pool, VolumeType.Snapshot, ContainerSnapshots.SnapshotVolume(name, snapshot), pool, VolumeType.Container, newName);
            ContainerLauncher.WriteHostname(storage.VolumePath(pool, VolumeType.Container, newName), newName);
            foreach (var a in networks.Memberships(row.Id)) // same networks and interfaces; addresses are the copy's own
                networks.AddMembership(copy, a.Network, a.IfName, AttachOptions.None);
            FaultPoints.Hit("container.copy.before-release");
            store.Write(() =>
            {
                foreach (var d in store.Devices(row.Id)) // the same volumes at the same paths, as incus copy keeps devices
                    store.InsertDevice(copy.Id, d.VolumeId, d.Name, d.Path, d.ReadOnly);
                store.Release("containers", id);
            });
        }
        catch
        {
            containers.UndoCreate(id, pool, newName);
            throw;
        }
        return records.Get(newName);
    }

    /// <summary>
    /// Why a stateful copy of <paramref name="row"/> could not be right, as an error: the copy gets
    /// addresses of its own, but CRIU restores sockets bound to the source's (and the source keeps
    /// them); an isolated id map is the copy's own range, but the processes were dumped in the source's.
    /// </summary>
    private void CheckStateful(ContainerRow row, bool running)
    {
        if (!running && !(Directory.Exists(paths.StopStateDir(row)) && Criu.DumpFinished(paths.StopStateDir(row))))
            throw new ContainerPSException(Errors.ContainerNotRunning,
                $"Container '{row.Name}' is not running and holds no state saved by Stop-Container -Stateful: -Stateful copies its processes. Copy it without -Stateful.", row.Name);
        if (networks.Memberships(row.Id) is { Count: > 0 } nets)
            throw new ContainerPSException(Errors.StatefulCopyNetworked,
                $"Container '{row.Name}' is on network(s) {string.Join(", ", nets.Select(n => $"'{n.Network}'"))}: a stateful copy would restore its sockets " +
                "bound to the source's addresses, which the source keeps and the copy does not get. Copy it without -Stateful (the copy boots afresh), " +
                "or Move-Container it, which keeps its addresses.", row.Name);
        if (row.Isolated)
            throw new ContainerPSException(Errors.StatefulCopyIsolatedIdmap,
                $"Container '{row.Name}' has an isolated id map: its copy gets a range of its own, but the processes were dumped in the source's. Copy it without -Stateful.", row.Name);
        ContainerLauncher.CheckCriu();
    }

    /// <summary>
    /// Clones the rootfs of running container <paramref name="row"/> while it is frozen, and with
    /// <paramref name="stateful"/> dumps its processes (left running) into a directory of the source's
    /// that becomes the copy's saved stop state once whole. Recorded as a step on the source.
    /// </summary>
    private void CloneRunning(ContainerRow row, RuntimeDirectory rt, ContainerRow copy, string pool, bool stateful)
    {
        var runcId = rt.RuncId(row.Name);
        var dump = stateful ? Path.Join(paths.EnsureCheckpointsDir(row), "copy-" + copy.Uuid) : null;
        records.BeginStep(row, new ContainerStep(ContainerStep.Copy, Dir: dump, Owns: true, LeaveRunning: true, Name: copy.Name));
        try
        {
            launcher.RunRunc("pause", runcId);
            try
            {
                FaultPoints.Hit("container.copy.after-pause");
                if (dump is not null)
                {
                    checkpoints.Dump(row, rt, dump, leaveRunning: true, ownsDirectory: true);
                    FaultPoints.Hit("container.copy.after-dump");
                }
                storage.CloneVolume(row.Pool, VolumeType.Container, row.Name, pool, VolumeType.Container, copy.Name);
            }
            finally
            {
                launcher.RunRunc("resume", runcId);
            }
            if (dump is not null)
                AdoptDump(dump, copy);
        }
        catch
        {
            if (dump is not null && Directory.Exists(dump))
                Directory.Delete(dump, recursive: true);
            throw;
        }
        finally
        {
            records.EndStep(row);
        }
    }

    /// <summary>
    /// The state saved by the stateful stop of <paramref name="row"/>, copied (not linked: the copy's
    /// record and hostname are written into it) to be the copy's; below the copy's checkpoints
    /// directory, which goes with the copy's row if the copy fails or is killed.
    /// </summary>
    private void CopySavedState(ContainerRow row, ContainerRow copy)
    {
        var temp = Path.Join(paths.EnsureCheckpointsDir(copy), "copy-" + row.Uuid);
        CheckpointStage.CopyTree(paths.StopStateDir(row), temp, hardLinks: false); // the copy's images are rewritten (hostname)
        AdoptDump(temp, copy);
    }

    /// <summary>
    /// Makes the source's dump the copy's saved stop state: recorded as the copy's (its name and uuid;
    /// no addresses, as the copy is on no network), with the copy's hostname in its UTS namespace.
    /// </summary>
    private void AdoptDump(string dump, ContainerRow copy)
    {
        CheckpointImage.Write(dump, copy.Name, copy.Uuid, new Dictionary<string, InterfaceIdentity>());
        UtsImage.SetHostname(dump, copy.Name);
        paths.EnsureCheckpointsDir(copy);
        Directory.Move(dump, paths.StopStateDir(copy));
    }

    /// <summary>
    /// A copy of a running container whose process died (the copy itself, still Creating, is removed
    /// as an unfinished creation): the source, if left frozen, is thawed, and a dump for the copy removed.
    /// </summary>
    internal string RepairCopy(ContainerRow row, ContainerStep step)
    {
        var rt = paths.Runtime(row.Name);
        var thawed = rt.Inspect().IsRunning && launcher.ThawIfPaused(row, rt) ? "; the container, left frozen, runs again" : "; the container runs on";
        if (step.Dir is { } dir && Directory.Exists(dir))
            Directory.Delete(dir, recursive: true);
        return $"rolled back the unfinished copy of container '{row.Name}' to '{step.Name}'{thawed}";
    }
}
