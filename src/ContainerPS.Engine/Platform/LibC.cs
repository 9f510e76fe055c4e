using Microsoft.Win32.SafeHandles;
using System.Runtime.InteropServices;

namespace ContainerPS.Engine.Platform;

/// <summary>
/// The few libc calls the engine makes directly. Every call is checked: failures become
/// <see cref="IOException"/> carrying errno text. (Tmds.LibC ships only a RID-specific runtime
/// assembly, which pwsh's module loader does not probe, so these few are declared here.)
/// </summary>
internal static unsafe partial class LibC
{
    public const int AT_FDCWD = -100;
    public const int AT_SYMLINK_NOFOLLOW = 0x100;
    public const uint STATX_BASIC_STATS = 0x7ff, STATX_MNT_ID = 0x1000;

    [StructLayout(LayoutKind.Sequential)]
    public struct StatVfs
    {
        public ulong f_bsize, f_frsize, f_blocks, f_bfree, f_bavail, f_files, f_ffree, f_favail, f_fsid, f_flag, f_namemax;
        public fixed int __f_spare[6];
    }

    [StructLayout(LayoutKind.Explicit, Size = 256)]
    public struct Statx
    {
        [FieldOffset(0)] public uint stx_mask;
        [FieldOffset(4)] public uint stx_blksize;
        [FieldOffset(16)] public uint stx_nlink;
        [FieldOffset(20)] public uint stx_uid;
        [FieldOffset(24)] public uint stx_gid;
        [FieldOffset(28)] public ushort stx_mode;
        [FieldOffset(32)] public ulong stx_ino;
        [FieldOffset(40)] public ulong stx_size;
        [FieldOffset(48)] public ulong stx_blocks;
        [FieldOffset(136)] public uint stx_dev_major;
        [FieldOffset(140)] public uint stx_dev_minor;
        /// <summary>The id of the mount the file is on (STATX_MNT_ID).</summary>
        [FieldOffset(144)] public ulong stx_mnt_id;
    }

    [StructLayout(LayoutKind.Sequential)]
    private struct StatFs
    {
        public long f_type;
        public fixed long rest[15];
    }

