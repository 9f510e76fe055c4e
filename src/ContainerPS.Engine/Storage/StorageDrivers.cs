namespace ContainerPS.Engine.Storage;

/// <summary>The registry of storage drivers: adding a driver is one line here plus its class.</summary>
public static class StorageDrivers
{
    private static readonly Dictionary<string, Func<ExternalTool, IStorageDriver>> factories = new(StringComparer.Ordinal)
    {
        ["dir"] = tool => new DirDriver(tool),
        ["btrfs"] = tool => new BtrfsDriver(tool),
        ["zfs"] = tool => new ZfsDriver(tool),
        ["ceph"] = tool => new CephDriver(tool),
        ["lvm"] = tool => new LvmDriver(tool),
    };

    /// <summary>Drivers that cannot work on some hosts: the reason on this one, or null when it can.</summary>
    private static readonly Dictionary<string, Func<string?>> impossible = new(StringComparer.Ordinal)
    {
        ["lvm"] = () => HasDeviceMapper() ? null
            : "LVM needs the kernel's device-mapper, which this kernel does not have (no LV activation, snapshots or thin pools). Use dir, btrfs, zfs or ceph.",
    };

    /// <summary>Whether the kernel has device-mapper: its control node, or the driver loaded or built in.</summary>
    private static bool HasDeviceMapper() =>
        File.Exists("/dev/mapper/control") || Directory.Exists("/sys/module/dm_mod")
        || (File.Exists("/proc/misc") && File.ReadLines("/proc/misc").Any(l => l.EndsWith(" device-mapper", StringComparison.Ordinal)));

    public static IReadOnlyCollection<string> Names => factories.Keys;

    public static IStorageDriver Create(string name, ExternalTool tool)
    {
        if (impossible.TryGetValue(name, out var check) && check() is { } why)
            throw new ContainerPSException(Errors.DriverNotSupported, $"The {name} storage driver is not supported here: {why}", name);
        if (factories.TryGetValue(name, out var make))
            return make(tool);
        throw new ContainerPSException(Errors.UnknownDriver,
            $"Unknown storage driver '{Engine.Names.Printable(name)}'. Available drivers: {string.Join(", ", factories.Keys)}.", name);
    }
}
