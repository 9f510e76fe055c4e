using System.Diagnostics;
using ContainerPS.Engine.Idmap;
using ContainerPS.Engine.Images;
using ContainerPS.Engine.Migration;
using ContainerPS.Engine.Network;
using ContainerPS.Engine.Storage;

namespace ContainerPS.Engine.Runtime;

/// <summary>
/// Runs containers: the rootfs and volumes mounted, the bundle written, cps-monitor running runc
/// (or runc restore from a checkpoint) and serving the network hook; and ends them again (runc
/// kill, the monitor and its helpers, cgroups, network). The rootfs is shown to the container
/// through an idmapped mount, so nothing is chowned and start time does not depend on the number
/// of files.
/// </summary>
internal sealed class ContainerLauncher(StateStore store, StorageService storage, NetworkService networks,
    ExternalTool tool, IEngineLog log, ContainerPaths paths, ContainerIdmaps idmaps, VolumePresenter presenter)
{
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

    /// <summary>
    /// Runs a container (with the lock held): its rootfs mounted, its bundle written, and the monitor
    /// running runc, or runc restore from <paramref name="image"/>. Rolled back completely on failure.
    /// </summary>
    /// <param name="lazyPages">Restore with CRIU's lazy pages (post-copy): memory comes from the daemon serving the image directory.</param>
    internal void Launch(ContainerRow row, CheckpointImage? image, bool lazyPages = false)
    {
        var name = row.Name;
        var rt = paths.Runtime(name);
        CleanupRuntime(row, rt);
        if (row.Privileged)
            log.Warning($"Container '{name}' is privileged: root inside is root on the host.");
        // raw.idmap may have been set before host ids had to be delegated, or /etc/subuid changed since.
        else if (ContainerIdmaps.CheckDelegated(row.Config, name) is { Count: > 0 } outside)
            log.Warning($"Container '{name}' maps host ids that root was not delegated ({string.Join(", ", outside)}; security.idmap.unsafe): its root is root-equivalent on the host.");

        // A restore needs the user namespace it was dumped with; a start takes the map's latest config.
        var map = image is not null ? ContainerIdmaps.CurrentMap(row) ?? idmaps.MapOf(row) : idmaps.MapOf(row);
        var runcId = rt.Prepare(map, new[] { paths.Root, paths.RuntimeDir }, log);
        if (image is null) // a restore goes on with the processes (and the console log) it had
        {
            File.Delete(rt.ConsoleLog + ".1");
            File.Delete(rt.ConsoleLog);
        }
        var volume = storage.VolumePath(row.Pool, VolumeType.Container, name);
        var clock = Stopwatch.StartNew();
        // Networks: runc runs cps-hook once the namespaces exist; it hands over the init's pid and
        // the engine runs CNI ADD into its network namespace before the init starts.
        // A restore always needs it: CRIU makes an empty network namespace, whose loopback is down.
        using var hook = networks.Memberships(row.Id).Count > 0 || image is not null ? NetworkHook.Create(rt) : null;
        try
        {
            if (image is not null && map is not null)
                Criu.PrepareForRestore(image.Path);
            presenter.PresentVolume(row, map, row.Pool, VolumeType.Container, name, rt.Rootfs);
            var binds = presenter.PrepareDevices(row, map, rt);
            var mounted = clock.Elapsed.TotalMilliseconds;
            var spec = OciSpec.Build(new OciSpecInput(name, ContainerPaths.CgroupsPath(runcId), map, row.Config, InitArgs(row), OciSpec.HostBoundingSet(), hook?.Command, binds, rt.CriuConfig));
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
            }, image, lazyPages);
            VolumePresenter.UnmountDevices(rt);
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
            cfg[ContainerIdmaps.IdmapCurrentKey] = map.Serialize();
        else
            cfg.Remove(ContainerIdmaps.IdmapCurrentKey);
        store.UpdateContainerConfig(row.Id, cfg);
    });

    private static string[] InitArgs(ContainerRow row) =>
        row.Config.TryGetValue("image.init", out var init) && init.Trim().Length > 0 ? ImageInit.Split(init) : new[] { ImageInit.DefaultInit };

    internal static string NetNsOf(int pid) => $"/proc/{pid}/ns/net";

    /// <summary>How long a start (or restore) may take until the monitor reports; the monitor gets it too (--start-timeout) and ends a start within it.</summary>
    internal static readonly TimeSpan StartTimeout = TimeSpan.FromSeconds(90);

    /// <summary>
    /// Starts cps-monitor (which runs runc) and waits for its "running PID" line, meanwhile serving
    /// the network hook: <paramref name="attach"/> runs for the pid it sends, and its error (a CNI
    /// plugin's, say) is what the start fails with.
    /// </summary>

    private void RunMonitor(ContainerRow row, RuntimeDirectory rt, string runcId, NetworkHook? hook, Action<int> attach, CheckpointImage? image = null, bool lazyPages = false)
    {
        var monitor = NativePrograms.Path;
        var psi = new ProcessStartInfo(monitor)
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            RedirectStandardInput = true,
            UseShellExecute = false,
        };
        foreach (var a in new[] { "--runc", NativePrograms.Runc, "--runc-root", paths.RuncRoot, "--bundle", rt.Path, "--id", runcId,
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
            if (lazyPages)
            {
                psi.ArgumentList.Add("--restore-opt");
                psi.ArgumentList.Add("--lazy-pages");
                psi.Environment[LazyPages.UffdDeviceVariable] = "1";
            }
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
    internal void CleanupRuntime(ContainerRow row, RuntimeDirectory rt)
    {
        EndMonitor(row, rt);
        var runcId = rt.RuncId(row.Name);
        if (Directory.Exists(rt.Path) && Directory.Exists(Path.Join(paths.RuncRoot, runcId)))
        {
            try { tool.Run(NativePrograms.Runc, new[] { "--root", paths.RuncRoot, "kill", runcId, "KILL" }, TimeSpan.FromSeconds(10)); }
            catch (ContainerPSException) { }
            // A restore killed midway leaves runc's criu-root, a bind of the rootfs, mounted: runc delete
            // would then remove the container's files through it.
            Mounts.Unmount(Path.Join(paths.RuncRoot, runcId, "criu-root"));
            try { tool.Run(NativePrograms.Runc, new[] { "--root", paths.RuncRoot, "delete", "--force", runcId }, TimeSpan.FromSeconds(30)); }
            catch (ContainerPSException e) { log.Verbose("runc delete: " + e.Message); }
        }
        RemoveCgroups(runcId);
        // Also when the runtime directory is gone (a reboot emptied /run): DEL still frees the addresses.
        ReleaseNetwork(row);
        if (!Directory.Exists(rt.Path))
            return;
        VolumePresenter.UnmountDevices(rt);
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
        var relative = ContainerPaths.CgroupsPath(runcId).TrimStart('/');
        var roots = File.Exists("/sys/fs/cgroup/cgroup.controllers") ? new[] { "/sys/fs/cgroup" } : Directory.GetDirectories("/sys/fs/cgroup");
        foreach (var hierarchy in roots)
        {
            var dir = Path.Join(hierarchy, relative);
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
    internal void EndExecHelpers(ContainerRow row, RuntimeDirectory rt)
    {
        var helpers = HostProcesses.ExecHelpers(rt.RuncId(row.Name));
        if (helpers.Count > 0 && !HostProcesses.KillAndWait(helpers, TimeSpan.FromSeconds(15)))
            log.Warning($"Container '{row.Name}': exec helpers {string.Join(", ", helpers.Select(p => p.Pid))} did not end.");
    }

    /// <summary>
    /// DEL for every recorded ADD of a container that no longer runs: its network namespace is gone
    /// (and its interfaces with it), so DEL runs without one and frees what lives on the host (addresses).
    /// </summary>
    internal void ReleaseNetwork(ContainerRow row) => networks.DetachAll(row.Id, null);

    internal void Kill(ContainerRow row, string signal)
    {
        try { tool.Run(NativePrograms.Runc, new[] { "--root", paths.RuncRoot, "kill", paths.Runtime(row.Name).RuncId(row.Name), signal.StartsWith("SIG", StringComparison.Ordinal) ? signal[3..] : signal }, TimeSpan.FromSeconds(10)); }
        catch (ContainerPSException e) { log.Verbose("runc kill: " + e.Message); }
    }

    internal void RunRunc(string command, string name)
    {
        var r = tool.Execute(NativePrograms.Runc, new[] { "--root", paths.RuncRoot, command, name }, null, null, TimeSpan.FromSeconds(30));
        if (r.ExitCode != 0)
            throw new ContainerPSException(Errors.RuncFailed, $"runc {command} {name}: {RuncMessage(r.StandardError)}", name);
    }

    /// <summary>runc's msg="..." of its last error line, else its whole stderr.</summary>
    internal static string RuncMessage(string stderr)
    {
        var m = System.Text.RegularExpressions.Regex.Matches(stderr, "msg=\"((?:[^\"\\\\]|\\\\.)*)\"");
        return m.Count > 0 ? System.Text.RegularExpressions.Regex.Unescape(m[^1].Groups[1].Value).Trim() : stderr.Trim();
    }

    /// <summary>Resumes a container its checkpoint left frozen (runc pause); true if it was.</summary>
    internal bool ThawIfPaused(ContainerRow row, RuntimeDirectory rt)
    {
        var state = tool.Execute(NativePrograms.Runc, new[] { "--root", paths.RuncRoot, "state", rt.RuncId(row.Name) }, null, null, TimeSpan.FromSeconds(30));
        if (state.ExitCode != 0 || !state.StandardOutput.Contains("\"paused\"", StringComparison.Ordinal))
            return false;
        RunRunc("resume", rt.RuncId(row.Name));
        return true;
    }

    internal static void CheckCriu()
    {
        if (Criu.Path is null)
            throw new ContainerPSException(Errors.CriuMissing,
                "CRIU is not installed: run 'build.ps1 -Task Bootstrap' (Debian 13's criu package; on Debian 12 it builds CRIU 4 from Debian's source), then Test-ContainerCheckpoint.", "criu");
    }

    internal static void WriteHostname(string rootfs, string name) => WriteEtcFile(rootfs, "hostname", name + "\n");

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
    internal static void WriteResolvConf(string rootfs, IEnumerable<CniResult> results)
    {
        if (results.Select(r => r.ResolvConf()).FirstOrDefault(t => t is not null) is { } text)
            WriteEtcFile(rootfs, "resolv.conf", text);
    }
}
