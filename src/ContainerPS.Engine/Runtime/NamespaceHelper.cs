using System.Diagnostics;
using ContainerPS.Engine.Idmap;

namespace ContainerPS.Engine.Runtime;

/// <summary>
/// A short-lived helper process in a new user namespace with a given map, so the CLR never has to
/// unshare itself. The caller opens /proc/PID/ns/user while it lives; disposing kills it.
/// </summary>
internal sealed class NamespaceHelper : IDisposable
{
    private readonly Process process;

    private NamespaceHelper(Process process) => this.process = process;

    public string NsPath(string ns) => $"/proc/{process.Id}/ns/{ns}";

    public static NamespaceHelper Start(IdMapping map)
    {
        var psi = new ProcessStartInfo("unshare", new[] { "--user", "--", "sleep", "30" })
        {
            RedirectStandardInput = true, RedirectStandardOutput = true, RedirectStandardError = true,
        };
        var p = Process.Start(psi) ?? throw new ContainerPSException(ErrorKind.OperationFailed, "ToolMissing", "cannot start unshare");
        var helper = new NamespaceHelper(p);
        try
        {
            var own = new FileInfo("/proc/self/ns/user").LinkTarget;
            var deadline = Stopwatch.StartNew();
            while (true)
            {
                string? ns = null;
                try { ns = new FileInfo(helper.NsPath("user")).LinkTarget; }
                catch (IOException) { }
                if (ns is not null && ns != own && File.Exists($"/proc/{p.Id}/uid_map"))
                    break;
                if (p.HasExited || deadline.ElapsedMilliseconds > 5000)
                    throw new ContainerPSException(ErrorKind.OperationFailed, "UserNamespaceFailed",
                        "Could not create a user namespace for an idmapped mount: " + (p.HasExited ? p.StandardError.ReadToEnd() : "timed out"));
                Thread.Sleep(1);
            }
            WriteMap($"/proc/{p.Id}/uid_map", map.ToProcMap(uid: true));
            WriteMap($"/proc/{p.Id}/gid_map", map.ToProcMap(uid: false));
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
