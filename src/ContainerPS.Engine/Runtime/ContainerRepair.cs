namespace ContainerPS.Engine.Runtime;

/// <summary>
/// Repairs what a dead process left half-done, at the start of every command: snapshots, the
/// recorded steps of changes on Ready containers (each finished or undone by the service it
/// belongs to), creations, renames and removals, and incoming moves nobody names any more.
/// </summary>
internal sealed class ContainerRepair(StateStore store, IEngineLog log, ContainerPaths paths, ContainerRecords records,
    ContainerService containers, ContainerSnapshots snapshots, ContainerCheckpoints checkpoints, ContainerVolumes volumes,
    ContainerNetworks containerNetworks, OutgoingMoves outgoing, IncomingMoves incoming, ContainerCopies copies)
{
    /// <summary>Finishes or rolls back what processes that died left half-done (see the class).</summary>
    public void Run()
    {
        if (store.AnyUnfinished("containers", "snapshots"))
            RepairRows();
        incoming.RemoveLeftIncoming();
    }

    private void RepairRows()
    {
        snapshots.RepairSnapshots();
        var rows = store.Containers(); // one read for both scans: this runs at every command's start
        RepairSteps(rows);
        foreach (var c in rows.Where(c => c.State != RowState.Ready && c.Owner is { IsAlive: false }))
        {
            if (!store.Write(() => store.TakeOver("containers", c.Id, c.Owner!.Value)))
                continue;
            try
            {
                if (c.State == RowState.Creating)
                    containers.UndoCreate(c.Id, c.Pool, c.Name);
                else if (c.State == RowState.Renaming && c.OpArg is { } newName && store.Container(newName) is null)
                    containers.FinishRename(c, newName);
                else if (c.State == RowState.Renaming)
                    containers.FinishRename(c with { Name = c.OpArg! }, c.Name); // the new name was taken meanwhile: back to the old one
                else
                    containers.FinishRemove(c);
                var what = c.State switch
                {
                    RowState.Creating => "rolled back the unfinished creation",
                    RowState.Renaming => $"finished the unfinished rename to '{c.OpArg}'",
                    _ => "finished the unfinished removal",
                };
                log.Warning($"Repaired an interrupted operation: {what} of container '{c.Name}'.");
            }
            catch (Exception e) when (e is IOException or ContainerPSException)
            {
                log.Warning($"Could not repair the interrupted operation on container '{c.Name}': {e.Message}. A later command will try again.");
            }
        }
    }

    /// <summary>Finishes or undoes the steps whose process died; a container busy with another command is left to a later one.</summary>
    private void RepairSteps(IReadOnlyList<ContainerRow> rows)
    {
        foreach (var c in rows.Where(c => c.State == RowState.Ready && c.OpArg is not null && c.Owner is { IsAlive: false }))
        {
            var step = ContainerRecords.StepOf(c);
            // A runc checkpoint whose caller was killed goes on: its end is waited for by a later command.
            // (Not a post-copy page server nobody fetched from yet: it would wait for ever, so the repair ends it.)
            if (step?.Op is ContainerStep.Checkpoint or ContainerStep.StatefulStop or ContainerStep.MoveOut or ContainerStep.Copy
                && step.Phase != OutgoingMoves.MoveServing && HostProcesses.RuncRunning(paths.RuncRoot, "checkpoint", paths.Runtime(c.Name).RuncId(c.Name)))
                continue;
            ContainerLock l;
            try { l = ContainerLock.Take(paths.Root, c.Name, TimeSpan.Zero); }
            catch (ContainerPSException) { continue; }
            using (l)
            {
                if (!store.Write(() => store.TakeOver("containers", c.Id, c.Owner!.Value)))
                    continue;
                try
                {
                    var what = step?.Op switch
                    {
                        ContainerStep.Checkpoint or ContainerStep.StatefulStop => checkpoints.RepairDump(c, step),
                        ContainerStep.Restore => checkpoints.RepairRestore(c, step),
                        ContainerStep.Mount or ContainerStep.Dismount => volumes.RepairMount(c, step),
                        ContainerStep.Connect or ContainerStep.Disconnect => containerNetworks.RepairNetworkStep(c, step),
                        ContainerStep.MoveOut => outgoing.RepairMoveOut(c, step),
                        ContainerStep.Incoming => incoming.RepairIncoming(c, step),
                        ContainerStep.Copy => copies.RepairCopy(c, step),
                        _ => $"forgot an unknown operation on container '{c.Name}'",
                    };
                    if (store.Container(c.Name) is { } still && still.Id == c.Id)
                        records.EndStep(c);
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
