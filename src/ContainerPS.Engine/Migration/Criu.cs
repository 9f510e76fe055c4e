using System.Text.RegularExpressions;

namespace ContainerPS.Engine.Migration;

/// <summary>
/// CRIU as runc drives it: where it is, what it can do on this kernel, the options every dump and
/// restore uses, and its logs.
/// </summary>
public static partial class Criu
{
    public const int MinimumMajor = 4;

    /// <summary>
    /// runc checkpoint options: the network namespace is not dumped (a restore gets a fresh one that
    /// CNI ADD configures with the same addresses, from the createRuntime hook); established TCP
    /// connections and file locks are dumped.
    /// </summary>
    public static readonly string[] DumpOptions = { "--empty-ns", "network", "--tcp-established", "--file-locks" };

    /// <summary>The matching runc restore options, each one argv word.</summary>
    public static readonly string[] RestoreOptions = { "--empty-ns=network", "--tcp-established", "--file-locks" };

    /// <summary>
    /// The environment runc gets for checkpoint and restore (runc passes it on to criu): the
    /// cps-criu-compat library, without which CRIU 4.1.1 cannot dump inet sockets on Linux 6.16+.
    /// </summary>
    public static IReadOnlyDictionary<string, string?> Environment =>
        NativePrograms.NativeOrNull("cps-criu-compat.so") is { } lib
            ? new Dictionary<string, string?> { ["LD_PRELOAD"] = lib }
            : new Dictionary<string, string?>();

    /// <summary>Where build.ps1 -Task Bootstrap installs the CRIU it builds from Debian's source on Debian 12.</summary>
    public const string PrivatePath = "/usr/local/lib/containerps/criu/sbin/criu";

    /// <summary>
    /// The CRIU runc runs: $CONTAINERPS_CRIU, else the private build (Debian 12), else criu from PATH
    /// (Debian 13's package).
    /// </summary>
    public static string? Path =>
        System.Environment.GetEnvironmentVariable("CONTAINERPS_CRIU") is { Length: > 0 } env ? env
        : File.Exists(PrivatePath) ? PrivatePath
        : NativePrograms.Which("criu");

    /// <summary>runc's global options that make it use <see cref="Path"/> (runc's own default is criu from PATH).</summary>
    public static IEnumerable<string> RuncOptions => Path is { } p ? new[] { "--criu", p } : Array.Empty<string>();

    [GeneratedRegex(@"Version:\s*(\d+)\.(\d+)(?:\.(\d+))?")]
    private static partial Regex VersionLine();

    /// <summary>What CRIU can do here: its version, `criu check`, and the features live migration needs.</summary>
    public static CheckpointSupport Check(ExternalTool tool)
    {
        var path = Path;
        if (path is null)
            return new CheckpointSupport { Supported = false, Message = "criu is not installed: run 'build.ps1 -Task Bootstrap' (Debian 13's criu package; on Debian 12 it builds CRIU 4 from Debian's source)." };
        string Run(params string[] args)
        {
            var r = tool.Execute(path, args, null, null, TimeSpan.FromSeconds(60));
            return (r.StandardOutput + r.StandardError).Trim();
        }
        var versionText = Run("--version");
        var m = VersionLine().Match(versionText);
        var version = m.Success ? new Version(int.Parse(m.Groups[1].Value), int.Parse(m.Groups[2].Value), m.Groups[3].Success ? int.Parse(m.Groups[3].Value) : 0) : null;
        var check = Run("check");
        var passed = check.Contains("Looks good", StringComparison.Ordinal);
        var dirty = !Run("check", "--feature", "mem_dirty_track").Contains("OFF", StringComparison.Ordinal);
        var uffd = Run("check", "--feature", "uffd-noncoop").Contains("is supported", StringComparison.Ordinal);
        var ok = version is not null && version.Major >= MinimumMajor && passed;
        return new CheckpointSupport
        {
            CriuPath = path,
            Version = version?.ToString(),
            // The verdict line: CRIU may print warnings after it on stderr (such as "Can't keep kdat cache on non-tempfs" when /run is not a tmpfs).
            Check = (passed ? check.Split('\n').FirstOrDefault(l => l.Contains("Looks good", StringComparison.Ordinal))
                : check.Split('\n').LastOrDefault(l => l.Trim().Length > 0))?.Trim() ?? "",
            Supported = ok,
            MemoryTracking = dirty,
            LazyPages = uffd,
            Message = version is null ? $"Could not read CRIU's version: {versionText}"
                : version.Major < MinimumMajor ? $"CRIU {version} is too old: {MinimumMajor}.0 or later is needed (Debian 12's 3.17 fails on kernel 6.x)."
                : !passed ? $"criu check failed: {check}"
                : dirty ? "CRIU works here: checkpoint, restore and live migration with pre-copy."
                : "CRIU works here: checkpoint, restore and stop-and-copy migration. Pre-copy (-Live) needs memory dirty tracking, which this kernel lacks (CONFIG_MEM_SOFT_DIRTY).",
        };
    }

