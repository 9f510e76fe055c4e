using System.Diagnostics;
using System.Net;
using System.Security.Cryptography;

namespace ContainerPS.Engine.Tests.Networking;

/// <summary>
/// A network namespace of its own for one test: a helper process (<c>unshare --net sleep 60</c>) holds it,
/// and <see cref="Path"/> (/proc/PID/ns/net) is used as CNI_NETNS while it lives. Disposing kills the
/// helper by its PID, which frees the namespace and whatever interfaces are left in it.
/// </summary>
public sealed class NetNamespace : IDisposable
{
    private readonly Process helper;

    public NetNamespace()
    {
        helper = Process.Start(new ProcessStartInfo("unshare", new[] { "--net", "sleep", "60" }) { UseShellExecute = false })!;
        Pid = helper.Id;
        Path = $"/proc/{Pid}/ns/net";
        var host = LinkTarget("/proc/self/ns/net");
        var clock = Stopwatch.StartNew();
        // unshare(2) runs before the exec: once the helper is "sleep", its namespace is the new one.
        while (true)
        {
            if (helper.HasExited)
                throw new InvalidOperationException($"'unshare --net sleep 60' exited with {helper.ExitCode}.");
            try
            {
                if (File.ReadAllText($"/proc/{Pid}/comm").Trim() == "sleep" && LinkTarget(Path) != host)
                    break;
            }
            catch (IOException) { }
            if (clock.Elapsed > TimeSpan.FromSeconds(10))
            {
                Dispose();
                throw new TimeoutException("The unshare helper did not get a network namespace within 10 s.");
            }
            Thread.Sleep(10);
        }
    }

    public int Pid { get; }

    /// <summary>/proc/PID/ns/net of the helper.</summary>
    public string Path { get; }

    private static string? LinkTarget(string path) => new FileInfo(path).LinkTarget;

    /// <summary>Runs <paramref name="program"/> inside the namespace (nsenter -t PID -n); returns exit code and output.</summary>
    public (int ExitCode, string Output) Run(string program, params string[] args) =>
        NetTools.Run("nsenter", new[] { "-t", Pid.ToString(System.Globalization.CultureInfo.InvariantCulture), "-n", "--", program }.Concat(args).ToArray());

    public void Dispose()
    {
        try
        {
            if (!helper.HasExited)
            {
                helper.Kill();
                helper.WaitForExit(5000);
            }
        }
        catch (InvalidOperationException) { }
        helper.Dispose();
    }
}

/// <summary>Small host-side helpers for the network tests.</summary>
public static class NetTools
{
    public static (int ExitCode, string Output) Run(string program, params string[] args)
    {
        var (code, stdout, stderr) = TestProcess.Exec(program, null, args);
        return (code, stdout + stderr);
    }

    /// <summary>A bridge name no other test or host interface uses: "cpx" and 8 random hex digits (11 characters).</summary>
    public static string UniqueBridge() => "cpx" + Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(4));

    /// <summary>A random 10.202.X.0/24 (X in 1..254).</summary>
    public static (string Subnet, string Prefix) UniqueSubnet()
    {
        var x = RandomNumberGenerator.GetInt32(1, 255);
        return ($"10.202.{x}.0/24", $"10.202.{x}.");
    }

    public static bool LinkExists(string name) => Run("ip", "link", "show", "dev", name).ExitCode == 0;

    /// <summary>Removes a host interface (a bridge a test made); missing is fine.</summary>
    public static void DeleteLink(string name)
    {
        if (LinkExists(name))
            Run("ip", "link", "del", name);
    }

    /// <summary>The addresses host-local has reserved in <paramref name="dataDir"/> for <paramref name="network"/> (one file per address).</summary>
    public static string[] HostLocalAddresses(string dataDir, string network)
    {
        var dir = System.IO.Path.Join(dataDir, network);
        return Directory.Exists(dir)
            ? Directory.GetFiles(dir).Select(System.IO.Path.GetFileName).Where(f => IPAddress.TryParse(f, out _)).Select(f => f!).Order(StringComparer.Ordinal).ToArray()
            : Array.Empty<string>();
    }
}
