using System.Runtime.InteropServices;

namespace ContainerPS.Engine.Platform;

/// <summary>
/// Filesystem project quotas (ext4 mounted prjquota, xfs mounted pquota), as LXD's dir driver uses
/// them: a directory tree gets a project id (FS_IOC_FSSETXATTR, with the inherit flag on
/// directories so new files join it), and the project a block limit (quotactl Q_SETQUOTA). All
/// calls go through quotactl_fd (Linux 5.14+) on an fd of a directory of the filesystem, so no
/// block device has to be found. ext4 does not limit root (CAP_SYS_RESOURCE); xfs does.
/// </summary>
internal static unsafe partial class ProjectQuota
{
    private const long SYS_quotactl_fd = 443; // the same number on every architecture
    private const int PRJQUOTA = 2;
    private const uint Q_SETQUOTA = 0x800008, Q_GETQUOTA = 0x800007, Q_XGETQSTATV = ('X' << 8) + 8;
    private const uint QIF_BLIMITS = 1;
    private const ushort FS_QUOTA_PDQ_ENFD = 1 << 5;
    private const uint FS_IOC_FSGETXATTR = 0x801C581F, FS_IOC_FSSETXATTR = 0x401C5820;
    private const uint FS_XFLAG_PROJINHERIT = 0x200;
    private const int ENOTTY = 25, ENOENT = 2, ELOOP = 40, ENXIO = 6;

    [StructLayout(LayoutKind.Sequential)]
    private struct FsXattr
    {
        public uint fsx_xflags, fsx_extsize, fsx_nextents, fsx_projid, fsx_cowextsize;
        public fixed byte fsx_pad[8];
    }

    [StructLayout(LayoutKind.Sequential)]
    private struct IfDqblk
    {
        public ulong dqb_bhardlimit, dqb_bsoftlimit, dqb_curspace, dqb_ihardlimit, dqb_isoftlimit, dqb_curinodes, dqb_btime, dqb_itime;
        public uint dqb_valid;
        private uint pad;
    }

    /// <summary>struct fs_quota_statv: only the flags are read.</summary>
    [StructLayout(LayoutKind.Explicit, Size = 160)]
    private struct FsQuotaStatV
    {
        [FieldOffset(0)] public sbyte qs_version;
        [FieldOffset(2)] public ushort qs_flags;
    }

    [LibraryImport("libc", EntryPoint = "syscall", SetLastError = true)]
    private static partial long quotactl_fd(long nr, int fd, uint cmd, int id, void* addr);

    [LibraryImport("libc", EntryPoint = "ioctl", SetLastError = true)]
    private static partial int ioctl_(int fd, ulong request, void* arg);

