using System.Diagnostics;
using System.Globalization;
using ContainerPS.Engine.Storage;

namespace ContainerPS.Engine.Runtime;

/// <summary>
/// Custom volumes mounted into containers (Mount-/Dismount-StorageVolume): recorded for every
/// start, and mounted into or out of a running container at once by cps-mount (see
/// <see cref="VolumePresenter"/> for how a volume is shown).
/// </summary>
public sealed class ContainerVolumes
{
    private readonly StateStore store;
    private readonly StorageService storage;
    private readonly ExternalTool tool;
    private readonly IEngineLog log;
    private readonly ContainerRecords records;
    private readonly ContainerPaths paths;
    private readonly ContainerIdmaps idmaps;
    private readonly VolumePresenter presenter;

    internal ContainerVolumes(StateStore store, StorageService storage, ExternalTool tool, IEngineLog log, ContainerRecords records,
        ContainerPaths paths, ContainerIdmaps idmaps, VolumePresenter presenter)
    {
        this.store = store;
        this.storage = storage;
        this.tool = tool;
        this.log = log;
        this.records = records;
        this.paths = paths;
        this.idmaps = idmaps;
        this.presenter = presenter;
    }

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
    public ContainerDevice Mount(string pool, string volume, string container, string path, bool readOnly, string? deviceName = null)
    {
        var target = CheckMountPath(path);
        var name = Names.Validate(deviceName ?? volume, "device");
        using var _ = records.Lock(container);
        var row = records.ReadyRow(container);
        if (store.Pool(pool) is null)
            throw ContainerPSException.PoolNotFound(pool);
        var (volumeId, volumePath, volumeConfig) = storage.VolumeState(pool, VolumeType.Custom, volume);
        var devices = store.Devices(row.Id);
        if (devices.FirstOrDefault(d => d.VolumeId == volumeId) is { } same)
            throw new ContainerPSException(Errors.VolumeAlreadyMounted,
                $"Storage volume '{pool}/{volume}' is already mounted into container '{container}' at {same.Path}.", volume);
        if (devices.FirstOrDefault(d => d.Path == target) is { } taken)
            throw new ContainerPSException(Errors.MountPathInUse,
                $"Container '{container}' already has storage volume '{taken.Pool}/{taken.Volume}' mounted at {target}.", target);
        if (devices.Any(d => d.Name == name))
            throw new ContainerPSException(Errors.DeviceExists, $"Container '{container}' already has a device named '{name}'; give another -DeviceName.", name);

        var status = paths.Runtime(container).Inspect();
        if (status is { IsRunning: true, Pid: int pid })
        {
            records.InStep(row, new ContainerStep(ContainerStep.Mount, Name: $"{pool}/{volume}", VolumeId: volumeId, Target: target), () =>
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
            return ContainerRecords.ToDevice(store.Devices(row.Id).Single(d => d.VolumeId == volumeId));
        }
        else
        {
            // Checked now, shifted (if it must be) when the container starts.
            var map = idmaps.MapOf(row);
            // Idmapped (unshifted files, its own mount) it shares with anyone; else the rule, checked now.
            var idmappable = new Lazy<bool>(() => Mounts.CanIdmap(volumePath, map ?? idmaps.SharedMap()));
            if (!(map is not null && VolumePresenter.LastMap(volumeConfig) is null && idmappable.Value))
                presenter.CheckShareable(row, map, pool, volumeId, volume, idmappable);
        }
        store.Write(() => store.InsertDevice(row.Id, volumeId, name, target, readOnly));
        return ContainerRecords.ToDevice(store.Devices(row.Id).Single(d => d.VolumeId == volumeId));
    }

    /// <summary>Dismount-StorageVolume: unmounts it from a running container and forgets the mount.</summary>
    public void Dismount(string pool, string volume, string container)
    {
        using var _ = records.Lock(container);
        var row = records.ReadyRow(container);
        if (store.Pool(pool) is null)
            throw ContainerPSException.PoolNotFound(pool);
        var (volumeId, _) = storage.VolumeRecord(pool, VolumeType.Custom, volume);
        var device = store.Devices(row.Id).FirstOrDefault(d => d.VolumeId == volumeId)
            ?? throw new ContainerPSException(Errors.VolumeNotMounted, $"Storage volume '{pool}/{volume}' is not mounted into container '{container}'.", volume);
        var rt = paths.Runtime(container);
        records.InStep(row, new ContainerStep(ContainerStep.Dismount, Name: $"{pool}/{volume}", VolumeId: volumeId, Target: device.Path), () =>
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
    internal string RepairMount(ContainerRow row, ContainerStep step)
    {
        var recorded = store.Devices(row.Id).Any(d => d.VolumeId == step.VolumeId);
        if (step.Op == ContainerStep.Mount && recorded)
            return $"finished the unfinished mount of storage volume '{step.Name}' into container '{row.Name}' at {step.Target}";
        if (paths.Runtime(row.Name).Inspect() is { IsRunning: true, Pid: int pid })
            RunMountHelper("detach", pid, null, step.Target!, idmap: false, readOnly: false, out _); // not mounted (any more): nothing to do
        if (step.Op == ContainerStep.Mount)
            return $"rolled back the unfinished mount of storage volume '{step.Name}' into container '{row.Name}' at {step.Target}";
        store.Write(() => store.DeleteDevice(row.Id, step.VolumeId));
        return $"finished the unfinished dismount of storage volume '{step.Name}' from container '{row.Name}'";
    }

    /// <summary>Mounts a volume into a running container (cps-mount): idmapped with the container's own user namespace where the storage allows.</summary>
    private void HotAttach(ContainerRow row, int pid, string pool, string volume, long volumeId, string path, IReadOnlyDictionary<string, string> cfg,
        string target, bool readOnly)
    {
        cfg = presenter.FinishInterruptedShift(pool, VolumeType.Custom, volume, path, cfg);
        var map = ContainerIdmaps.CurrentMap(row) ?? idmaps.MapOf(row);
        var clock = Stopwatch.StartNew();
        var how = "idmapped";
        var error = "";
        var code = map is not null && VolumePresenter.LastMap(cfg) is null ? RunMountHelper("attach", pid, path, target, idmap: true, readOnly, out error) : MountResult.CannotIdmap;
        if (code == MountResult.CannotIdmap)
        {
            how = "shifted";
            presenter.EnsureShifted(row, map, pool, VolumeType.Custom, volume, volumeId, path, cfg);
            code = RunMountHelper("attach", pid, path, target, idmap: false, readOnly, out error);
        }
        MountOk(code, error, row.Name);
        File.WriteAllText(paths.Runtime(row.Name).HotMountsFile, "");
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
}
