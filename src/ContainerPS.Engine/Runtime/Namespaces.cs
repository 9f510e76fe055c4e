using System.Diagnostics;
using ContainerPS.Engine.Idmap;

namespace ContainerPS.Engine.Runtime;

/// <summary>
/// A short-lived helper process in new namespaces (a user namespace with a given map, and/or a
/// network namespace), so the CLR never has to unshare itself. The caller opens or bind-mounts
/// /proc/PID/ns/* while it lives; disposing kills it.
/// </summary>
internal sealed class NamespaceHelper : IDisposable
{
    private readonly Process process;

    private NamespaceHelper(Process process) => this.process = process;

    public int Pid => process.Id;

    public string NsPath(string ns) => $"/proc/{process.Id}/ns/{ns}";

    /// <summary>Starts the helper in a new user namespace (when <paramref name="map"/> is given, which it owns) and/or network namespace.</summary>
    public static NamespaceHelper Start(IdMapping? map, bool network)
    {
        var args = new List<string>();
        if (map is not null)
            args.Add("--user");
        if (network)
            args.Add("--net");
        args.AddRange(new[] { "--", "sleep", "30" });
        var psi = new ProcessStartInfo("unshare", args) { RedirectStandardInput = true, RedirectStandardOutput = true, RedirectStandardError = true };
        var p = Process.Start(psi) ?? throw new ContainerPSException(ErrorKind.OperationFailed, "ToolMissing", "cannot start unshare");
        var helper = new NamespaceHelper(p);
        try
        {
            var watched = map is not null ? "user" : "net";
            var own = new FileInfo($"/proc/self/ns/{watched}").LinkTarget;
            var deadline = Stopwatch.StartNew();
            while (true)
            {
                string? ns = null;
                try { ns = new FileInfo(helper.NsPath(watched)).LinkTarget; }
                catch (IOException) { }
                // unshare(2) creates every namespace at once, so one changed link means all are there.
                if (ns is not null && ns != own)
                    break;
                if (p.HasExited || deadline.ElapsedMilliseconds > 5000)
                    throw new ContainerPSException(ErrorKind.OperationFailed, "NamespaceFailed",
                        "Could not create namespaces: " + (p.HasExited ? p.StandardError.ReadToEnd() : "unshare timed out"));
                Thread.Sleep(1);
            }
            if (map is not null)
            {
                WriteMap($"/proc/{p.Id}/uid_map", map.ToProcMap(uid: true));
                WriteMap($"/proc/{p.Id}/gid_map", map.ToProcMap(uid: false));
            }
            return helper;
        }
        catch
        {
            helper.Dispose();
            throw;
        }
    }

    /// <summary>Writes a /proc map file with one write(2), as the kernel requires (no O_TRUNC, no O_CREAT).</summary>
    private static void WriteMap(string file, string map)
    {
        using var fs = new FileStream(file, FileMode.Open, FileAccess.Write);
        fs.Write(System.Text.Encoding.ASCII.GetBytes(map));
    }

    public void Dispose()
    {
        try { process.Kill(); } catch (InvalidOperationException) { }
        process.WaitForExit();
        process.Dispose();
    }
}

/// <summary>
/// The namespaces a container with networks starts in: made and pinned (bind-mounted on files of its
/// runtime directory) before runc runs, so CNI ADD configures the network before the init starts,
/// DEL still finds the interfaces after the init has exited, and the network namespace is owned by
/// the container's user namespace (container root administers its own network).
/// </summary>
public static class PinnedNamespaces
{
    /// <summary>Creates a network namespace (owned by a new user namespace with <paramref name="map"/>, unless privileged) and pins both.</summary>
    public static void Create(RuntimeDirectory rt, IdMapping? map)
    {
        using var helper = NamespaceHelper.Start(map, network: true);
        try
        {
            Pin(helper.NsPath("net"), rt.NetNs);
            if (map is not null)
                Pin(helper.NsPath("user"), rt.UserNs);
        }
        catch
        {
            Remove(rt);
            throw;
        }
    }

    /// <summary>Pins the network namespace of a running process (hot attach to a container started without networks).</summary>
    public static void PinNetworkOf(int pid, RuntimeDirectory rt) => Pin($"/proc/{pid}/ns/net", rt.NetNs);

    public static bool HasNetwork(RuntimeDirectory rt) => File.Exists(rt.NetNs) && Mounts.IsMountPoint(rt.NetNs);

    public static bool HasUser(RuntimeDirectory rt) => File.Exists(rt.UserNs) && Mounts.IsMountPoint(rt.UserNs);

    /// <summary>Unpins both (the namespaces go away with their last user).</summary>
    public static void Remove(RuntimeDirectory rt)
    {
        if (!Directory.Exists(rt.Path))
            return;
        foreach (var f in new[] { rt.NetNs, rt.UserNs })
        {
            Mounts.Unmount(f);
            File.Delete(f);
        }
    }

    private static void Pin(string nsFile, string target)
    {
        using (File.Create(target)) { }
        Mounts.Bind(nsFile, target, recursive: false);
    }
}
