using ContainerPS.Engine.Migration;
using ContainerPS.Engine.Storage;

namespace ContainerPS.Engine.Runtime;

/// <summary>
/// What a move brings besides the running state, on the destination: the plan's snapshots and
/// volumes checked (the source may be hostile: every name is validated, every part name is made
/// here), and the archives unpacked into the container's filesystem, its snapshots (oldest first,
/// each a real snapshot of the pool's driver), its custom volumes (mounted as on the source) and a
/// stateful stop's saved state. Volumes that arrive carry a marker naming the move until the source
/// commits, so one a crash leaves without its container is removed by the next command.
/// </summary>
internal sealed class IncomingArchives(StateStore store, StorageService storage, ExternalTool tool, IEngineLog log, ContainerPaths paths)
{
    /// <summary>On a custom volume that arrived with a move not yet committed: the move's token.</summary>
    internal const string MoveMarker = "volatile.move.incoming";

    /// <summary>Checks what the plan says beyond the container itself (snapshots, volumes), before anything is created.</summary>
    /// <param name="containerPool">Where the container lands (the default pool, or the shared ceph pool its images are handed over in).</param>
    public void Check(MigrationPlan plan, string defaultPool, string containerPool)
    {
        if (plan.Shared is null ? plan.VolumeList.Any(v => v.HandedOver) : plan.RootfsFormat is not null)
            throw Invalid(plan, plan.Shared is null ? "it hands a volume over without a shared pool" : "a handed-over filesystem comes as a stream");
        var snapshots = plan.SnapshotList;
        foreach (var s in snapshots)
            Names.Validate(s.Name, "snapshot");
        if (snapshots.Select(s => s.Name).Distinct(StringComparer.Ordinal).Count() != snapshots.Count)
            throw Invalid(plan, "it names a snapshot twice");
        if (plan.Running && plan.StopState)
            throw Invalid(plan, "a running container has no stateful stop");
        if (plan.PreCopyRounds is < 0 or > MigrationPlan.MaxPreCopyRounds || plan.PreCopyRounds > 0 && (!plan.Running || plan.Shared is not null))
            throw Invalid(plan, $"it announces {plan.PreCopyRounds} pre-copy rounds");
        var targets = new HashSet<(string, string)>();
        foreach (var v in plan.VolumeList)
        {
            Names.Validate(v.Name, "storage volume");
            Names.Validate(v.Pool, "storage pool");
            Names.Validate(v.Device, "device");
            ContainerVolumes.CheckMountPath(v.Path);
            if (v.Size is { } size && !ByteSize.TryParse(size, out _))
                throw Invalid(plan, $"volume '{v.Name}' has the size '{Names.Printable(size)}'");
            var pool = TargetPool(v, defaultPool, containerPool);
            if (!targets.Add((pool, v.Name)))
                throw Invalid(plan, $"it names volume '{v.Name}' twice");
            if (storage.HasVolume(pool, VolumeType.Custom, v.Name))
                throw new ContainerPSException(Errors.VolumeExists,
                    $"Storage volume '{pool}/{v.Name}', mounted in container '{plan.Name}', already exists on the destination: rename or remove one of them first.", v.Name);
        }
        if (plan.VolumeList.Select(v => v.Device).Distinct(StringComparer.Ordinal).Count() != plan.VolumeList.Count
            || plan.VolumeList.Select(v => ContainerVolumes.CheckMountPath(v.Path)).Distinct(StringComparer.Ordinal).Count() != plan.VolumeList.Count)
            throw Invalid(plan, "two volumes have one device name or path");
    }

    private static ContainerPSException Invalid(MigrationPlan plan, string why) =>
        new(Errors.InvalidMigrationPlan, $"The migration plan of container '{plan.Name}' is not valid: {why}.", plan.Name);

    /// <summary>Where a volume lands: one handed over in the container's (shared) pool, else the pool of the same name when this host has one, else the default pool.</summary>
    public string TargetPool(MigrationVolume volume, string defaultPool, string containerPool) =>
        volume.HandedOver ? containerPool : store.Pool(volume.Pool) is not null ? volume.Pool : defaultPool;

