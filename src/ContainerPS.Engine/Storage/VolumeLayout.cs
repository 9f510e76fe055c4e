namespace ContainerPS.Engine.Storage;

/// <summary>
/// Where volumes live below a pool's directory, for the drivers whose volumes are directories (dir,
/// btrfs): ROOT/custom/NAME, ROOT/containers/NAME, ROOT/images/NAME, ROOT/containers-snapshots/NAME,
/// ROOT/custom-snapshots/NAME,
/// and the temporary name a copy is made under before it is renamed into place.
/// </summary>
public static class VolumeLayout
{
    public static readonly UnixFileMode Mode0711 =
        UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute | UnixFileMode.GroupExecute | UnixFileMode.OtherExecute;
    public static readonly UnixFileMode Mode0755 = Mode0711 | UnixFileMode.GroupRead | UnixFileMode.OtherRead;
    public static readonly UnixFileMode Mode0700 = UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute;

    public static string TypeDir(string type) => type switch
    {
        VolumeTypes.Custom => "custom",
        VolumeTypes.Container => "containers",
        VolumeTypes.Image => "images",
        VolumeTypes.Snapshot => "containers-snapshots",
        VolumeTypes.CustomSnapshot => "custom-snapshots",
        _ => throw new ArgumentOutOfRangeException(nameof(type), type, "unknown volume type"),
    };

    /// <summary>
    /// Makes the per-type directories. Container, image and snapshot trees hold other systems' setuid
    /// binaries: only host root may enter them (containers see their rootfs through their own mount).
    /// Custom volumes stay 0711.
    /// </summary>
    public static void CreateTypeDirs(string root)
    {
        foreach (var type in VolumeTypes.All)
            Directory.CreateDirectory(System.IO.Path.Join(root, TypeDir(type)), type == VolumeTypes.Custom ? Mode0711 : Mode0700);
    }

    /// <summary>Makes the directory of one volume type when a pool made before that type existed lacks it.</summary>
    public static void EnsureTypeDir(string root, string type)
    {
        var dir = System.IO.Path.Join(root, TypeDir(type));
        if (!Directory.Exists(dir))
            Directory.CreateDirectory(dir, type == VolumeTypes.Custom ? Mode0711 : Mode0700);
    }

    public static string Path(string root, VolumeContext volume) => System.IO.Path.Join(root, TypeDir(volume.Type), volume.Name);

    public static string TempPath(string root, VolumeContext volume) => System.IO.Path.Join(root, TypeDir(volume.Type), ".tmp-" + volume.Name);

    /// <summary>Renames a volume's directory; VolumeExists when the new name is taken on disk.</summary>
    public static void Rename(string root, VolumeContext volume, string newName)
    {
        var target = Path(root, volume with { Name = newName });
        if (System.IO.Path.Exists(target))
            throw new ContainerPSException(ErrorKind.AlreadyExists, "VolumeExists", $"{target} already exists.", target);
        Directory.Move(Path(root, volume), target);
    }

    /// <summary>VolumeExists when a copy's final place is taken on disk though the pool has no such volume.</summary>
    public static void CheckFree(string path)
    {
        if (System.IO.Path.Exists(path))
            throw new ContainerPSException(ErrorKind.AlreadyExists, "VolumeExists", $"{path} already exists.", path);
    }
}