    [LibraryImport("libc", EntryPoint = "statfs", SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    private static partial int statfs_(string path, out StatFs buf);

    /// <summary>The filesystem type (statfs f_type magic, e.g. 0x9123683E for btrfs) of <paramref name="path"/>.</summary>
    public static long StatFsType(string path)
    {
        if (statfs_(path, out var buf) != 0)
            throw Error("statfs", path);
        return buf.f_type;
    }

    [LibraryImport("libc", EntryPoint = "statvfs", SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    private static partial int statvfs_(string path, out StatVfs buf);

    [LibraryImport("libc", EntryPoint = "statx", SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    private static partial int statx_(int dirfd, string path, int flags, uint mask, out Statx buf);

    [LibraryImport("libc", EntryPoint = "realpath", SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    private static partial nint realpath_(string path, nint resolved);

    [LibraryImport("libc", EntryPoint = "free")]
    private static partial void free_(nint p);

    [LibraryImport("libc", EntryPoint = "kill", SetLastError = true)]
    private static partial int kill_(int pid, int sig);

    /// <summary>kill(2); false when the process is already gone.</summary>
    public static bool Kill(int pid, int signal) => kill_(pid, signal) == 0;

    [LibraryImport("libc", EntryPoint = "pipe2", SetLastError = true)]
    private static partial int pipe2_(int* fds, int flags);

    /// <summary>
    /// A pipe whose write end a child process inherits (no O_CLOEXEC on it; .NET opens every descriptor
    /// of its own close-on-exec, so only this one passes) and whose read end it does not.
    /// </summary>
    public static (SafeFileHandle Read, int Write) InheritablePipe()
    {
        int* fds = stackalloc int[2];
        if (pipe2_(fds, 0) != 0)
            throw Error("pipe2", "");
        if (fcntl_(fds[0], F_SETFD, FD_CLOEXEC) != 0)
            throw Error("fcntl", "");
        return (new SafeFileHandle(fds[0], ownsHandle: true), fds[1]);
    }

    private const int F_SETFD = 2, FD_CLOEXEC = 1;

    [LibraryImport("libc", EntryPoint = "fcntl", SetLastError = true)]
    private static partial int fcntl_(int fd, int cmd, int arg);

    /// <summary>close(2) of a descriptor held as a number (the write end of <see cref="InheritablePipe"/>).</summary>
    public static void Close(int fd) => close_(fd);

    [LibraryImport("libc", EntryPoint = "link", SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    private static partial int link_(string from, string to);

    /// <summary>link(2): a hard link <paramref name="to"/> of <paramref name="from"/>; false (EXDEV, EPERM...) when the filesystem refuses.</summary>
    public static bool TryLink(string from, string to) => link_(from, to) == 0;

    [LibraryImport("libc", EntryPoint = "mkfifo", SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    private static partial int mkfifo_(string path, uint mode);

    /// <summary>Makes a FIFO (named pipe) at <paramref name="path"/> with mode 0600.</summary>
    public static void MakeFifo(string path)
    {
        if (mkfifo_(path, 0x180 /* 0600 */) != 0)
            throw Error("mkfifo", path);
    }

    [LibraryImport("libc", EntryPoint = "lchown", SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    private static partial int lchown_(string path, uint owner, uint group);

    [LibraryImport("libc", EntryPoint = "chmod", SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    private static partial int chmod_(string path, uint mode);

    [LibraryImport("libc", EntryPoint = "lgetxattr", SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    private static partial nint lgetxattr_(string path, string name, byte* value, nuint size);

    [LibraryImport("libc", EntryPoint = "lsetxattr", SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    private static partial int lsetxattr_(string path, string name, byte* value, nuint size, int flags);

    /// <summary>lchown(2): owner and group of <paramref name="path"/> itself (a symlink is not followed).</summary>
    public static void LChown(string path, long uid, long gid)
    {
        if (lchown_(path, (uint)uid, (uint)gid) != 0)
            throw Error("lchown", path);
    }

    public static void Chmod(string path, uint mode)
    {
        if (chmod_(path, mode) != 0)
            throw Error("chmod", path);
    }

    private const int ENODATA = 61, EOPNOTSUPP = 95;

    /// <summary>The value of extended attribute <paramref name="name"/> of <paramref name="path"/> itself, or null when it has none.</summary>
    public static byte[]? LGetXattr(string path, string name)
    {
        var buf = new byte[256];
        while (true)
        {
            nint n;
            fixed (byte* p = buf)
                n = lgetxattr_(path, name, p, (nuint)buf.Length);
            if (n >= 0)
                return buf[..(int)n];
            var errno = Marshal.GetLastPInvokeError();
            if (errno is ENODATA or EOPNOTSUPP)
                return null;
            if (errno != 34 /* ERANGE */)
                throw Error("lgetxattr " + name, path);
            buf = new byte[buf.Length * 4];
        }
    }

    public static void LSetXattr(string path, string name, byte[] value)
    {
        int r;
        fixed (byte* p = value)
            r = lsetxattr_(path, name, p, (nuint)value.Length, 0);
        if (r != 0)
            throw Error("lsetxattr " + name, path);
    }

    [LibraryImport("libc", EntryPoint = "open", SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    private static partial int open_(string path, int flags);

    [LibraryImport("libc", EntryPoint = "close")]
    private static partial int close_(int fd);

    /// <summary>
    /// True when a block device is claimed exclusively (a mounted filesystem, in any mount namespace):
    /// open(O_EXCL) on a block device fails with EBUSY then.
    /// </summary>
    public static bool DeviceInUse(string device)
    {
        const int O_RDONLY = 0, O_EXCL = 0x80, O_CLOEXEC = 0x80000, EBUSY = 16;
        var fd = open_(device, O_RDONLY | O_EXCL | O_CLOEXEC);
        if (fd >= 0)
        {
            close_(fd);
            return false;
        }
        if (Marshal.GetLastPInvokeError() == EBUSY)
            return true;
        throw Error("open", device);
    }

    [LibraryImport("libc", EntryPoint = "strerror")]
    private static partial nint strerror_(int errnum);

    public static StatVfs StatVfsOf(string path)
    {
        if (statvfs_(path, out var buf) != 0)
            throw Error("statvfs", path);
        return buf;
    }

    /// <summary>lstat-like: does not follow a final symlink.</summary>
    public static Statx LStat(string path)
    {
        if (statx_(AT_FDCWD, path, AT_SYMLINK_NOFOLLOW, STATX_BASIC_STATS | STATX_MNT_ID, out var buf) != 0)
            throw Error("statx", path);
        return buf;
    }

    /// <summary>statx of an open file (AT_EMPTY_PATH): what its fd refers to, even when its path is gone.</summary>
    public static Statx FStat(Microsoft.Win32.SafeHandles.SafeFileHandle file)
    {
        if (statx_((int)file.DangerousGetHandle(), "", 0x1000 /* AT_EMPTY_PATH */, STATX_BASIC_STATS, out var buf) != 0)
            throw Error("statx", "(fd)");
        return buf;
    }

    /// <summary>realpath(3): the canonical path, every symlink resolved. The path must exist.</summary>
    public static string RealPath(string path)
    {
        var p = realpath_(path, 0);
        if (p == 0)
            throw Error("realpath", path);
        try { return Marshal.PtrToStringUTF8(p)!; }
        finally { free_(p); }
    }

    public static IOException Error(string call, string path)
    {
        var errno = Marshal.GetLastPInvokeError();
        return new IOException($"{call}({path}): {StrError(errno)} (errno {errno})", errno);
    }

    public static string StrError(int errno) => Marshal.PtrToStringUTF8(strerror_(errno)) ?? $"errno {errno}";
}
