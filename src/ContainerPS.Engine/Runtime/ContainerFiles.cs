using ContainerPS.Engine.Idmap;

namespace ContainerPS.Engine.Runtime;

/// <summary>
/// Copy-ContainerFile (lxc file push/pull): copies files, directories and symbolic links between the
/// host and a container's root filesystem, for running and stopped containers alike.
///
/// Where the files are reached: the container's volume on disk (the storage volume's path), not the
/// running container's mounts. The rootfs a running container sees is an idmapped mount or a bind
/// mount of that same directory, so a write there is what the container sees at once, and the one
/// code path serves stopped containers too. The alternative, copying inside the container's mount
/// namespace, would need a native helper (the CLR must never setns) and a second protocol for the
/// bytes; what it would add is the container's own mounts (custom volumes, /dev, /proc), which are
/// out of scope and documented as such.
///
/// Safety against a hostile container root, who controls every name in that tree: the container
/// path is resolved once, by the kernel, with openat2(RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS |
/// RESOLVE_NO_XDEV) relative to an fd of the volume directory, so "..", absolute paths and symlinks
/// (a symlinked parent included, and renames racing with the lookup) never leave it. Everything
/// after that goes through fds: entries of a directory are opened with openat(O_NOFOLLOW) one name at
/// a time, new files are created with O_CREAT | O_EXCL | O_NOFOLLOW under a temporary name, owned and
/// moded with fchown/fchmod on their fd and renamed into place (so a symlink planted at the
/// destination is replaced, never written through), and a source is opened only after its fd showed
/// a regular file or a directory (FIFOs, devices and sockets are skipped, never opened). The host
/// side of a copy is walked the same way below the path the user gave.
///
/// Owners: ids are the container's. The files on disk are unshifted (the container's own ids, shown
/// through an idmapped mount) or shifted to the map in the volume's volatile.idmap.last; a push
/// stores the source file's owner, taken as a container id, in that form, and a pull gives the local
/// copy the owner the container sees. Ids outside the container's map become nobody (65534).
/// </summary>
internal sealed class ContainerFiles : IDisposable
{
    /// <summary>What a copy wrote: its path as shown to the user, its type, length, mode and owner (container ids on the container side).</summary>
    public sealed record Written(string Path, string Type, long Length, uint Mode, long Uid, long Gid);

    private const long Overflow = 65534; // the kernel's overflow id: nobody/nogroup
    private const ulong InRoot = LibC.RESOLVE_IN_ROOT | LibC.RESOLVE_NO_MAGICLINKS | LibC.RESOLVE_NO_XDEV;
    private const int BufferSize = 1 << 20;
    private const long ProgressFrom = 1 << 20; // files of 1 MiB and more show progress

    private readonly string container;
    private readonly LibC.Fd root;
    private readonly IdMapping? disk;
    private readonly IdMapping? map;
    private readonly IEngineLog log;
    private readonly CancellationToken cancel;
    private readonly byte[] buffer = new byte[BufferSize];

    /// <param name="rootfs">The container's root filesystem on disk (its volume's path).</param>
    /// <param name="disk">The map the files on disk are stored in (null: unshifted, the container's own ids).</param>
    /// <param name="map">The container's id map (null: privileged, no map).</param>
    public ContainerFiles(string container, string rootfs, IdMapping? disk, IdMapping? map, IEngineLog log, CancellationToken cancel)
    {
        this.container = container;
        this.disk = disk;
        this.map = map;
        this.log = log;
        this.cancel = cancel;
        var errno = LibC.TryOpenat2(LibC.AT_FDCWD, rootfs, LibC.O_PATH | LibC.O_DIRECTORY, 0, out var fd);
        root = fd ?? throw LibC.ErrnoError("open", rootfs, errno);
    }

    public void Dispose() => root.Dispose();

    /// <summary>Copies the host's <paramref name="localPath"/> (absolute) to <paramref name="destination"/> in the container.</summary>
    public List<Written> Push(string localPath, string destination, bool recurse)
    {
        CheckContainerPath(destination);
        var written = new List<Written>();
        using var source = OpenSource(LibC.AT_FDCWD, 0, localPath, recurse, out var st);
        using var target = OpenDestination(root.Value, InRoot, destination, LeafOf(localPath), out var name, out var shown);
        Copy(source, st, target, name, shown, ToDisk, written, toContainer: true);
        return written;
    }

