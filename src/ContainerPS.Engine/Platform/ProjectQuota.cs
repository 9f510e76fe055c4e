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
    private const uint Q_SETQUOTA = 0x800008, Q_XGETQSTATV = ('X' << 8) + 8;
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
    /// files keep theirs (they hold no data blocks worth counting; LXD skips them too).
    /// </summary>
    public static void SetProject(string root, uint project)
    {
        var rootDev = LibC.LStat(root).stx_dev_major << 20 | LibC.LStat(root).stx_dev_minor;
        var pending = new Stack<string>();
        pending.Push(root);
        while (pending.Count > 0)
        {
            var dir = pending.Pop();
            SetOne(dir, project, directory: true, must: dir == root);
            IEnumerable<string> entries;
            try { entries = Directory.EnumerateFileSystemEntries(dir).ToList(); }
            catch (DirectoryNotFoundException) { continue; } // removed meanwhile (a running container)
            foreach (var e in entries)
            {
                LibC.Statx st;
                try { st = LibC.LStat(e); }
                catch (IOException) { continue; }
                var type = st.stx_mode & LibC.S_IFMT;
                if (type == LibC.S_IFDIR && (st.stx_dev_major << 20 | st.stx_dev_minor) == rootDev)
                    pending.Push(e);
                else if (type == LibC.S_IFREG)
                    SetOne(e, project, directory: false, must: false);
            }
        }
    }

    private static void SetOne(string path, uint project, bool directory, bool must)
    {
        var fd = open_(path, LibC.O_RDONLY | LibC.O_NOFOLLOW | LibC.O_NONBLOCK | LibC.O_CLOEXEC | LibC.O_NOCTTY | (directory ? LibC.O_DIRECTORY : 0), 0);
        if (fd < 0)
        {
            var errno = Marshal.GetLastPInvokeError();
            if (!must && errno is ENOENT or ELOOP or ENXIO or LibC.ENOTDIR) // replaced or removed meanwhile
                return;
            throw LibC.Error("open", path);
        }
        try
        {
            FsXattr x;
            if (ioctl_(fd, FS_IOC_FSGETXATTR, &x) != 0)
            {
                if (!must && Marshal.GetLastPInvokeError() == ENOTTY)
                    return;
                throw LibC.Error("ioctl(FS_IOC_FSGETXATTR)", path);
            }
            var flags = directory ? x.fsx_xflags | FS_XFLAG_PROJINHERIT : x.fsx_xflags;
            if (x.fsx_projid == project && flags == x.fsx_xflags)
                return;
            x.fsx_projid = project;
            x.fsx_xflags = flags;
            if (ioctl_(fd, FS_IOC_FSSETXATTR, &x) != 0)
                throw LibC.Error("ioctl(FS_IOC_FSSETXATTR)", path);
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
