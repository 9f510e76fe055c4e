namespace ContainerPS.Engine.Runtime;

/// <summary>
/// Serialises operations on one container across processes: an exclusive flock on
/// $root/locks/NAME.lock (.NET takes flock for FileShare.None), released when disposed or when the
/// holding process dies. A second session waits up to <paramref name="wait"/>, then gets ContainerBusy.
/// </summary>
public sealed class ContainerLock : IDisposable
{
    private readonly FileStream stream;
    private readonly string path;

    private ContainerLock(FileStream stream, string path)
    {
        this.stream = stream;
        this.path = path;
    }

    public static ContainerLock Take(string root, string name, TimeSpan wait)
    {
        Names.Validate(name, "container"); // the name becomes a file name: never a path
        var dir = Path.Join(root, "locks");
        Directory.CreateDirectory(dir);
        var path = Path.Join(dir, name + ".lock");
        try { return new ContainerLock(Platform.FileLock.Take(path, wait), path); }
        catch (IOException e)
        {
            throw new ContainerPSException(Errors.ContainerBusy,
                $"Container '{name}' is being changed by another session (waited {wait.TotalSeconds:0} s).", name, e);
        }
    }

    /// <summary>Releases the lock and deletes its file: the container of that name is gone (removed, or renamed away).</summary>
    public void DeleteFile() => Platform.FileLock.Delete(stream, path);

    public void Dispose() => stream.Dispose();
}
