using System.Globalization;
using System.Text.Json.Nodes;
using ContainerPS.Engine.Idmap;

namespace ContainerPS.Engine.Runtime;

/// <summary>A bind mount of host directory Source at Destination inside the container.</summary>
public sealed record OciBind(string Destination, string Source, bool ReadOnly);

/// <summary>What the OCI config of one container start is made from.</summary>
public sealed record OciSpecInput(
    string Name, string CgroupsPath, IdMapping? Map, IReadOnlyDictionary<string, string> Config, string[] InitArgs,
    ulong? HostBoundingSet = null, string[]? CreateRuntimeHook = null, IReadOnlyList<OciBind>? Binds = null, string? CriuConfig = null);

/// <summary>
/// Writes the OCI runtime config (config.json) of a system container: its own init as pid 1, every
/// namespace (user unless privileged), /proc /sys /dev as a system container expects, limits from
/// limits.* keys, and a seccomp profile that blocks what LXC's default profile blocks.
/// </summary>
public static class OciSpec
{
    /// <summary>Capability numbers (linux/capability.h) of the names used here.</summary>
    private static readonly Dictionary<string, int> CapabilityNumbers = new(StringComparer.Ordinal)
    {
        ["CAP_CHOWN"] = 0, ["CAP_DAC_OVERRIDE"] = 1, ["CAP_DAC_READ_SEARCH"] = 2, ["CAP_FOWNER"] = 3, ["CAP_FSETID"] = 4,
        ["CAP_KILL"] = 5, ["CAP_SETGID"] = 6, ["CAP_SETUID"] = 7, ["CAP_SETPCAP"] = 8, ["CAP_LINUX_IMMUTABLE"] = 9,
        ["CAP_NET_BIND_SERVICE"] = 10, ["CAP_NET_BROADCAST"] = 11, ["CAP_NET_ADMIN"] = 12, ["CAP_NET_RAW"] = 13,
        ["CAP_IPC_LOCK"] = 14, ["CAP_IPC_OWNER"] = 15, ["CAP_SYS_CHROOT"] = 18, ["CAP_SYS_PTRACE"] = 19, ["CAP_SYS_PACCT"] = 20,
        ["CAP_SYS_ADMIN"] = 21, ["CAP_SYS_BOOT"] = 22, ["CAP_SYS_NICE"] = 23, ["CAP_SYS_RESOURCE"] = 24, ["CAP_SYS_TTY_CONFIG"] = 26,
        ["CAP_MKNOD"] = 27, ["CAP_LEASE"] = 28, ["CAP_AUDIT_WRITE"] = 29, ["CAP_AUDIT_CONTROL"] = 30, ["CAP_SETFCAP"] = 31,
        ["CAP_SYSLOG"] = 34, ["CAP_WAKE_ALARM"] = 35, ["CAP_BLOCK_SUSPEND"] = 36, ["CAP_AUDIT_READ"] = 37,
    };

    /// <summary>
    /// The capability bounding set of this process (CapBnd in /proc/self/status). A container cannot
    /// be given a capability outside it (runc fails with EPERM), so the list is cut to it.
    /// </summary>
    public static ulong HostBoundingSet() => hostBoundingSet.Value;

    private static readonly Lazy<ulong> hostBoundingSet = new(ReadBoundingSet);

    private static ulong ReadBoundingSet()
    {
        foreach (var line in File.ReadLines("/proc/self/status"))
            if (line.StartsWith("CapBnd:", StringComparison.Ordinal))
                return ulong.Parse(line[7..].Trim(), NumberStyles.HexNumber, CultureInfo.InvariantCulture);
        return ulong.MaxValue;
    }