    [LibraryImport("libc", EntryPoint = "open", SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    private static partial int open_(string path, int flags, uint mode);

    [LibraryImport("libc", EntryPoint = "close")]
    private static partial int close_(int fd);

    private static uint Qcmd(uint cmd) => (cmd << 8) | PRJQUOTA;

    private static int Open(string path, bool directory)
    {
        var fd = open_(path, LibC.O_RDONLY | LibC.O_NOFOLLOW | LibC.O_NONBLOCK | LibC.O_CLOEXEC | LibC.O_NOCTTY | (directory ? LibC.O_DIRECTORY : 0), 0);
        if (fd < 0)
            throw LibC.Error("open", path);
        return fd;
    }

    /// <summary>
    /// True when project quota limits are enforced on the filesystem holding <paramref name="directory"/>
    /// (false where the kernel has no quota support, the filesystem has no project quotas, or they are
    /// only accounted).
    /// </summary>
    public static bool Enforced(string directory)
    {
        int fd;
        try { fd = Open(directory, directory: true); }
        catch (IOException) { return false; }
        try
        {
            var st = new FsQuotaStatV { qs_version = 1 };
            return quotactl_fd(SYS_quotactl_fd, fd, Qcmd(Q_XGETQSTATV), 0, &st) == 0 && (st.qs_flags & FS_QUOTA_PDQ_ENFD) != 0;
        }
        finally { close_(fd); }
    }

    /// <summary>The project id of a file or directory.</summary>
    public static uint GetProject(string path)
    {
        var fd = Open(path, Directory.Exists(path));
        try
        {
            FsXattr x;
            if (ioctl_(fd, FS_IOC_FSGETXATTR, &x) != 0)
                throw LibC.Error("ioctl(FS_IOC_FSGETXATTR)", path);
            return x.fsx_projid;
        }
        finally { close_(fd); }
    }

    /// <summary>
    /// Puts <paramref name="root"/> and every directory and regular file below it (never following
    /// symlinks, never leaving the filesystem) into project <paramref name="project"/>; directories get
    /// the inherit flag, so what is created in them later joins the project too. Symlinks and special
    /// files keep theirs (they hold no data blocks worth counting; LXD skips them too). The walk goes
    /// from directory descriptor to directory descriptor (openat, O_NOFOLLOW): a container that swaps a
    /// directory of its volume for a symlink meanwhile cannot lead it anywhere outside the volume.
    /// </summary>
    public static void SetProject(string root, uint project)
    {
        using var top = LibC.Openat(LibC.AT_FDCWD, root, DirFlags);
        var dev = DeviceOf(LibC.FStat(top));
        Set(top, root, project, directory: true);
        Walk(top, root, project, dev);
    }

    private const int DirFlags = LibC.O_RDONLY | LibC.O_NOFOLLOW | LibC.O_NONBLOCK | LibC.O_NOCTTY | LibC.O_DIRECTORY;

    private static ulong DeviceOf(LibC.Statx st) => (ulong)st.stx_dev_major << 32 | st.stx_dev_minor;

    private static void Walk(LibC.Fd dir, string path, uint project, ulong dev)
    {
        List<string> names;
        // The entries of the open directory itself (its /proc/self/fd link), not of whatever the path names now.
        try { names = Directory.EnumerateFileSystemEntries($"/proc/self/fd/{dir.Value}").Select(Path.GetFileName).OfType<string>().ToList(); }
        catch (DirectoryNotFoundException) { return; } // removed meanwhile (a running container)
        foreach (var name in names)
        {
            if (LibC.StatAt(dir.Value, name) is not { } st)
                continue;
            var type = st.stx_mode & LibC.S_IFMT;
            if (type != LibC.S_IFDIR && type != LibC.S_IFREG)
                continue;
            var errno = LibC.TryOpenat(dir.Value, name,
                type == LibC.S_IFDIR ? DirFlags : LibC.O_RDONLY | LibC.O_NOFOLLOW | LibC.O_NONBLOCK | LibC.O_NOCTTY, 0, out var fd);
            if (fd is null)
            {
                if (errno is ENOENT or ELOOP or ENXIO or LibC.ENOTDIR) // replaced or removed meanwhile
                    continue;
                throw LibC.ErrnoError("openat", Path.Combine(path, name), errno);
            }
            using (fd)
            {
                // What was opened, not what was listed: a name swapped meanwhile is checked again.
                var now = LibC.FStat(fd);
                if ((now.stx_mode & LibC.S_IFMT) != type || DeviceOf(now) != dev)
                    continue;
                Set(fd, Path.Combine(path, name), project, directory: type == LibC.S_IFDIR);
                if (type == LibC.S_IFDIR)
                    Walk(fd, Path.Combine(path, name), project, dev);
            }
        }
    }

    private static void Set(LibC.Fd fd, string path, uint project, bool directory)
    {
        FsXattr x;
        if (ioctl_(fd.Value, FS_IOC_FSGETXATTR, &x) != 0)
            throw LibC.Error("ioctl(FS_IOC_FSGETXATTR)", path);
        var flags = directory ? x.fsx_xflags | FS_XFLAG_PROJINHERIT : x.fsx_xflags;
        if (x.fsx_projid == project && flags == x.fsx_xflags)
            return;
        x.fsx_projid = project;
        x.fsx_xflags = flags;
        if (ioctl_(fd.Value, FS_IOC_FSSETXATTR, &x) != 0)
            throw LibC.Error("ioctl(FS_IOC_FSSETXATTR)", path);
    }

    /// <summary>True when <paramref name="project"/> has blocks, inodes or limits on the filesystem holding <paramref name="directory"/>.</summary>
    public static bool InUse(string directory, uint project)
    {
        var fd = Open(directory, directory: true);
        try
        {
            var q = new IfDqblk();
            if (quotactl_fd(SYS_quotactl_fd, fd, Qcmd(Q_GETQUOTA), (int)project, &q) != 0)
                throw LibC.Error($"quotactl(Q_GETQUOTA, project {project})", directory);
            return q.dqb_curspace != 0 || q.dqb_curinodes != 0 || q.dqb_bhardlimit != 0 || q.dqb_bsoftlimit != 0 || q.dqb_ihardlimit != 0;
        }
        finally { close_(fd); }
    }

    /// <summary>
    /// Sets the block limit of <paramref name="project"/> on the filesystem holding <paramref name="directory"/>
    /// to <paramref name="bytes"/> (rounded up to KiB; hard and soft alike); 0 removes the limit.
    /// </summary>
    public static void SetLimit(string directory, uint project, long bytes)
    {
        var fd = Open(directory, directory: true);
        try
        {
            var kib = (ulong)((bytes + 1023) / 1024);
            var q = new IfDqblk { dqb_bhardlimit = kib, dqb_bsoftlimit = kib, dqb_valid = QIF_BLIMITS };
            if (quotactl_fd(SYS_quotactl_fd, fd, Qcmd(Q_SETQUOTA), (int)project, &q) != 0)
                throw LibC.Error($"quotactl(Q_SETQUOTA, project {project})", directory);
        }
        finally { close_(fd); }
    }
}
