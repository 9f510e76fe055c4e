using System.Text.Json;
using ContainerPS.Engine.Network;

namespace ContainerPS.Engine.Runtime;

/// <summary>
/// The containers' records: rows read and shown as <see cref="Container"/> objects, the
/// per-container lock, and the steps of changes on a container that stays Ready while they run
/// (checkpoints, restores, volume mounts and network changes of a running container, moves): each
/// is recorded on the container's row (op_arg, owned by this process) before its first change and
/// cleared after its last, so that when the process is killed in between, the next command
/// finishes or undoes it (<see cref="ContainerRepair"/>) and says what it did.
/// </summary>
internal sealed class ContainerRecords(StateStore store, ContainerPaths paths, ContainerIdmaps idmaps, NetworkService networks)
{
    internal static readonly TimeSpan LockWait = TimeSpan.FromSeconds(60);

    public IReadOnlyList<Container> List() => store.Containers().Select(ToContainer).ToList();

    public Container Get(string name) => ToContainer(Row(name));

    internal ContainerRow Row(string name) =>
        store.Container(name) ?? throw ContainerPSException.ContainerNotFound(name);

    /// <summary>What the runtime files say of a ready container (null while it is being created or removed), and the state shown for it.</summary>
    internal (RuntimeStatus? Runtime, string State) StatusOf(ContainerRow row)
    {
        var rt = row.State == RowState.Ready ? paths.Runtime(row.Name).Inspect() : null;
        return (rt, (rt?.State.ToString() ?? row.State.ToString()));
    }

    internal Container ToContainer(ContainerRow row)
    {
        var (rt, state) = StatusOf(row);
        return new Container
        {
            Name = row.Name,
            State = state,
            Pid = rt?.Pid,
            Image = row.Image,
            Pool = row.Pool,
            Idmap = idmaps.MapOf(row)?.ToString() ?? "privileged",
            Privileged = row.Privileged || ContainerIdmaps.HasUnsafeMap(row),
            CreatedAt = row.CreatedAt,
            LastStartedAt = row.LastStartedAt,
            Config = new SortedDictionary<string, string>(row.Config, StringComparer.Ordinal),
            Devices = store.Devices(row.Id).Select(ToDevice).ToArray(),
            Network = networks.Memberships(row.Id).Select(NetworkService.ToAttachment).ToArray(),
            StatusReason = rt?.Reason,
            Stateful = Directory.Exists(paths.StopStateDir(row)),
            LastExitCode = rt?.ExitCode,
        };
    }

    internal static ContainerDevice ToDevice(DeviceRow d) => new()
    {
        Container = d.Container, Name = d.Name, Pool = d.Pool, Volume = d.Volume, Path = d.Path, ReadOnly = d.ReadOnly,
    };

    /// <summary>
    /// Takes the container's lock after checking the name and that the container exists (so a bad
    /// name never becomes a lock file), and waits out a monitor that is still recording an exit.
    /// </summary>
    internal ContainerLock Lock(string name)
    {
        Row(Names.Validate(name, "container"));
        var l = ContainerLock.Take(paths.Root, name, LockWait);
        if (paths.Runtime(name).Inspect().State == RunState.Stopping)
            paths.Runtime(name).WaitStopped(TimeSpan.FromSeconds(15));
        return l;
    }

    internal ContainerRow ReadyRow(string name)
    {
        var row = Row(name);
        // Not Ready, or Ready with a step of another live process under way (a move between its calls).
        if (row.State != RowState.Ready || row.Owner is { IsAlive: true } owner && owner != ProcessIdentity.Current)
            throw ContainerPSException.Busy($"Container '{name}'", Errors.ContainerBusy);
        return row;
    }

    /// <summary>Records <paramref name="step"/> on the container's row (the container's lock is held).</summary>
    internal void BeginStep(ContainerRow row, ContainerStep step)
    {
        if (!store.Write(() => store.BeginStep(row.Id, JsonSerializer.Serialize(step))))
            throw ContainerPSException.Busy($"Container '{row.Name}'", Errors.ContainerBusy);
    }

    internal void UpdateStep(ContainerRow row, ContainerStep step) => store.Write(() => store.UpdateStep(row.Id, JsonSerializer.Serialize(step)));

    /// <summary>The step recorded on a row, or null (none, or an incoming row's bare token).</summary>
    internal static ContainerStep? StepOf(ContainerRow row)
    {
        if (row.OpArg is not { Length: > 0 } arg || arg[0] != '{')
            return null;
        try { return JsonSerializer.Deserialize<ContainerStep>(arg); }
        catch (JsonException) { return null; }
    }

    internal void EndStep(ContainerRow row) => store.Write(() => store.Release("containers", row.Id));

    /// <summary>Runs <paramref name="work"/> as a recorded step; the record ends with it, done or failed (a failure undoes its own changes).</summary>
    internal T InStep<T>(ContainerRow row, ContainerStep step, Func<T> work)
    {
        BeginStep(row, step);
        try { return work(); }
        finally { EndStep(row); }
    }

    internal void InStep(ContainerRow row, ContainerStep step, Action work) => InStep(row, step, () => { work(); return 0; });
}