    /// <summary>
    /// Unpacks the archives of <paramref name="dir"/>: the snapshots (the container volume is filled
    /// with each in turn and snapshotted by the driver), the filesystem, the volumes and a stateful
    /// stop's state. Any failure is rolled back by the caller (the container is still Creating).
    /// </summary>
    public void Unpack(ContainerRow row, MigrationPlan plan, string dir, string token, string defaultPool)
    {
        string Part(string part) => Path.Join(dir, part + ".tar");
        if (plan.Shared is not null)
            Adopt(row, plan, Part);
        else
            Copy(row, plan, Part);
        for (var i = 0; i < plan.VolumeList.Count; i++)
        {
            var v = plan.VolumeList[i];
            var pool = TargetPool(v, defaultPool, row.Pool);
            var config = new Dictionary<string, string>(v.HandedOver ? v.Config ?? new Dictionary<string, string>() : new Dictionary<string, string>()) { [MoveMarker] = token };
            if (v.Size is { } size)
                config["size"] = size;
            if (v.Idmap is { } map)
                config[StorageService.IdmapLastKey] = map;
            var archive = Part(MigrationPlan.VolumePart(i));
            if (v.HandedOver)
                storage.AdoptVolume(pool, VolumeType.Custom, v.Name, config); // its RBD image, handed over (SharedHandover)
            else
            {
                storage.CreateInternalVolume(pool, VolumeType.Custom, v.Name, config, path => Untar(archive, path));
                RemoveDeviceNodes($"volume '{pool}/{v.Name}'", storage.VolumePath(pool, VolumeType.Custom, v.Name));
            }
            var volumeId = storage.VolumeRecord(pool, VolumeType.Custom, v.Name).Id;
            store.Write(() => store.InsertDevice(row.Id, volumeId, v.Device, ContainerVolumes.CheckMountPath(v.Path), v.ReadOnly));
            FaultPoints.Hit("move.target.after-volume");
        }
        if (plan.StopState)
            Untar(Part(MigrationPlan.PartState), NewStateDir(row, paths.StopStateDir(row)));
    }

    /// <summary>The filesystem and its snapshots, copied: as the driver's stream (each snapshot the difference from the one before) or as tars.</summary>
    private void Copy(ContainerRow row, MigrationPlan plan, Func<string, string> part)
    {
        string? Snapshot(int i) => i < 0 ? null : ContainerSnapshots.SnapshotVolume(row.Name, plan.SnapshotList[i].Name);
        static Dictionary<string, string>? Stored(string? idmap) => idmap is { } m ? new Dictionary<string, string> { [StorageService.IdmapLastKey] = m } : null;
        var snapshots = plan.SnapshotList;
        var stream = plan.RootfsFormat is not null;
        for (var i = 0; i < snapshots.Count; i++)
        {
            var s = snapshots[i];
            if (!stream)
                Fill(row, part(MigrationPlan.SnapshotPart(i)), s.Idmap, first: i == 0);
            var id = store.Write(() => store.InsertSnapshot(row.Id, row.Name, s.Name, s.Stateful, s.CreatedAt));
            if (stream)
            {
                // A real snapshot of this pool's driver, sharing blocks with the one before.
                storage.ReceiveInternalVolume(row.Pool, VolumeType.Snapshot, Snapshot(i)!, Stored(s.Idmap), Received(part(MigrationPlan.SnapshotPart(i))), Snapshot(i - 1));
                storage.ReadVolumeFiles(row.Pool, VolumeType.Snapshot, Snapshot(i)!, files => RefuseDeviceNodes(row, s.Name, files));
            }
            else
                storage.CloneVolume(row.Pool, VolumeType.Container, row.Name, row.Pool, VolumeType.Snapshot, Snapshot(i)!);
            if (s.Stateful)
                Untar(part(MigrationPlan.SnapshotStatePart(i)), NewStateDir(row, paths.SnapshotStateDir(row, s.Name)));
            FaultPoints.Hit("move.target.after-snapshot");
            store.Write(() => store.Release("snapshots", id));
        }
        if (stream)
        {
            storage.ReceiveInternalVolume(row.Pool, VolumeType.Container, row.Name, Stored(plan.RootfsIdmap), Received(part(MigrationPlan.PartRootfs)), Snapshot(snapshots.Count - 1));
            RemoveDeviceNodes($"container '{row.Name}'", storage.VolumePath(row.Pool, VolumeType.Container, row.Name));
        }
        else
            Fill(row, part(MigrationPlan.PartRootfs), plan.RootfsIdmap, first: snapshots.Count == 0);
    }

    /// <summary>
    /// A container handed over on a shared ceph pool: its image and its snapshots (RBD snapshots of
    /// it) are recorded here as they are; only stateful snapshots' saved states arrive as archives.
    /// </summary>
    private void Adopt(ContainerRow row, MigrationPlan plan, Func<string, string> part)
    {
        Dictionary<string, string> Config(string? idmap)
        {
            var c = new Dictionary<string, string>(plan.Shared!.RootfsConfig ?? new Dictionary<string, string>());
            if (idmap is not null)
                c[StorageService.IdmapLastKey] = idmap;
            return c;
        }
        storage.AdoptVolume(row.Pool, VolumeType.Container, row.Name, Config(plan.RootfsIdmap));
        for (var i = 0; i < plan.SnapshotList.Count; i++)
        {
            var s = plan.SnapshotList[i];
            var id = store.Write(() => store.InsertSnapshot(row.Id, row.Name, s.Name, s.Stateful, s.CreatedAt));
            storage.AdoptVolume(row.Pool, VolumeType.Snapshot, ContainerSnapshots.SnapshotVolume(row.Name, s.Name), Config(s.Idmap));
            if (s.Stateful)
                Untar(part(MigrationPlan.SnapshotStatePart(i)), NewStateDir(row, paths.SnapshotStateDir(row, s.Name)));
            store.Write(() => store.Release("snapshots", id));
        }
    }

