using System.Globalization;

namespace ContainerPS.Engine.Runtime;

/// <summary>Resource figures of a container's cgroup (memory, CPU time, tasks), read on either cgroup version.</summary>
public sealed record CgroupCounters(long? MemoryUsage, long? MemoryPeak, TimeSpan? CpuTime, long? Processes);

/// <summary>
/// Reads what a running container uses: its cgroup's counters and its network namespace's
/// interface counters. The cgroup is found from /proc/PID/cgroup of its init (whatever path runc
/// or a cgroup namespace gave it) and this process's mounts, per controller: the v1 hierarchy that
/// has the controller when the init is in one (hybrid hosts), else the unified v2 hierarchy.
/// Files the kernel does not have give null, never an error.
/// </summary>
public static class ContainerUsage
{
    /// <summary>The cgroup counters of process <paramref name="pid"/>, or null when it is gone.</summary>
    public static CgroupCounters? ReadCgroup(int pid)
    {
        string cgroup, mountinfo;
        try
        {
            cgroup = File.ReadAllText($"/proc/{pid}/cgroup");
            mountinfo = File.ReadAllText("/proc/self/mountinfo");
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException) { return null; }
        return ReadCgroup(cgroup, mountinfo);
    }

    /// <summary>The counters of the cgroup that <paramref name="procCgroup"/> (a /proc/PID/cgroup) names, under the cgroup mounts of <paramref name="mountinfo"/>.</summary>
    public static CgroupCounters ReadCgroup(string procCgroup, string mountinfo)
    {
        var files = new CgroupFiles(procCgroup, mountinfo);
        long? Number(string v1Controller, string v1File, string v2File) =>
            files.Read(v1Controller, v1File, v2File) is { } f ? ParseLong(f.Text) : null;
        var cpu = files.Read("cpuacct", "cpuacct.usage", "cpu.stat") switch
        {
            { V2: true } f => ParseCpuStatUsec(f.Text) is long us ? TimeSpan.FromMicroseconds(us) : null,
            { } f => ParseLong(f.Text) is long ns ? TimeSpan.FromTicks(ns / 100) : null,
            null => (TimeSpan?)null,
        };
        return new CgroupCounters(
            MemoryUsage: Number("memory", "memory.usage_in_bytes", "memory.current"),
            MemoryPeak: Number("memory", "memory.max_usage_in_bytes", "memory.peak"),
            CpuTime: cpu,
            Processes: Number("pids", "pids.current", "pids.current"));
    }

