using System.Globalization;

namespace ContainerPS.Engine.Runtime;

/// <summary>Where a container's processes are, as its runtime files say (Container.State shows the name).</summary>
public enum RunState
{
    Stopped,
    /// <summary>The monitor is starting it (runc create, the network hook).</summary>
    Starting,
    Running,
    /// <summary>The init has exited and the monitor is recording the exit.</summary>
    Stopping,
    /// <summary>Broken: the monitor died without recording an exit, or a start or checkpoint was cut short.</summary>
    Error,
}

/// <summary>What the runtime files of one container say: running, stopped (and how), or broken.</summary>
public sealed record RuntimeStatus(RunState State, int? Pid, string? Reason, int? ExitCode)
{
    public bool IsRunning => State == RunState.Running;
}

/// <summary>
/// The per-container runtime directory ($runtime/containers/NAME): the OCI bundle (config.json,
/// rootfs mount point) and the monitor's files (init.pid, monitor.pid, exit, console.log).
/// </summary>
public sealed class RuntimeDirectory
{
    public RuntimeDirectory(string path) => Path = path;

    public string Path { get; }
    public string Rootfs => System.IO.Path.Join(Path, "rootfs");
    public string Config => System.IO.Path.Join(Path, "config.json");
    /// <summary>CRIU's configuration for this container's dumps (runc's org.criu.config); only a post-copy move writes it.</summary>
    public string CriuConfig => System.IO.Path.Join(Path, "criu.conf");
    public string ExitFile => System.IO.Path.Join(Path, "exit");
    public string InitPidFile => System.IO.Path.Join(Path, "init.pid");
    public string MonitorPidFile => System.IO.Path.Join(Path, "monitor.pid");
    /// <summary>The runc id of the current (or last) start: unique per start, so nothing of an earlier start can act on a later one.</summary>
    public string RuntimeIdFile => System.IO.Path.Join(Path, "runtime-id");
    public string ConsoleLog => System.IO.Path.Join(Path, "console.log");
    /// <summary>Host-side mounts of the volumes a starting container gets (runc bind-mounts them into it).</summary>
    public string DevicesDir => System.IO.Path.Join(Path, "devices");
    /// <summary>Exists when a volume was mounted or unmounted while the container ran (its mounts no longer match config.json).</summary>
    public string HotMountsFile => System.IO.Path.Join(Path, "hot-mounts");
    /// <summary>FIFO on which cps-hook sends the starting init's pid (containers with networks).</summary>
    public string HookRequest => System.IO.Path.Join(Path, "hook.request");
    /// <summary>FIFO on which the engine answers cps-hook ("ok" or "error MESSAGE").</summary>
    public string HookReply => System.IO.Path.Join(Path, "hook.reply");

    /// <summary>
    /// Makes the directory for one start (LXD's layout): owned by the container's root with mode 0100,
    /// so that container root (whose runc init must reach the rootfs mount below it) can pass and no
    /// other host user can (the rootfs, config.json, the console log); 0700 root's for a privileged
    /// container (<paramref name="map"/> null). Every directory above it must let container root
    /// pass: those of <paramref name="ownDirs"/> (the state root, the runtime dir) and the
    /// containers directory are made so, with a warning; any other is RuntimeDirNotTraversable,
    /// naming it. Writes and returns the start's runc id (NAME-XXXXXXXX).
    /// </summary>
    public string Prepare(Idmap.IdMapping? map, IReadOnlyCollection<string> ownDirs, IEngineLog log)
    {
        var containers = System.IO.Path.GetDirectoryName(Path)!;
        Directory.CreateDirectory(containers, Storage.VolumeLayout.Mode0711);
        Directory.CreateDirectory(Path, Storage.VolumeLayout.Mode0700);
        Directory.CreateDirectory(Rootfs);
        var uid = map?.ToHost(uid: true, 0) ?? 0;
        var gid = map?.ToHost(uid: false, 0) ?? 0;
        LibC.LChown(Path, uid, gid);
        File.SetUnixFileMode(Path, map is null ? Storage.VolumeLayout.Mode0700 : UnixFileMode.UserExecute);
        if (map is not null)
            CheckSearchable(containers, uid, gid, ownDirs.Append(containers).ToArray(), log);
        var id = $"{System.IO.Path.GetFileName(Path)}-{Convert.ToHexStringLower(System.Security.Cryptography.RandomNumberGenerator.GetBytes(4))}";
        File.WriteAllText(RuntimeIdFile, id + "\n");
        return id;
    }

