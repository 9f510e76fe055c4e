using System.Globalization;
using static ContainerPS.Engine.Storage.CephCluster;
using static ContainerPS.Engine.Storage.CephNames;

namespace ContainerPS.Engine.Storage;

/// <summary>
/// Kernel RBD (krbd), the way LXD and Incus reach a ceph volume: `rbd map` makes /dev/rbdN, the
/// volume's filesystem is mounted from it. Which way a pool maps (ceph.rbd.map: auto, krbd or fuse)
/// and, for each image this pool mapped with the kernel, a record `.rbd/IMAGE/krbd` holding the
/// device's id: written (empty) before `rbd map` and with the id after it, removed after `rbd unmap`.
/// A kernel mapping outlives the command that made it: a command killed half-way leaves the record,
/// and the next one finds the device in /sys/bus/rbd/devices (pool, name, pool_ns, current_snap,
/// cluster_fsid) instead of mapping the image twice. A device of an image without a record was
/// mapped by something else and is never used or unmapped here.
/// </summary>
internal sealed class CephKrbd(CephCluster cluster, ExternalTool tool)
{
    public const string Krbd = "krbd";
    public const string Fuse = "fuse";
    public const string Auto = "auto";

    private const string Bus = "/sys/bus/rbd";
    private static readonly object Probe = new();
    private static bool? kernel;

    /// <summary>Whether this kernel maps RBD images: /sys/bus/rbd is there, else `modprobe rbd` loads it (asked once per process).</summary>
    public bool KernelHasRbd()
    {
        lock (Probe)
        {
            if (kernel is null || (kernel == false && Directory.Exists(Bus)))
            {
                if (!Directory.Exists(Bus))
                {
                    try { tool.Execute("modprobe", new[] { "rbd" }, null, null); }
                    catch (ContainerPSException e) { tool.Log.Verbose($"modprobe rbd: {e.Message}"); }
                }
                kernel = Directory.Exists(Path.Join(Bus, "devices"));
            }
            return kernel.Value;
        }
    }

    /// <summary>How the pool maps images from now on: krbd or fuse (ceph.rbd.map; auto: krbd where the kernel has rbd).</summary>
    public string Mode(PoolContext pool) =>
        (pool.Config.GetValueOrDefault(CephDriver.RbdMapKey) ?? Auto) switch
        {
            Krbd => Krbd,
            Fuse => Fuse,
            _ => KernelHasRbd() ? Krbd : Fuse,
        };

    /// <summary>Refuses ceph.rbd.map=krbd where this kernel has no rbd module (DriverNotSupported), before anything changes.</summary>
    public void CheckMode(PoolContext pool)
    {
        if (pool.Config.GetValueOrDefault(CephDriver.RbdMapKey) == Krbd && !KernelHasRbd())
            throw new ContainerPSException(Errors.DriverNotSupported,
                $"Pool '{pool.Name}': {CephDriver.RbdMapKey}=krbd needs the kernel's rbd module, which this kernel does not have ({Bus} is missing and `modprobe rbd` failed); use auto or fuse (rbd-fuse + loop).", pool.Name);
    }

    /// <summary>The record of this pool's kernel mapping of an image (its directory is the image's <see cref="FuseDir"/>).</summary>
    public static string Record(PoolContext pool, string image) => Path.Join(FuseDir(pool, image), Krbd);

    /// <summary>Whether the image was (or is being) mapped by this pool with the kernel.</summary>
    public static bool Recorded(PoolContext pool, string image) => File.Exists(Record(pool, image));

    private static string? RecordedId(PoolContext pool, string image) =>
        File.Exists(Record(pool, image)) && File.ReadAllText(Record(pool, image)).Trim() is { Length: > 0 } id ? id : null;

    private static string Attribute(string id, string name)
    {
        try { return File.ReadAllText(Path.Join(Bus, "devices", id, name)).Trim(); }
        catch (IOException) { return ""; }
        catch (UnauthorizedAccessException) { return ""; }
    }

    /// <summary>Whether kernel device <paramref name="id"/> maps the head of the pool's image (not a snapshot, not another namespace).</summary>
    private static bool Maps(PoolContext pool, string id, string image) =>
        Attribute(id, "name") == image && Attribute(id, "pool") == OsdPool(pool) && Attribute(id, "current_snap") == "-" && Attribute(id, "pool_ns") == "";

    /// <summary>The kernel devices (ids) mapping the head of the image on this pool's cluster, whoever mapped them.</summary>
    public List<string> Devices(PoolContext pool, string image)
    {
        var devices = Path.Join(Bus, "devices");
        if (!Directory.Exists(devices))
            return new List<string>();
        var ids = Directory.GetDirectories(devices).Select(d => Path.GetFileName(d)!).Where(id => Maps(pool, id, image)).ToList();
        if (ids.Count == 0)
            return ids;
        var fsid = cluster.Client(pool).Fsid();
        return ids.Where(id => Attribute(id, "cluster_fsid") == fsid).OrderBy(id => int.Parse(id, CultureInfo.InvariantCulture)).ToList();
    }