    /// <summary>Copies <paramref name="containerPath"/> of the container to the host's <paramref name="localDestination"/> (absolute).</summary>
    public List<Written> Pull(string containerPath, string localDestination, bool recurse)
    {
        CheckContainerPath(containerPath);
        var written = new List<Written>();
        using var source = OpenSource(root.Value, InRoot, containerPath, recurse, out var st);
        using var target = OpenDestination(LibC.AT_FDCWD, 0, localDestination, LeafOf(containerPath), out var name, out var shown);
        Copy(source, st, target, name, shown, FromDisk, written, toContainer: false);
        return written;
    }

    private static void CheckContainerPath(string path)
    {
        if (!path.StartsWith('/') || path.Contains('\0'))
            throw new ContainerPSException(Errors.InvalidPath,
                $"Invalid container path '{Names.Printable(path)}': it must be an absolute path inside the container.", path);
    }

    /// <summary>The last name of a path ('/a/b/' is b); InvalidPath for '/' and names such as '.' and '..' that name no entry.</summary>
    private static string LeafOf(string path)
    {
        var trimmed = path.TrimEnd('/');
        var leaf = trimmed[(trimmed.LastIndexOf('/') + 1)..];
        if (leaf is "" or "." or "..")
            throw new ContainerPSException(Errors.InvalidPath,
                $"Invalid path '{Names.Printable(path)}': it must end in the name of a file or directory (copy a root directory's entries one by one).", path);
        return leaf;
    }

    /// <summary>
    /// Opens a copy's source (following symlinks, inside the root when <paramref name="resolve"/> says so):
    /// PathNotFound, RecurseRequired for a directory without -Recurse, NotAFile for anything but a regular file or directory.
    /// </summary>
    private static LibC.Fd OpenSource(int dirfd, ulong resolve, string path, bool recurse, out LibC.Statx st)
    {
        var errno = LibC.TryOpenat2(dirfd, path, LibC.O_PATH, resolve, out var probe);
        if (probe is null)
            throw errno is LibC.ENOENT or LibC.ENOTDIR or LibC.ELOOP
                ? new ContainerPSException(Errors.PathNotFound, $"Cannot copy '{Names.Printable(path)}': no such file or directory.", path)
                : LibC.ErrnoError("open", path, errno);
        using (probe)
            st = LibC.FStat(probe);
        var type = st.stx_mode & LibC.S_IFMT;
        if (type == LibC.S_IFDIR && !recurse)
            throw new ContainerPSException(Errors.RecurseRequired, $"'{Names.Printable(path)}' is a directory: use -Recurse to copy it.", path);
        if (type is not (LibC.S_IFDIR or LibC.S_IFREG))
            throw new ContainerPSException(Errors.NotAFile,
                $"'{Names.Printable(path)}' is not a regular file or directory (a FIFO, socket or device is never opened).", path);
        // Opened for reading only now that its fd showed what it is; it must still be the same file.
        var flags = type == LibC.S_IFDIR ? LibC.O_RDONLY | LibC.O_DIRECTORY : LibC.O_RDONLY | LibC.O_NONBLOCK | LibC.O_NOCTTY;
        errno = LibC.TryOpenat2(dirfd, path, flags, resolve, out var fd);
        if (fd is null)
            throw LibC.ErrnoError("open", path, errno);
        CheckSame(fd, st, path);
        return fd;
    }

    private static void CheckSame(LibC.Fd fd, LibC.Statx expected, string path)
    {
        var now = LibC.FStat(fd);
        if (now.stx_ino != expected.stx_ino || now.stx_dev_major != expected.stx_dev_major || now.stx_dev_minor != expected.stx_dev_minor)
        {
            fd.Dispose();
            throw new IOException($"'{path}' was replaced while it was being opened; nothing was copied from it.");
        }
    }

