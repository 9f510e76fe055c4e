namespace ContainerPS.Engine.Storage;

/// <summary>
/// The zfs and zpool commands as the zfs driver runs them: retried while zfs-fuse answers "busy",
/// a missing zfs-fuse daemon told apart (ZfsNotRunning) from other failures (ToolFailed), and the
/// few queries and streams built on them (does a dataset exist, a property's value, zfs receive).
/// </summary>
internal sealed class ZfsTools
{
    private readonly ExternalTool tool;

    public ZfsTools(ExternalTool tool) => this.tool = tool;

    /// <summary>Runs zfs or zpool; a missing zfs-fuse daemon becomes ZfsNotRunning, other failures ToolFailed.</summary>
    public string Run(string program, params string[] args)
    {
        var r = tool.Execute(program, args, null, null);
        // zfs-fuse answers "busy" for a while after a dataset was last used or unmounted: retry.
        for (var i = 0; i < 100 && r.ExitCode != 0 && r.StandardError.Contains("busy", StringComparison.Ordinal); i++)
        {
            Thread.Sleep(200);
            r = tool.Execute(program, args, null, null);
        }
        if (r.ExitCode == 0)
            return r.StandardOutput;
        var err = (r.StandardError + r.StandardOutput).Trim();
        if (err.Contains("zfs-fuse daemon", StringComparison.Ordinal) || err.Contains("connect:", StringComparison.Ordinal))
            throw new ContainerPSException(Errors.ZfsNotRunning,
                "The zfs daemon is not running: start zfs-fuse (zfs-fuse --pidfile /run/zfs-fuse.pid) or load the zfs module.", program);
        throw new ContainerPSException(Errors.ToolFailed, $"'{program} {string.Join(' ', args)}' failed with exit code {r.ExitCode}: {err}", program);
    }

    public bool Exists(string dataset) => tool.Execute("zfs", new[] { "list", "-H", "-o", "name", "-t", "all", dataset }, null, null).ExitCode == 0;

    public string Get(string dataset, string property) => Run("zfs", "get", "-H", "-p", "-o", "value", property, dataset).Trim();

    /// <summary>zfs receive -u of what <paramref name="from"/> writes, into <paramref name="dataset"/>; a half-received dataset is destroyed (an incremental stream changes nothing when it fails).</summary>
    public void Receive(string[] from, string dataset, bool incremental = false)
    {
        try { tool.RunPipe(from, new[] { "zfs", "receive", "-u", dataset }); }
        catch
        {
            if (!incremental && Exists(dataset))
                Run("zfs", "destroy", "-r", dataset);
            throw;
        }
    }
}
