namespace ContainerPS.Engine.Platform;

/// <summary>
/// The exec bit of a native helper of the module. PSResourceGet installs every file of a package
/// without its mode, so the helpers of an installed module are not executable until someone gives
/// the bit back: the engine does it itself where that cannot run a file another user could have
/// written, and otherwise says how to fix it (NativeHelperNotExecutable), never "Permission denied".
/// </summary>
public static partial class NativePrograms
{
    private const uint AnyExec = 0b001_001_001, AnyRead = 0b100_100_100, GroupOrOtherWrite = 0b000_010_010, OwnerExec = 0b001_000_000;

    /// <summary>Makes <paramref name="path"/> executable if it is not (as root, a root-owned file nobody else can write, in such a directory), else throws NativeHelperNotExecutable.</summary>
    public static void EnsureExecutable(string path) => EnsureExecutable(path, Environment.IsPrivilegedProcess);

    internal static void EnsureExecutable(string path, bool root)
    {
        var real = LibC.RealPath(path);
        var st = LibC.LStat(real);
        var mode = st.stx_mode & 0xfffu; // permission bits with setuid/setgid/sticky
        if ((mode & AnyExec) != 0)
            return;
        var dir = System.IO.Path.GetDirectoryName(real) ?? "/";
        var dirSt = LibC.LStat(dir);
        var reason =
            !root ? "this process does not run as root"
            : st.stx_uid != 0 ? $"it is owned by uid {st.stx_uid}, not by root"
            : (mode & GroupOrOtherWrite) != 0 ? "its group or other users can write it"
            : dirSt.stx_uid != 0 || (dirSt.stx_mode & GroupOrOtherWrite) != 0 ? $"its directory {dir} is not root's alone (owner uid {dirSt.stx_uid}, mode {Octal(dirSt.stx_mode & 0xfffu)})"
            : null;
        if (reason is null)
        {
            // x wherever r is: 0644 becomes 0755, 0600 becomes 0700.
            try
            {
                LibC.Chmod(real, mode | ((mode & AnyRead) >> 2) | OwnerExec);
                return;
            }
            catch (IOException e) { reason = e.Message; }
        }
        throw new ContainerPSException(Errors.NativeHelperNotExecutable,
            $"The native helper {path} is not executable (mode {Octal(mode)}), and ContainerPS did not restore its exec bit: {reason}. " +
            "Installing the module with PSResourceGet drops file modes; ContainerPS restores them itself only when it runs as root and the file " +
            $"and its directory belong to root and no one else can write them. Check that the file is the one the module shipped, then run as root: chmod 0755 '{path}'",
            path);
    }

    private static string Octal(uint mode) => "0" + Convert.ToString(mode, 8).PadLeft(3, '0');
}
