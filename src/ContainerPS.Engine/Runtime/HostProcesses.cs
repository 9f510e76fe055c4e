using System.Diagnostics;
using System.Globalization;

namespace ContainerPS.Engine.Runtime;

/// <summary>
/// The host processes of a container that the engine ends by pid: a monitor's process tree (runc,
/// its hooks, the init) and the exec helpers (cps-exec, named so by its own prctl) serving it.
/// </summary>
public static class HostProcesses
{
    /// <summary>The environment variable the engine starts cps-exec with: the runtime id of the container it serves.</summary>
    public const string ExecTagVariable = "CONTAINERPS_EXEC";

    public const string ExecHelperName = "cps-exec";

    /// <summary><paramref name="root"/> and every process below it, as identities (pid and start time).</summary>
    public static List<ProcessIdentity> Tree(ProcessIdentity root)
    {
        var children = new Dictionary<int, List<int>>();
        foreach (var pid in Pids())
            if (ProcessIdentity.ParentOf(pid) is int parent)
                (children.TryGetValue(parent, out var l) ? l : children[parent] = new List<int>()).Add(pid);
        var tree = new List<ProcessIdentity> { root };
        var queue = new Queue<int>(new[] { root.Pid });
        while (queue.Count > 0)
            foreach (var child in children.GetValueOrDefault(queue.Dequeue()) ?? new List<int>())
                if (ProcessIdentity.ReadStartTime(child) is long start)
                {
                    tree.Add(new ProcessIdentity(child, start));
                    queue.Enqueue(child);
                }
        return tree;
    }

    /// <summary>The host-side cps-exec relays started for the container with runtime id <paramref name="runtimeId"/>.</summary>
    public static List<ProcessIdentity> ExecHelpers(string runtimeId)
    {
        var found = new List<ProcessIdentity>();
        var tag = $"{ExecTagVariable}={runtimeId}";
        foreach (var pid in Pids())
        {
            if (!IsExecHelper(pid))
                continue;
            try
            {
                // Only root's: the engine runs cps-exec as root, and a user's process of that name is none of ours.
                if (LibC.LStat($"/proc/{pid}").stx_uid != 0)
                    continue;
                if (!File.ReadAllText($"/proc/{pid}/environ").Split('\0').Contains(tag, StringComparer.Ordinal))
                    continue;
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
                continue; // gone meanwhile
            }
            if (ProcessIdentity.ReadStartTime(pid) is long start)
                found.Add(new ProcessIdentity(pid, start));
        }
        return found;
    }

    /// <summary>True when process <paramref name="pid"/> is a live cps-exec (its comm, which the helper sets itself; a zombie is none).</summary>
    public static bool IsExecHelper(int pid) => IsAlive(pid, ExecHelperName);

    /// <summary>True when process <paramref name="pid"/> lives (a zombie does not) and its comm is <paramref name="comm"/>.</summary>
    public static bool IsAlive(int pid, string comm)
    {
        try { return File.ReadAllText($"/proc/{pid}/comm").TrimEnd('\n') == comm && ProcessIdentity.Read(pid) is { State: not ('Z' or 'X') }; }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException) { return false; }
    }

    /// <summary>SIGKILLs each process that is still the one named, then waits until all are gone; false when one outlived <paramref name="timeout"/>.</summary>
    public static bool KillAndWait(IReadOnlyCollection<ProcessIdentity> processes, TimeSpan timeout)
    {
        foreach (var p in processes)
            if (p.IsAlive)
                LibC.Kill(p.Pid, 9);
        var clock = Stopwatch.StartNew();
        while (processes.Any(p => p.IsAlive))
        {
            if (clock.Elapsed > timeout)
                return false;
            Thread.Sleep(5);
        }
        return true;
    }

    /// <summary>
    /// True while a root process runs `runc --root RUNCROOT ... VERB ... ID` (a runc checkpoint whose
    /// caller was killed goes on, since its parent's death does not end it).
    /// </summary>
    public static bool RuncRunning(string runcRoot, string verb, string id)
    {
        foreach (var pid in Pids())
        {
            try
            {
                var args = File.ReadAllText($"/proc/{pid}/cmdline").Split('\0', StringSplitOptions.RemoveEmptyEntries);
                if (args.Length < 4 || args[^1] != id || !args.Contains(verb, StringComparer.Ordinal))
                    continue;
                var at = Array.IndexOf(args, "--root");
                if (at < 0 || at + 1 >= args.Length || args[at + 1] != runcRoot || LibC.LStat($"/proc/{pid}").stx_uid != 0)
                    continue;
                if (ProcessIdentity.Read(pid) is { State: not ('Z' or 'X') })
                    return true;
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
                // gone meanwhile
            }
        }
        return false;
    }

    public static IEnumerable<int> Pids()
    {
        foreach (var dir in Directory.EnumerateDirectories("/proc"))
            if (int.TryParse(Path.GetFileName(dir), NumberStyles.None, CultureInfo.InvariantCulture, out var pid))
                yield return pid;
    }
}
