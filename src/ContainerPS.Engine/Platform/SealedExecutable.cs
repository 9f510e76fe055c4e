using System.Collections.Concurrent;
using System.Runtime.InteropServices;
using Microsoft.Win32.SafeHandles;

namespace ContainerPS.Engine.Platform;

/// <summary>
/// A sealed in-memory copy of a native helper, executed as /proc/self/fd/N (runc's answer to
/// CVE-2019-5736): a helper that runs inside a container shows the container a /proc/PID/exe that
/// is this copy, never the host's file, and the copy cannot be written (F_SEAL_WRITE). One copy per
/// process and helper; the fd is close-on-exec, so it is inherited by no program.
/// </summary>
public static partial class SealedExecutable
{
    private const uint MFD_CLOEXEC = 1, MFD_ALLOW_SEALING = 2, MFD_EXEC = 0x10;
    private const int F_ADD_SEALS = 1033;
    private const int F_SEAL_SEAL = 1, F_SEAL_SHRINK = 2, F_SEAL_GROW = 4, F_SEAL_WRITE = 8;
    private const int AllSeals = F_SEAL_SEAL | F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_WRITE;

    [LibraryImport("libc", EntryPoint = "memfd_create", SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    private static partial int memfd_create_(string name, uint flags);

    [LibraryImport("libc", EntryPoint = "fcntl", SetLastError = true)]
    private static partial int fcntl_(int fd, int cmd, int arg);

    [LibraryImport("libc", EntryPoint = "close")]
    private static partial int close_(int fd);

    private static readonly ConcurrentDictionary<string, Lazy<string>> copies = new(StringComparer.Ordinal);

    /// <summary>The path (/proc/self/fd/N) of the sealed copy of <paramref name="path"/>, made on first use.</summary>
    public static string Of(string path) => copies.GetOrAdd(path, p => new Lazy<string>(() => Seal(p))).Value;

    private static string Seal(string path)
    {
        var name = Path.GetFileName(path);
        // MFD_EXEC (Linux 6.3+) says the copy is meant to run (vm.memfd_noexec); older kernels reject the flag.
        var fd = memfd_create_(name, MFD_CLOEXEC | MFD_ALLOW_SEALING | MFD_EXEC);
        if (fd < 0 && Marshal.GetLastPInvokeError() == 22)
            fd = memfd_create_(name, MFD_CLOEXEC | MFD_ALLOW_SEALING);
        if (fd < 0)
            throw LibC.Error("memfd_create", path);
        try
        {
            using (var handle = new SafeFileHandle(fd, ownsHandle: false))
                RandomAccess.Write(handle, File.ReadAllBytes(path), 0);
            if (fcntl_(fd, F_ADD_SEALS, AllSeals) < 0)
                throw LibC.Error("fcntl(F_ADD_SEALS)", path);
        }
        catch
        {
            close_(fd);
            throw;
        }
        // The fd stays open for the life of the process: the path names it.
        return $"/proc/self/fd/{fd}";
    }
}
