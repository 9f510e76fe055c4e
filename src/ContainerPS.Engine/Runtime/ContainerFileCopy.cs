using ContainerPS.Engine.Storage;

namespace ContainerPS.Engine.Runtime;

/// <summary>Copy-ContainerFile: files pushed into and pulled from a container's root filesystem (see <see cref="ContainerFiles"/>).</summary>
public sealed class ContainerFileCopy
{
    private readonly StorageService storage;
    private readonly IEngineLog log;
    private readonly ContainerRecords records;
    private readonly ContainerIdmaps idmaps;
    private readonly VolumePresenter presenter;

    internal ContainerFileCopy(StorageService storage, IEngineLog log, ContainerRecords records, ContainerIdmaps idmaps, VolumePresenter presenter) =>
        (this.storage, this.log, this.records, this.idmaps, this.presenter) = (storage, log, records, idmaps, presenter);

    /// <summary>
    /// Copies the host's <paramref name="localPath"/> (absolute; a directory with <paramref name="recurse"/>)
    /// to <paramref name="destination"/> in container <paramref name="name"/>, running or stopped. Returns what was written.
    /// </summary>
    public IReadOnlyList<ContainerFile> Push(string name, string localPath, string destination, bool recurse, CancellationToken cancel = default) =>
        WithFiles(name, cancel, files => files.Push(localPath, destination, recurse))
            .Select(w => new ContainerFile
            {
                Container = name, Path = w.Path, Type = w.Type, Length = w.Length, Mode = Octal(w.Mode), Uid = w.Uid, Gid = w.Gid,
            }).ToList();

    /// <summary>
    /// Copies <paramref name="containerPath"/> of container <paramref name="name"/> to the host's
    /// <paramref name="localDestination"/> (absolute). The copies are owned by the ids the container sees.
    /// Returns the host paths written.
    /// </summary>
    public IReadOnlyList<FileSystemInfo> Pull(string name, string containerPath, string localDestination, bool recurse, CancellationToken cancel = default) =>
        WithFiles(name, cancel, files => files.Pull(containerPath, localDestination, recurse))
            .Select(w => w.Type == "Directory" ? (FileSystemInfo)new DirectoryInfo(w.Path) : new FileInfo(w.Path)).ToList();

    private static string Octal(uint mode) => Convert.ToString(mode, 8).PadLeft(4, '0');

    /// <summary>
    /// Runs a copy with the container's lock held (a start cannot shift its files meanwhile), on its
    /// volume's files and with the map they are stored in.
    /// </summary>
    private List<ContainerFiles.Written> WithFiles(string name, CancellationToken cancel, Func<ContainerFiles, List<ContainerFiles.Written>> copy)
    {
        // Only root reaches the state and the containers' files (see host safety); a user with a state
        // root of their own gets a clear error instead of EPERM half-way through a copy.
        if (!Environment.IsPrivilegedProcess)
            throw new ContainerPSException(Errors.RootRequired, "Copy-ContainerFile must run as root (as every ContainerPS command).", name);
        using var _ = records.Lock(name);
        var row = records.ReadyRow(name);
        var (_, path, cfg) = storage.VolumeState(row.Pool, VolumeType.Container, name);
        cfg = presenter.FinishInterruptedShift(row.Pool, VolumeType.Container, name, path, cfg);
        using var files = new ContainerFiles(name, path, VolumePresenter.LastMap(cfg), row.Privileged ? null : idmaps.EffectiveMap(row), log, cancel);
        return copy(files);
    }
}
