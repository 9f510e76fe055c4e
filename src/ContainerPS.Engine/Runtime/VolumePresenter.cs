using System.Diagnostics;
using System.Globalization;
using ContainerPS.Engine.Idmap;
using ContainerPS.Engine.Storage;

namespace ContainerPS.Engine.Runtime;

/// <summary>
/// How a volume (a rootfs too) is shown to a container. By default each container gets its own
/// idmapped mount of the volume: the files, stored with the container's own ids (unshifted), are
/// owned by container root in every container that mounts them, whatever their maps (Incus's
/// security.shifted=true). Where the storage refuses idmapped mounts (overlayfs, FUSE such as
/// zfs-fuse), LXD's rule applies instead: the files are shifted on disk to the container's map by
/// <see cref="IdShifter"/> (the map they are in is volatile.idmap.last of the volume), and a volume
/// may be shared only by containers with identical maps.
/// </summary>
internal sealed class VolumePresenter(StateStore store, StorageService storage, IEngineLog log, ContainerIdmaps idmaps)
{
    private const string Unshifted = "unshifted";

    /// <summary>
    /// Mounts a volume at <paramref name="target"/> on the host for a container with <paramref name="map"/>:
    /// an idmapped mount of its unshifted files, else (the storage refuses, or the files are already
    /// shifted) the files shifted to the map and a plain bind mount.
    /// </summary>
    internal void PresentVolume(ContainerRow row, IdMapping? map, string pool, VolumeType type, string volume, string target)
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
                log.Verbose($"{e.Message} Falling back to shifting the files of {pool}/{type.Name()}/{volume} on disk.");
            }
        }
        EnsureShifted(row, map, pool, type, volume, volumeId, path, cfg);
        Mounts.Bind(path, target);
    }

    internal static IdMapping? LastMap(IReadOnlyDictionary<string, string> cfg) =>
        cfg.TryGetValue(StorageService.IdmapLastKey, out var v) && v.Length > 0 ? IdMapping.Deserialize(v) : null;

    /// <summary>Shifts a volume's files to <paramref name="map"/> unless they are in it, after checking no other container needs them in another map.</summary>
    internal void EnsureShifted(ContainerRow row, IdMapping? map, string pool, VolumeType type, string volume, long volumeId, string path, IReadOnlyDictionary<string, string> cfg)
    {
        if (type == VolumeType.Custom)
            CheckShareable(row, map, pool, volumeId, volume, new Lazy<bool>(() => Mounts.CanIdmap(path, idmaps.SharedMap())));
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
    internal void CheckShareable(ContainerRow row, IdMapping? map, string pool, long volumeId, string volume, Lazy<bool> idmappable)
    {
        var users = store.VolumeDevices(volumeId).Where(d => d.ContainerId != row.Id)
            .Select(d => store.Container(d.Container)).OfType<ContainerRow>().Select(c => (c.Name, Map: idmaps.EffectiveMap(c))).ToList();
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
    private void Shift(string pool, VolumeType type, string volume, string path, IdMapping? from, IdMapping? to)
    {
        storage.SetVolumeState(pool, type, volume, new Dictionary<string, string?> { [StorageService.IdmapShiftingKey] = to?.Serialize() ?? Unshifted });
        var activity = $"Shifting the ids of {pool}/{type.Name()}/{volume} to {Describe(to)}";
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
    internal IReadOnlyDictionary<string, string> FinishInterruptedShift(string pool, VolumeType type, string volume, string path, IReadOnlyDictionary<string, string> cfg)
    {
        if (!cfg.TryGetValue(StorageService.IdmapShiftingKey, out var to))
            return cfg;
        log.Warning($"Finishing the id shift of storage volume '{pool}/{type.Name()}/{volume}' that was interrupted.");
        Shift(pool, type, volume, path, LastMap(cfg), to == Unshifted ? null : IdMapping.Deserialize(to));
        return storage.VolumeRecord(pool, type, volume).Config;
    }

    /// <summary>Mounts a starting container's volumes in its runtime directory; runc bind-mounts them at their paths (resolved inside the rootfs).</summary>
    internal List<OciBind> PrepareDevices(ContainerRow row, IdMapping? map, RuntimeDirectory rt)
    {
        var binds = new List<OciBind>();
        var devices = store.Devices(row.Id);
        for (var i = 0; i < devices.Count; i++)
        {
            var staging = Path.Join(rt.DevicesDir, i.ToString(CultureInfo.InvariantCulture));
            Directory.CreateDirectory(staging);
            PresentVolume(row, map, devices[i].Pool, VolumeType.Custom, devices[i].Volume, staging);
            binds.Add(new OciBind(devices[i].Path, staging, devices[i].ReadOnly));
        }
        return binds;
    }

    /// <summary>Unmounts the host side of a container's volume mounts (the container keeps its own).</summary>
    internal static void UnmountDevices(RuntimeDirectory rt)
    {
        if (!Directory.Exists(rt.DevicesDir))
            return;
        foreach (var dir in Directory.GetDirectories(rt.DevicesDir))
            Mounts.Unmount(dir);
        Directory.Delete(rt.DevicesDir, recursive: true);
    }
}
