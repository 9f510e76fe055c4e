using ContainerPS.Engine.Storage;

namespace ContainerPS.Engine.Runtime;

/// <summary>
/// Private copies of a user's checkpoint directory, made below ROOT/checkpoints (0700) for a
/// restore: making the images readable for a restore into a user namespace must not show them to
/// the host's users.
/// </summary>
internal static class CheckpointStage
{


    /// <summary>Fills <paramref name="stage"/> (from <see cref="NewStage"/>) with a private copy of checkpoint directory <paramref name="path"/>.</summary>
    internal static void StageCheckpoint(string path, string stage)
    {
        File.SetUnixFileMode(path, VolumeLayout.Mode0700);
        CopyTree(path, stage, hardLinks: true);
    }

    /// <summary>A copy of directory tree <paramref name="from"/> at <paramref name="to"/> (directories 0700, symlinks kept): files hard-linked where <paramref name="hardLinks"/> and the filesystem allow, else copied.</summary>
    internal static void CopyTree(string from, string to, bool hardLinks)
    {
        Directory.CreateDirectory(to, VolumeLayout.Mode0700);
        foreach (var entry in new DirectoryInfo(from).EnumerateFileSystemInfos())
        {
            var target = Path.Join(to, entry.Name);
            if (entry.LinkTarget is { } link)
                File.CreateSymbolicLink(target, link);
            else if (entry is DirectoryInfo)
                CopyTree(entry.FullName, target, hardLinks);
            else if (!hardLinks || !LibC.TryLink(entry.FullName, target))
                File.Copy(entry.FullName, target);
        }
    }

    /// <summary>Removes a staged copy, its files (hard links of the user's) made 0600 again first.</summary>
    internal static void Unstage(string stage)
    {
        if (!Directory.Exists(stage))
            return;
        void Close(DirectoryInfo dir)
        {
            foreach (var entry in dir.EnumerateFileSystemInfos())
                if (entry.LinkTarget is not null)
                    continue;
                else if (entry is DirectoryInfo sub)
                    Close(sub);
                else
                    File.SetUnixFileMode(entry.FullName, UnixFileMode.UserRead | UnixFileMode.UserWrite);
        }
        Close(new DirectoryInfo(stage));
        Directory.Delete(stage, recursive: true);
    }
}
