using System.Diagnostics;
using ContainerPS.Engine.Idmap;
using ContainerPS.Engine.Images;
using ContainerPS.Engine.Migration;
using ContainerPS.Engine.Network;
using ContainerPS.Engine.State;
using ContainerPS.Engine.Storage;
using ContainerPS.Engine.Platform;

namespace ContainerPS.Engine.Runtime;

/// <summary>
/// Container lifecycle: create from an image (unprivileged by default), start under runc with a
/// native monitor, stop, copy, rename, snapshot, remove. The rootfs is shown to the container through
/// an idmapped mount, so nothing is chowned and start time does not depend on the number of files.
/// </summary>
public sealed partial class ContainerService
{
    public const string DefaultPoolSetting = "default.pool";
    private static readonly TimeSpan LockWait = TimeSpan.FromSeconds(60);

    private readonly StateStore store;
    private readonly StorageService storage;
    private readonly ImageService images;
    private readonly NetworkService networks;
    private readonly ExternalTool tool;
    private readonly IEngineLog log;
    private readonly string root;
    private readonly string runtimeDir;

    public ContainerService(StateStore store, StorageService storage, ImageService images, NetworkService networks, ExternalTool tool, IEngineLog log,
        string root, string runtimeDir)
    {
        this.networks = networks;
        this.store = store;
        this.storage = storage;
        this.images = images;
        this.tool = tool;
        this.log = log;
        this.root = root;
        this.runtimeDir = runtimeDir;
    }

    private string RuncRoot => Path.Join(runtimeDir, "runc");
    private RuntimeDirectory Runtime(string name) => new(Path.Join(runtimeDir, "containers", name));
    /// <summary>The container's cgroup for one start, named by its runtime id (unique per start).</summary>
    private static string CgroupsPath(string runcId) => $"/containerps/{runcId}";

    /// <summary>
    /// Where monitors live on a cgroup v2 host (as LXC's lxc.monitor.* cgroups): out of the cgroup of
    /// whoever started them, so that the end of a login session (logind's KillUserProcesses) or of a
    /// service kills neither them nor, through them, the container's bookkeeping. Null on cgroup v1.
    /// </summary>
    private static string? MonitorCgroup() => monitorCgroup.Value;

    // Looked at (and made) once per process, not at every start.
    private static readonly Lazy<string?> monitorCgroup = new(() =>
    {
        if (!File.Exists("/sys/fs/cgroup/cgroup.controllers"))
            return null;
        const string dir = "/sys/fs/cgroup/containerps.monitor";
        Directory.CreateDirectory(dir);
        return dir;
    });

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
            new ConfigKey(UnsafeIdmapKey, ConfigValues.Bool, "Lets raw.idmap map host ids root was not delegated (host root included): the container is then root-equivalent and reported as privileged."),
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

    private static void CheckConfig(IReadOnlyDictionary<string, string?> config, bool creating) =>
        Keys.CheckVolume(config, creating, "container");

    // ------------------------------------------------------------------ create

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

    public Container Create(string name, string image, string? poolName, IReadOnlyDictionary<string, string?>? config, bool isolated, bool privileged,
        IReadOnlyList<string>? networkNames = null)
    {
        Names.Validate(name, "container");
        var changes = new Dictionary<string, string?>(config ?? new Dictionary<string, string?>(), StringComparer.Ordinal);
        CheckConfig(changes, creating: true);
        if (store.Container(name) is not null)
            throw new ContainerPSException(Errors.ContainerExists, $"Container '{name}' already exists.", name);
        isolated |= changes.TryGetValue("security.idmap.isolated", out var iso) && iso == "true";
        privileged |= changes.TryGetValue("security.privileged", out var priv) && priv == "true";
        if (privileged && isolated)
            throw new ContainerPSException(Errors.InvalidIdmap, "A privileged container has no id map to isolate.", name);
        foreach (var n in networkNames ?? Array.Empty<string>())
            networks.Row(n);
        if (networkNames is not null && networkNames.Distinct(StringComparer.Ordinal).Count() != networkNames.Count)
            throw new ContainerPSException(Errors.DuplicateNetwork, "A network is named twice: a container has one interface per network.", name);
        var img = images.Resolve(image);
        if (poolName is not null && store.Pool(poolName) is null)
            throw ContainerPSException.PoolNotFound(poolName);
        var pool = poolName ?? DefaultPool();
        var poolRow = store.Pool(pool) ?? throw ContainerPSException.PoolNotFound(pool);

        var cfg = changes.Where(kv => kv.Value is not null).ToDictionary(kv => kv.Key, kv => kv.Value!, StringComparer.Ordinal);
        foreach (var (k, v) in img.Properties)
            cfg["image." + k] = v;
        if (privileged)
            cfg["security.privileged"] = "true";
        if (isolated)
            cfg["security.idmap.isolated"] = "true";
        if (privileged && changes.Keys.Any(k => IdmapKeys.Contains(k)))
            throw new ContainerPSException(Errors.InvalidIdmap, "A privileged container has no id map: security.idmap.* and raw.idmap do not apply.", name);

        var id = store.Write(() =>
        {
            (long Base, long Size)? alloc = privileged ? null : AllocateBase(cfg, null, null, name);
            return store.InsertContainer(name, image, poolRow.Id, privileged, isolated, alloc?.Base, alloc?.Size, cfg);
        });
        try
        {
            var created = store.Container(name)!;
            foreach (var n in networkNames ?? Array.Empty<string>())
                networks.AddMembership(created, n, null, AttachOptions.None);
            var fingerprint = images.EnsureVolume(img, pool);
            storage.CloneVolume(pool, VolumeTypes.Image, fingerprint, pool, VolumeTypes.Container, name);
            WriteHostname(storage.VolumePath(pool, VolumeTypes.Container, name), name);
            FaultPoints.Hit("container.create.after-disk");
            store.Write(() => store.Release("containers", id));
        }
        catch
        {
            UndoCreate(id, pool, name);
            throw;
        }
        return Get(name);
    }

