using System.Text.RegularExpressions;

namespace ContainerPS.Engine.Storage;

/// <summary>
/// How the ceph driver reaches a pool's cluster: the cluster, user, config and OSD pool a pool
/// names, the ceph tools (rbd, rados, ceph) run against it with their failures told apart
/// (CephNotReachable or ToolFailed), and the librbd connections, one per cluster, user and config.
/// </summary>
internal sealed class CephCluster : IDisposable
{
    /// <summary>How long one ceph tool may take.</summary>
    public static readonly TimeSpan ToolTimeout = TimeSpan.FromMinutes(2);

    public CephCluster(ExternalTool tool) => Tool = tool;

    public ExternalTool Tool { get; }

    public static string Cluster(PoolContext pool) => pool.Config.GetValueOrDefault(CephDriver.ClusterKey) ?? "ceph";
    public static string User(PoolContext pool) => pool.Config.GetValueOrDefault(CephDriver.UserKey) ?? "admin";
    public static string OsdPool(PoolContext pool) => pool.Config.GetValueOrDefault(CephDriver.OsdPoolKey) ?? pool.Name;

    /// <summary>The config file the tools will read: $CEPH_CONF, else /etc/ceph/CLUSTER.conf.</summary>
    public static string ConfigFile(PoolContext pool) =>
        Environment.GetEnvironmentVariable("CEPH_CONF") is { Length: > 0 } conf ? conf : $"/etc/ceph/{Cluster(pool)}.conf";

    /// <summary>Arguments every ceph tool gets: the cluster, the user, its config, and a bounded wait for the monitors.</summary>
    public static string[] Connect(PoolContext pool) =>
        new[] { "--cluster", Cluster(pool), "--id", User(pool), "-c", ConfigFile(pool), "--client_mount_timeout", "20" };

    /// <summary>Runs rbd, rados or ceph against the pool's cluster; an unreachable cluster is CephNotReachable, other failures ToolFailed.</summary>
    public string Ceph(PoolContext pool, string program, params string[] args)
    {
        var r = TryCeph(pool, program, args);
        if (r.ExitCode == 0)
            return r.StandardOutput;
        throw Failure(pool, program, args, r.ExitCode, r.StandardError + r.StandardOutput);
    }

    public CliWrap.Buffered.BufferedCommandResult TryCeph(PoolContext pool, string program, params string[] args) =>
        Tool.Execute(program, Connect(pool).Concat(args).ToArray(), null, null, ToolTimeout);

    public static ContainerPSException Failure(PoolContext pool, string program, string[] args, int exitCode, string output)
    {
        // librados prints cephx and keyring noise first: keep the tool's own lines.
        var lines = output.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)
            .Where(l => !Regex.IsMatch(l, @"^\d{4}-\d\d-\d\dT")).ToList();
        var err = string.Join(' ', lines.Count > 0 ? lines : output.Split('\n').Select(l => l.Trim()));
        if (err.Contains("couldn't connect to the cluster", StringComparison.Ordinal) || err.Contains("error connecting to the cluster", StringComparison.Ordinal)
            || err.Contains("conf_read_file", StringComparison.Ordinal) || err.Contains("unable to open config file", StringComparison.Ordinal)
            || err.Contains("failed to fetch mon config", StringComparison.Ordinal) || err.Contains("timed out", StringComparison.Ordinal))
            return new ContainerPSException(Errors.CephNotReachable,
                $"Cannot reach Ceph cluster '{Cluster(pool)}' as client.{User(pool)} (config {ConfigFile(pool)}): {err}", Cluster(pool));
        return new ContainerPSException(Errors.ToolFailed, $"'{program} {string.Join(' ', args)}' failed with exit code {exitCode}: {err}", program);
    }

    public string Rbd(PoolContext pool, params string[] args) => Ceph(pool, "rbd", args);

    /// <summary>Connections to the clusters this driver's pools use, one per cluster, user and config, made when first needed and closed with the driver (one command).</summary>
    private readonly Dictionary<string, RbdClient> clients = new(StringComparer.Ordinal);

    public RbdClient Client(PoolContext pool)
    {
        var key = $"{Cluster(pool)}\n{User(pool)}\n{ConfigFile(pool)}";
        if (!clients.TryGetValue(key, out var client))
            clients[key] = client = RbdClient.Connect(Cluster(pool), User(pool), ConfigFile(pool));
        return client;
    }

    public void Dispose()
    {
        foreach (var c in clients.Values)
            c.Dispose();
        clients.Clear();
    }
}
