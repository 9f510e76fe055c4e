namespace ContainerPS.Engine.Images;

/// <summary>
/// Where the files of images live on the host: the tarballs $root/images/FINGERPRINT.tar and the
/// work directories of imports under way below $root/images/tmp.
/// </summary>
internal sealed class ImagePaths
{
    /// <summary>rwx for root only: the images' directories and an import's work directory.</summary>
    public const UnixFileMode Mode0700 = UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute;

    public ImagePaths(string root)
    {
        ImagesDirectory = Path.Join(root, "images");
        WorkDirectory = Path.Join(ImagesDirectory, "tmp");
    }

    /// <summary>$root/images: the image tarballs.</summary>
    public string ImagesDirectory { get; }

    /// <summary>$root/images/tmp: work directories of imports under way (same filesystem as the tarballs).</summary>
    public string WorkDirectory { get; }

    /// <summary>The stored tarball of an image.</summary>
    public string TarballPath(string fingerprint) => Path.Join(ImagesDirectory, fingerprint + ".tar");

    /// <summary>Makes the images directory and its work directory (0700) when they are missing.</summary>
    public void EnsureDirectories()
    {
        foreach (var dir in new[] { ImagesDirectory, WorkDirectory })
            if (!Directory.Exists(dir))
                Directory.CreateDirectory(dir, Mode0700);
    }
}