    private void UndoCreate(long id, string pool, string name)
    {
        try
        {
            if (storage.HasVolume(pool, VolumeTypes.Container, name))
                storage.RemoveVolume(pool, VolumeTypes.Container, name, anyType: true);
            store.Write(() => store.DeleteContainerRow(id));
        }
        catch (Exception e) when (e is IOException or ContainerPSException)
        {
            log.Warning($"Could not undo the creation of container '{name}': {e.Message}. It is repaired when this process has exited.");
        }
    }

    private static void WriteHostname(string rootfs, string name) => WriteEtcFile(rootfs, "hostname", name + "\n");

    /// <summary>Writes /etc/FILE of a container's filesystem from the host, never following a link the image placed there.</summary>
    private static void WriteEtcFile(string rootfs, string file, string text)
    {
        var etc = Path.Join(rootfs, "etc");
        if (!Directory.Exists(etc) || HostPath.IsSymlink(etc))
            return;
        var path = Path.Join(etc, file);
        if (HostPath.IsSymlink(path))
            return;
        File.WriteAllText(path, text);
    }

    /// <summary>/etc/resolv.conf follows the first CNI result that has nameservers.</summary>
    private static void WriteResolvConf(string rootfs, IEnumerable<CniResult> results)
    {
        if (results.Select(r => r.ResolvConf()).FirstOrDefault(t => t is not null) is { } text)
            WriteEtcFile(rootfs, "resolv.conf", text);
    }

    private readonly Lazy<(long Start, long Count)> uids = new(() => SubIds.Root("/etc/subuid"));
    private readonly Lazy<(long Start, long Count)> gids = new(() => SubIds.Root("/etc/subgid"));
    private (long Start, long Count) Uids => uids.Value;
    private (long Start, long Count) Gids => gids.Value;

    // ------------------------------------------------------------------ read

    public IReadOnlyList<Container> List() => store.Containers().Select(ToContainer).ToList();

    public Container Get(string name) => ToContainer(Row(name));

    private ContainerRow Row(string name) =>
        store.Container(name) ?? throw ContainerPSException.ContainerNotFound(name);

    /// <summary>What the runtime files say of a ready container (null while it is being created or removed), and the state shown for it.</summary>
    private (RuntimeStatus? Runtime, string State) StatusOf(ContainerRow row)
    {
        var rt = row.State == RowState.Ready ? Runtime(row.Name).Inspect() : null;
        return (rt, rt?.State ?? char.ToUpperInvariant(row.State[0]) + row.State[1..]);
    }

    private Container ToContainer(ContainerRow row)
    {
        var (rt, state) = StatusOf(row);
        return new Container
        {
            Name = row.Name,
            State = state,
            Pid = rt?.Pid,
            Image = row.Image,
            Pool = row.Pool,
            Idmap = MapOf(row)?.ToString() ?? "privileged",
            Privileged = row.Privileged || HasUnsafeMap(row),
            CreatedAt = row.CreatedAt,
            LastStartedAt = row.LastStartedAt,
            Config = new SortedDictionary<string, string>(row.Config, StringComparer.Ordinal),
            Devices = store.Devices(row.Id).Select(ToDevice).ToArray(),
            Network = networks.Memberships(row.Id).Select(NetworkService.ToAttachment).ToArray(),
            StatusReason = rt?.Reason,
            Stateful = Directory.Exists(StopStateDir(row)),
            LastExitCode = rt?.ExitCode,
        };
    }

    public string ConsoleLog(string name) => Runtime(Row(name).Name).ReadConsole();

    // ------------------------------------------------------------------ start / stop

    /// <summary>
    /// Starts a container; one stopped with Stop-Container -Stateful is restored from its saved state
    /// instead (the state is used once), unless <paramref name="stateless"/> discards it.
    /// </summary>
    public Container Start(string name, bool stateless = false)
    {
        using var _ = Lock(name);
        var row = ReadyRow(name);
        if (Runtime(name).Inspect().IsRunning)
            throw new ContainerPSException(Errors.ContainerRunning, $"Container '{name}' is already running.", name);
        var saved = StopStateDir(row);
        if (Directory.Exists(saved) && !stateless && !Criu.DumpFinished(saved))
        {
            log.Warning($"Container '{name}': the state saved by Stop-Container -Stateful is incomplete (its dump did not finish: was the command killed?); it is discarded and the container boots normally.");
            stateless = true;
        }
        if (Directory.Exists(saved) && !stateless)
        {
            try
            {
                Launch(row, CheckpointImage.Open(saved));
            }
            catch (ContainerPSException e) when (e.Code == Errors.RestoreFailed || e.Code == Errors.CheckpointNotFound || e.Code == Errors.InvalidCheckpoint)
            {
                throw new ContainerPSException(e.Code,
                    e.Message + "\nThe state saved by Stop-Container -Stateful is kept; Start-Container -Stateless boots the container normally and discards it.", name, e);
            }
            Directory.Delete(saved, recursive: true);
        }
        else
        {
            if (Directory.Exists(saved))
                Directory.Delete(saved, recursive: true);
            Launch(row, null);
        }
        return ToContainer(Row(name));
    }

