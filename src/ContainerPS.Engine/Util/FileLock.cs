using System.Diagnostics;

namespace ContainerPS.Engine.Util;

/// <summary>
/// An exclusive lock across processes on a lock file: .NET takes flock for FileShare.None, released
/// when the stream is disposed or the holder dies. Waits up to <c>wait</c> for another holder.
/// </summary>
public static class FileLock
{
    /// <summary>The open lock file; IOException when another process still holds it after <paramref name="wait"/>.</summary>
    public static FileStream Take(string path, TimeSpan wait)
    {
        var clock = Stopwatch.StartNew();
        while (true)
        {
            try { return new FileStream(path, FileMode.OpenOrCreate, FileAccess.ReadWrite, FileShare.None); }
            catch (IOException) when (clock.Elapsed < wait) { Thread.Sleep(20); }
        }
    }
}
