using System.Globalization;

namespace ContainerPS.Engine.Platform;

/// <summary>
/// A process named by pid and start time (field 22 of /proc/PID/stat), so a recycled pid is never
/// mistaken for the process that began an operation.
/// </summary>
public readonly record struct ProcessIdentity(int Pid, long StartTime)
{
    private static readonly Lazy<ProcessIdentity> current = new(() =>
    {
        var pid = Environment.ProcessId;
        return new ProcessIdentity(pid, ReadStartTime(pid) ?? 0);
    });

    public static ProcessIdentity Current => current.Value;

    /// <summary>True while the process runs: same start time, and not a zombie (dead, not yet reaped).</summary>
    public bool IsAlive => Read(Pid) is { } s && IsLive(s, StartTime);

    /// <summary>Same start time, and not a zombie (dead, not yet reaped) or dead.</summary>
    public static bool IsLive((char State, long StartTime) stat, long startTime) => stat.StartTime == startTime && stat.State is not ('Z' or 'X');

    public static long? ReadStartTime(int pid) => Read(pid)?.StartTime;

    /// <summary>State letter (field 3) and start time (field 22) of /proc/PID/stat.</summary>
    public static (char State, long StartTime)? Read(int pid) => ReadStat(pid) is { } stat ? Parse(stat) : null;

    /// <summary>The parent pid (field 4 of /proc/PID/stat), or null when the process is gone.</summary>
    public static int? ParentOf(int pid) =>
        ReadStat(pid) is { } stat && Fields(stat) is { Length: > 1 } rest && int.TryParse(rest[1], NumberStyles.None, CultureInfo.InvariantCulture, out var ppid)
            ? ppid : null;

    private static string? ReadStat(int pid)
    {
        try { return File.ReadAllText($"/proc/{pid}/stat"); }
        catch (IOException) { return null; }
        catch (UnauthorizedAccessException) { return null; }
    }

    /// <summary>State and start time from the text of a /proc/PID/stat file.</summary>
    public static (char State, long StartTime)? Parse(string stat)
    {
        var rest = Fields(stat);
        // rest[0] is field 3 (state); starttime is field 22.
        return rest.Length > 19 && rest[0].Length == 1 && long.TryParse(rest[19], NumberStyles.None, CultureInfo.InvariantCulture, out var t)
            ? (rest[0][0], t) : null;
    }

    /// <summary>Fields 3 and on of a /proc/PID/stat text: the command name (field 2) may hold spaces and parentheses, so they resume after the last ')'.</summary>
    private static string[] Fields(string stat) => stat[(stat.LastIndexOf(')') + 2)..].Split(' ');
}