    /// <summary>Makes the container volume hold one archive's files: created from the first, emptied and refilled for the next ones.</summary>
    private void Fill(ContainerRow row, string archive, string? idmap, bool first)
    {
        // The files come with the owners they had on the source's storage, and so does the record of their map.
        if (first)
        {
            storage.CreateInternalVolume(row.Pool, VolumeType.Container, row.Name,
                idmap is { } m ? new Dictionary<string, string> { [StorageService.IdmapLastKey] = m } : null, path => Untar(archive, path));
        }
        else
        {
            var path = storage.VolumePath(row.Pool, VolumeType.Container, row.Name);
            tool.Run("find", new[] { path, "-mindepth", "1", "-delete" });
            Untar(archive, path);
            storage.SetVolumeState(row.Pool, VolumeType.Container, row.Name, new Dictionary<string, string?> { [StorageService.IdmapLastKey] = idmap });
        }
        RemoveDeviceNodes($"container '{row.Name}'", storage.VolumePath(row.Pool, VolumeType.Container, row.Name));
    }

    /// <summary>A filesystem that arrives brings no device nodes onto this host, as an image does not.</summary>
    private void RemoveDeviceNodes(string what, string root)
    {
        if (new Images.ImageFiles(tool).RemoveDeviceNodes(root) is { Count: > 0 } nodes)
            log.Warning($"The moved {what}: skipped {nodes.Count} device node(s) ({Images.ImageFiles.NameList(nodes)}).");
    }

    /// <summary>A snapshot that arrived as a driver stream is read-only: one holding device nodes is refused rather than kept.</summary>
    private void RefuseDeviceNodes(ContainerRow row, string snapshot, string files)
    {
        var r = tool.Execute("find", new[] { files, "-xdev", "(", "-type", "b", "-o", "-type", "c", ")", "-print", "-quit" }, null, null);
        if (r.ExitCode != 0 || r.StandardOutput.Length > 0)
            throw new ContainerPSException(Errors.MigrationDataFailed,
                $"Snapshot '{snapshot}' of the moved container '{row.Name}' holds device nodes{(r.ExitCode != 0 ? " (or cannot be searched)" : "")}, which a moved filesystem does not bring onto this host; " +
                "remove them in the container and take the snapshot again, or move it between pools of different drivers (as tars, without device nodes).", row.Name);
    }

    private string NewStateDir(ContainerRow row, string dir)
    {
        paths.EnsureCheckpointsDir(row);
        Directory.CreateDirectory(dir);
        return dir;
    }

    /// <summary>The source committed: the volumes mounted in the container are its own now (their move markers go).</summary>
    public void Keep(ContainerRow row)
    {
        foreach (var d in store.Devices(row.Id))
            if (storage.VolumeRecord(d.Pool, VolumeType.Custom, d.Volume).Config.ContainsKey(MoveMarker))
                storage.SetVolumeState(d.Pool, VolumeType.Custom, d.Volume, new Dictionary<string, string?> { [MoveMarker] = null });
    }

    /// <summary>The custom volumes mounted in an arriving container (all came with it: nothing else can be mounted in it before the commit).</summary>
    public List<(string Pool, string Volume)> Arrived(ContainerRow row) => store.Devices(row.Id).Select(d => (d.Pool, d.Volume)).ToList();

    /// <summary>Removes volumes that arrived with a container that is gone now (after <see cref="Arrived"/>), and those marked with a move no container names any more.</summary>
    public void RemoveLeft(IEnumerable<(string Pool, string Volume)> arrived)
    {
        var named = store.Containers().Select(c => c.OpArg).OfType<string>().ToList();
        var left = arrived.Concat(store.Volumes()
            .Where(v => v.Type == VolumeType.Custom && v.State == RowState.Ready && v.Config.TryGetValue(MoveMarker, out var t) && !named.Any(a => a.Contains(t, StringComparison.Ordinal)))
            .Select(v => (v.Pool, v.Name)));
        foreach (var (pool, volume) in left.Distinct())
        {
            if (!storage.HasVolume(pool, VolumeType.Custom, volume) || store.Volume(store.Pool(pool)!.Id, VolumeType.Custom, volume) is not { } v || store.VolumeDevices(v.Id).Count > 0)
                continue;
            storage.RemoveVolume(pool, VolumeType.Custom, volume);
            log.Verbose($"removed storage volume '{pool}/{volume}' of a move that did not finish");
        }
    }

    public void Untar(string archive, string into) =>
        tool.Run("tar", new[] { "--numeric-owner", "--xattrs", "--xattrs-include=*", "--acls", "--zstd", "-xpf", Received(archive), "-C", into });

    /// <summary>The path of an archive that arrived; ArchiveMissing when nothing was received for it.</summary>
    public static string Received(string archive) =>
        File.Exists(archive) ? archive
            : throw new ContainerPSException(Errors.ArchiveMissing, $"Nothing was received for {Path.GetFileName(archive)}.", archive);
}
