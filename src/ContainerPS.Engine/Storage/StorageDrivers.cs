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
    };

    /// <summary>Drivers that cannot work on this kind of host, with the reason.</summary>
    private static readonly Dictionary<string, string> impossible = new(StringComparer.Ordinal)
    {
        ["lvm"] = "LVM needs the kernel's device-mapper, which this kernel does not have (no LV activation, snapshots or thin pools). Use dir, btrfs, zfs or ceph.",
    };

    public static IReadOnlyCollection<string> Names => factories.Keys;

    public static IStorageDriver Create(string name, ExternalTool tool)
    {
        if (factories.TryGetValue(name, out var make))
            return make(tool);
        if (impossible.TryGetValue(name, out var why))
            throw new ContainerPSException(Errors.DriverNotSupported, $"The {name} storage driver is not supported here: {why}", name);
        throw new ContainerPSException(Errors.UnknownDriver,
            $"Unknown storage driver '{Engine.Names.Printable(name)}'. Available drivers: {string.Join(", ", factories.Keys)}.", name);
    }
}
