namespace ContainerPS.Engine.Runtime;

/// <summary>
/// Serialises operations on one container across processes: an exclusive flock on
/// $root/locks/NAME.lock (.NET takes flock for FileShare.None), released when disposed or when the
/// holding process dies. A second session waits up to <paramref name="wait"/>, then gets ContainerBusy.
/// </summary>
public sealed class ContainerLock : IDisposable
{
    private readonly FileStream stream;

    private ContainerLock(FileStream stream) => this.stream = stream;

    public static ContainerLock Take(string root, string name, TimeSpan wait)
    {
        Names.Validate(name, "container"); // the name becomes a file name: never a path
        var dir = Path.Join(root, "locks");
        Directory.CreateDirectory(dir);
        try { return new ContainerLock(Util.FileLock.Take(Path.Join(dir, name + ".lock"), wait)); }
        catch (IOException e)
        {
            throw new ContainerPSException(ErrorKind.ResourceUnavailable, "ContainerBusy",
                $"Container '{name}' is being changed by another session (waited {wait.TotalSeconds:0} s).", name, e);
        }
    }

    public void Dispose() => stream.Dispose();
}