    /// <summary>The name of a pre-copy round's directory beside the final dump (PreCopySource.RoundName).</summary>
    [System.Text.RegularExpressions.GeneratedRegex(@"^pre\.[0-9]{1,2}\z", System.Text.RegularExpressions.RegexOptions.CultureInvariant)]
    private static partial System.Text.RegularExpressions.Regex RoundDirName();

    /// <summary>
    /// Makes an image directory readable by a restore into a user namespace: CRIU opens some images
    /// (timens-N.img first) from the new task before its uid map is written, when it is neither the
    /// files' owner nor privileged over them, so only "other" permissions count. Directories become
    /// 0711 (searchable, not listable) and files 0644. They stay out of host users' reach because
    /// only private directories lead to them: ROOT/checkpoints is 0700, and a -Path directory is
    /// restored from a private copy below it (CRIU opens the images through the directory's fd).
    /// An incremental dump's parent directories (a pre-copy move's rounds DIR/pre.N, reached through
    /// 'parent' links) become 0755: CRIU opens them from the restored task, as a directory, which takes read.
    /// </summary>
    public static void PrepareForRestore(string dir)
    {
        var search = UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute | UnixFileMode.GroupExecute | UnixFileMode.OtherExecute;
        var read = UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.GroupRead | UnixFileMode.OtherRead;
        var parents = new List<string>();
        var top = System.IO.Path.GetFullPath(dir);
        foreach (var entry in Directory.EnumerateFileSystemEntries(dir, "*", SearchOption.AllDirectories).Append(dir))
        {
            if (Platform.HostPath.IsSymlink(entry))
            {
                // 'parent' links of incremental dumps: their directories, only the rounds' own (DIR/pre.N,
                // themselves no symlinks): a link from an archive a hostile source sent must not get a
                // directory anywhere else (or one reached through another link) opened up.
                if (System.IO.Path.GetFileName(entry) == "parent" && new FileInfo(entry).LinkTarget is { } target
                    && System.IO.Path.GetFullPath(target, System.IO.Path.GetDirectoryName(entry)!) is var full
                    && System.IO.Path.GetDirectoryName(full) == top.TrimEnd('/') && RoundDirName().IsMatch(System.IO.Path.GetFileName(full))
                    && !Platform.HostPath.IsSymlink(full))
                    parents.Add(full);
                continue;
            }
            File.SetUnixFileMode(entry, Directory.Exists(entry) ? search : read);
        }
        foreach (var parent in parents.Where(Directory.Exists))
            File.SetUnixFileMode(parent, search | read | UnixFileMode.OtherExecute);
    }

    /// <summary>True when <paramref name="dir"/> holds a dump CRIU finished (its dump.log ends in success): anything less is never restored from.</summary>
    public static bool DumpFinished(string dir)
    {
        var log = System.IO.Path.Join(dir, "dump.log");
        return File.Exists(System.IO.Path.Join(dir, CheckpointImage.MetadataFile)) && File.Exists(log)
            && File.ReadLines(log).Any(l => l.Contains("Dumping finished successfully", StringComparison.Ordinal));
    }

    /// <summary>True when <paramref name="dir"/> holds a lazy (post-copy) dump whose non-memory part CRIU finished: its page server was starting.</summary>
    public static bool LazyDumpServing(string dir)
    {
        var log = System.IO.Path.Join(dir, "dump.log");
        return File.Exists(System.IO.Path.Join(dir, CheckpointImage.MetadataFile)) && File.Exists(log)
            && File.ReadLines(log).Any(l => l.Contains("Starting lazy pages server", StringComparison.Ordinal));
    }

    /// <summary>The error lines of a CRIU log in <paramref name="dir"/> (dump.log, restore.log), as text to append to a message.</summary>
    public static string LogErrors(string dir, string log)
    {
        var file = System.IO.Path.Join(dir, log);
        if (!File.Exists(file))
            return "";
        var errors = File.ReadLines(file).Where(l => l.Contains("Error (", StringComparison.Ordinal) && !l.Contains("RLIMIT_NOFILE", StringComparison.Ordinal))
            .TakeLast(6).Select(l => "  " + l.Trim()).ToList();
        if (errors.Count == 0) // no error line (CRIU was killed?): its last words, since a failed dump's directory is removed
            errors = File.ReadLines(file).Where(l => l.Trim().Length > 0).TakeLast(3).Select(l => "  " + l.Trim()).ToList();
        return errors.Count == 0 ? $" ({file} is empty)" : $"\nCRIU ({file}):\n{string.Join('\n', errors)}";
    }
}