    private static readonly string[] Capabilities =
    {
        "CAP_CHOWN", "CAP_DAC_OVERRIDE", "CAP_DAC_READ_SEARCH", "CAP_FOWNER", "CAP_FSETID", "CAP_KILL", "CAP_SETGID", "CAP_SETUID",
        "CAP_SETPCAP", "CAP_LINUX_IMMUTABLE", "CAP_NET_BIND_SERVICE", "CAP_NET_BROADCAST", "CAP_NET_ADMIN", "CAP_NET_RAW",
        "CAP_IPC_LOCK", "CAP_IPC_OWNER", "CAP_SYS_CHROOT", "CAP_SYS_PTRACE", "CAP_SYS_PACCT", "CAP_SYS_ADMIN", "CAP_SYS_BOOT",
        "CAP_SYS_NICE", "CAP_SYS_RESOURCE", "CAP_SYS_TTY_CONFIG", "CAP_MKNOD", "CAP_LEASE", "CAP_AUDIT_WRITE", "CAP_AUDIT_CONTROL",
        "CAP_SETFCAP", "CAP_SYSLOG", "CAP_WAKE_ALARM", "CAP_BLOCK_SUSPEND", "CAP_AUDIT_READ",
        // Left out, as LXC does: CAP_SYS_MODULE, CAP_SYS_TIME, CAP_SYS_RAWIO, CAP_MAC_ADMIN, CAP_MAC_OVERRIDE.
    };

    /// <summary>Capability numbers (linux/capability.h) outside <see cref="Capabilities"/>: exec drops them from its bounding set too.</summary>
    public static readonly int[] DroppedCapabilityNumbers = { 16 /* SYS_MODULE */, 17 /* SYS_RAWIO */, 25 /* SYS_TIME */, 32 /* MAC_OVERRIDE */, 33 /* MAC_ADMIN */ };

    /// <summary>
    /// Syscalls denied with EPERM: what LXC's default seccomp policy denies (module loading, kexec,
    /// open_by_handle_at), and the kernel keyring calls Docker's default profile denies (keyrings are
    /// not namespaced: a container could read or fill keys of the host's users). The other entries
    /// of Docker's list are left to capabilities (CAP_SYS_TIME, CAP_SYS_RAWIO and CAP_SYS_MODULE are
    /// dropped) or are namespaced for a system container that runs its own init (mount, unshare,
    /// setns, pivot_root, reboot). README: "What is isolated".
    /// </summary>
    public static readonly string[] DeniedSyscalls =
    {
        "kexec_load", "kexec_file_load", "open_by_handle_at", "init_module", "finit_module", "delete_module",
        "keyctl", "add_key", "request_key",
    };

    /// <summary>
    /// /proc/sys read-only except net (LXC's proc:mixed): every top-level directory of this host's
    /// /proc/sys but net (per network namespace, so the container's own) is bound read-only.
    /// </summary>
    public static IReadOnlyList<string> ReadOnlySysctlDirs => readOnlySysctlDirs.Value;

    private static readonly Lazy<string[]> readOnlySysctlDirs = new(() =>
        Directory.Exists("/proc/sys")
            ? Directory.GetDirectories("/proc/sys").Where(d => System.IO.Path.GetFileName(d) != "net").Order(StringComparer.Ordinal).ToArray()
            : Array.Empty<string>());