    /// <summary>
    /// The directory a copy writes into and the name it writes there: into <paramref name="path"/> when it is
    /// an existing directory (as Copy-Item), else its parent with its last name. DestinationParentNotFound
    /// when that directory does not exist.
    /// </summary>
    private static LibC.Fd OpenDestination(int dirfd, ulong resolve, string path, string leaf, out string name, out string shown)
    {
        var directoryWanted = path.EndsWith('/');
        var errno = LibC.TryOpenat2(dirfd, path, LibC.O_PATH | LibC.O_DIRECTORY, resolve, out var dir);
        if (dir is not null)
        {
            name = leaf;
            shown = path.TrimEnd('/') + "/" + leaf;
            return dir;
        }
        if (directoryWanted || errno is not (LibC.ENOTDIR or LibC.ENOENT or LibC.ELOOP))
            throw errno is LibC.ENOTDIR or LibC.ENOENT or LibC.ELOOP
                ? NoParent(path, path)
                : LibC.ErrnoError("open", path, errno);
        var trimmed = path.TrimEnd('/');
        var cut = trimmed.LastIndexOf('/');
        var parent = cut <= 0 ? "/" : trimmed[..cut];
        name = LeafOf(trimmed);
        shown = trimmed;
        errno = LibC.TryOpenat2(dirfd, parent, LibC.O_PATH | LibC.O_DIRECTORY, resolve, out dir);
        return dir ?? throw (errno is LibC.ENOTDIR or LibC.ENOENT or LibC.ELOOP ? NoParent(path, parent) : LibC.ErrnoError("open", parent, errno));
    }

    private static ContainerPSException NoParent(string path, string parent) =>
        new(Errors.DestinationParentNotFound,
            $"Cannot copy to '{Names.Printable(path)}': the directory '{Names.Printable(parent)}' does not exist.", path);

    // ------------------------------------------------------------------ ids

    /// <summary>Push: the on-disk owner of a file the container sees owned by <paramref name="uid"/>:<paramref name="gid"/>.</summary>
    private (long, long) ToDisk(long uid, long gid) => (DiskId(true, uid), DiskId(false, gid));

    /// <summary>Pull: the owner the container sees for on-disk <paramref name="uid"/>:<paramref name="gid"/>.</summary>
    private (long, long) FromDisk(long uid, long gid) => (ContainerId(true, uid), ContainerId(false, gid));

    private bool warnedUnmapped;

    private long DiskId(bool uid, long id)
    {
        if (map is not null && map.ToHost(uid, id) is null)
        {
            if (!warnedUnmapped)
                log.Warning($"Container '{container}' has no {(uid ? "uid" : "gid")} {id} in its id map; files of such owners are stored as nobody ({Overflow}).");
            warnedUnmapped = true;
            id = Overflow;
        }
        return disk is null ? id : disk.ToHost(uid, id) ?? disk.ToHost(uid, Overflow) ?? (uid ? disk.UidBase : disk.GidBase);
    }

    private long ContainerId(bool uid, long onDisk)
    {
        var id = disk is null ? onDisk : disk.ToContainer(uid, onDisk);
        return id is long c && (map is null || map.ToHost(uid, c) is not null) ? c : Overflow;
    }

    // ------------------------------------------------------------------ copying

    private delegate (long Uid, long Gid) Owners(long uid, long gid);

    /// <summary>Copies the open <paramref name="source"/> (a regular file or a directory) to <paramref name="name"/> below <paramref name="dir"/>.</summary>
    private void Copy(LibC.Fd source, LibC.Statx st, LibC.Fd dir, string name, string shown, Owners owners, List<Written> written, bool toContainer)
    {
        cancel.ThrowIfCancellationRequested();
        var (uid, gid) = owners(st.stx_uid, st.stx_gid);
        var mode = st.stx_mode & 0xFFFu;
        // Written shows the owner as the container sees it (on a push: what was stored, read back).
        var (shownUid, shownGid) = toContainer ? FromDisk(uid, gid) : (uid, gid);
        if ((st.stx_mode & LibC.S_IFMT) == LibC.S_IFREG)
        {
            CopyFile(source, (long)st.stx_size, dir, name, shown, uid, gid, mode);
            written.Add(new Written(shown, "File", (long)st.stx_size, mode, shownUid, shownGid));
            return;
        }
        using var target = EnsureDirectory(dir, name, shown);
        written.Add(new Written(shown, "Directory", 0, mode, shownUid, shownGid));
        foreach (var entry in LibC.ReadDirectory(source))
        {
            cancel.ThrowIfCancellationRequested();
            if (LibC.StatAt(source.Value, entry) is not { } est)
                continue; // removed meanwhile
            var path = shown + "/" + entry;
            switch (est.stx_mode & LibC.S_IFMT)
            {
                case LibC.S_IFREG or LibC.S_IFDIR:
                    var flags = (est.stx_mode & LibC.S_IFMT) == LibC.S_IFDIR
                        ? LibC.O_RDONLY | LibC.O_DIRECTORY | LibC.O_NOFOLLOW
                        : LibC.O_RDONLY | LibC.O_NOFOLLOW | LibC.O_NONBLOCK | LibC.O_NOCTTY;
                    var errno = LibC.TryOpenat(source.Value, entry, flags, 0, out var child);
                    if (child is null)
                    {
                        log.Warning($"Skipped '{path}': it changed while being copied ({LibC.StrError(errno)}).");
                        continue;
                    }
                    using (child)
                    {
                        CheckSame(child, est, path);
                        Copy(child, est, target, entry, path, owners, written, toContainer);
                    }
                    break;
                case LibC.S_IFLNK:
                    var link = LibC.Readlinkat(source.Value, entry);
                    var (lu, lg) = owners(est.stx_uid, est.stx_gid);
                    Replace(target, entry, tmp => LibC.Symlinkat(link, target.Value, tmp), tmp => LibC.LChownAt(target.Value, tmp, lu, lg));
                    var (su, sg) = toContainer ? FromDisk(lu, lg) : (lu, lg);
                    written.Add(new Written(path, "SymbolicLink", link.Length, 0x1FF, su, sg));
                    break;
                default:
                    log.Warning($"Skipped '{path}': not a regular file, directory or symbolic link.");
                    break;
            }
        }
        LibC.FChown(target, uid, gid);
        LibC.FChmod(target, mode);
    }