    /// <summary>
    /// Runs a container (with the lock held): its rootfs mounted, its bundle written, and the monitor
    /// running runc, or runc restore from <paramref name="image"/>. Rolled back completely on failure.
    /// </summary>
    private void Launch(ContainerRow row, CheckpointImage? image)
    {
        var name = row.Name;
        var rt = Runtime(name);
        CleanupRuntime(row, rt);
        if (row.Privileged)
            log.Warning($"Container '{name}' is privileged: root inside is root on the host.");
        // raw.idmap may have been set before host ids had to be delegated, or /etc/subuid changed since.
        else if (CheckDelegated(row.Config, name) is { Count: > 0 } outside)
            log.Warning($"Container '{name}' maps host ids that root was not delegated ({string.Join(", ", outside)}; security.idmap.unsafe): its root is root-equivalent on the host.");

        // A restore needs the user namespace it was dumped with; a start takes the map's latest config.
        var map = image is not null ? CurrentMap(row) ?? MapOf(row) : MapOf(row);
        var runcId = rt.Prepare(map, new[] { root, runtimeDir }, log);
        if (image is null) // a restore goes on with the processes (and the console log) it had
        {
            File.Delete(rt.ConsoleLog + ".1");
            File.Delete(rt.ConsoleLog);
        }
        var volume = storage.VolumePath(row.Pool, VolumeTypes.Container, name);
        var clock = Stopwatch.StartNew();
        // Networks: runc runs cps-hook once the namespaces exist; it hands over the init's pid and
        // the engine runs CNI ADD into its network namespace before the init starts.
        // A restore always needs it: CRIU makes an empty network namespace, whose loopback is down.
        using var hook = networks.Memberships(row.Id).Count > 0 || image is not null ? NetworkHook.Create(rt) : null;
        try
        {
            if (image is not null && map is not null)
                Criu.PrepareForRestore(image.Path);
            PresentVolume(row, map, row.Pool, VolumeTypes.Container, name, rt.Rootfs);
            var binds = PrepareDevices(row, map, rt);
            var mounted = clock.Elapsed.TotalMilliseconds;
            var spec = OciSpec.Build(new OciSpecInput(name, CgroupsPath(runcId), map, row.Config, InitArgs(row), OciSpec.HostBoundingSet(), hook?.Command, binds));
            File.WriteAllText(rt.Config, spec.ToJsonString());
            FaultPoints.Hit("container.start.before-monitor");
            var written = clock.Elapsed.TotalMilliseconds;
            // A restore asks for the addresses the container had when it was dumped (its sockets are bound to them).
            RunMonitor(row, rt, runcId, hook, pid =>
            {
                FaultPoints.Hit("container.start.in-hook"); // the monitor, runc and cps-hook wait on us here
                if (image is not null)
                    networks.LoopbackUp(row.Uuid, NetNsOf(pid));
                WriteResolvConf(volume, networks.AttachAll(row, NetNsOf(pid), image?.Interfaces));
            }, image);
            UnmountDevices(rt);
            log.Verbose($"{(image is null ? "start" : "restore")} {name}: rootfs mounted {mounted:0.0} ms, bundle written {written:0.0} ms, running {clock.Elapsed.TotalMilliseconds:0.0} ms");
        }
        catch
        {
            CleanupRuntime(row, rt);
            throw;
        }
        RecordStarted(row, map);
    }

    /// <summary>
    /// Records the start time and the map the container runs with (Get-ContainerIdmap's Current) until
    /// its next start. <paramref name="row"/>'s config is current: it was read under the container's lock.
    /// </summary>
    private void RecordStarted(ContainerRow row, IdMapping? map) => store.Write(() =>
    {
        store.SetLastStarted(row.Id, DateTime.UtcNow);
        var cfg = new SortedDictionary<string, string>(row.Config, StringComparer.Ordinal);
        if (map is not null)
            cfg[IdmapCurrentKey] = map.Serialize();
        else
            cfg.Remove(IdmapCurrentKey);
        store.UpdateContainerConfig(row.Id, cfg);
    });

    private static string[] InitArgs(ContainerRow row) =>
        row.Config.TryGetValue("image.init", out var init) && init.Trim().Length > 0 ? ImageInit.Split(init) : new[] { ImageInit.DefaultInit };

    /// <summary>
    /// Takes the container's lock after checking the name and that the container exists (so a bad
    /// name never becomes a lock file), and waits out a monitor that is still recording an exit.
    /// </summary>
    private ContainerLock Lock(string name)
    {
        Row(Names.Validate(name, "container"));
        var l = ContainerLock.Take(root, name, LockWait);
        if (Runtime(name).Inspect().State == RuntimeStatus.Stopping)
            WaitStopped(Runtime(name), TimeSpan.FromSeconds(15));
        return l;
    }

    private ContainerRow ReadyRow(string name)
    {
        var row = Row(name);
        // Not Ready, or Ready with a step of another live process under way (a move between its calls).
        if (row.State != RowState.Ready || row.Owner is { IsAlive: true } owner && owner != ProcessIdentity.Current)
            throw ContainerPSException.Busy($"Container '{name}'", Errors.ContainerBusy);
        return row;
    }

    private static string NetNsOf(int pid) => $"/proc/{pid}/ns/net";

    /// <summary>
    /// Starts cps-monitor (which runs runc) and waits for its "running PID" line, meanwhile serving
    /// the network hook: <paramref name="attach"/> runs for the pid it sends, and its error (a CNI
    /// plugin's, say) is what the start fails with.
    /// </summary>
    /// <summary>How long a start (or restore) may take until the monitor reports; the monitor gets it too (--start-timeout) and ends a start within it.</summary>
    internal static readonly TimeSpan StartTimeout = TimeSpan.FromSeconds(90);