    /// <summary>The interfaces in the network namespace of process <paramref name="pid"/>, or null when it is gone.</summary>
    public static InterfaceCounters[]? ReadNetwork(int pid)
    {
        try { return ParseNetDev(File.ReadAllText($"/proc/{pid}/net/dev")); }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException) { return null; }
    }

    /// <summary>A cgroup file holding one number (memory.current, pids.current; "max" is not a count): the number or null.</summary>
    public static long? ParseLong(string text) =>
        long.TryParse(text.Trim(), NumberStyles.None, CultureInfo.InvariantCulture, out var n) ? n : null;

    /// <summary>usage_usec of a v2 cpu.stat ("usage_usec 1234\nuser_usec ..."), or null.</summary>
    public static long? ParseCpuStatUsec(string text)
    {
        foreach (var line in text.Split('\n'))
        {
            var parts = line.Split(' ', StringSplitOptions.RemoveEmptyEntries);
            if (parts.Length == 2 && parts[0] == "usage_usec")
                return ParseLong(parts[1]);
        }
        return null;
    }

    /// <summary>
    /// The interfaces of a /proc/net/dev: two header lines, then "NAME: rx bytes packets errs drop
    /// fifo frame compressed multicast tx bytes packets ..." (a long counter may touch the colon).
    /// Loopback (lo) is reported too, marked.
    /// </summary>
    public static InterfaceCounters[] ParseNetDev(string text)
    {
        var result = new List<InterfaceCounters>();
        foreach (var line in text.Split('\n'))
        {
            var colon = line.IndexOf(':');
            if (colon < 0 || line.Contains('|'))
                continue; // a header line
            var name = line[..colon].Trim();
            var f = line[(colon + 1)..].Split((char[]?)null, StringSplitOptions.RemoveEmptyEntries);
            if (name.Length == 0 || f.Length < 10 || f.Take(10).Any(x => ParseLong(x) is null))
                continue;
            long At(int i) => ParseLong(f[i])!.Value;
            result.Add(new InterfaceCounters
            {
                Name = name,
                Loopback = name == "lo",
                RxBytes = At(0),
                RxPackets = At(1),
                TxBytes = At(8),
                TxPackets = At(9),
            });
        }
        return result.ToArray();
    }

    /// <summary>Where the cgroup files of one process are, per controller.</summary>
    private sealed class CgroupFiles
    {
        private readonly Dictionary<string, string> v1 = new(StringComparer.Ordinal); // controller -> cgroup path
        private readonly string? unified;
        private readonly List<(bool V2, HashSet<string> Controllers, string Root, string MountPoint)> mounts = new();

        public CgroupFiles(string procCgroup, string mountinfo)
        {
            foreach (var line in procCgroup.Split('\n'))
            {
                var parts = line.Split(':', 3);
                if (parts.Length != 3)
                    continue;
                if (parts[0] == "0" && parts[1].Length == 0)
                    unified = parts[2];
                else
                    foreach (var c in parts[1].Split(','))
                        v1[c] = parts[2];
            }
            foreach (var line in mountinfo.Split('\n'))
            {
                var halves = line.Split(" - ", 2);
                if (halves.Length != 2)
                    continue;
                var fields = halves[0].Split(' ');
                var fs = halves[1].Split(' ');
                if (fields.Length < 5 || fs.Length < 3 || fs[0] is not ("cgroup" or "cgroup2"))
                    continue;
                mounts.Add((fs[0] == "cgroup2", fs[2].Split(',').ToHashSet(StringComparer.Ordinal),
                    Mounts.Unescape(fields[3]), Mounts.Unescape(fields[4])));
            }
        }

        /// <summary>
        /// Reads <paramref name="v1File"/> of the v1 hierarchy with <paramref name="v1Controller"/>
        /// when the process is in one, else <paramref name="v2File"/> of its v2 cgroup (missing, so
        /// null, where the controller is not enabled for it).
        /// </summary>
        public (string Text, bool V2)? Read(string v1Controller, string v1File, string v2File)
        {
            if (v1.TryGetValue(v1Controller, out var path))
                return Dir(path, m => !m.V2 && m.Controllers.Contains(v1Controller)) is { } d && ReadFile(Path.Join(d, v1File)) is { } t ? (t, false) : null;
            if (unified is not null && Dir(unified, m => m.V2) is { } u && ReadFile(Path.Join(u, v2File)) is { } text)
                return (text, true);
            return null;
        }

        /// <summary>The directory of cgroup <paramref name="path"/> under the mount of its hierarchy whose root holds it (the deepest such root).</summary>
        private string? Dir(string path, Func<(bool V2, HashSet<string> Controllers, string Root, string MountPoint), bool> hierarchy)
        {
            var best = mounts.Where(hierarchy)
                .Where(m => m.Root == "/" || path == m.Root || path.StartsWith(m.Root + "/", StringComparison.Ordinal))
                .OrderByDescending(m => m.Root.Length)
                .Select(m => ((string Root, string MountPoint)?)(m.Root, m.MountPoint))
                .FirstOrDefault();
            if (best is not { } b)
                return null;
            var rest = b.Root == "/" ? path : path[b.Root.Length..];
            return Path.Join(b.MountPoint, rest.TrimStart('/'));
        }

        private static string? ReadFile(string file)
        {
            try { return File.ReadAllText(file); }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException) { return null; }
        }
    }
}
