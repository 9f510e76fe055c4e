using System.Diagnostics;
using System.Runtime.InteropServices;

namespace ContainerPS.Engine.Platform;

/// <summary>The maps of a user namespace, as written to /proc/PID/uid_map and gid_map (Idmap's IdMapping is one).</summary>
public interface IUserNamespaceMap
{
    /// <summary>The lines of uid_map (<paramref name="uid"/>) or gid_map: "inside host count" each.</summary>
    string ToProcMap(bool uid);
}

/// <summary>
/// Mounts the engine makes itself: idmapped mounts (open_tree + mount_setattr(MOUNT_ATTR_IDMAP) +
/// move_mount), plain bind mounts and detaching unmounts. Every call is checked; failures carry errno text.
/// </summary>
public static partial class Mounts
{
    private const long SYS_open_tree = 428, SYS_move_mount = 429, SYS_mount_setattr = 442; // x86_64
    private const uint OPEN_TREE_CLONE = 1, OPEN_TREE_CLOEXEC = 0x80000, AT_RECURSIVE = 0x8000, AT_EMPTY_PATH = 0x1000;
    private const uint MOVE_MOUNT_F_EMPTY_PATH = 0x4;
    private const ulong MOUNT_ATTR_IDMAP = 0x00100000, MOUNT_ATTR_NODEV = 0x4;
    private const int MNT_DETACH = 2;
    private const ulong MS_BIND = 4096, MS_REC = 16384;

    [StructLayout(LayoutKind.Sequential)]
    private struct MountAttr
    {
        public ulong attr_set, attr_clr, propagation, userns_fd;
    }

