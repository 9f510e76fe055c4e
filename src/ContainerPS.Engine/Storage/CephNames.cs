using static ContainerPS.Engine.Storage.CephCluster;

namespace ContainerPS.Engine.Storage;

/// <summary>
/// Names and places of the ceph driver: the RBD image and snapshot of each volume, where the
/// rbd-fuse mounts and their marker files live in the pool's directory. A volume's size, filesystem
/// and mount options are <see cref="BlockVolumes"/>'.
/// </summary>
internal static class CephNames
{
    /// <summary>The snapshot of an image volume that containers are cloned from.</summary>
    public const string ImageSnapshot = "readonly";

    private static string Prefix(VolumeType type) => type switch
    {
        VolumeType.Custom or VolumeType.CustomSnapshot => "custom",
        VolumeType.Container or VolumeType.Snapshot => "container",
        VolumeType.Image => "image",
        _ => throw new ArgumentOutOfRangeException(nameof(type), type, "unknown volume type"),
    };

    /// <summary>The RBD image of a volume (a snapshot volume CONTAINER@NAME: its container's image).</summary>
    public static string ImageName(VolumeContext volume) =>
        $"{Prefix(volume.Type)}_{(VolumeTypes.IsSnapshot(volume.Type) ? volume.Name.Split('@')[0] : volume.Name)}";

    /// <summary>The RBD snapshot of a snapshot volume CONTAINER@NAME.</summary>
    public static string SnapshotName(VolumeContext volume) => "snapshot_" + volume.Name.Split('@', 2)[1];

    public static string Spec(PoolContext pool, VolumeContext volume) =>
        VolumeTypes.IsSnapshot(volume.Type)
            ? $"{OsdPool(pool)}/{ImageName(volume)}@{SnapshotName(volume)}"
            : $"{OsdPool(pool)}/{ImageName(volume)}";

    /// <summary>The name an image gets while clones keep it: an image volume's is fixed (a later import takes it back), others' are unique.</summary>
    public static string Zombie(string image) =>
        image.StartsWith("image_", StringComparison.Ordinal) ? "zombie_" + image : $"zombie_{image}_{Guid.NewGuid():n}";

    /// <summary>Where the rbd-fuse mounts of the pool's images are: one directory per mapped image.</summary>
    public static string FuseRoot(PoolContext pool) => Path.Join(pool.Source, ".rbd");

    public static string FuseDir(PoolContext pool, string image) => Path.Join(FuseRoot(pool), image);

    /// <summary>The file whose lock serialises mapping and unmapping one image.</summary>
    public static string LockFile(PoolContext pool, string image) => Path.Join(FuseRoot(pool), "." + image + ".lock");

    /// <summary>Marks a volume whose image grew while its ext4 filesystem could not (in use, no online resize here).</summary>
    public static string GrowMarker(PoolContext pool, string image) => Path.Join(FuseRoot(pool), "." + image + ".grow");

    public static string VolumePath(PoolContext pool, VolumeContext volume) => VolumeLayout.Path(pool.Source, volume);

    /// <summary>Where the volume of an image (custom_NAME, container_NAME, image_NAME) is mounted.</summary>
    public static IEnumerable<string> MountPathsOf(PoolContext pool, string image) =>
        VolumeTypes.All.Where(t => !VolumeTypes.IsSnapshot(t) && Prefix(t) == image.Split('_')[0])
            .Select(t => VolumePath(pool, new VolumeContext(image[(image.IndexOf('_') + 1)..], t, new Dictionary<string, string>())));
}
