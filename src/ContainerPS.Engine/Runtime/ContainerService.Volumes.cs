using System.Diagnostics;
using System.Globalization;
using ContainerPS.Engine.Idmap;
using ContainerPS.Engine.State;
using ContainerPS.Engine.Storage;
using ContainerPS.Engine.Platform;

namespace ContainerPS.Engine.Runtime;

/// <summary>
/// Custom volumes mounted into containers, and how any volume (a rootfs too) is shown to a container.
/// By default each container gets its own idmapped mount of the volume: the files, stored with the
/// container's own ids (unshifted), are owned by container root in every container that mounts them,
/// whatever their maps (Incus's security.shifted=true). Where the storage refuses idmapped mounts
/// (overlayfs, FUSE such as zfs-fuse), LXD's rule applies instead: the files are shifted on disk to
/// the container's map by <see cref="IdShifter"/> (the map they are in is volatile.idmap.last of the
/// volume), and a volume may be shared only by containers with identical maps.
/// </summary>
public sealed partial class ContainerService
{
    private const string Unshifted = "unshifted";

    private static ContainerDevice ToDevice(DeviceRow d) => new()
    {
        Container = d.Container, Name = d.Name, Pool = d.Pool, Volume = d.Volume, Path = d.Path, ReadOnly = d.ReadOnly,
    };

    /// <summary>A mount path inside a container, normalised: absolute, no '..', no control characters, not '/'.</summary>
    public static string CheckMountPath(string? path)
    {
        static ContainerPSException Bad(string? p, string why) =>
            new(Errors.InvalidMountPath, $"Invalid mount path '{Names.Printable(p ?? "")}': {why}.", p);
        if (string.IsNullOrEmpty(path) || !path.StartsWith('/'))
            throw Bad(path, "it must be an absolute path inside the container");
        if (HostPath.HasControlCharacters(path))
            throw Bad(path, "it contains control characters");
        var parts = path.Split('/', StringSplitOptions.RemoveEmptyEntries).Where(p => p != ".").ToArray();
        if (parts.Contains(".."))
            throw Bad(path, "it must not contain '..'");
        if (parts.Length == 0)
            throw Bad(path, "a volume cannot be mounted over the container's root");
        return "/" + string.Join('/', parts);
    }

    /// <summary>Mount-StorageVolume: records the mount (persistent) and mounts it at once when the container runs.</summary>
    public ContainerDevice MountVolume(string pool, string volume, string container, string path, bool readOnly, string? deviceName = null)
    {
        var target = CheckMountPath(path);
        var name = Names.Validate(deviceName ?? volume, "device");
        using var _ = Lock(container);
        var row = ReadyRow(container);
        if (store.Pool(pool) is null)
            throw ContainerPSException.PoolNotFound(pool);
        var (volumeId, volumePath, volumeConfig) = storage.VolumeState(pool, VolumeTypes.Custom, volume);
        var devices = store.Devices(row.Id);
        if (devices.FirstOrDefault(d => d.VolumeId == volumeId) is { } same)
            throw new ContainerPSException(Errors.VolumeAlreadyMounted,
                $"Storage volume '{pool}/{volume}' is already mounted into container '{container}' at {same.Path}.", volume);
        if (devices.FirstOrDefault(d => d.Path == target) is { } taken)
            throw new ContainerPSException(Errors.MountPathInUse,
                $"Container '{container}' already has storage volume '{taken.Pool}/{taken.Volume}' mounted at {target}.", target);
        if (devices.Any(d => d.Name == name))
            throw new ContainerPSException(Errors.DeviceExists, $"Container '{container}' already has a device named '{name}'; give another -DeviceName.", name);

        var status = Runtime(container).Inspect();
        if (status is { IsRunning: true, Pid: int pid })
        {
            InStep(row, new Step(Step.Mount, Name: $"{pool}/{volume}", VolumeId: volumeId, Target: target), () =>
            {
                HotAttach(row, pid, pool, volume, volumeId, volumePath, volumeConfig, target, readOnly);
                FaultPoints.Hit("volume.mount.after-attach");
                try
                {
                    store.Write(() => store.InsertDevice(row.Id, volumeId, name, target, readOnly));
                }
                catch
                {
                    RunMountHelper("detach", pid, null, target, idmap: false, readOnly: false, out var _);
                    throw;
                }
            });
            return ToDevice(store.Devices(row.Id).Single(d => d.VolumeId == volumeId));
        }
        else
        {
            // Checked now, shifted (if it must be) when the container starts.
            var map = MapOf(row);
            // Idmapped (unshifted files, its own mount) it shares with anyone; else the rule, checked now.
            var idmappable = new Lazy<bool>(() => Mounts.CanIdmap(volumePath, map ?? SharedMap()));
            if (!(map is not null && LastMap(volumeConfig) is null && idmappable.Value))
                CheckShareable(row, map, pool, volumeId, volume, idmappable);
        }
        store.Write(() => store.InsertDevice(row.Id, volumeId, name, target, readOnly));
        return ToDevice(store.Devices(row.Id).Single(d => d.VolumeId == volumeId));
    }

