namespace ContainerPS.Engine.Storage;

/// <summary>
/// What the btrfs and zfs drivers share about the device under a pool they create: a sparse loop
/// file placed as Incus places it, or a block device that must be blank (or hold the driver's own
/// filesystem) and not in use.
/// </summary>
public static class PoolDevices
{
    private const long GiB = 1L << 30;

    /// <summary>ROOT/disks/NAME.img for the pool whose default place is ROOT/storage-pools/NAME.</summary>
    public static string LoopImage(string defaultSource) =>
        Path.Join(Path.GetDirectoryName(Path.GetDirectoryName(defaultSource)), "disks", Path.GetFileName(defaultSource) + ".img");

    /// <summary>
    /// Checks the pool's default place and loop file are free; SourceNotEmpty when a leftover is there.
    /// Returns the loop file's path.
    /// </summary>
    public static string CheckLoopImage(string defaultSource)
    {
        if (Directory.Exists(defaultSource) && Directory.EnumerateFileSystemEntries(defaultSource).Any())
            throw new ContainerPSException(Errors.SourceNotEmpty,
                $"The default location of the pool, {defaultSource}, is not empty (left over from an earlier pool?). Remove it or give -Source.", defaultSource);
        var image = LoopImage(defaultSource);
        if (File.Exists(image))
            throw new ContainerPSException(Errors.SourceNotEmpty, $"The pool's loop file {image} already exists; remove it first.", image);
        return image;
    }

    /// <summary>Makes the sparse loop file: the pool's size key, else 20% of the free space, at least 5 GiB and at most 30 GiB (Incus's default).</summary>
    public static void CreateLoopImage(string image, IReadOnlyDictionary<string, string> poolConfig)
    {
        var dir = Path.GetDirectoryName(image)!;
        Directory.CreateDirectory(dir, VolumeLayout.Mode0700);
        long size;
        if (!(poolConfig.TryGetValue("size", out var s) && ByteSize.TryParse(s, out size)))
        {
            var st = LibC.StatVfsOf(dir);
            size = Math.Clamp((long)(st.f_bavail * st.f_frsize) / 5 / GiB * GiB, 5 * GiB, 30 * GiB);
        }
        try
        {
            using var f = new FileStream(image, FileMode.CreateNew, FileAccess.Write);
            f.SetLength(size);
        }
        catch (Exception e) when (e is ArgumentOutOfRangeException or IOException && File.Exists(image))
        {
            // EFBIG: larger than a file on that filesystem can be (16 TiB on ext4).
            File.Delete(image);
            throw new ContainerPSException(Errors.InvalidConfigValue,
                $"Invalid value for config key 'size': the pool's loop file {image} cannot be {ByteSize.Format(size)} on that filesystem ({e.Message.Split(" (Parameter")[0].TrimEnd('.')}).", "size", e);
        }
    }

    /// <summary>Deletes a pool's loop file, and ROOT/disks with its last one (the directory <see cref="CreateLoopImage"/> made).</summary>
    public static void DeleteLoopImage(string image)
    {
        File.Delete(image);
        var dir = Path.GetDirectoryName(image)!;
        if (Path.GetFileName(dir) == "disks" && Directory.Exists(dir) && !Directory.EnumerateFileSystemEntries(dir).Any())
            try { Directory.Delete(dir); }
            catch (IOException) { } // another pool's loop file arrived meanwhile
    }

    public static bool IsDevicePath(string source) => source.StartsWith("/dev/", StringComparison.Ordinal);

    /// <summary>
    /// Checks a block device given as a pool's source: a block device, no partition table, no
    /// filesystem but <paramref name="ownType"/> (blkid's TYPE of the driver's own), not mounted.
    /// </summary>
    public static void CheckBlockDevice(ExternalTool tool, string source, string ownType, string driver)
    {
        ContainerPSException Invalid(string why) =>
            new(Errors.InvalidSource, $"Invalid source '{Names.Printable(source)}' for a {driver} pool: {why}.", source);
        if (!File.Exists(source) || (LibC.LStat(HostPath.Canonical(source)).stx_mode & 0xF000) != 0x6000)
            throw Invalid("it is not a block device");
        var found = Signatures(tool, source);
        if (found.TryGetValue("PTTYPE", out var table))
            throw Invalid($"it holds a {table} partition table; give a partition or an empty device");
        if (found.TryGetValue("TYPE", out var type) && type != ownType)
            throw Invalid($"it holds a {type} filesystem; ContainerPS formats only an empty device or uses a {ownType} one");
        var canonical = HostPath.Canonical(source);
        if (File.ReadLines("/proc/self/mountinfo").Select(l => l.Split(" - ", 2)).Any(p => p.Length == 2 && p[1].Split(' ')[1] is var dev && (dev == source || dev == canonical)))
            throw new ContainerPSException(Errors.SourceInUse, $"Block device '{source}' is mounted already (by another pool, or elsewhere).", source);
    }

    /// <summary>What blkid's low-level probe finds on a device (TYPE, PTTYPE...); empty for a blank device.</summary>
    public static Dictionary<string, string> Signatures(ExternalTool tool, string device) =>
        tool.Execute("blkid", new[] { "-p", "-o", "export", device }, null, null).StandardOutput
            .Split('\n', StringSplitOptions.RemoveEmptyEntries).Select(l => l.Split('=', 2)).Where(kv => kv.Length == 2)
            .GroupBy(kv => kv[0]).ToDictionary(g => g.Key, g => g.First()[1], StringComparer.Ordinal);
}