    /// <summary>The block device of this pool's live kernel mapping of the image, or null.</summary>
    public static string? Device(PoolContext pool, string image) =>
        RecordedId(pool, image) is { } id && Maps(pool, id, image) ? "/dev/rbd" + id : null;

    /// <summary>
    /// Maps the image with `rbd map` unless this pool has it mapped (a mapping a killed command made
    /// is found and kept); returns /dev/rbdN. VolumeBusy when something other than this pool maps it.
    /// </summary>
    public string Map(PoolContext pool, string image)
    {
        if (Device(pool, image) is { } live)
            return live;
        var record = Record(pool, image);
        var found = Devices(pool, image);
        if (!File.Exists(record))
        {
            CheckNotMappedElsewhere(pool, image, found);
            Directory.CreateDirectory(FuseDir(pool, image), VolumeLayout.Mode0700);
            WriteRecord(record, "");
        }
        else if (found.Count > 0)
        {
            // Mapped by a command of this pool that was killed before it wrote the device down.
            tool.Log.Verbose($"RBD image {OsdPool(pool)}/{image}: keeping /dev/rbd{found[0]}, mapped by an interrupted command.");
            foreach (var extra in found.Skip(1))
                UnmapDevice(pool, image, extra);
            WriteRecord(record, found[0]);
            return "/dev/rbd" + found[0];
        }
        var device = cluster.Rbd(pool, "map", $"{OsdPool(pool)}/{image}").Trim();
        var id = device.StartsWith("/dev/rbd", StringComparison.Ordinal) ? device["/dev/rbd".Length..] : "";
        if (!int.TryParse(id, NumberStyles.None, CultureInfo.InvariantCulture, out _))
            throw new ContainerPSException(Errors.ToolFailed, $"'rbd map {OsdPool(pool)}/{image}' printed '{device}', not a /dev/rbdN device.", "rbd");
        FaultPoints.Hit("ceph.krbd.after-map");
        WriteRecord(record, id);
        return device;
    }

    /// <summary>VolumeBusy, naming the device, when something other than this pool maps the image with the kernel (it is never used or unmapped here).</summary>
    public void CheckNotMappedElsewhere(PoolContext pool, string image, List<string>? found = null)
    {
        if (Recorded(pool, image) || (found ?? Devices(pool, image)) is not [var id, ..])
            return;
        throw new ContainerPSException(Errors.VolumeBusy,
            $"RBD image {OsdPool(pool)}/{image} is mapped at /dev/rbd{id} by something other than ContainerPS's pool '{pool.Name}': unmap it there first (rbd unmap /dev/rbd{id}).", image);
    }

    private static void WriteRecord(string record, string id)
    {
        var temp = record + ".tmp";
        using (var f = new FileStream(temp, FileMode.Create, FileAccess.Write))
        {
            f.Write(System.Text.Encoding.ASCII.GetBytes(id + "\n"));
            f.Flush(flushToDisk: true);
        }
        File.Move(temp, record, overwrite: true);
    }

    /// <summary>Unmaps this pool's kernel mapping of the image (the recorded device, or those an interrupted map left) and drops the record. Idempotent; VolumeBusy while the device is open.</summary>
    public void Unmap(PoolContext pool, string image)
    {
        if (!Recorded(pool, image))
            return;
        var ids = Device(pool, image) is not null ? new List<string> { RecordedId(pool, image)! } : Devices(pool, image);
        foreach (var id in ids)
            UnmapDevice(pool, image, id);
        File.Delete(Record(pool, image));
        File.Delete(Record(pool, image) + ".tmp");
        Directory.Delete(FuseDir(pool, image));
    }

    private void UnmapDevice(PoolContext pool, string image, string id)
    {
        // The udev events of a filesystem just unmounted can hold the device a moment: retry while busy.
        for (var i = 0; Maps(pool, id, image); i++)
        {
            var r = cluster.TryCeph(pool, "rbd", "unmap", "/dev/rbd" + id);
            if (r.ExitCode == 0 || !Maps(pool, id, image))
                return;
            if (i >= 30)
                throw new ContainerPSException(Errors.VolumeBusy, $"Cannot unmap /dev/rbd{id} (RBD image {OsdPool(pool)}/{image}): {r.StandardError.Trim()}", image);
            Thread.Sleep(200);
        }
    }

    /// <summary>Waits until the kernel shows the image's new size on its device (it reads the header again when librbd's resize notifies it).</summary>
    public void WaitForSize(string device, long bytes)
    {
        var sizeFile = $"/sys/block/{Path.GetFileName(device)}/size";
        for (var i = 0; i < 300; i++)
        {
            if (long.Parse(File.ReadAllText(sizeFile).Trim(), CultureInfo.InvariantCulture) * 512 >= bytes)
                return;
            Thread.Sleep(100);
        }
        throw new ContainerPSException(Errors.ToolFailed, $"The kernel did not show the new size of {device} ({ByteSize.Format(bytes)}) within 30 s.", device);
    }
}
