using System.Text.Json;
using ContainerPS.Engine.State;
using ContainerPS.Engine.Platform;

namespace ContainerPS.Engine.Runtime;

/// <summary>
/// Steps of several changes on a container that stays Ready while they run (checkpoints, restores,
/// volume mounts and network changes of a running container, moves): each is recorded on the
/// container's row (op_arg, owned by this process) before its first change and cleared after its
/// last, so that when the process is killed in between, the next command finishes or undoes it
/// (<see cref="RepairSteps"/>) and says what it did.
/// </summary>
public sealed partial class ContainerService
{
    /// <summary>What a step records: its kind and what its repair needs.</summary>
    private sealed record Step(string Op, string? Dir = null, bool Owns = false, bool LeaveRunning = false,
        string? Name = null, long VolumeId = 0, string? Target = null, string? Phase = null)
    {
        public const string Checkpoint = "checkpoint", StatefulStop = "stateful-stop", Restore = "restore", Mount = "mount",
            Dismount = "dismount", Connect = "connect", Disconnect = "disconnect", MoveOut = "move-out", Incoming = "incoming";
    }

    /// <summary>Records <paramref name="step"/> on the container's row (the container's lock is held).</summary>
    private void BeginStep(ContainerRow row, Step step)
    {
        if (!store.Write(() => store.BeginStep(row.Id, JsonSerializer.Serialize(step))))
            throw ContainerPSException.Busy($"Container '{row.Name}'", Errors.ContainerBusy);
    }

    private void UpdateStep(ContainerRow row, Step step) => store.Write(() => store.UpdateStep(row.Id, JsonSerializer.Serialize(step)));

    /// <summary>The step recorded on a row, or null (none, or an incoming row's bare token).</summary>
    private static Step? StepOf(ContainerRow row)
    {
        if (row.OpArg is not { Length: > 0 } arg || arg[0] != '{')
            return null;
        try { return JsonSerializer.Deserialize<Step>(arg); }
        catch (JsonException) { return null; }
    }

    private void EndStep(ContainerRow row) => store.Write(() => store.Release("containers", row.Id));

    /// <summary>Runs <paramref name="work"/> as a recorded step; the record ends with it, done or failed (a failure undoes its own changes).</summary>
    private T InStep<T>(ContainerRow row, Step step, Func<T> work)
    {
        BeginStep(row, step);
        try { return work(); }
        finally { EndStep(row); }
    }

    private void InStep(ContainerRow row, Step step, Action work) => InStep(row, step, () => { work(); return 0; });

    /// <summary>Finishes or undoes the steps whose process died; a container busy with another command is left to a later one.</summary>
    private void RepairSteps(IReadOnlyList<ContainerRow> rows)
    {
        foreach (var c in rows.Where(c => c.State == RowState.Ready && c.OpArg is not null && c.Owner is { IsAlive: false }))
        {
            var step = StepOf(c);
            // A runc checkpoint whose caller was killed goes on: its end is waited for by a later command.
            if (step?.Op is Step.Checkpoint or Step.StatefulStop or Step.MoveOut && HostProcesses.RuncRunning(RuncRoot, "checkpoint", Runtime(c.Name).RuncId(c.Name)))
                continue;
            ContainerLock l;
            try { l = ContainerLock.Take(root, c.Name, TimeSpan.Zero); }
            catch (ContainerPSException) { continue; }
            using (l)
            {
                if (!store.Write(() => store.TakeOver("containers", c.Id, c.Owner!.Value)))
                    continue;
                try
                {
                    var what = step?.Op switch
                    {
                        Step.Checkpoint or Step.StatefulStop => RepairDump(c, step),
                        Step.Restore => RepairRestore(c, step),
                        Step.Mount or Step.Dismount => RepairMount(c, step),
                        Step.Connect or Step.Disconnect => RepairNetworkStep(c, step),
                        Step.MoveOut => RepairMoveOut(c, step),
                        Step.Incoming => RepairIncoming(c, step),
                        _ => $"forgot an unknown operation on container '{c.Name}'",
                    };
                    if (store.Container(c.Name) is { } still && still.Id == c.Id)
                        EndStep(c);
                    log.Warning($"Repaired an interrupted operation: {what}.");
                }
                catch (Exception e) when (e is IOException or ContainerPSException)
                {
                    log.Warning($"Could not repair the interrupted operation on container '{c.Name}': {e.Message}. A later command will try again.");
                }
            }
        }
    }
}
