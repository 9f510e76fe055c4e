using System.Runtime.InteropServices;

namespace ContainerPS.Engine.Platform;

/// <summary>
/// The fd-relative calls used to reach files of a directory tree that someone else controls (a
/// container's root filesystem): openat2 with RESOLVE_IN_ROOT, then *at calls relative to the
/// directory fds it returns, so that no path string is ever resolved again on the host.
/// </summary>
internal static unsafe partial class LibC
{
    public const int O_RDONLY = 0, O_WRONLY = 1, O_CREAT = 0x40, O_EXCL = 0x80, O_NOCTTY = 0x100, O_NONBLOCK = 0x800,
        O_DIRECTORY = 0x10000, O_NOFOLLOW = 0x20000, O_CLOEXEC = 0x80000, O_PATH = 0x200000;
    public const ulong RESOLVE_NO_XDEV = 0x01, RESOLVE_NO_MAGICLINKS = 0x02, RESOLVE_IN_ROOT = 0x10;
    public const int AT_EMPTY_PATH = 0x1000, AT_REMOVEDIR = 0x200;
    public const int ENOENT = 2, EINTR = 4, EAGAIN = 11, EEXIST = 17, ENOTDIR = 20, ELOOP = 40;
    public const uint S_IFMT = 0xF000, S_IFREG = 0x8000, S_IFDIR = 0x4000, S_IFLNK = 0xA000;

    private const long SYS_openat2 = 437; // x86_64

    [StructLayout(LayoutKind.Sequential)]
    private struct OpenHow
    {
        public ulong flags, mode, resolve;
    }