    private void RunMonitor(ContainerRow row, RuntimeDirectory rt, string runcId, NetworkHook? hook, Action<int> attach, CheckpointImage? image = null)
    {
        var monitor = NativePrograms.Path;
        var psi = new ProcessStartInfo(monitor)
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            RedirectStandardInput = true,
            UseShellExecute = false,
        };
        foreach (var a in new[] { "--runc", NativePrograms.Runc, "--runc-root", RuncRoot, "--bundle", rt.Path, "--id", runcId,
                     "--state-dir", rt.Path, "--umount", rt.Rootfs, "--start-timeout", ((long)StartTimeout.TotalMilliseconds).ToString(System.Globalization.CultureInfo.InvariantCulture) })
            psi.ArgumentList.Add(a);
        if (MonitorCgroup() is { } cgroup)
        {
            psi.ArgumentList.Add("--cgroup");
            psi.ArgumentList.Add(cgroup);
        }
        if (image is not null)
        {
            psi.ArgumentList.Add("--restore");
            psi.ArgumentList.Add(image.Path);
            foreach (var o in Criu.RuncOptions) // --criu PATH: the monitor hands it on to runc as the same global option
                psi.ArgumentList.Add(o);
            foreach (var o in Criu.RestoreOptions)
            {
                psi.ArgumentList.Add("--restore-opt");
                psi.ArgumentList.Add(o);
            }
            foreach (var (k, v) in Criu.Environment)
                psi.Environment[k] = v;
        }
        log.Verbose($"run: {monitor} {string.Join(' ', psi.ArgumentList)}");
        using var p = Process.Start(psi) ?? throw new ContainerPSException(Errors.MonitorFailed, "cps-monitor did not start.", row.Name);
        var lineTask = p.StandardOutput.ReadLineAsync();
        var deadline = Stopwatch.StartNew();
        Exception? hookError = null;
        while (!lineTask.IsCompleted)
        {
            var left = StartTimeout - deadline.Elapsed;
            var tasks = hook is null ? new Task[] { lineTask } : new Task[] { lineTask, hook.NextRequest() };
            if (left <= TimeSpan.Zero || Task.WaitAny(tasks, left) < 0)
            {
                try { p.Kill(); } catch (InvalidOperationException) { }
                throw new ContainerPSException(Errors.ContainerStartFailed, $"Container '{row.Name}': the monitor did not report within {StartTimeout.TotalSeconds:0} s.", row.Name);
            }
            if (hook is not null && hook.NextRequest().IsCompleted)
            {
                var request = hook.NextRequest().Result;
                try
                {
                    attach(int.Parse(request ?? "", System.Globalization.CultureInfo.InvariantCulture));
                    hook.Reply(null);
                }
                catch (Exception e)
                {
                    // Always answer, so runc fails the start now instead of at the hook's timeout.
                    hookError = e;
                    hook.Reply(e.Message);
                }
            }
        }
        var line = lineTask.Result ?? "";
        if (!line.StartsWith("running ", StringComparison.Ordinal))
        {
            p.WaitForExit(5000);
            if (hookError is not null)
                System.Runtime.ExceptionServices.ExceptionDispatchInfo.Throw(hookError);
            var console = rt.ReadConsole(4096).Trim();
            var why = MonitorFailure(p, rt, line);
            if (image is not null)
                throw new ContainerPSException(Errors.RestoreFailed,
                    $"Container '{row.Name}' could not be restored from {image.Path}: {why}{Criu.LogErrors(image.Path, "restore.log")}", row.Name);
            throw new ContainerPSException(Errors.ContainerStartFailed,
                $"Container '{row.Name}' failed to start: {why}{(console.Length > 0 ? "\n" + console : "")}", row.Name);
        }
    }

    /// <summary>
    /// Why a start failed: the monitor's "error ..." status line (runc's own error), else its stderr,
    /// else, when it died without a word (killed), how it ended and the last lines of its log.
    /// </summary>
    private static string MonitorFailure(Process monitor, RuntimeDirectory rt, string statusLine)
    {
        var why = statusLine.StartsWith("error ", StringComparison.Ordinal) ? statusLine[6..].Trim() : statusLine.Trim();
        if (why.Length > 0)
            return why;
        why = monitor.StandardError.ReadToEnd().Trim();
        if (why.Length > 0)
            return why;
        var ended = !monitor.HasExited ? "cps-monitor closed its output without a word"
            : monitor.ExitCode > 128 ? $"cps-monitor was killed by signal {monitor.ExitCode - 128} before it reported"
            : $"cps-monitor exited with code {monitor.ExitCode} before it reported";
        string[] tail;
        try { tail = File.ReadLines(Path.Join(rt.Path, "monitor.log")).TakeLast(4).ToArray(); }
        catch (IOException) { tail = Array.Empty<string>(); }
        return tail.Length == 0 ? ended : $"{ended}; the last lines of its log ({Path.Join(rt.Path, "monitor.log")}):\n  {string.Join("\n  ", tail)}";
    }

    /// <summary>Removes what a previous run left (runc state, the rootfs mount, pid files) when nothing runs.</summary>
    private void CleanupRuntime(ContainerRow row, RuntimeDirectory rt)
    {
        EndMonitor(row, rt);
        var runcId = rt.RuncId(row.Name);
        if (Directory.Exists(rt.Path) && Directory.Exists(Path.Join(RuncRoot, runcId)))
        {
            try { tool.Run(NativePrograms.Runc, new[] { "--root", RuncRoot, "kill", runcId, "KILL" }, TimeSpan.FromSeconds(10)); }
            catch (ContainerPSException) { }
            try { tool.Run(NativePrograms.Runc, new[] { "--root", RuncRoot, "delete", "--force", runcId }, TimeSpan.FromSeconds(30)); }
            catch (ContainerPSException e) { log.Verbose("runc delete: " + e.Message); }
        }
        RemoveCgroups(runcId);
        // Also when the runtime directory is gone (a reboot emptied /run): DEL still frees the addresses.
        ReleaseNetwork(row);
        if (!Directory.Exists(rt.Path))
            return;
        UnmountDevices(rt);
        Mounts.Unmount(rt.Rootfs);
        foreach (var f in new[] { rt.InitPidFile, rt.MonitorPidFile, rt.ExitFile, rt.HotMountsFile })
            File.Delete(f);
    }

    /// <summary>
    /// Removes the (empty) cgroup directories of a start in every hierarchy. runc deletes them itself,
    /// except after a start it never finished (runc killed before it recorded the container), which
    /// would leave one per hierarchy behind. A cgroup still in use is not removable and stays.
    /// </summary>
    private static void RemoveCgroups(string runcId)
    {
        var relative = CgroupsPath(runcId).TrimStart('/');
        var roots = File.Exists("/sys/fs/cgroup/cgroup.controllers") ? new[] { "/sys/fs/cgroup" } : Directory.GetDirectories("/sys/fs/cgroup");
        foreach (var root in roots)
        {
            var dir = Path.Join(root, relative);
            try
            {
                if (Directory.Exists(dir))
                    Directory.Delete(dir); // rmdir: a cgroup's control files do not count
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException) { }
        }
    }

    /// <summary>
    /// Ends a monitor still alive when nothing may run (called with the container's lock held: a
    /// start whose launcher died, or one that outlived its stop), with runc, its hooks and the init
    /// below it, by pid; waits for them, so that nothing of that start acts on a later one.
    /// </summary>
    private void EndMonitor(ContainerRow row, RuntimeDirectory rt)
    {
        if (rt.Monitor is not { IsAlive: true } monitor)
            return;
        var tree = HostProcesses.Tree(monitor);
        if (!HostProcesses.KillAndWait(tree, TimeSpan.FromSeconds(15)))
            throw new ContainerPSException(Errors.ContainerStopFailed,
                $"Container '{row.Name}': the processes of an earlier start ({string.Join(", ", tree.Select(p => p.Pid))}) did not end.", row.Name);
        log.Warning($"Container '{row.Name}': ended the monitor, runc and hooks ({tree.Count} processes) of an earlier start that did not finish (its launcher died?).");
    }

    /// <summary>Ends the Invoke-ContainerExec relays serving the container's current start, by pid, and waits for them.</summary>
    private void EndExecHelpers(ContainerRow row, RuntimeDirectory rt)
    {
        var helpers = HostProcesses.ExecHelpers(rt.RuncId(row.Name));
        if (helpers.Count > 0 && !HostProcesses.KillAndWait(helpers, TimeSpan.FromSeconds(15)))
            log.Warning($"Container '{row.Name}': exec helpers {string.Join(", ", helpers.Select(p => p.Pid))} did not end.");
    }

    /// <summary>
    /// DEL for every recorded ADD of a container that no longer runs: its network namespace is gone
    /// (and its interfaces with it), so DEL runs without one and frees what lives on the host (addresses).
    /// </summary>
    private void ReleaseNetwork(ContainerRow row) => networks.DetachAll(row.Id, null);

    /// <summary>
    /// Stops a container: the stop signal, then SIGKILL after <paramref name="timeout"/> (at once with
    /// <paramref name="force"/>); with <paramref name="stateful"/> its running state is saved by CRIU instead.
    /// </summary>
    public Container Stop(string name, bool force, TimeSpan? timeout = null, bool stateful = false)
    {
        using var _ = Lock(name);
        var row = ReadyRow(name);
        var rt = Runtime(name);
        var status = rt.Inspect();
        // Under the lock, Starting is a start whose launcher died: its monitor is ended like a broken one.
        if (status.State is RuntimeStatus.Error or RuntimeStatus.Starting)
        {
            CleanupRuntime(row, rt);
            return ToContainer(row);
        }
        if (!status.IsRunning)
        {
            ReleaseNetwork(row); // an init that exited by itself leaves its network to the next command
            throw new ContainerPSException(Errors.ContainerNotRunning, $"Container '{name}' is not running.", name);
        }
        if (stateful)
        {
            StopStateful(row, rt);
            return ToContainer(row);
        }
        if (!force)
        {
            var signal = row.Config.GetValueOrDefault("boot.stop.signal") ?? row.Config.GetValueOrDefault("image.stop.signal") ?? ImageInit.DefaultStopSignal;
            Kill(row, signal);
            if (WaitStopped(rt, timeout ?? TimeSpan.FromSeconds(30)))
            {
                rt.MarkStopped(signal, killed: false);
                ReleaseNetwork(row);
                return ToContainer(row);
            }
            log.Warning($"Container '{name}' did not shut down within {(timeout ?? TimeSpan.FromSeconds(30)).TotalSeconds:0} s after {signal}; killing it.");
        }
        Kill(row, "KILL");
        if (!WaitStopped(rt, TimeSpan.FromSeconds(15)))
        {
            CleanupRuntime(row, rt);
            if (rt.Inspect().IsRunning)
                throw new ContainerPSException(Errors.ContainerStopFailed, $"Container '{name}' did not stop.", name);
        }
        else
            rt.MarkStopped("SIGKILL", killed: true);
        ReleaseNetwork(row);
        return ToContainer(row);
    }

    private void Kill(ContainerRow row, string signal)
    {
        try { tool.Run(NativePrograms.Runc, new[] { "--root", RuncRoot, "kill", Runtime(row.Name).RuncId(row.Name), signal.StartsWith("SIG", StringComparison.Ordinal) ? signal[3..] : signal }, TimeSpan.FromSeconds(10)); }
        catch (ContainerPSException e) { log.Verbose("runc kill: " + e.Message); }
    }

    /// <summary>Waits for the monitor to record the exit and finish its cleanup.</summary>
    private static bool WaitStopped(RuntimeDirectory rt, TimeSpan timeout)
    {
        var clock = Stopwatch.StartNew();
        while (clock.Elapsed < timeout)
        {
            if (File.Exists(rt.ExitFile) && !File.Exists(rt.MonitorPidFile))
                return true;
            Thread.Sleep(5);
        }
        return false;
    }

    public Container Wait(string name, string state, TimeSpan timeout, CancellationToken cancel = default)
    {
        var clock = Stopwatch.StartNew();
        while (true)
        {
            var c = Get(name);
            if (string.Equals(c.State, state, StringComparison.OrdinalIgnoreCase))
                return c;
            if (clock.Elapsed >= timeout)
                throw new ContainerPSException(Errors.WaitTimeout, $"Container '{name}' is {c.State}, not {state}, after {timeout.TotalSeconds:0} s.", name);
            cancel.WaitHandle.WaitOne(20);
            cancel.ThrowIfCancellationRequested();
        }
    }

    // ------------------------------------------------------------------ networks

    /// <summary>Connects a container to a network: recorded for every start, and attached at once (CNI ADD) when it runs.</summary>
    public NetworkAttachment Connect(string name, string network, string? ifname, AttachOptions options)
    {
        using var _ = Lock(name);
        var row = ReadyRow(name);
        if (Runtime(name).Inspect() is not { IsRunning: true, Pid: int pid })
        {
            var added = networks.AddMembership(row, network, ifname, options);
            return networks.Attachments(name).Single(x => x.Network == added.Network);
        }
        var a = InStep(row, new Step(Step.Connect, Name: network), () =>
        {
            var a = networks.AddMembership(row, network, ifname, options);
            try
            {
                WriteResolvConf(storage.VolumePath(row.Pool, VolumeTypes.Container, name), new[] { networks.Attach(a, NetNsOf(pid)) });
            }
            catch
            {
                networks.RemoveMembership(a);
                throw;
            }
            return a;
        });
        return networks.Attachments(name).Single(x => x.Network == a.Network);
    }

    /// <summary>Disconnects a container from a network: CNI DEL when attached, and the membership is forgotten.</summary>
    public void Disconnect(string name, string network)
    {
        using var _ = Lock(name);
        var row = ReadyRow(name);
        var a = networks.Membership(row, network);
        InStep(row, new Step(Step.Disconnect, Name: a.Network), () =>
        {
            networks.Detach(a, Runtime(name).Inspect() is { IsRunning: true, Pid: int pid } ? NetNsOf(pid) : null);
            FaultPoints.Hit("network.disconnect.after-del");
            networks.RemoveMembership(a);
        });
    }

    /// <summary>
    /// A network change of a running container whose process died: a connection whose ADD finished
    /// is kept, one that did not is undone (DEL, membership forgotten); a disconnection is finished.
    /// </summary>
    private string RepairNetworkStep(ContainerRow row, Step step)
    {
        var a = networks.Memberships(row.Id).FirstOrDefault(m => m.Network == step.Name);
        var connect = step.Op == Step.Connect;
        if (connect && a?.Result is not null)
            return $"finished the unfinished connection of container '{row.Name}' to network '{step.Name}'";
        if (a is not null)
        {
            networks.Detach(a, Runtime(row.Name).Inspect() is { IsRunning: true, Pid: int pid } ? NetNsOf(pid) : null);
            networks.RemoveMembership(a);
        }
        return connect
            ? $"rolled back the unfinished connection of container '{row.Name}' to network '{step.Name}'"
            : $"finished the unfinished disconnection of container '{row.Name}' from network '{step.Name}'";
    }

    /// <summary>Runs CNI CHECK for a running container's networks (all, or the one named); one entry per network.</summary>
    public IReadOnlyList<NetworkCheck> CheckNetworks(string name, string? network)
    {
        var row = ReadyRow(Names.Validate(name, "container"));
        if (Runtime(name).Inspect() is not { IsRunning: true, Pid: int pid })
            throw new ContainerPSException(Errors.ContainerNotRunning, $"Container '{name}' is not running.", name);
        var list = network is null ? networks.Memberships(row.Id) : new[] { networks.Membership(row, network) };
        var checks = new List<NetworkCheck>();
        foreach (var a in list)
        {
            try { checks.Add(new NetworkCheck(a.Network, a.IfName, networks.Check(a, NetNsOf(pid)), null)); }
            catch (ContainerPSException e) { checks.Add(new NetworkCheck(a.Network, a.IfName, true, e)); }
        }
        return checks;
    }

    // ------------------------------------------------------------------ exec

    /// <summary>
    /// Starts a command in a running container (cps-exec joins the init's namespaces, cgroups,
    /// seccomp profile and capability set, and makes the command a descendant of the init).
    /// Defaults as in Incus: cwd /root, PATH, LANG=C.UTF-8, HOME and USER for root, TERM when interactive.
    /// </summary>
    public ExecSession Exec(ExecRequest request)
    {
        if (request.Command.Count == 0 || string.IsNullOrEmpty(request.Command[0]))
            throw new ContainerPSException(Errors.EmptyCommand, "Give a command to run in the container.", request.Container);
        if (request.OutputFile is { } file && (request.Interactive || request.Raw || !Path.IsPathFullyQualified(file)))
            throw new ContainerPSException(Errors.InvalidExecOutput, "Output into a file (an absolute path) is neither interactive nor raw text.", request.Container);
        var row = ReadyRow(Names.Validate(request.Container, "container"));
        var rt = Runtime(row.Name);
        var status = rt.Inspect();
        if (!status.IsRunning || status.Pid is not int pid)
            throw new ContainerPSException(Errors.ContainerNotRunning, $"Container '{row.Name}' is not running.", row.Name);

        var env = new SortedDictionary<string, string>(StringComparer.Ordinal)
        {
            ["PATH"] = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
            ["LANG"] = "C.UTF-8",
        };
        if (request.User == 0)
        {
            env["HOME"] = "/root";
            env["USER"] = "root";
        }
        if (request.Interactive)
            env["TERM"] = Environment.GetEnvironmentVariable("TERM") is { Length: > 0 } term ? term : "xterm";
        foreach (var (k, v) in request.Environment ?? new Dictionary<string, string>())
        {
            if (k.Length == 0 || k.Contains('=') || k.Contains('\0') || v.Contains('\0'))
                throw new ContainerPSException(Errors.InvalidEnvironment, $"Invalid environment variable name '{Names.Printable(k)}'.", k);
            env[k] = v;
        }

        // The sealed copy: the shim's /proc/PID/exe, seen from inside, is never the host's file.
        var psi = new ProcessStartInfo(SealedExecutable.Of(NativePrograms.ExecHelper))
        {
            UseShellExecute = false,
            RedirectStandardInput = !request.Interactive,
            RedirectStandardOutput = !request.Interactive,
            RedirectStandardError = !request.Interactive,
        };
        if (!request.Interactive)
        {
            psi.StandardOutputEncoding = System.Text.Encoding.UTF8;
            psi.StandardErrorEncoding = System.Text.Encoding.UTF8;
        }
        // Nothing of the caller's environment goes along (the command gets exactly --env); the tag
        // names the start it serves, so Remove-Container -Force finds it.
        psi.Environment.Clear();
        psi.Environment[HostProcesses.ExecTagVariable] = rt.RuncId(row.Name);
        var a = psi.ArgumentList;
        a.Add("--pid"); a.Add(pid.ToString(System.Globalization.CultureInfo.InvariantCulture));
        a.Add("--uid"); a.Add(request.User.ToString(System.Globalization.CultureInfo.InvariantCulture));
        a.Add("--gid"); a.Add(request.Group.ToString(System.Globalization.CultureInfo.InvariantCulture));
        if (request.WorkingDirectory is { } cwd) // else cps-exec tries /root, then / (an image without /root)
        {
            a.Add("--cwd"); a.Add(cwd);
        }
        foreach (var (k, v) in env)
        {
            a.Add("--env"); a.Add($"{k}={v}");
        }
        if (request.Interactive)
            a.Add("--pty");
        foreach (var sc in OciSpec.DeniedSyscalls)
        {
            a.Add("--deny-syscall"); a.Add(sc);
        }
        a.Add("--deny-force-umount");
        foreach (var cap in OciSpec.DroppedCapabilityNumbers)
        {
            a.Add("--drop-cap"); a.Add(cap.ToString(System.Globalization.CultureInfo.InvariantCulture));
        }
        a.Add("--");
        foreach (var word in request.Command)
            a.Add(word);
        FileStream? sink = null;
        if (request.OutputFile is { } outputFile)
        {
            try { sink = new FileStream(outputFile, FileMode.Create, FileAccess.Write, FileShare.Read, bufferSize: 0); }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
                throw new ContainerPSException(Errors.OutFileUnavailable, $"Cannot write '{Names.Printable(outputFile)}': {e.Message}", outputFile, e);
            }
        }
        Process process;
        try { process = Process.Start(psi) ?? throw new ContainerPSException(Errors.ExecFailed, "cps-exec did not start.", row.Name); }
        catch
        {
            sink?.Dispose();
            throw;
        }
        return new ExecSession(process, request.Interactive, request.Raw, request.Bytes, sink);
    }

    // ------------------------------------------------------------------ remove / rename / copy

    public void Remove(string name, bool force)
    {
        using var l = Lock(name);
        RemoveHeld(ReadyRow(name), force);
        l.DeleteFile(); // no lock file is left for a name that no longer exists
    }

    /// <summary>Remove-Container with the container's lock held.</summary>
    private void RemoveHeld(ContainerRow row, bool force)
    {
        var name = row.Name;
        var rt = Runtime(name);
        if (rt.Inspect().IsRunning)
        {
            if (!force)
                throw new ContainerPSException(Errors.ContainerRunning, $"Container '{name}' is running; stop it first or use -Force.", name);
            Kill(row, "KILL");
            WaitStopped(rt, TimeSpan.FromSeconds(15));
            EndExecHelpers(row, rt); // only a running container has them: no /proc scan otherwise
        }
        if (!store.Write(() => store.Claim("containers", row.Id, RowState.Deleting)))
            throw ContainerPSException.Busy($"Container '{name}'", Errors.ContainerBusy);
        FinishRemove(row);
    }

    private void FinishRemove(ContainerRow row)
    {
        var rt = Runtime(row.Name);
        CleanupRuntime(row, rt);
        if (Directory.Exists(rt.Path))
            Directory.Delete(rt.Path, recursive: true);
        foreach (var snap in store.Snapshots(row.Id))
            if (storage.HasVolume(row.Pool, VolumeTypes.Snapshot, SnapshotVolume(row.Name, snap.Name)))
                storage.RemoveVolume(row.Pool, VolumeTypes.Snapshot, SnapshotVolume(row.Name, snap.Name), anyType: true);
        if (Directory.Exists(CheckpointsDir(row)))
            Directory.Delete(CheckpointsDir(row), recursive: true);
        if (storage.HasVolume(row.Pool, VolumeTypes.Container, row.Name))
            storage.RemoveVolume(row.Pool, VolumeTypes.Container, row.Name, anyType: true);
        FaultPoints.Hit("container.delete.after-disk");
        store.Write(() => store.DeleteContainerRow(row.Id));
    }

    public Container Rename(string name, string newName)
    {
        Names.Validate(newName, "container");
        if (newName == Names.Validate(name, "container"))
            return Get(name);
        // Both names are locked, always in the same order, so a->b and b->a cannot deadlock.
        var nameFirst = string.CompareOrdinal(name, newName) < 0;
        using var first = nameFirst ? Lock(name) : ContainerLock.Take(root, newName, LockWait);
        using var second = nameFirst ? ContainerLock.Take(root, newName, LockWait) : Lock(name);
        var row = ReadyRow(name);
        if (Runtime(name).Inspect().IsRunning)
            throw new ContainerPSException(Errors.ContainerRunning, $"Container '{name}' is running; stop it before renaming.", name);
        if (store.Container(newName) is not null)
            throw new ContainerPSException(Errors.ContainerExists, $"Container '{newName}' already exists.", newName);
        CleanupRuntime(row, Runtime(name));
        if (Directory.Exists(Runtime(name).Path))
            Directory.Delete(Runtime(name).Path, recursive: true);
        // Claimed first (state renaming, the new name kept): a rename cut short is finished by the repair.
        if (!store.Write(() => store.Claim("containers", row.Id, RowState.Renaming, newName)))
            throw ContainerPSException.Busy($"Container '{name}'", Errors.ContainerBusy);
        FinishRename(row, newName);
        (nameFirst ? first : second).DeleteFile(); // the old name's
        return Get(newName);
    }

    /// <summary>The disk steps of a rename (each volume renamed unless it already was), then the row, renamed and released.</summary>
    private void FinishRename(ContainerRow row, string newName)
    {
        var name = row.Name;
        if (storage.HasVolume(row.Pool, VolumeTypes.Container, name))
            storage.RenameInternalVolume(row.Pool, VolumeTypes.Container, name, newName);
        FaultPoints.Hit("container.rename.after-volume");
        foreach (var snap in store.Snapshots(row.Id))
            if (storage.HasVolume(row.Pool, VolumeTypes.Snapshot, SnapshotVolume(name, snap.Name)))
                storage.RenameInternalVolume(row.Pool, VolumeTypes.Snapshot, SnapshotVolume(name, snap.Name), SnapshotVolume(newName, snap.Name));
        WriteHostname(storage.VolumePath(row.Pool, VolumeTypes.Container, newName), newName);
        store.Write(() =>
        {
            store.RenameContainerRow(row.Id, newName);
            store.Release("containers", row.Id);
        });
    }

    /// <summary>Copies a stopped container, or one of its snapshots (<paramref name="snapshot"/>), to a new container.</summary>
    public Container Copy(string name, string? snapshot, string newName, string? targetPool)
    {
        Names.Validate(newName, "container");
        var row = ReadyRow(name);
        if (snapshot is null && Runtime(name).Inspect().IsRunning)
            throw new ContainerPSException(Errors.ContainerRunning,
                $"Container '{name}' is running; stop it or copy one of its snapshots (live copies come with checkpoints).", name);
        if (snapshot is not null)
            SnapshotRowOf(row, snapshot);
        var pool = targetPool ?? row.Pool;
        var poolRow = store.Pool(pool) ?? throw ContainerPSException.PoolNotFound(pool);
        var cfg = new SortedDictionary<string, string>(row.Config, StringComparer.Ordinal);
        cfg.Remove(IdmapCurrentKey); // the copy has not run yet
        var id = store.Write(() =>
        {
            (long Base, long Size)? alloc = row.Privileged ? null : AllocateBase(cfg, null, null, newName);
            return store.InsertContainer(newName, row.Image, poolRow.Id, row.Privileged, row.Isolated, alloc?.Base, alloc?.Size, cfg);
        });
        try
        {
            if (snapshot is null)
                storage.CloneVolume(row.Pool, VolumeTypes.Container, name, pool, VolumeTypes.Container, newName);
            else
                storage.CloneVolume(row.Pool, VolumeTypes.Snapshot, SnapshotVolume(name, snapshot), pool, VolumeTypes.Container, newName);
            WriteHostname(storage.VolumePath(pool, VolumeTypes.Container, newName), newName);
            var copy = store.Container(newName)!;
            foreach (var a in networks.Memberships(row.Id)) // same networks and interfaces; addresses are the copy's own
                networks.AddMembership(copy, a.Network, a.IfName, AttachOptions.None);
            store.Write(() =>
            {
                foreach (var d in store.Devices(row.Id)) // the same volumes at the same paths, as lxc copy keeps devices
                    store.InsertDevice(copy.Id, d.VolumeId, d.Name, d.Path, d.ReadOnly);
                store.Release("containers", id);
            });
        }
        catch
        {
            UndoCreate(id, pool, newName);
            throw;
        }
        return Get(newName);
    }

    // ------------------------------------------------------------------ snapshots

    private static string SnapshotVolume(string container, string snapshot) => $"{container}@{snapshot}";

    private SnapshotRow SnapshotRowOf(ContainerRow row, string snapshot) =>
        store.Snapshots(row.Id).FirstOrDefault(s => s.Name == snapshot)
        ?? throw new ContainerPSException(Errors.SnapshotNotFound, $"Snapshot '{Names.Printable(snapshot)}' of container '{row.Name}' not found.", snapshot);

    public ContainerSnapshot CreateSnapshot(string name, string snapshot)
    {
        Names.Validate(snapshot, "snapshot");
        using var _ = Lock(name);
        var row = ReadyRow(name);
        var id = store.Write(() => store.InsertSnapshot(row.Id, name, snapshot, stateful: false));
        try
        {
            FaultPoints.Hit("snapshot.create.after-row");
            storage.CloneVolume(row.Pool, VolumeTypes.Container, name, row.Pool, VolumeTypes.Snapshot, SnapshotVolume(name, snapshot));
            FaultPoints.Hit("snapshot.create.after-disk");
            store.Write(() => store.Release("snapshots", id));
        }
        catch
        {
            store.Write(() => store.DeleteSnapshotRow(id));
            throw;
        }
        return ToSnapshot(row, SnapshotRowOf(row, snapshot));
    }

    public IReadOnlyList<ContainerSnapshot> ListSnapshots(string name)
    {
        var row = Row(name);
        return store.Snapshots(row.Id).Select(s => ToSnapshot(row, s)).ToList();
    }

    private static ContainerSnapshot ToSnapshot(ContainerRow row, SnapshotRow s) =>
        new() { Container = row.Name, Name = s.Name, Stateful = s.Stateful, CreatedAt = s.CreatedAt };

    public void RestoreSnapshot(string name, string snapshot)
    {
        using var _ = Lock(name);
        var row = ReadyRow(name);
        SnapshotRowOf(row, snapshot);
        if (Runtime(name).Inspect().IsRunning)
            throw new ContainerPSException(Errors.ContainerRunning, $"Container '{name}' is running; stop it before restoring a snapshot.", name);
        storage.RestoreVolume(row.Pool, VolumeTypes.Snapshot, SnapshotVolume(name, snapshot), VolumeTypes.Container, name);
        // A state saved by Stop-Container -Stateful belongs to the filesystem just replaced.
        if (Directory.Exists(StopStateDir(row)))
            Directory.Delete(StopStateDir(row), recursive: true);
    }

    public void RemoveSnapshot(string name, string snapshot)
    {
        using var _ = Lock(name);
        var row = ReadyRow(name);
        var snap = SnapshotRowOf(row, snapshot);
        // Claimed first (state deleting): a removal cut short is finished by the repair.
        if (!store.Write(() => store.Claim("snapshots", snap.Id, RowState.Deleting)))
            throw ContainerPSException.Busy($"Snapshot '{snapshot}' of container '{name}'", Errors.ContainerBusy);
        storage.RemoveVolume(row.Pool, VolumeTypes.Snapshot, SnapshotVolume(name, snapshot), anyType: true);
        FaultPoints.Hit("snapshot.delete.after-disk");
        UndoSnapshot(row, snapshot, snap.Id);
    }

    // ------------------------------------------------------------------ repair

    /// <summary>Rolls back container creations and finishes removals whose process died.</summary>
    public void RepairInterrupted()
    {
        if (store.AnyUnfinished("containers", "snapshots"))
            RepairRows();
        RemoveLeftIncoming();
    }

    private void RepairRows()
    {
        RepairSnapshots();
        var rows = store.Containers(); // one read for both scans: this runs at every command's start
        RepairSteps(rows);
        foreach (var c in rows.Where(c => c.State != RowState.Ready && c.Owner is { IsAlive: false }))
        {
            if (!store.Write(() => store.TakeOver("containers", c.Id, c.Owner!.Value)))
                continue;
            try
            {
                if (c.State == RowState.Creating)
                    UndoCreate(c.Id, c.Pool, c.Name);
                else if (c.State == RowState.Renaming && c.OpArg is { } newName && store.Container(newName) is null)
                    FinishRename(c, newName);
                else if (c.State == RowState.Renaming)
                    FinishRename(c with { Name = c.OpArg! }, c.Name); // the new name was taken meanwhile: back to the old one
                else
                    FinishRemove(c);
                var what = c.State switch
                {
                    RowState.Creating => "rolled back the unfinished creation",
                    RowState.Renaming => $"finished the unfinished rename to '{c.OpArg}'",
                    _ => "finished the unfinished removal",
                };
                log.Warning($"Repaired an interrupted operation: {what} of container '{c.Name}'.");
            }
            catch (Exception e) when (e is IOException or ContainerPSException)
            {
                log.Warning($"Could not repair the interrupted operation on container '{c.Name}': {e.Message}. A later command will try again.");
            }
        }
    }

}