    public static JsonObject Build(OciSpecInput input)
    {
        var bounding = input.HostBoundingSet ?? ulong.MaxValue;
        var caps = new JsonArray(Capabilities.Where(c => (bounding & (1UL << CapabilityNumbers[c])) != 0).Select(c => (JsonNode)c).ToArray());
        var namespaces = new JsonArray();
        foreach (var ns in new[] { "pid", "network", "ipc", "uts", "mount", "cgroup" })
            namespaces.Add(new JsonObject { ["type"] = ns });
        var linux = new JsonObject
        {
            ["namespaces"] = namespaces,
            ["cgroupsPath"] = input.CgroupsPath,
            ["resources"] = Resources(input.Config),
            ["maskedPaths"] = Arr("/proc/acpi", "/proc/kcore", "/proc/keys", "/proc/latency_stats", "/proc/timer_list",
                "/proc/timer_stats", "/proc/sched_debug", "/proc/scsi", "/sys/firmware"),
            ["readonlyPaths"] = Arr(new[] { "/proc/bus", "/proc/fs", "/proc/irq", "/proc/sysrq-trigger" }.Concat(ReadOnlySysctlDirs).ToArray()),
            ["seccomp"] = Seccomp(),
        };
        if (input.Map is { } map)
        {
            namespaces.Add(new JsonObject { ["type"] = "user" });
            linux["uidMappings"] = Mappings(map.Uids);
            linux["gidMappings"] = Mappings(map.Gids);
        }
        var spec = new JsonObject
        {
            ["ociVersion"] = "1.0.2",
            ["process"] = new JsonObject
            {
                ["terminal"] = false,
                ["user"] = new JsonObject { ["uid"] = 0, ["gid"] = 0 },
                ["args"] = new JsonArray(input.InitArgs.Select(a => (JsonNode)a).ToArray()),
                ["env"] = Arr("PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin", "container=lxc", "TERM=linux"),
                ["cwd"] = "/",
                ["capabilities"] = new JsonObject
                {
                    ["bounding"] = caps.DeepClone(), ["effective"] = caps.DeepClone(), ["permitted"] = caps.DeepClone(),
                },
                ["noNewPrivileges"] = false,
            },
            ["root"] = new JsonObject { ["path"] = "rootfs", ["readonly"] = false },
            ["hostname"] = input.Name,
            ["mounts"] = new JsonArray(
                Mount("/proc", "proc", "proc", "nosuid", "noexec", "nodev"),
                Mount("/dev", "tmpfs", "tmpfs", "nosuid", "strictatime", "mode=755", "size=65536k"),
                Mount("/dev/pts", "devpts", "devpts", "nosuid", "noexec", "newinstance", "ptmxmode=0666", "mode=0620"),
                Mount("/dev/shm", "tmpfs", "shm", "nosuid", "noexec", "nodev", "mode=1777", "size=65536k"),
                Mount("/dev/mqueue", "mqueue", "mqueue", "nosuid", "noexec", "nodev"),
                Mount("/sys", "sysfs", "sysfs", "nosuid", "noexec", "nodev", "ro"),
                Mount("/sys/fs/cgroup", "cgroup", "cgroup", "nosuid", "noexec", "nodev", "relatime", "ro")),
            ["linux"] = linux,
        };
        // Volumes, in path order (a parent before what is below it); runc resolves each destination inside the rootfs.
        foreach (var b in input.Binds ?? Array.Empty<OciBind>())
            ((JsonArray)spec["mounts"]!).Add(new JsonObject
            {
                // nodev like the idmapped mount below it: runc 1.1 remounts a read-only bind with exactly
                // these flags, and dropping a flag the source mount has is EPERM in a user namespace.
                ["destination"] = b.Destination, ["type"] = "bind", ["source"] = b.Source, ["options"] = Arr("rbind", "nodev", b.ReadOnly ? "ro" : "rw"),
            });
        // runc hands CRIU this configuration file at checkpoint (it overrides runc's options; a missing
        // file is ignored): a post-copy move writes the page server's address and TLS options there.
        if (input.CriuConfig is { } criuConfig)
            spec["annotations"] = new JsonObject { ["org.criu.config"] = criuConfig };
        // createRuntime hooks run once runc has made the namespaces, before the init runs; on a CRIU
        // restore, once the namespaces are set up and before the processes come back.
        if (input.CreateRuntimeHook is { Length: > 0 } hook)
            spec["hooks"] = new JsonObject
            {
                ["createRuntime"] = new JsonArray(new JsonObject
                {
                    ["path"] = hook[0], ["args"] = new JsonArray(hook.Select((a, i) => (JsonNode)(i == 0 ? System.IO.Path.GetFileName(a) : a)).ToArray()),
                    ["timeout"] = 120,
                }),
            };
        return spec;
    }

    private static JsonArray Mappings(IEnumerable<IdRange> ranges) =>
        new(ranges.Select(r => (JsonNode)new JsonObject { ["containerID"] = r.ContainerStart, ["hostID"] = r.HostStart, ["size"] = r.Count }).ToArray());

    private static JsonArray Arr(params string[] items) => new(items.Select(i => (JsonNode)i).ToArray());

    private static JsonObject Mount(string destination, string type, string source, params string[] options) => new()
    {
        ["destination"] = destination, ["type"] = type, ["source"] = source, ["options"] = Arr(options),
    };