    [LibraryImport("libc", EntryPoint = "syscall", SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    private static partial long syscall_openat2(long nr, int dirfd, string path, ref OpenHow how, nuint size);

    [LibraryImport("libc", EntryPoint = "openat", SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    private static partial int openat_(int dirfd, string path, int flags, uint mode);

    [LibraryImport("libc", EntryPoint = "mkdirat", SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    private static partial int mkdirat_(int dirfd, string path, uint mode);

    [LibraryImport("libc", EntryPoint = "renameat", SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    private static partial int renameat_(int olddirfd, string oldpath, int newdirfd, string newpath);

    [LibraryImport("libc", EntryPoint = "unlinkat", SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    private static partial int unlinkat_(int dirfd, string path, int flags);

    [LibraryImport("libc", EntryPoint = "symlinkat", SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    private static partial int symlinkat_(string target, int dirfd, string path);

    [LibraryImport("libc", EntryPoint = "readlinkat", SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    private static partial nint readlinkat_(int dirfd, string path, byte* buf, nuint size);

    [LibraryImport("libc", EntryPoint = "fchown", SetLastError = true)]
    private static partial int fchown_(int fd, uint owner, uint group);

    [LibraryImport("libc", EntryPoint = "fchmod", SetLastError = true)]
    private static partial int fchmod_(int fd, uint mode);

    [LibraryImport("libc", EntryPoint = "fchownat", SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    private static partial int fchownat_(int dirfd, string path, uint owner, uint group, int flags);

    [LibraryImport("libc", EntryPoint = "read", SetLastError = true)]
    private static partial nint read_(int fd, byte* buf, nuint count);

    [LibraryImport("libc", EntryPoint = "write", SetLastError = true)]
    private static partial nint write_(int fd, byte* buf, nuint count);

    [LibraryImport("libc", EntryPoint = "dup", SetLastError = true)]
    private static partial int dup_(int fd);

    [LibraryImport("libc", EntryPoint = "fdopendir", SetLastError = true)]
    private static partial nint fdopendir_(int fd);

    [LibraryImport("libc", EntryPoint = "readdir64", SetLastError = true)]
    private static partial nint readdir64_(nint dir);

    [LibraryImport("libc", EntryPoint = "closedir")]
    private static partial int closedir_(nint dir);

    /// <summary>An open file descriptor, closed on dispose.</summary>
    public sealed class Fd : IDisposable
    {
        public Fd(int value) => Value = value;
        public int Value { get; private set; }

        public void Dispose()
        {
            if (Value >= 0)
                close_(Value);
            Value = -1;
        }
    }

    /// <summary>
    /// openat2(2). <paramref name="resolve"/> RESOLVE_IN_ROOT makes <paramref name="dirfd"/> the root
    /// of the lookup: "..", absolute paths and absolute symlinks all stay below it, in the kernel and
    /// without races. Returns the errno (ENOENT, ENOTDIR, ...) instead of throwing when <paramref name="fd"/> is null.
    /// </summary>
    public static int TryOpenat2(int dirfd, string path, int flags, ulong resolve, out Fd? fd)
    {
        var how = new OpenHow { flags = (ulong)(flags | O_CLOEXEC), mode = 0, resolve = resolve };
        for (var attempt = 0; ; attempt++)
        {
            var r = syscall_openat2(SYS_openat2, dirfd, path, ref how, (nuint)sizeof(OpenHow));
            if (r >= 0)
            {
                fd = new Fd((int)r);
                return 0;
            }
            var errno = Marshal.GetLastPInvokeError();
            // EAGAIN: a rename or mount raced with a RESOLVE_IN_ROOT lookup; the kernel asks for a retry.
            if ((errno == EAGAIN && attempt < 100) || errno == EINTR)
                continue;
            fd = null;
            return errno;
        }
    }

    /// <summary>openat(2) of one name below <paramref name="dirfd"/>; the errno instead of an exception.</summary>
    public static int TryOpenat(int dirfd, string name, int flags, uint mode, out Fd? fd)
    {
        while (true)
        {
            var r = openat_(dirfd, name, flags | O_CLOEXEC, mode);
            if (r >= 0)
            {
                fd = new Fd(r);
                return 0;
            }
            var errno = Marshal.GetLastPInvokeError();
            if (errno == EINTR)
                continue;
            fd = null;
            return errno;
        }
    }

    public static Fd Openat(int dirfd, string name, int flags, uint mode = 0)
    {
        var errno = TryOpenat(dirfd, name, flags, mode, out var fd);
        return fd ?? throw ErrnoError("openat", name, errno);
    }

    /// <summary>statx of <paramref name="name"/> below <paramref name="dirfd"/>, a final symlink not followed; null when it does not exist.</summary>
    public static Statx? StatAt(int dirfd, string name)
    {
        if (statx_(dirfd, name, AT_SYMLINK_NOFOLLOW, STATX_BASIC_STATS, out var buf) == 0)
            return buf;
        var errno = Marshal.GetLastPInvokeError();
        if (errno is ENOENT)
            return null;
        throw ErrnoError("statx", name, errno);
    }

    /// <summary>statx of what an fd refers to (AT_EMPTY_PATH; O_PATH fds too).</summary>
    public static Statx FStat(Fd fd)
    {
        if (statx_(fd.Value, "", AT_EMPTY_PATH, STATX_BASIC_STATS, out var buf) != 0)
            throw Error("statx", "(fd)");
        return buf;
    }

    public static void Mkdirat(int dirfd, string name, uint mode)
    {
        if (mkdirat_(dirfd, name, mode) != 0)
            throw Error("mkdirat", name);
    }

    public static void Renameat(int dirfd, string from, string to)
    {
        if (renameat_(dirfd, from, dirfd, to) != 0)
            throw Error("renameat", to);
    }

    /// <summary>unlinkat(2); false when the name is already gone.</summary>
    public static bool TryUnlinkat(int dirfd, string name) => unlinkat_(dirfd, name, 0) == 0;

    public static void Symlinkat(string target, int dirfd, string name)
    {
        if (symlinkat_(target, dirfd, name) != 0)
            throw Error("symlinkat", name);
    }

    /// <summary>The target of the symlink <paramref name="name"/> below <paramref name="dirfd"/>.</summary>
    public static string Readlinkat(int dirfd, string name)
    {
        var buf = new byte[4096];
        nint n;
        fixed (byte* p = buf)
            n = readlinkat_(dirfd, name, p, (nuint)buf.Length);
        if (n < 0)
            throw Error("readlinkat", name);
        return System.Text.Encoding.UTF8.GetString(buf, 0, (int)n);
    }

    public static void FChown(Fd fd, long uid, long gid)
    {
        if (fchown_(fd.Value, (uint)uid, (uint)gid) != 0)
            throw Error("fchown", "(fd)");
    }

    public static void FChmod(Fd fd, uint mode)
    {
        if (fchmod_(fd.Value, mode) != 0)
            throw Error("fchmod", "(fd)");
    }

    /// <summary>Owner and group of <paramref name="name"/> below <paramref name="dirfd"/> itself (a symlink is not followed).</summary>
    public static void LChownAt(int dirfd, string name, long uid, long gid)
    {
        if (fchownat_(dirfd, name, (uint)uid, (uint)gid, AT_SYMLINK_NOFOLLOW) != 0)
            throw Error("fchownat", name);
    }

    /// <summary>read(2) into <paramref name="buffer"/>: the bytes read, 0 at end of file.</summary>
    public static int Read(Fd fd, byte[] buffer)
    {
        while (true)
        {
            nint n;
            fixed (byte* p = buffer)
                n = read_(fd.Value, p, (nuint)buffer.Length);
            if (n >= 0)
                return (int)n;
            if (Marshal.GetLastPInvokeError() != EINTR)
                throw Error("read", "(fd)");
        }
    }

    /// <summary>Writes all <paramref name="count"/> bytes of <paramref name="buffer"/>.</summary>
    public static void WriteAll(Fd fd, byte[] buffer, int count)
    {
        var done = 0;
        while (done < count)
        {
            nint n;
            fixed (byte* p = &buffer[done])
                n = write_(fd.Value, p, (nuint)(count - done));
            if (n < 0)
            {
                if (Marshal.GetLastPInvokeError() == EINTR)
                    continue;
                throw Error("write", "(fd)");
            }
            done += (int)n;
        }
    }

    /// <summary>The names in a directory open as <paramref name="dir"/> ("." and ".." left out).</summary>
    public static List<string> ReadDirectory(Fd dir)
    {
        var copy = dup_(dir.Value);
        if (copy < 0)
            throw Error("dup", "(fd)");
        var d = fdopendir_(copy);
        if (d == 0)
        {
            var e = Error("fdopendir", "(fd)");
            close_(copy);
            throw e;
        }
        var names = new List<string>();
        try
        {
            while (true)
            {
                Marshal.SetLastPInvokeError(0);
                var ent = readdir64_(d);
                if (ent == 0)
                {
                    if (Marshal.GetLastPInvokeError() != 0)
                        throw Error("readdir", "(fd)");
                    break;
                }
                // struct dirent64: d_ino (8), d_off (8), d_reclen (2), d_type (1), d_name.
                var name = Marshal.PtrToStringUTF8(ent + 19)!;
                if (name is not ("." or ".."))
                    names.Add(name);
            }
        }
        finally
        {
            closedir_(d); // closes the dup; the caller's fd stays open
        }
        names.Sort(StringComparer.Ordinal);
        return names;
    }

    public static IOException ErrnoError(string call, string path, int errno) =>
        new($"{call}({path}): {StrError(errno)} (errno {errno})", errno);
}
