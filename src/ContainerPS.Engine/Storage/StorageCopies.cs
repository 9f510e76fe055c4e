using static ContainerPS.Engine.Storage.StorageContext;

namespace ContainerPS.Engine.Storage;

/// <summary>
/// Copies of volumes, within a pool or between pools: the driver's own copy between pools of one
/// driver, else cp -a between the drivers' mounted volumes; used for custom volume copies and the
/// engine's containers from images, copies and snapshots.
/// </summary>
internal sealed class StorageCopies(StorageContext ctx, StorageVolumes volumes)
{
    /// <summary>
    /// Makes <paramref name="type"/>/<paramref name="name"/> in <paramref name="targetPoolName"/> a copy of
    /// <paramref name="sourceType"/>/<paramref name="sourceName"/> in <paramref name="poolName"/> (any types;
    /// the driver clones where it can). Used for containers from images, container copies and snapshots.
    /// </summary>
    public StorageVolume CloneVolume(string poolName, VolumeType sourceType, string sourceName, string targetPoolName, VolumeType type, string name)
    {
        var pool = ctx.PoolRow(poolName);
        var source = Ready(ctx.VolumeRow(pool, sourceType, sourceName));
        var targetPool = Ready(ctx.PoolRow(targetPoolName));
        var driver = ctx.Driver(targetPool.Driver);
        var id = ctx.Store.Write(() =>
        {
            Ready(ctx.PoolRow(targetPoolName));
            return ctx.Store.InsertVolume(targetPool.Id, targetPool.Name, name, type, "", source.Config);
        });
        var vctx = new VolumeContext(name, type, source.Config);
        ctx.Complete(id, () => Copy(pool, source, targetPool, vctx),
            () => driver.DeleteVolume(Ctx(targetPool), vctx), "volume.copy.after-disk");
        return volumes.GetVolume(targetPoolName, type, name);
    }

    public StorageVolume CopyVolume(string poolName, VolumeType type, string name, string? targetPoolName, string? newName)
    {
        CustomOnly(type, name, "copied");
        var pool = Ready(ctx.PoolRow(poolName));
        var targetPool = targetPoolName is null ? pool : Ready(ctx.PoolRow(targetPoolName));
        var target = Names.Validate(newName ?? name, "storage volume");
        var source = Ready(ctx.VolumeRow(pool, VolumeType.Custom, name));
        if (targetPool.Id == pool.Id && target == name)
            throw new ContainerPSException(Errors.VolumeExists,
                $"Copying 'custom/{name}' onto itself: give -NewName or -TargetPool.", name);
        var driver = ctx.Driver(targetPool.Driver);

        var id = ctx.Store.Write(() =>
        {
            Ready(ctx.PoolRow(targetPool.Name));
            return ctx.Store.InsertVolume(targetPool.Id, targetPool.Name, target, VolumeType.Custom, source.Description, source.Config);
        });
        var vctx = new VolumeContext(target, VolumeType.Custom, source.Config);
        ctx.Complete(id, () => Copy(pool, source, targetPool, vctx),
            () => driver.DeleteVolume(Ctx(targetPool), vctx), "volume.copy.after-disk");
        return volumes.GetVolume(targetPool.Name, VolumeType.Custom, target);
    }

    /// <summary>
    /// Copies a volume into another pool or the same one: the driver's own copy between pools of one
    /// driver (a snapshot, btrfs send/receive, cp --reflink), else a new volume of the target driver
    /// filled by cp -a (owners, modes, times, hard links, xattrs, ACLs and file capabilities kept).
    /// </summary>
    private void Copy(PoolRow pool, VolumeRow source, PoolRow targetPool, VolumeContext target)
    {
        var to = ctx.Driver(targetPool.Driver);
        if (pool.Driver == targetPool.Driver)
        {
            to.CopyVolume(Ctx(pool), Ctx(source), Ctx(targetPool), target);
            return;
        }
        var from = ctx.Driver(pool.Driver);
        to.CreateVolume(Ctx(targetPool), target);
        try
        {
            ctx.Tool.Run("cp", new[] { "-a", "--no-target-directory", from.MountVolume(Ctx(pool), Ctx(source)), to.MountVolume(Ctx(targetPool), target) });
        }
        catch
        {
            ctx.Undo($"volume {target.Type.Name()}/{target.Name}", () => to.DeleteVolume(Ctx(targetPool), target));
            throw;
        }
    }
}