    /// <summary>RuntimeDirNotTraversable unless host uid/gid can search every directory from / to <paramref name="dir"/> (ours are fixed).</summary>
    private static void CheckSearchable(string dir, long uid, long gid, string[] own, IEngineLog log)
    {
        for (var d = dir; d is not null; d = System.IO.Path.GetDirectoryName(d))
        {
            var st = LibC.LStat(d);
            var mode = (UnixFileMode)(st.stx_mode & 0xfff);
            var bit = st.stx_uid == uid ? UnixFileMode.UserExecute : st.stx_gid == gid ? UnixFileMode.GroupExecute : UnixFileMode.OtherExecute;
            if ((mode & bit) != 0)
                continue;
            var shown = Convert.ToString((int)mode, 8).PadLeft(4, '0');
            if (own.Contains(d, StringComparer.Ordinal) && st.stx_uid == 0)
            {
                File.SetUnixFileMode(d, mode | UnixFileMode.GroupExecute | UnixFileMode.OtherExecute);
                log.Warning($"{d} was mode {shown}: made it searchable (o+x) so that containers' root users can reach their rootfs below it.");
                continue;
            }
            throw new ContainerPSException(Errors.RuntimeDirNotTraversable,
                $"A container's root (host uid {uid}) cannot reach its rootfs below {dir}: {d} is mode {shown}, owned by uid {st.stx_uid}. " +
                $"Make it searchable ('chmod o+x {d}') or keep the state root (${ContainerHost.RootVariable}) or ${ContainerHost.RuntimeVariable} elsewhere.", d);
        }
    }

    /// <summary>Waits for the monitor to record the exit and finish its cleanup.</summary>
    public bool WaitStopped(TimeSpan timeout)
    {
        var clock = System.Diagnostics.Stopwatch.StartNew();
        while (clock.Elapsed < timeout)
        {
            if (File.Exists(ExitFile) && !File.Exists(MonitorPidFile))
                return true;
            Thread.Sleep(5);
        }
        return false;
    }

    /// <summary>Reads the state from the files, checking that the processes they name are alive.</summary>
    public RuntimeStatus Inspect()
    {
        // The exit file is read after the monitor: a monitor writes it before it exits, so a monitor
        // found dead has written it (read first, it could be missed and the exit taken for a crash).
        // A running container has none (nor the exception its absence costs).
        var monitor = ReadIdentity(MonitorPidFile);
        if (monitor is { IsAlive: true })
        {
            var init = ReadInt(InitPidFile);
            if (init is int pid && ProcessIdentity.Read(pid) is { State: not ('Z' or 'X') })
                return new RuntimeStatus(RunState.Running, pid, null, null);
            var exit = ReadExit();
            // The monitor writes its pid file first: no init yet and no exit is a start under way
            // (or one whose launcher died, which the next command under the container's lock ends).
            if (init is null && exit is null)
                return new RuntimeStatus(RunState.Starting, null, "the monitor is starting the container", null);
            // The init is gone; the monitor is recording its exit and tidying up (a moment).
            return exit is { } done
                ? new RuntimeStatus(RunState.Stopping, null, done.Reason, done.Code)
                : new RuntimeStatus(RunState.Stopping, null, "the init has exited; its monitor is recording the exit", null);
        }
        if (ReadExit() is { } e)
            return new RuntimeStatus(e.Reason == InterruptedReason ? RunState.Error : RunState.Stopped, null, e.Reason, e.Code);
        if (monitor is not null)
            return new RuntimeStatus(RunState.Error, null, "the container's monitor died (killed?) without recording an exit; Start-Container or Stop-Container cleans up", null);
        if (Directory.Exists(Path) && Mounts.IsMountPoint(Rootfs))
            return new RuntimeStatus(RunState.Error, null, "a start was interrupted; Start-Container or Stop-Container cleans up", null);
        return new RuntimeStatus(RunState.Stopped, null, null, null);
    }

    /// <summary>The monitor of the current (or last) start, by pid and start time (alive or not), or null.</summary>
    public ProcessIdentity? Monitor => ReadIdentity(MonitorPidFile);

    /// <summary>The runc id of the current (or last) start; <paramref name="name"/> for a start made before ids were per start.</summary>
    public string RuncId(string name)
    {
        try
        {
            var id = File.ReadAllText(RuntimeIdFile).Trim();
            return id.StartsWith(name + "-", StringComparison.Ordinal) && id.All(c => char.IsAsciiLetterOrDigit(c) || c is '.' or '_' or '-') ? id : name;
        }
        catch (IOException) { return name; }
    }

