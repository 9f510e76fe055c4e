using System.Text.RegularExpressions;

namespace ContainerPS.Engine.Images;

/// <summary>
/// Debian images built with <c>debootstrap --variant=minbase</c>, from the mirror apt already uses
/// unless one is given. A minbase system has no init (no systemd-sysv, no sysvinit-core), so the
/// image gets the property <c>init</c>: a POSIX shell that sleeps until SIGTERM (its stop.signal),
/// which it traps to exit 0. Installing an init package in the container replaces it.
/// </summary>
internal static partial class Debootstrap
{
    public static readonly TimeSpan Timeout = TimeSpan.FromMinutes(60);

    /// <summary>The init command of images that have no /sbin/init (a shell-quoted command line).</summary>
    public const string ShellInit = """/bin/sh -c 'trap "exit 0" TERM; while :; do sleep 3600 & wait $!; done'""";

    [GeneratedRegex("^[a-z0-9][a-z0-9.+-]{0,62}\\z")]
    private static partial Regex DistributionPattern();

    public static string ValidateDistribution(string? distribution)
    {
        if (distribution is not null && DistributionPattern().IsMatch(distribution))
            return distribution;
        throw new ContainerPSException(Errors.InvalidName,
            $"Invalid distribution '{Names.Printable(distribution ?? "(null)")}': give a Debian suite or codename such as bookworm, trixie or stable (lower-case letters, digits, '.', '+', '-').",
            distribution);
    }

    public static string ValidateMirror(string mirror)
    {
        if (Uri.TryCreate(mirror, UriKind.Absolute, out var uri) && uri.Scheme is "http" or "https" or "file" && !mirror.Any(char.IsControl) && !mirror.Contains(' '))
            return mirror;
        throw new ContainerPSException(Errors.InvalidMirror,
            $"Invalid mirror '{Names.Printable(mirror)}': give an http://, https:// or file:// URL of a Debian archive, such as http://deb.debian.org/debian.", mirror);
    }

    /// <summary>
    /// The first http(s) URI of a Debian archive (not its security or updates suites) in
    /// /etc/apt/sources.list and /etc/apt/sources.list.d/*.list|*.sources (deb822), or null.
    /// </summary>
    public static string? DefaultMirror(string aptRoot = "/etc/apt")
    {
        var files = new List<string>();
        var main = Path.Join(aptRoot, "sources.list");
        if (File.Exists(main))
            files.Add(main);
        var dir = Path.Join(aptRoot, "sources.list.d");
        if (Directory.Exists(dir))
            files.AddRange(Directory.EnumerateFiles(dir)
                .Where(f => f.EndsWith(".list", StringComparison.Ordinal) || f.EndsWith(".sources", StringComparison.Ordinal))
                .Order(StringComparer.Ordinal));
        foreach (var file in files)
        {
            string text;
            try { text = File.ReadAllText(file); }
            catch (IOException) { continue; }
            catch (UnauthorizedAccessException) { continue; }
            var found = file.EndsWith(".sources", StringComparison.Ordinal) ? FromDeb822(text) : FromOneLine(text);
            if (found is not null)
                return found;
        }
        return null;
    }

    private static bool IsDebianArchive(string uri, IEnumerable<string> suites) =>
        Uri.TryCreate(uri, UriKind.Absolute, out var u) && u.Scheme is "http" or "https"
        && (u.Host.Contains("debian", StringComparison.OrdinalIgnoreCase) || u.AbsolutePath.Contains("debian", StringComparison.OrdinalIgnoreCase))
        && !u.AbsolutePath.Contains("security", StringComparison.OrdinalIgnoreCase)
        && suites.Any(s => !s.Contains('-') && !s.Contains('/'));

    internal static string? FromOneLine(string text)
    {
        foreach (var raw in text.Split('\n'))
        {
            var line = raw.Split('#')[0].Trim();
            var words = Regex.Replace(line, @"\[[^\]]*\]", " ").Split(' ', StringSplitOptions.RemoveEmptyEntries);
            if (words.Length >= 3 && words[0] == "deb" && IsDebianArchive(words[1], new[] { words[2] }))
                return words[1];
        }
        return null;
    }

