using static ContainerPS.Engine.Storage.StorageContext;

namespace ContainerPS.Engine.Storage;

/// <summary>
/// The repair of storage operations whose process died half-way: pools and volumes whose rows
/// still name a dead owner are rolled back or finished.
/// </summary>
internal sealed class StorageRepair(StorageContext ctx, StorageSnapshots snapshots)
{
    /// <summary>
    /// Finishes or undoes operations whose process died half-way (SIGKILL, crash, power loss): a
    /// create or copy is rolled back, a delete is finished, a rename is completed or reverted
    /// according to what is on disk. Called whenever a host is opened; cheap when nothing is pending.
    /// </summary>
    public IReadOnlyList<string> RepairInterrupted()
    {
        var done = new List<string>();
        if (!ctx.Store.AnyUnfinished("pools", "volumes"))
            return done;
        foreach (var v in ctx.Store.Volumes().Where(v => v.State != RowState.Ready && v.Owner is { IsAlive: false }))
        {
            if (!ctx.Store.Write(() => ctx.Store.TakeOver("volumes", v.Id, v.Owner!.Value)))
                continue;
            var pool = ctx.Store.Pool(v.PoolId)!;
            var driver = ctx.Driver(pool.Driver);
            var what = $"storage volume '{pool.Name}/{v.Type.Name()}/{v.Name}'";
            TryRepair(what, () => RepairVolume(pool, driver, v, what, done));
        }
        foreach (var p in ctx.Store.Pools().Where(p => p.State != RowState.Ready && p.Owner is { IsAlive: false }))
        {
            if (!ctx.Store.Write(() => ctx.Store.TakeOver("pools", p.Id, p.Owner!.Value)))
                continue;
            TryRepair($"storage pool '{p.Name}'", () =>
            {
                ctx.Driver(p.Driver).DeletePool(Ctx(p));
                ctx.Store.Write(() =>
                {
                    foreach (var v in ctx.Store.Volumes(p.Id))
                        ctx.Store.DeleteVolumeRow(v.Id);
                    ctx.Store.DeletePoolRow(p.Id);
                });
                done.Add(p.State == RowState.Creating
                    ? $"rolled back the unfinished creation of storage pool '{p.Name}'"
                    : $"finished the unfinished removal of storage pool '{p.Name}'");
            });
        }
        foreach (var line in done)
            ctx.Log.Warning("Repaired an interrupted operation: " + line + ".");
        return done;
    }

    /// <summary>One repair; a failure is reported as a warning and retried by a later process (the row keeps a dead owner once this one exits).</summary>
    private void TryRepair(string what, Action repair)
    {
        try { repair(); }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or ContainerPSException)
        {
            ctx.Log.Warning($"Could not repair the interrupted operation on {what}: {e.Message}. A later command will try again.");
        }
    }

    private void RepairVolume(PoolRow pool, IStorageDriver driver, VolumeRow v, string what, List<string> done)
    {
        switch (v.State)
        {
            case RowState.Creating:
                driver.DeleteVolume(Ctx(pool), Ctx(v));
                ctx.Store.Write(() => ctx.Store.DeleteVolumeRow(v.Id));
                done.Add($"rolled back the unfinished creation of {what}");
                break;
            case RowState.Deleting:
                driver.DeleteVolume(Ctx(pool), Ctx(v));
                ctx.Store.Write(() => ctx.Store.DeleteVolumeRow(v.Id));
                done.Add($"finished the unfinished removal of {what}");
                break;
            case RowState.Renaming when v.OpArg is string newName:
                var renamed = !driver.VolumeExists(Ctx(pool), Ctx(v)) && driver.VolumeExists(Ctx(pool), Ctx(v) with { Name = newName });
                ctx.Store.Write(() =>
                {
                    if (renamed)
                        ctx.Store.RenameVolumeRow(v.Id, newName);
                    ctx.Store.Release("volumes", v.Id);
                });
                done.Add(renamed ? $"finished renaming {what} to '{newName}'" : $"reverted the unfinished rename of {what}");
                break;
            case RowState.Restoring when v.OpArg?.Split('/', 2) is [var fromType, var fromName] && VolumeTypes.TryParse(fromType, out var type) && ctx.Store.Volume(pool.Id, type, fromName) is { } from:
                snapshots.RestoreOnDisk(pool, from, v);
                ctx.Store.Write(() => ctx.Store.Release("volumes", v.Id));
                done.Add($"finished the unfinished restore of {what} from '{fromName}'");
                break;
            default:
                ctx.Store.Write(() => ctx.Store.Release("volumes", v.Id));
                done.Add($"released {what} from an unknown operation '{v.State}'");
                break;
        }
    }
}
