using System.Diagnostics;

namespace ContainerPS.Engine.Platform;

/// <summary>
/// An exclusive lock across processes on a lock file: .NET takes flock for FileShare.None, released
/// when the stream is disposed or the holder dies. Waits up to <c>wait</c> for another holder.
/// </summary>
public static class FileLock
{
    /// <summary>
    /// The open lock file; IOException when another process still holds it after <paramref name="wait"/>.
    /// A lock file may be deleted by its holder (<see cref="Delete"/>): a lock taken on a file that is
    /// no longer at the path is dropped and taken again on the path's file.
    /// </summary>
    public static FileStream Take(string path, TimeSpan wait)
    {
        var clock = Stopwatch.StartNew();
        while (true)
        {
            FileStream stream;
            try { stream = new FileStream(path, FileMode.OpenOrCreate, FileAccess.ReadWrite, FileShare.None); }
            catch (IOException) when (clock.Elapsed < wait) { Thread.Sleep(20); continue; }
            if (StillAt(stream, path))
                return stream;
            stream.Dispose();
        }
    }

    private static bool StillAt(FileStream stream, string path)
    {
        try
        {
            var held = LibC.FStat(stream.SafeFileHandle);
            var now = LibC.LStat(path);
            return held.stx_ino == now.stx_ino && held.stx_dev_major == now.stx_dev_major && held.stx_dev_minor == now.stx_dev_minor;
        }
        catch (IOException) { return false; } // deleted meanwhile
    }

    /// <summary>Deletes the lock file of a lock this process holds, then releases it (what it guarded is gone).</summary>
    public static void Delete(FileStream held, string path)
    {
        File.Delete(path);
        held.Dispose();
    }
}
