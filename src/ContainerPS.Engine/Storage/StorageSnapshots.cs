using static ContainerPS.Engine.Storage.StorageContext;

namespace ContainerPS.Engine.Storage;

/// <summary>
/// Snapshots of volumes: a custom volume's snapshots (taken, listed, restored, removed), and
/// putting any volume back to one of its snapshots (containers' too), crash safe.
/// </summary>
internal sealed class StorageSnapshots(StorageContext ctx, StorageVolumes volumes, StorageCopies copies)
{
    /// <summary>Takes a snapshot of a custom volume (a read-only copy: btrfs and zfs snapshots, RBD snapshots, cp -a on dir).</summary>
    public StorageVolumeSnapshot CreateVolumeSnapshot(string poolName, string volume, string name)
    {
        Names.Validate(name, "snapshot");
        var pool = Ready(ctx.PoolRow(poolName));
        Ready(ctx.VolumeRow(pool, VolumeType.Custom, volume));
        if (ctx.Store.Volume(pool.Id, VolumeType.CustomSnapshot, $"{volume}@{name}") is not null)
            throw new ContainerPSException(Errors.SnapshotExists, $"Snapshot '{name}' of storage volume '{poolName}/{volume}' already exists.", name);
        copies.CloneVolume(poolName, VolumeType.Custom, volume, poolName, VolumeType.CustomSnapshot, $"{volume}@{name}");
        return GetVolumeSnapshot(poolName, volume, name);
    }

    public IReadOnlyList<StorageVolumeSnapshot> ListVolumeSnapshots(string poolName, string volume)
    {
        var pool = ctx.PoolRow(poolName);
        ctx.VolumeRow(pool, VolumeType.Custom, volume);
        return ctx.SnapshotRows(pool, VolumeType.Custom, volume).Select(s => ToSnapshot(pool, volume, s)).ToList();
    }

    public StorageVolumeSnapshot GetVolumeSnapshot(string poolName, string volume, string name)
    {
        var pool = ctx.PoolRow(poolName);
        return ToSnapshot(pool, volume, SnapshotRow(pool, volume, name));
    }

    private VolumeRow SnapshotRow(PoolRow pool, string volume, string name)
    {
        ctx.VolumeRow(pool, VolumeType.Custom, volume);
        return ctx.Store.Volume(pool.Id, VolumeType.CustomSnapshot, $"{volume}@{name}")
               ?? throw new ContainerPSException(Errors.SnapshotNotFound, $"Snapshot '{name}' of storage volume '{pool.Name}/{volume}' not found.", name);
    }

    private StorageVolumeSnapshot ToSnapshot(PoolRow pool, string volume, VolumeRow s)
    {
        return new StorageVolumeSnapshot
        {
            Pool = pool.Name, Volume = volume, Name = s.Name[(volume.Length + 1)..], Used = ctx.Usage(pool, s), CreatedAt = s.CreatedAt,
        };
    }

    /// <summary>Puts a custom volume back to a snapshot; refused while the volume is mounted into a container.</summary>
    public void RestoreVolumeSnapshot(string poolName, string volume, string name)
    {
        var pool = ctx.PoolRow(poolName);
        var snap = SnapshotRow(pool, volume, name);
        var row = ctx.VolumeRow(pool, VolumeType.Custom, volume);
        if (ctx.Store.VolumeDevices(row.Id) is { Count: > 0 } users)
            throw StorageVolumes.VolumeInUse(poolName, VolumeType.Custom, volume, users.Select(u => u.Container), "Dismount-StorageVolume it before restoring a snapshot");
        RestoreVolume(poolName, VolumeType.CustomSnapshot, snap.Name, VolumeType.Custom, volume);
    }

    public void RemoveVolumeSnapshot(string poolName, string volume, string name)
    {
        var pool = ctx.PoolRow(poolName);
        volumes.RemoveVolume(poolName, VolumeType.CustomSnapshot, SnapshotRow(pool, volume, name).Name, anyType: true);
    }

    /// <summary>Replaces the content of a volume with that of another (a snapshot) in the same pool.</summary>
    public void RestoreVolume(string poolName, VolumeType fromType, string fromName, VolumeType type, string name)
    {
        var pool = Ready(ctx.PoolRow(poolName));
        var from = Ready(ctx.VolumeRow(pool, fromType, fromName));
        var target = ctx.Store.Write(() =>
        {
            var row = Ready(ctx.VolumeRow(pool, type, name));
            // Claimed as restoring from that snapshot: a restore cut short is done again by the repair.
            if (!ctx.Store.Claim("volumes", row.Id, RowState.Restoring, $"{fromType.Name()}/{fromName}"))
                throw ContainerPSException.Busy($"Storage volume '{poolName}/{type.Name()}/{name}'", Errors.VolumeBusy);
            return row;
        });
        try
        {
            ctx.AbandonOnFailure("volumes", target.Id, () => RestoreOnDisk(pool, from, target));
        }
        finally { ctx.Store.Write(() => ctx.Store.Release("volumes", target.Id)); }
    }

    /// <summary>The driver's restore (which can be run again after a crash half-way), and the record of the map the restored files are in.</summary>
    public void RestoreOnDisk(PoolRow pool, VolumeRow from, VolumeRow target)
    {
        ctx.Driver(pool.Driver).RestoreVolume(Ctx(pool), Ctx(from), Ctx(target));
        // The files came with the owners they have in the snapshot: so does the record of their id map.
        volumes.SetVolumeState(pool.Name, target.Type, target.Name, new Dictionary<string, string?>
        {
            [StorageService.IdmapLastKey] = from.Config.GetValueOrDefault(StorageService.IdmapLastKey), [StorageService.IdmapShiftingKey] = from.Config.GetValueOrDefault(StorageService.IdmapShiftingKey),
        });
    }

    /// <summary>
    /// Runs <paramref name="read"/> on a directory holding the volume's files: the volume's own (a
    /// snapshot's where the driver keeps them readable), else a temporary clone of the snapshot. The
    /// clone's row stays this process's until it is removed, so a crash leaves it to the repair.
    /// </summary>
    public void ReadVolumeFiles(string poolName, VolumeType type, string name, Action<string> read)
    {
        var pool = Ready(ctx.PoolRow(poolName));
        var source = Ready(ctx.VolumeRow(pool, type, name));
        var driver = ctx.Driver(pool.Driver);
        if (!VolumeTypes.IsSnapshot(type) || driver.SnapshotFilesReadable)
        {
            read(driver.MountVolume(Ctx(pool), Ctx(source)));
            return;
        }
        // A name no container can have (names start with a letter or digit).
        var temp = new VolumeContext("_read-" + Guid.NewGuid().ToString("n")[..16], VolumeType.Container, source.Config);
        var id = ctx.Store.Write(() => ctx.Store.InsertVolume(pool.Id, pool.Name, temp.Name, temp.Type, "", source.Config));
        try
        {
            driver.CopyVolume(Ctx(pool), Ctx(source), Ctx(pool), temp);
            read(driver.MountVolume(Ctx(pool), temp));
        }
        finally
        {
            if (ctx.Undo($"the temporary copy of volume {type.Name()}/{name}", () => driver.DeleteVolume(Ctx(pool), temp)))
                ctx.Store.Write(() => ctx.Store.DeleteVolumeRow(id));
        }
    }
}