    internal static string? FromDeb822(string text)
    {
        foreach (var stanza in Regex.Split(text.Replace("\r\n", "\n"), @"\n[ \t]*\n"))
        {
            var fields = new Dictionary<string, string>(StringComparer.OrdinalIgnoreCase);
            string? last = null;
            foreach (var line in stanza.Split('\n'))
            {
                if (line.StartsWith('#'))
                    continue;
                if ((line.StartsWith(' ') || line.StartsWith('\t')) && last is not null)
                {
                    fields[last] += " " + line.Trim();
                    continue;
                }
                var colon = line.IndexOf(':');
                if (colon <= 0)
                    continue;
                last = line[..colon].Trim();
                fields[last] = line[(colon + 1)..].Trim();
            }
            if (fields.TryGetValue("Enabled", out var enabled) && enabled.Equals("no", StringComparison.OrdinalIgnoreCase))
                continue;
            if (!fields.TryGetValue("Types", out var types) || !types.Split(' ', StringSplitOptions.RemoveEmptyEntries).Contains("deb"))
                continue;
            var suites = fields.TryGetValue("Suites", out var s) ? s.Split(' ', StringSplitOptions.RemoveEmptyEntries) : Array.Empty<string>();
            var uris = fields.TryGetValue("URIs", out var u) ? u.Split(' ', StringSplitOptions.RemoveEmptyEntries) : Array.Empty<string>();
            foreach (var uri in uris)
                if (IsDebianArchive(uri, suites))
                    return uri;
        }
        return null;
    }

    /// <summary>How far debootstrap is, by the stage an "I: ..." line names (null for other lines).</summary>
    public static int? Stage(string line) =>
        !line.StartsWith("I: ", StringComparison.Ordinal) ? null
        : line.StartsWith("I: Retrieving", StringComparison.Ordinal) ? 5
        : line.StartsWith("I: Validating", StringComparison.Ordinal) ? 15
        : line.StartsWith("I: Checking", StringComparison.Ordinal) || line.StartsWith("I: Found", StringComparison.Ordinal) ? 25
        : line.StartsWith("I: Extracting", StringComparison.Ordinal) ? 35
        : line.StartsWith("I: Installing", StringComparison.Ordinal) ? 50
        : line.StartsWith("I: Unpacking", StringComparison.Ordinal) ? 65
        : line.StartsWith("I: Configuring", StringComparison.Ordinal) ? 80
        : line.StartsWith("I: Base system installed", StringComparison.Ordinal) ? 100
        : null;

    /// <summary>Runs debootstrap into the existing empty <paramref name="rootfs"/> and tidies what it copies from the host; returns the image's properties.</summary>
    public static SortedDictionary<string, string> Build(string distribution, string rootfs, string mirror, ExternalTool tool, IEngineLog log)
    {
        log.Verbose($"Running debootstrap --variant=minbase {distribution} from {mirror}; this takes a few minutes.");
        try
        {
            // debootstrap says what it does in "I: ..." lines: each stage is a step of the progress bar.
            var activity = $"Building the {distribution} image (debootstrap)";
            tool.RunWatched("debootstrap", new[] { "--variant=minbase", distribution, rootfs, mirror }, l =>
            {
                if (Stage(l) is { } percent)
                    log.Progress(activity, l[3..].Trim(), percent);
                return false;
            }, null, Timeout);
            log.Progress(activity, "done", -1);
        }
        catch (ContainerPSException e) when (e.Code == Errors.ToolFailed)
        {
            var logFile = Path.Join(rootfs, "debootstrap", "debootstrap.log");
            var tail = File.Exists(logFile) ? string.Join(" | ", File.ReadLines(logFile).TakeLast(5)) : "";
            throw new ContainerPSException(Errors.ImageBuildFailed,
                $"debootstrap could not build {distribution} from {mirror}: {e.Message}{(tail.Length > 0 ? " Log: " + tail : "")}", distribution, e);
        }

        // debootstrap copies the host's hostname and resolv.conf into the target: they are not the image's.
        File.WriteAllText(Path.Join(rootfs, "etc/hostname"), "debian\n");
        var resolv = Path.Join(rootfs, "etc/resolv.conf");
        if (File.Exists(resolv) && !Engine.Platform.HostPath.IsSymlink(resolv))
            File.Delete(resolv);
        var archives = Path.Join(rootfs, "var/cache/apt/archives");
        if (Directory.Exists(archives))
            foreach (var deb in Directory.EnumerateFiles(archives, "*.deb"))
                File.Delete(deb);

        var archFile = Path.Join(rootfs, "var/lib/dpkg/arch");
        var arch = File.Exists(archFile) ? File.ReadLines(archFile).FirstOrDefault()?.Trim() : null;
        var props = new SortedDictionary<string, string>(StringComparer.Ordinal)
        {
            ["os"] = "debian",
            ["release"] = distribution,
            ["architecture"] = string.IsNullOrEmpty(arch) ? "amd64" : arch,
            ["variant"] = "minbase",
            ["description"] = $"Debian {distribution} minbase (debootstrap)",
        };
        if (ImageFiles.ResolveInside(rootfs, "sbin/init") is null)
        {
            props["init"] = ShellInit;
            props["stop.signal"] = "SIGTERM";
        }
        return props;
    }
}