    /// <summary>Dismount-StorageVolume: unmounts it from a running container and forgets the mount.</summary>
    public void DismountVolume(string pool, string volume, string container)
    {
        using var _ = Lock(container);
        var row = ReadyRow(container);
        if (store.Pool(pool) is null)
            throw ContainerPSException.PoolNotFound(pool);
        var (volumeId, _) = storage.VolumeRecord(pool, VolumeTypes.Custom, volume);
        var device = store.Devices(row.Id).FirstOrDefault(d => d.VolumeId == volumeId)
            ?? throw new ContainerPSException(Errors.VolumeNotMounted, $"Storage volume '{pool}/{volume}' is not mounted into container '{container}'.", volume);
        var rt = Runtime(container);
        InStep(row, new Step(Step.Dismount, Name: $"{pool}/{volume}", VolumeId: volumeId, Target: device.Path), () =>
        {
            if (rt.Inspect() is { IsRunning: true, Pid: int pid })
            {
                MountOk(RunMountHelper("detach", pid, null, device.Path, idmap: false, readOnly: false, out var err), err, container);
                File.WriteAllText(rt.HotMountsFile, "");
                FaultPoints.Hit("volume.dismount.after-detach");
            }
            store.Write(() => store.DeleteDevice(row.Id, volumeId));
        });
    }

    /// <summary>
    /// A hot mount or dismount whose process died: a mount not yet recorded is taken out of the
    /// container again; a dismount is finished (unmounted, forgotten).
    /// </summary>
    private string RepairMount(ContainerRow row, Step step)
    {
        var recorded = store.Devices(row.Id).Any(d => d.VolumeId == step.VolumeId);
        if (step.Op == Step.Mount && recorded)
            return $"finished the unfinished mount of storage volume '{step.Name}' into container '{row.Name}' at {step.Target}";
        if (Runtime(row.Name).Inspect() is { IsRunning: true, Pid: int pid })
            RunMountHelper("detach", pid, null, step.Target!, idmap: false, readOnly: false, out _); // not mounted (any more): nothing to do
        if (step.Op == Step.Mount)
            return $"rolled back the unfinished mount of storage volume '{step.Name}' into container '{row.Name}' at {step.Target}";
        store.Write(() => store.DeleteDevice(row.Id, step.VolumeId));
        return $"finished the unfinished dismount of storage volume '{step.Name}' from container '{row.Name}'";
    }

    /// <summary>Mounts a volume into a running container (cps-mount): idmapped with the container's own user namespace where the storage allows.</summary>
    private void HotAttach(ContainerRow row, int pid, string pool, string volume, long volumeId, string path, IReadOnlyDictionary<string, string> cfg,
        string target, bool readOnly)
    {
        cfg = FinishInterruptedShift(pool, VolumeTypes.Custom, volume, path, cfg);
        var map = CurrentMap(row) ?? MapOf(row);
        var clock = Stopwatch.StartNew();
        var how = "idmapped";
        var error = "";
        var code = map is not null && LastMap(cfg) is null ? RunMountHelper("attach", pid, path, target, idmap: true, readOnly, out error) : MountResult.CannotIdmap;
        if (code == MountResult.CannotIdmap)
        {
            how = "shifted";
            EnsureShifted(row, map, pool, VolumeTypes.Custom, volume, volumeId, path, cfg);
            code = RunMountHelper("attach", pid, path, target, idmap: false, readOnly, out error);
        }
        MountOk(code, error, row.Name);
        File.WriteAllText(Runtime(row.Name).HotMountsFile, "");
        log.Verbose($"mounted {pool}/{volume} at {target} in '{row.Name}' ({how}) in {clock.Elapsed.TotalMilliseconds:0.0} ms");
    }

