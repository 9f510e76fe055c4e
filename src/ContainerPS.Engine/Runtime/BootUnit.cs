using System.Text;

namespace ContainerPS.Engine.Runtime;

/// <summary>
/// The systemd unit that makes a host start its boot.autostart containers at boot
/// (Start-ContainerHost) and stop its containers at shutdown (Stop-ContainerHost).
/// </summary>
public static class BootUnit
{
    public const string Name = "containerps.service";
    public const string DefaultDirectory = "/etc/systemd/system";

    /// <summary>True when systemd is the init (the check sd_booted() makes).</summary>
    public static bool SystemdRunning => Directory.Exists("/run/systemd/system");

    /// <summary>
    /// The unit's text. <paramref name="shell"/> is the argv that runs a pwsh command (the pwsh, or
    /// dotnet and pwsh.dll), <paramref name="module"/> the module manifest it imports, and
    /// <paramref name="environment"/> the CONTAINERPS_* variables the commands need (a non-default
    /// state root). The monitors of the containers it starts leave the unit's cgroup, and stopping
    /// the unit kills nothing (KillMode=process; its commands have exited by then).
    /// </summary>
    public static string Text(IReadOnlyList<string> shell, string module, IReadOnlyDictionary<string, string> environment)
    {
        string Command(string cmdlet) =>
            string.Join(' ', shell.Concat(new[] { "-NoProfile", "-NonInteractive", "-Command",
                $"Import-Module '{module.Replace("'", "''", StringComparison.Ordinal)}'; {cmdlet}" }).Select(Quote));
        var s = new StringBuilder();
        s.Append("# Written by Initialize-ContainerHost (ContainerPS). Run it again to update this file.\n");
        s.Append("[Unit]\n");
        s.Append("Description=ContainerPS containers: start those with boot.autostart, stop all at shutdown\n");
        s.Append("Wants=network-online.target\n");
        s.Append("After=network-online.target local-fs.target remote-fs.target\n\n");
        s.Append("[Service]\n");
        s.Append("Type=oneshot\n");
        s.Append("RemainAfterExit=yes\n");
        s.Append("KillMode=process\n");
        s.Append("TimeoutStartSec=infinity\n");
        s.Append("TimeoutStopSec=10min\n");
        s.Append("Environment=HOME=/root\n");
        foreach (var (k, v) in environment.OrderBy(e => e.Key, StringComparer.Ordinal))
            s.Append("Environment=").Append(Quote($"{k}={v}")).Append('\n');
        s.Append("ExecStart=").Append(Command("Start-ContainerHost")).Append('\n');
        s.Append("ExecStop=").Append(Command("Stop-ContainerHost")).Append("\n\n");
        s.Append("[Install]\n");
        s.Append("WantedBy=multi-user.target\n");
        return s.ToString();
    }

    /// <summary>One word of a systemd command line or Environment= assignment: double-quoted, with \, ", $ and % escaped.</summary>
    public static string Quote(string word)
    {
        if (word.Any(char.IsControl))
            throw new ContainerPSException(Errors.InvalidUnitValue, $"'{Names.Printable(word)}' cannot be written into a systemd unit (control characters).", word);
        var e = word.Replace("\\", "\\\\", StringComparison.Ordinal).Replace("\"", "\\\"", StringComparison.Ordinal)
            .Replace("$", "$$", StringComparison.Ordinal).Replace("%", "%%", StringComparison.Ordinal);
        return "\"" + e + "\"";
    }

    /// <summary>
    /// Writes the unit into <paramref name="directory"/> (atomically: a temporary file renamed over it)
    /// and, where systemd runs, reloads it and enables the unit (it starts at the next boot).
    /// </summary>
    public static ContainerHostBoot Install(string directory, string text, ExternalTool tool)
    {
        Directory.CreateDirectory(directory);
        var path = Path.Join(directory, Name);
        var changed = !File.Exists(path) || File.ReadAllText(path) != text;
        if (changed)
        {
            var temp = path + ".new";
            File.WriteAllText(temp, text);
            File.SetUnixFileMode(temp, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.GroupRead | UnixFileMode.OtherRead);
            File.Move(temp, path, overwrite: true);
        }
        var systemd = SystemdRunning && directory == DefaultDirectory;
        if (systemd)
        {
            tool.Run("systemctl", new[] { "daemon-reload" }, TimeSpan.FromSeconds(60));
            tool.Run("systemctl", new[] { "enable", "--quiet", Name }, TimeSpan.FromSeconds(60));
        }
        return new ContainerHostBoot { Unit = Name, Path = path, Changed = changed, Systemd = SystemdRunning, Enabled = systemd && IsEnabled(tool) };
    }

    private static bool IsEnabled(ExternalTool tool)
    {
        var r = tool.Execute("systemctl", new[] { "is-enabled", Name }, null, null, TimeSpan.FromSeconds(30));
        return r.StandardOutput.Trim() == "enabled";
    }
}
