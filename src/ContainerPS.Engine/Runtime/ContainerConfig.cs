using System.Globalization;
using ContainerPS.Engine.Idmap;
using ContainerPS.Engine.Storage;

namespace ContainerPS.Engine.Runtime;

/// <summary>
/// Configuration: the container keys (limits, id maps, boot), Set-Container, and the host's
/// default storage pool (made on first use, or by Initialize-ContainerHost).
/// </summary>
public sealed class ContainerConfig
{
    private readonly StateStore store;
    private readonly StorageService storage;
    private readonly IEngineLog log;
    private readonly ContainerRecords records;
    private readonly ContainerPaths paths;
    private readonly ContainerIdmaps idmaps;

    internal ContainerConfig(StateStore store, StorageService storage, IEngineLog log, ContainerRecords records, ContainerPaths paths, ContainerIdmaps idmaps) =>
        (this.store, this.storage, this.log, this.records, this.paths, this.idmaps) = (store, storage, log, records, paths, idmaps);

    // ------------------------------------------------------------------ keys

    private static readonly ConfigSchema Keys = new("container",
        poolKeys: Array.Empty<ConfigKey>(),
        volumeKeys: new[]
        {
            new ConfigKey("limits.memory", MemoryValue, "Memory limit (512MiB, 1GiB; at least 6MiB)."),
            new ConfigKey("limits.processes", ConfigValues.PositiveInt, "Maximum number of processes."),
            new ConfigKey("limits.cpu", CpuValue, "CPUs: a count (2) or a cpuset (0-1, 0,2)."),
            new ConfigKey("security.idmap.isolated", ConfigValues.Bool, "A unique id range for this container (takes effect at the next start)."),
            new ConfigKey("security.idmap.size", ConfigValues.PositiveInt, "Size of the container's id range (default 65536)."),
            new ConfigKey("security.idmap.base", IdValue, "The first host id of the container's range (overrides the allocation)."),
            new ConfigKey("raw.idmap", RawIdmap.Check, "Host ids mapped through: lines 'both 1000 1000', 'uid 50-60 500-510', 'gid ...'. The host ids must be delegated to root in /etc/subuid and /etc/subgid."),
            new ConfigKey(ContainerIdmaps.UnsafeIdmapKey, ConfigValues.Bool, "Lets raw.idmap map host ids root was not delegated (host root included): the container is then root-equivalent and reported as privileged."),
            new ConfigKey("security.privileged", ConfigValues.Bool, "Run without a user namespace (not recommended).", SetOnlyAtCreation: true),
            new ConfigKey("boot.stop.signal", SignalValue, "Signal that asks the init to shut down (default: the image's, else SIGPWR): a name (SIGPWR, PWR, SIGRTMIN+3) or a number."),
            new ConfigKey("boot.autostart", ConfigValues.Bool, "Start the container when the host boots (Start-ContainerHost, run at boot by the unit Initialize-ContainerHost installs)."),
            new ConfigKey("boot.autostart.priority", ConfigValues.Int, "Order of autostart: higher starts first (default 0)."),
            new ConfigKey("boot.autostart.delay", ConfigValues.NonNegativeInt, "Seconds to wait after starting this container before the next one is started (default 0)."),
        },
        readOnlyPrefixes: "image." /* copied from the image */);

    /// <summary>limits.cpu: a count no larger than this host's online cpus, or a cpuset of online cpus.</summary>
    private static string? CpuValue(string v)
    {
        if (!System.Text.RegularExpressions.Regex.IsMatch(v, @"^([0-9]+|[0-9]+(-[0-9]+)?(,[0-9]+(-[0-9]+)?)*)\z") || v == "0")
            return $"'{v}' is not a cpu count or cpuset";
        var online = OciSpec.OnlineCpus();
        var shown = OciSpec.FormatCpus(online);
        if (int.TryParse(v, System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out var n))
            return n <= online.Count ? null : $"this host has {online.Count} online cpus ({shown}), not {v}";
        var wanted = OciSpec.ParseCpus(v);
        if (wanted is null)
            return $"'{v}' is not a cpu count or cpuset";
        var missing = wanted.Where(c => !online.Contains(c)).ToList();
        return missing.Count == 0 ? null : $"cpus {OciSpec.FormatCpus(missing)} are not online on this host (online: {shown})";
    }

    /// <summary>Below this, runc's own setup in the container's cgroup (about 2 MiB) exceeds the limit and every start fails.</summary>
    public const long MinimumMemory = 6L << 20;

    private static string? MemoryValue(string v) =>
        ConfigValues.Size(v) ?? (ByteSize.TryParse(v, out var n) && n < MinimumMemory ? $"{v} is below the minimum of 6MiB (what starting a container needs)" : null);

