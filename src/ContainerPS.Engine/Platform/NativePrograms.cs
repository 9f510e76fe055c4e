namespace ContainerPS.Engine.Platform;

/// <summary>Where the native monitor and runc are.</summary>
public static partial class NativePrograms
{
    /// <summary>cps-monitor: $CONTAINERPS_LIBEXEC, else next to the engine assembly, else the module's bin/ (the engine is in bin/engine/).</summary>
    public static string Path => Native("cps-monitor");

    /// <summary>cps-exec, the exec helper, found like the monitor.</summary>
    public static string ExecHelper => Native("cps-exec");

    /// <summary>cps-hook, the createRuntime hook that hands a starting container's pid to the engine for CNI ADD.</summary>
    public static string Hook => Native("cps-hook");

    /// <summary>cps-mount, which mounts a volume into (or unmounts it from) a running container.</summary>
    public static string MountHelper => Native("cps-mount");

    /// <summary>cps-lazy-watch, which runs CRIU's lazy-pages daemon of a post-copy arrival and ends the container when it fails.</summary>
    public static string LazyWatch => Native("cps-lazy-watch");

    /// <summary>A native file found like the monitor, or null when it is not there.</summary>
    public static string? NativeOrNull(string name)
    {
        try { return Native(name); }
        catch (ContainerPSException) { return null; }
    }

    /// <summary>The native programs (not the preloaded .so shims), each of which must be executable.</summary>
    public static readonly IReadOnlyList<string> Programs = new[] { "cps-monitor", "cps-exec", "cps-hook", "cps-mount", "cps-lazy-watch" };

    /// <summary>
    /// Gives back the exec bits of the native programs that lost them (PSResourceGet installs every
    /// file without its mode) where that is safe; what it cannot fix fails with
    /// NativeHelperNotExecutable when the program is used. The module calls it on import.
    /// </summary>
    public static void RepairPrograms()
    {
        foreach (var name in Programs)
        {
            try { _ = Native(name); }
            catch (ContainerPSException) { } // reported by the command that needs the program
        }
    }

    private static string Native(string name)
    {
        var dirs = new[] { Environment.GetEnvironmentVariable("CONTAINERPS_LIBEXEC"), EngineDirectory, ModuleBin };
        foreach (var dir in dirs)
            if (!string.IsNullOrEmpty(dir) && File.Exists(System.IO.Path.Join(dir, name)))
            {
                var path = System.IO.Path.Join(dir, name);
                if (!name.EndsWith(".so", StringComparison.Ordinal) && !executable.ContainsKey(path))
                {
                    NativePrograms.EnsureExecutable(path);
                    executable[path] = true;
                }
                return path;
            }
        throw new ContainerPSException(Errors.ToolMissing,
            $"{name} was not found next to the module: build it with 'build.ps1 -Task Build'.", name);
    }

    private static readonly string? EngineDirectory = System.IO.Path.GetDirectoryName(typeof(NativePrograms).Assembly.Location);

    /// <summary>The module's bin/ when the engine sits in bin/engine/ (the module's own load context), else null.</summary>
    private static readonly string? ModuleBin = System.IO.Path.GetFileName(EngineDirectory) == "engine" ? System.IO.Path.GetDirectoryName(EngineDirectory) : null;

    private static readonly System.Collections.Concurrent.ConcurrentDictionary<string, bool> executable = new(StringComparer.Ordinal);

    /// <summary>runc from PATH (Debian installs it in /usr/sbin).</summary>
    public static string Runc => runc ??= Which("runc") ?? throw new ContainerPSException(Errors.ToolMissing,
        "runc is not installed: run 'build.ps1 -Task Bootstrap' (Debian package runc).", "runc");

    private static string? runc; // found once per process, not on every start and stop

    public static string? Which(string program)
    {
        var path = (Environment.GetEnvironmentVariable("PATH") ?? "") + ":/usr/sbin:/sbin:/usr/bin:/bin";
        foreach (var dir in path.Split(':', StringSplitOptions.RemoveEmptyEntries))
        {
            var candidate = System.IO.Path.Join(dir, program);
            if (File.Exists(candidate))
                return candidate;
        }
        return null;
    }
}
