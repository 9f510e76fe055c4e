namespace ContainerPS.Engine.Storage;

/// <summary>
/// The settings of a volume that is a block device with a filesystem (the ceph and lvm drivers):
/// its own key, else the pool's volume.* default, else the driver default.
/// </summary>
internal static class BlockVolumes
{
    public const string DefaultVolumeSize = "10GiB";

    public static string Setting(PoolContext pool, VolumeContext volume, string key, string fallback) =>
        volume.Config.GetValueOrDefault(key) ?? pool.Config.GetValueOrDefault("volume." + key) ?? fallback;

    public static long SizeOf(PoolContext pool, VolumeContext volume) =>
        ByteSize.TryParse(Setting(pool, volume, "size", DefaultVolumeSize), out var n) ? n : throw new ArgumentException("bad size");

    public static string FilesystemOf(PoolContext pool, VolumeContext volume) => Setting(pool, volume, "block.filesystem", "ext4");

    /// <summary>The mount options: the volume's block.mount_options, plus what a clone needs (xfs: nouuid) and what keeps ext4 from zeroing its inode tables over RBD.</summary>
    public static string MountOptionsOf(PoolContext pool, VolumeContext volume, string fs)
    {
        var options = Setting(pool, volume, "block.mount_options", "").Split(',', StringSplitOptions.RemoveEmptyEntries).ToList();
        options.Add(fs == "xfs" ? "nouuid" : "noinit_itable");
        return string.Join(',', options.Distinct());
    }

    /// <summary>Makes the volume's filesystem on its block device (ext4 without discarding or zeroing the device: thin storage stays thin).</summary>
    public static void MakeFilesystem(ExternalTool tool, string fs, string device)
    {
        if (fs == "xfs")
            tool.Run("mkfs.xfs", new[] { "-q", "-K", device });
        else
            tool.Run("mkfs.ext4", new[] { "-q", "-F", "-E", "nodiscard,lazy_itable_init=1,lazy_journal_init=1", device });
    }
}