    /// <summary>What the exit file says after Checkpoint-Container or Stop-Container -Stateful stopped the container.</summary>
    public const string CheckpointedExit = "checkpointed";

    /// <summary>What the exit file says after Stop-Container ended the init with its stop signal (a clean stop: exit code 0), or killed it.</summary>
    public const string StoppedExit = "stopped", KilledExit = "killed";

    /// <summary>
    /// Records that Stop-Container ended the init: the monitor wrote what the kernel said (killed by
    /// signal N, or exited 0), which after a stop is the stop, not a failure. An init that exited with
    /// a code of its own keeps it.
    /// </summary>
    public void MarkStopped(string signal, bool killed)
    {
        string text;
        try { text = File.ReadAllText(ExitFile).Trim(); }
        catch (IOException) { return; }
        if (!(text.StartsWith("signaled ", StringComparison.Ordinal) || (!killed && text == "exited 0")))
            return;
        var name = signal.StartsWith("SIG", StringComparison.Ordinal) || signal.All(char.IsAsciiDigit) ? signal : "SIG" + signal;
        WriteExit($"{(killed ? KilledExit : StoppedExit)} {name}");
    }

    /// <summary>Records what ended the container in the exit file (written aside and renamed: never read half-written).</summary>
    public void WriteExit(string what)
    {
        File.WriteAllText(ExitFile + ".tmp", what + "\n");
        File.Move(ExitFile + ".tmp", ExitFile, overwrite: true);
    }

    /// <summary>What the exit file says after the repair found a checkpoint cut short that took the processes with it (state Error until a start).</summary>
    public const string InterruptedExit = "checkpoint-interrupted";

    private const string InterruptedReason = "its checkpoint was cut short and its processes are gone (the dump did not finish); Start-Container boots it afresh";

    /// <summary>What the exit file says when a move's commit got no answer: the destination may or may not have kept the container (state Stopped, with its running state saved).</summary>
    public const string MoveUnconfirmedExit = "move-unconfirmed";

    /// <summary>The exit file: "exited N", "signaled S" (reported as 128+S), "start-failed N" or "checkpointed".</summary>
    public (int? Code, string Reason)? ReadExit()
    {
        string text;
        try { text = File.ReadAllText(ExitFile).Trim(); }
        catch (IOException) { return null; }
        var parts = text.Split(' ', 2);
        var n = parts.Length == 2 && int.TryParse(parts[1], NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out var v) ? v : (int?)null;
        return parts[0] switch
        {
            "exited" => (n, $"init exited with code {n}"),
            "signaled" => (n + 128, $"init was killed by signal {n}"),
            "start-failed" => (null, $"start failed (runc exit code {n})"),
            CheckpointedExit => (null, "checkpointed: its processes were saved by CRIU and stopped"),
            StoppedExit => (0, $"stopped by Stop-Container ({parts.ElementAtOrDefault(1)})"),
            KilledExit => (137, $"killed by Stop-Container ({parts.ElementAtOrDefault(1)})"),
            InterruptedExit => (null, InterruptedReason),
            MoveUnconfirmedExit => (null, "moved to another host, which did not confirm that it kept it: if it runs there, remove it here; else Start-Container restores it here from its saved state"),
            _ => (null, text),
        };
    }

    private static ProcessIdentity? ReadIdentity(string file)
    {
        string[] f;
        try { f = File.ReadAllText(file).Trim().Split(' '); }
        catch (IOException) { return null; }
        return f.Length == 2 && int.TryParse(f[0], CultureInfo.InvariantCulture, out var pid) && long.TryParse(f[1], CultureInfo.InvariantCulture, out var start)
            ? new ProcessIdentity(pid, start) : null;
    }

    private static int? ReadInt(string file)
    {
        try { return int.TryParse(File.ReadAllText(file).Trim(), CultureInfo.InvariantCulture, out var n) ? n : null; }
        catch (IOException) { return null; }
    }

    /// <summary>The last <paramref name="maxBytes"/> of the console output (previous rotation included).</summary>
    public string ReadConsole(int maxBytes = 1 << 20)
    {
        var parts = new List<byte[]>();
        foreach (var f in new[] { ConsoleLog + ".1", ConsoleLog })
        {
            try { parts.Add(File.ReadAllBytes(f)); }
            catch (IOException) { }
        }
        var all = parts.SelectMany(b => b).ToArray();
        if (all.Length > maxBytes)
            all = all[^maxBytes..];
        return System.Text.Encoding.UTF8.GetString(all);
    }
}