    /// <summary>The directory <paramref name="name"/> below <paramref name="dir"/>, made if missing; never a symlink followed.</summary>
    private static LibC.Fd EnsureDirectory(LibC.Fd dir, string name, string shown)
    {
        var existing = LibC.StatAt(dir.Value, name);
        if (existing is null)
            LibC.Mkdirat(dir.Value, name, 0x1C0 /* 0700 until its own mode is set */);
        else if ((existing.Value.stx_mode & LibC.S_IFMT) != LibC.S_IFDIR)
            throw new ContainerPSException(Errors.DestinationNotADirectory,
                $"Cannot copy a directory to '{Names.Printable(shown)}': it exists and is not a directory.", shown);
        return LibC.Openat(dir.Value, name, LibC.O_RDONLY | LibC.O_DIRECTORY | LibC.O_NOFOLLOW);
    }

    /// <summary>Writes a regular file: a temporary name in the same directory, owned and moded by fd, then renamed over <paramref name="name"/>.</summary>
    private void CopyFile(LibC.Fd source, long length, LibC.Fd dir, string name, string shown, long uid, long gid, uint mode)
    {
        if (LibC.StatAt(dir.Value, name) is { } existing && (existing.stx_mode & LibC.S_IFMT) == LibC.S_IFDIR)
            throw new ContainerPSException(Errors.DestinationIsDirectory,
                $"Cannot copy a file to '{Names.Printable(shown)}': it is a directory.", shown);
        Replace(dir, name, tmp =>
        {
            using var fd = LibC.Openat(dir.Value, tmp, LibC.O_WRONLY | LibC.O_CREAT | LibC.O_EXCL | LibC.O_NOFOLLOW, 0x180 /* 0600 */);
            var activity = $"Copying '{shown}'";
            long done = 0;
            var shownPercent = -1;
            int n;
            while ((n = LibC.Read(source, buffer)) > 0)
            {
                cancel.ThrowIfCancellationRequested();
                LibC.WriteAll(fd, buffer, n);
                done += n;
                var percent = (int)(done * 100 / Math.Max(1, length));
                if (length >= ProgressFrom && percent != shownPercent)
                {
                    log.Progress(activity, $"{done >> 20} of {length >> 20} MiB", Math.Min(percent, 100));
                    shownPercent = percent;
                }
            }
            if (length >= ProgressFrom)
                log.Progress(activity, "done", -1);
            LibC.FChown(fd, uid, gid);
            LibC.FChmod(fd, mode); // after the chown, which clears setuid and setgid
        }, null);
    }

    /// <summary>
    /// Makes an entry under a fresh temporary name with <paramref name="make"/>, finishes it with
    /// <paramref name="finish"/> and renames it over <paramref name="name"/> (a symlink there is
    /// replaced, not followed); the temporary entry is removed when anything fails.
    /// </summary>
    private static void Replace(LibC.Fd dir, string name, Action<string> make, Action<string>? finish)
    {
        var tmp = $".{(name.Length > 200 ? name[..200] : name)}.cps-{Guid.NewGuid():N}";
        var done = false;
        try
        {
            make(tmp);
            finish?.Invoke(tmp);
            LibC.Renameat(dir.Value, tmp, name);
            done = true;
        }
        finally
        {
            if (!done)
                LibC.TryUnlinkat(dir.Value, tmp);
        }
    }
}