    /// <summary>boot.stop.signal: a signal name runc kill knows (with or without SIG), SIGRTMIN+N/SIGRTMAX-N, or a number 1-64.</summary>
    private static string? SignalValue(string v)
    {
        var name = v.StartsWith("SIG", StringComparison.Ordinal) ? v[3..] : v;
        if (int.TryParse(name, System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out var num))
            return num is >= 1 and <= 64 ? null : $"'{v}' is not a signal number (1-64)";
        var rt = System.Text.RegularExpressions.Regex.Match(name, @"^RT(MIN|MAX)(?:([+-])([0-9]{1,2}))?\z");
        if (rt.Success)
            return !rt.Groups[2].Success || (rt.Groups[1].Value == "MIN" ? rt.Groups[2].Value == "+" : rt.Groups[2].Value == "-") && int.Parse(rt.Groups[3].Value, System.Globalization.CultureInfo.InvariantCulture) <= 30
                ? null : $"'{v}' is not a real-time signal (SIGRTMIN+N or SIGRTMAX-N, N up to 30)";
        return SignalNames.Contains(name) ? null : $"'{v}' is not a signal name (such as SIGPWR, SIGTERM, SIGINT, SIGRTMIN+3) or number";
    }

    private static readonly HashSet<string> SignalNames = new(StringComparer.Ordinal)
    {
        "HUP", "INT", "QUIT", "ILL", "TRAP", "ABRT", "IOT", "BUS", "FPE", "KILL", "USR1", "SEGV", "USR2", "PIPE", "ALRM", "TERM",
        "STKFLT", "CHLD", "CONT", "STOP", "TSTP", "TTIN", "TTOU", "URG", "XCPU", "XFSZ", "VTALRM", "PROF", "WINCH", "IO", "POLL", "PWR", "SYS",
    };

    private static string? IdValue(string v) =>
        long.TryParse(v, NumberStyles.None, CultureInfo.InvariantCulture, out var n) && n < uint.MaxValue ? null : $"'{v}' is not a host id";

    internal static void CheckConfig(IReadOnlyDictionary<string, string?> config, bool creating) =>
        Keys.CheckVolume(config, creating, "container");

    /// <summary>Set-Container: changes config keys. Id map keys take effect at the next start (a new allocation is made now).</summary>
    public Container Update(string name, IReadOnlyDictionary<string, string?> changes)
    {
        using var _ = records.Lock(name);
        var row = records.ReadyRow(name);
        CheckConfig(changes, creating: false);
        var cfg = new SortedDictionary<string, string>(row.Config, StringComparer.Ordinal);
        foreach (var (k, v) in changes)
        {
            if (v is null)
                cfg.Remove(k);
            else
                cfg[k] = v;
        }
        var idmapChanged = changes.Keys.Any(k => ContainerIdmaps.IdmapKeys.Contains(k));
        if (idmapChanged && row.Privileged)
            throw new ContainerPSException(Errors.InvalidIdmap, $"Container '{name}' is privileged: it has no id map to change.", name);
        FaultPoints.Hit("container.config.before-write"); // one transaction: a kill anywhere leaves the old config whole
        store.Write(() =>
        {
            if (idmapChanged)
            {
                var (b, size) = idmaps.AllocateBase(cfg, row.Id, row.IdmapBase is long ob ? (ob, row.IdmapSize ?? IdmapAllocator.DefaultSize) : null, name);
                store.UpdateContainerIdmap(row.Id, cfg.GetValueOrDefault("security.idmap.isolated") == "true", b, size);
            }
            store.UpdateContainerConfig(row.Id, cfg);
        });
        if (idmapChanged && paths.Runtime(name).Inspect().IsRunning)
            log.Warning($"Container '{name}' runs with its old id map; the new one takes effect when it restarts.");
        return records.Get(name);
    }

    public const string DefaultPoolSetting = "default.pool";

    // ------------------------------------------------------------------ the default pool

    /// <summary>The default pool: the recorded one, else a dir pool named 'default' made on first use (lxd init --auto).</summary>
    public string DefaultPool()
    {
        var name = store.GetSetting(DefaultPoolSetting);
        if (name is not null && store.Pool(name) is not null)
            return name;
        if (store.Pool("default") is null)
        {
            log.Verbose("No default storage pool: creating dir pool 'default'.");
            try { storage.CreatePool("default", "dir", null, null, "Default pool, created on first use"); }
            catch (ContainerPSException e) when (e.Code == Errors.PoolExists) { }
        }
        store.Write(() => store.SetSetting(DefaultPoolSetting, "default"));
        return "default";
    }

    /// <summary>Initialize-ContainerHost: creates the default pool (if missing) with a driver and records it.</summary>
    public StoragePool InitializeHost(string driver, IReadOnlyDictionary<string, string?>? poolConfig, string poolName = "default")
    {
        var existing = store.Pool(poolName);
        var pool = existing is null
            ? storage.CreatePool(poolName, driver, null, poolConfig, "Default pool")
            : storage.GetPool(poolName);
        if (existing is not null && existing.Driver != driver)
            throw new ContainerPSException(Errors.PoolExists,
                $"Storage pool '{poolName}' already exists with driver {existing.Driver}, not {driver}.", poolName);
        store.Write(() => store.SetSetting(DefaultPoolSetting, poolName));
        return pool;
    }
}
