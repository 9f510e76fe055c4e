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

    public static string TypeDir(VolumeType type) => type switch
    {
        VolumeType.Custom => "custom",
        VolumeType.Container => "containers",
        VolumeType.Image => "images",
        VolumeType.Snapshot => "containers-snapshots",
        VolumeType.CustomSnapshot => "custom-snapshots",
        _ => throw new ArgumentOutOfRangeException(nameof(type), type, "unknown volume type"),
    };

    /// <summary>
    /// Makes the per-type directories, all 0700 (Incus keeps custom volumes so too): what a container
    /// writes (a setuid-root file made through its idmapped mount is owned by host root on disk), an
    /// image's setuid binaries and device-less trees are reached by host root only. Containers see
    /// their rootfs and volumes through mounts of their own, never through these paths.
    /// </summary>
    public static void CreateTypeDirs(string root)
    {
        foreach (var type in VolumeTypes.All)
            EnsureTypeDir(root, type);
    }

    /// <summary>Makes the directory of one volume type (0700) when missing, and makes an existing one 0700 (pools made before were 0711 for custom volumes).</summary>
    public static void EnsureTypeDir(string root, VolumeType type) => MakePrivate(System.IO.Path.Join(root, TypeDir(type)));

    /// <summary>Makes <paramref name="dir"/> (a type directory) when missing, and 0700 when it is not.</summary>
    public static void MakePrivate(string dir)
    {
        if (!Directory.Exists(dir))
            Directory.CreateDirectory(dir, Mode0700);
        else if (File.GetUnixFileMode(dir) != Mode0700)
            File.SetUnixFileMode(dir, Mode0700);
    }

    public static string Path(string root, VolumeContext volume) => System.IO.Path.Join(root, TypeDir(volume.Type), volume.Name);

    public static string TempPath(string root, VolumeContext volume) => System.IO.Path.Join(root, TypeDir(volume.Type), ".tmp-" + volume.Name);

    /// <summary>Renames a volume's directory; VolumeExists when the new name is taken on disk.</summary>
    public static void Rename(string root, VolumeContext volume, string newName)
    {
        var target = Path(root, volume with { Name = newName });
        if (System.IO.Path.Exists(target))
            throw new ContainerPSException(Errors.VolumeExists, $"{target} already exists.", target);
        Directory.Move(Path(root, volume), target);
    }

    /// <summary>VolumeExists when a copy's final place is taken on disk though the pool has no such volume.</summary>
    public static void CheckFree(string path)
    {
        if (System.IO.Path.Exists(path))
            throw new ContainerPSException(Errors.VolumeExists, $"{path} already exists.", path);
    }
}