    private static JsonObject Resources(IReadOnlyDictionary<string, string> config)
    {
        var r = new JsonObject
        {
            ["devices"] = new JsonArray(new JsonObject { ["allow"] = false, ["access"] = "rwm" }),
        };
        if (config.TryGetValue("limits.memory", out var mem) && ByteSize.TryParse(mem, out var bytes))
            r["memory"] = new JsonObject { ["limit"] = bytes };
        if (config.TryGetValue("limits.processes", out var procs))
            r["pids"] = new JsonObject { ["limit"] = long.Parse(procs, CultureInfo.InvariantCulture) };
        if (config.TryGetValue("limits.cpu", out var cpu))
            r["cpu"] = new JsonObject { ["cpus"] = CpuSet(cpu) };
        return r;
    }

    /// <summary>This host's online cpus (/sys/devices/system/cpu/online), else 0..ProcessorCount-1.</summary>
    public static IReadOnlySet<int> OnlineCpus()
    {
        try { return ParseCpus(File.ReadAllText("/sys/devices/system/cpu/online").Trim()) ?? Fallback(); }
        catch (IOException) { return Fallback(); }
        static HashSet<int> Fallback() => Enumerable.Range(0, Environment.ProcessorCount).ToHashSet();
    }

    /// <summary>The cpus of a cpu list ("0-3,8"), or null when it is not one (or names more than 4096 cpus).</summary>
    public static HashSet<int>? ParseCpus(string list)
    {
        var set = new HashSet<int>();
        foreach (var part in list.Split(','))
        {
            var ends = part.Split('-');
            if (ends.Length is < 1 or > 2 || !ends.All(e => int.TryParse(e, NumberStyles.None, CultureInfo.InvariantCulture, out _)))
                return null;
            int a = int.Parse(ends[0], CultureInfo.InvariantCulture), b = int.Parse(ends[^1], CultureInfo.InvariantCulture);
            if (b < a || b - a > 4096 || a > 65535)
                return null;
            for (var c = a; c <= b; c++)
                set.Add(c);
        }
        return set;
    }

    /// <summary>A cpu list as the kernel writes it: ranges of consecutive cpus ("0-1,4").</summary>
    public static string FormatCpus(IEnumerable<int> cpus)
    {
        var sorted = cpus.Distinct().Order().ToList();
        var parts = new List<string>();
        for (var i = 0; i < sorted.Count;)
        {
            var j = i;
            while (j + 1 < sorted.Count && sorted[j + 1] == sorted[j] + 1)
                j++;
            parts.Add(i == j ? $"{sorted[i]}" : $"{sorted[i]}-{sorted[j]}");
            i = j + 1;
        }
        return string.Join(',', parts);
    }

    /// <summary>limits.cpu as LXD takes it: a count N (the first N cpus) or a cpuset list/range ("0-1", "0,2").</summary>
    public static string CpuSet(string value) =>
        int.TryParse(value, NumberStyles.None, CultureInfo.InvariantCulture, out var n) ? (n == 1 ? "0" : $"0-{n - 1}") : value;

    private static JsonObject Seccomp()
    {
        var rules = new JsonArray(
            new JsonObject { ["names"] = Arr(DeniedSyscalls), ["action"] = "SCMP_ACT_ERRNO", ["errnoRet"] = 1 },
            // umount2(..., MNT_FORCE): LXC's reject_force_umount.
            new JsonObject
            {
                ["names"] = Arr("umount2"), ["action"] = "SCMP_ACT_ERRNO", ["errnoRet"] = 1,
                ["args"] = new JsonArray(new JsonObject { ["index"] = 1, ["value"] = 1, ["valueTwo"] = 1, ["op"] = "SCMP_CMP_MASKED_EQ" }),
            });
        return new JsonObject
        {
            ["defaultAction"] = "SCMP_ACT_ALLOW",
            ["architectures"] = Arr("SCMP_ARCH_X86_64", "SCMP_ARCH_X86", "SCMP_ARCH_X32"),
            ["syscalls"] = rules,
        };
    }
}