    [LibraryImport("libc", EntryPoint = "syscall", SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    private static partial long syscall_open_tree(long nr, int dfd, string path, uint flags);

    [LibraryImport("libc", EntryPoint = "syscall", SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    private static partial long syscall_mount_setattr(long nr, int dfd, string path, uint flags, ref MountAttr attr, nuint size);

    [LibraryImport("libc", EntryPoint = "syscall", SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    private static partial long syscall_move_mount(long nr, int fromDfd, string fromPath, int toDfd, string toPath, uint flags);

    [LibraryImport("libc", EntryPoint = "mount", SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    private static partial int mount_(string? source, string target, string? fstype, ulong flags, nint data);

    [LibraryImport("libc", EntryPoint = "umount2", SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    private static partial int umount2_(string target, int flags);

    [LibraryImport("libc", EntryPoint = "open", SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    private static partial int open_(string path, int flags);

    [LibraryImport("libc", EntryPoint = "close")]
    private static partial int close_(int fd);

    /// <summary>
    /// Mounts <paramref name="source"/> at <paramref name="target"/> so that files owned by on-disk id N
    /// appear owned by host id (base + N): container root sees its own files as root, and nothing is chowned.
    /// </summary>
    public static void IdmappedBind(string source, string target, IUserNamespaceMap map)
    {
        var tree = IdmappedTree(source, map);
        try
        {
            if (syscall_move_mount(SYS_move_mount, tree, "", LibC.AT_FDCWD, target, MOVE_MOUNT_F_EMPTY_PATH) < 0)
                throw LibC.Error("move_mount", target);
        }
        finally
        {
            close_(tree);
        }
    }

    /// <summary>Whether the filesystem of <paramref name="path"/> takes idmapped mounts (overlayfs and most FUSE filesystems do not).</summary>
    public static bool CanIdmap(string path, IUserNamespaceMap map)
    {
        try
        {
            close_(IdmappedTree(path, map));
            return true;
        }
        catch (ContainerPSException e) when (e.Code == Errors.IdmapNotSupported)
        {
            return false;
        }
    }

    /// <summary>
    /// A detached, idmapped clone of <paramref name="source"/> (a mount fd); IdmapNotSupported when the
    /// filesystem refuses. It is nodev as well: an unprivileged container can use no device node of
    /// its rootfs or volumes anyway, and none of them may serve anyone on the host.
    /// </summary>
    private static int IdmappedTree(string source, IUserNamespaceMap map)
    {
        using var userns = UserNamespace.Create(map);
        var tree = (int)syscall_open_tree(SYS_open_tree, LibC.AT_FDCWD, source, OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC | AT_RECURSIVE);
        if (tree < 0)
            throw LibC.Error("open_tree", source);
        var attr = new MountAttr { attr_set = MOUNT_ATTR_IDMAP | MOUNT_ATTR_NODEV, userns_fd = (ulong)userns.Fd };
        if (syscall_mount_setattr(SYS_mount_setattr, tree, "", AT_EMPTY_PATH, ref attr, (nuint)Marshal.SizeOf<MountAttr>()) < 0)
        {
            var errno = Marshal.GetLastPInvokeError();
            close_(tree);
            throw new ContainerPSException(Errors.IdmapNotSupported,
                $"The filesystem of {source} cannot be idmapped: {LibC.StrError(errno)}.", source);
        }
        return tree;
    }

    public static void Bind(string source, string target)
    {
        if (mount_(source, target, null, MS_BIND | MS_REC, 0) != 0)
            throw LibC.Error("mount --bind", target);
    }

    /// <summary>Lazily unmounts <paramref name="target"/> (and everything stacked on it). False when nothing was mounted there.</summary>
    public static bool Unmount(string target)
    {
        var unmounted = false;
        while (umount2_(target, MNT_DETACH) == 0)
            unmounted = true;
        var errno = Marshal.GetLastPInvokeError();
        if (errno is 22 or 2) // EINVAL: not a mount point (any more); ENOENT: gone
            return unmounted;
        throw LibC.Error("umount2", target);
    }

    /// <summary>True when <paramref name="path"/> is a mount point in this process's mount namespace.</summary>
    public static bool IsMountPoint(string path)
    {
        foreach (var line in File.ReadLines("/proc/self/mountinfo"))
        {
            var fields = line.Split(' ');
            if (fields.Length > 4 && Unescape(fields[4]) == path)
                return true;
        }
        return false;
    }

    /// <summary>A mountinfo field with its octal escapes (\040 for a space) decoded.</summary>
    internal static string Unescape(string s) => s.Contains('\\')
        ? System.Text.RegularExpressions.Regex.Replace(s, @"\\([0-7]{3})", m => ((char)Convert.ToInt32(m.Groups[1].Value, 8)).ToString())
        : s;

    /// <summary>A user namespace with a given map, held open by fd (its helper process is gone).</summary>
    private sealed class UserNamespace : IDisposable
    {
        public int Fd { get; private set; } = -1;

        public static UserNamespace Create(IUserNamespaceMap map)
        {
            // The CLR must never unshare itself: a helper process enters a new user namespace, the
            // maps are written from here (root in the parent namespace), its namespace is opened by
            // fd, and the helper is killed.
            using var helper = new ExternalTool.Helper("unshare", new[] { "--user", "--", "sleep", "30" });
            var own = new FileInfo("/proc/self/ns/user").LinkTarget;
            var deadline = Stopwatch.StartNew();
            while (true)
            {
                string? ns = null;
                try { ns = new FileInfo($"/proc/{helper.ProcessId}/ns/user").LinkTarget; }
                catch (IOException) { }
                if (ns is not null && ns != own && File.Exists($"/proc/{helper.ProcessId}/uid_map"))
                    break;
                if (helper.HasExited || deadline.ElapsedMilliseconds > 5000)
                    throw new ContainerPSException(Errors.UserNamespaceFailed,
                        "Could not create a user namespace for an idmapped mount: " + (helper.HasExited ? helper.StandardError : "timed out"));
                Thread.Sleep(1);
            }
            WriteMap($"/proc/{helper.ProcessId}/uid_map", map.ToProcMap(uid: true));
            WriteMap($"/proc/{helper.ProcessId}/gid_map", map.ToProcMap(uid: false));
            var fd = open_($"/proc/{helper.ProcessId}/ns/user", 0x80000 /* O_RDONLY|O_CLOEXEC */);
            if (fd < 0)
                throw LibC.Error("open", $"/proc/{helper.ProcessId}/ns/user");
            return new UserNamespace { Fd = fd };
        }

        /// <summary>Writes a /proc map file with one write(2), as the kernel requires (no O_TRUNC, no O_CREAT).</summary>
        private static void WriteMap(string file, string map)
        {
            using var fs = new FileStream(file, FileMode.Open, FileAccess.Write);
            var bytes = System.Text.Encoding.ASCII.GetBytes(map);
            fs.Write(bytes);
        }

        public void Dispose()
        {
            if (Fd >= 0)
                close_(Fd);
            Fd = -1;
        }
    }
}