    private enum MountResult { Ok, CannotIdmap, Failed }

    private static void MountOk(MountResult result, string error, string container)
    {
        if (result != MountResult.Ok)
            throw new ContainerPSException(Errors.MountFailed, $"Container '{container}': {error}", container);
    }

    private MountResult RunMountHelper(string verb, int pid, string? source, string target, bool idmap, bool readOnly, out string error)
    {
        var args = new List<string> { verb, "--pid", pid.ToString(CultureInfo.InvariantCulture), "--target", target };
        if (source is not null)
            args.AddRange(new[] { "--source", source });
        if (idmap)
            args.Add("--idmap");
        if (readOnly)
            args.Add("--readonly");
        var r = tool.Execute(NativePrograms.MountHelper, args, null, null, TimeSpan.FromSeconds(30));
        error = r.StandardError.Trim();
        return r.ExitCode switch { 0 => MountResult.Ok, 3 => MountResult.CannotIdmap, _ => MountResult.Failed };
    }

    /// <summary>
    /// Mounts a volume at <paramref name="target"/> on the host for a container with <paramref name="map"/>:
    /// an idmapped mount of its unshifted files, else (the storage refuses, or the files are already
    /// shifted) the files shifted to the map and a plain bind mount.
    /// </summary>
    private void PresentVolume(ContainerRow row, IdMapping? map, string pool, string type, string volume, string target)
    {
        var (volumeId, path, cfg) = storage.VolumeState(pool, type, volume);
        cfg = FinishInterruptedShift(pool, type, volume, path, cfg);
        if (map is not null && LastMap(cfg) is null)
        {
            try
            {
                Mounts.IdmappedBind(path, target, map);
                return;
            }
            catch (ContainerPSException e) when (e.Code == Errors.IdmapNotSupported)
            {
                log.Verbose($"{e.Message} Falling back to shifting the files of {pool}/{type}/{volume} on disk.");
            }
        }
        EnsureShifted(row, map, pool, type, volume, volumeId, path, cfg);
        Mounts.Bind(path, target);
    }

    private static IdMapping? LastMap(IReadOnlyDictionary<string, string> cfg) =>
        cfg.TryGetValue(StorageService.IdmapLastKey, out var v) && v.Length > 0 ? IdMapping.Deserialize(v) : null;

    /// <summary>Shifts a volume's files to <paramref name="map"/> unless they are in it, after checking no other container needs them in another map.</summary>
    private void EnsureShifted(ContainerRow row, IdMapping? map, string pool, string type, string volume, long volumeId, string path, IReadOnlyDictionary<string, string> cfg)
    {
        if (type == VolumeTypes.Custom)
            CheckShareable(row, map, pool, volumeId, volume, new Lazy<bool>(() => Mounts.CanIdmap(path, SharedMap())));
        var last = LastMap(cfg);
        if (!Equals(last, map))
            Shift(pool, type, volume, path, last, map);
    }

    /// <summary>
    /// LXD's rule on storage that cannot be idmapped: the files are stored in one map, so only
    /// containers with identical maps may share them. Each user needs the files in a map: its own
    /// where the storage cannot be idmapped, unshifted where it can (idmapped users and privileged
    /// ones alike), and all users must need the same.
    /// </summary>
    private void CheckShareable(ContainerRow row, IdMapping? map, string pool, long volumeId, string volume, Lazy<bool> idmappable)
    {
        var users = store.VolumeDevices(volumeId).Where(d => d.ContainerId != row.Id)
            .Select(d => store.Container(d.Container)).OfType<ContainerRow>().Select(c => (c.Name, Map: EffectiveMap(c))).ToList();
        if (users.Count == 0)
            return;
        IdMapping? Needs(IdMapping? m) => m is not null && idmappable.Value ? null : m;
        var others = users.Where(o => !Equals(Needs(o.Map), Needs(map))).ToList();
        if (others.Count == 0)
            return;
        throw new ContainerPSException(Errors.IdmapsNotIdentical,
            $"Idmaps of container '{row.Name}' ({Describe(map)}) and storage volume '{pool}/{volume}' ({Describe(others[0].Map)}, the map of {string.Join(", ", others.Select(o => o.Name))}) are not identical. " +
            $"The storage of pool '{pool}' cannot be idmapped, so the volume's files are stored in one map and can be shared only by containers with identical maps: " +
            $"give '{row.Name}' the same map (Set-Container) or dismount the volume from the others.", row.Name);
    }

    private static string Describe(IdMapping? map) => map?.ToString() ?? "no map: privileged";

    /// <summary>Shifts a volume's files from one map to another, recording where it goes first so a crash can be finished later.</summary>
    private void Shift(string pool, string type, string volume, string path, IdMapping? from, IdMapping? to)
    {
        storage.SetVolumeState(pool, type, volume, new Dictionary<string, string?> { [StorageService.IdmapShiftingKey] = to?.Serialize() ?? Unshifted });
        var activity = $"Shifting the ids of {pool}/{type}/{volume} to {Describe(to)}";
        var clock = Stopwatch.StartNew();
        var result = IdShifter.Shift(path, from, to, (done, total) => log.Progress(activity, $"{done} of {total} files", (int)(done * 100 / Math.Max(1, total))));
        log.Progress(activity, "done", -1);
        storage.SetVolumeState(pool, type, volume, new Dictionary<string, string?>
        {
            [StorageService.IdmapLastKey] = to?.Serialize(), [StorageService.IdmapShiftingKey] = null,
        });
        log.Verbose($"{activity}: {result.Files} files, {result.Changed} changed, {clock.Elapsed.TotalMilliseconds:0} ms");
    }

    /// <summary>Completes a shift a crash interrupted (volatile.idmap.shifting is set), and returns the volume's config after it.</summary>
    private IReadOnlyDictionary<string, string> FinishInterruptedShift(string pool, string type, string volume, string path, IReadOnlyDictionary<string, string> cfg)
    {
        if (!cfg.TryGetValue(StorageService.IdmapShiftingKey, out var to))
            return cfg;
        log.Warning($"Finishing the id shift of storage volume '{pool}/{type}/{volume}' that was interrupted.");
        Shift(pool, type, volume, path, LastMap(cfg), to == Unshifted ? null : IdMapping.Deserialize(to));
        return storage.VolumeRecord(pool, type, volume).Config;
    }

    /// <summary>Mounts a starting container's volumes in its runtime directory; runc bind-mounts them at their paths (resolved inside the rootfs).</summary>
    private List<OciBind> PrepareDevices(ContainerRow row, IdMapping? map, RuntimeDirectory rt)
    {
        var binds = new List<OciBind>();
        var devices = store.Devices(row.Id);
        for (var i = 0; i < devices.Count; i++)
        {
            var staging = Path.Join(rt.DevicesDir, i.ToString(CultureInfo.InvariantCulture));
            Directory.CreateDirectory(staging);
            PresentVolume(row, map, devices[i].Pool, VolumeTypes.Custom, devices[i].Volume, staging);
            binds.Add(new OciBind(devices[i].Path, staging, devices[i].ReadOnly));
        }
        return binds;
    }

    /// <summary>Unmounts the host side of a container's volume mounts (the container keeps its own).</summary>
    private static void UnmountDevices(RuntimeDirectory rt)
    {
        if (!Directory.Exists(rt.DevicesDir))
            return;
        foreach (var dir in Directory.GetDirectories(rt.DevicesDir))
            Mounts.Unmount(dir);
        Directory.Delete(rt.DevicesDir, recursive: true);
    }
}
