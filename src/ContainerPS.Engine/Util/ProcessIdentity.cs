using System.Globalization;

namespace ContainerPS.Engine.Util;

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

    public bool IsAlive => ReadStartTime(Pid) is long t && t == StartTime;

    public static long? ReadStartTime(int pid)
    {
        string stat;
        try { stat = File.ReadAllText($"/proc/{pid}/stat"); }
        catch (IOException) { return null; }
        catch (UnauthorizedAccessException) { return null; }
        // The command name (field 2) may hold spaces and parentheses: fields resume after the last ')'.
        var rest = stat[(stat.LastIndexOf(')') + 2)..].Split(' ');
        // rest[0] is field 3 (state); starttime is field 22.
        return rest.Length > 19 && long.TryParse(rest[19], NumberStyles.None, CultureInfo.InvariantCulture, out var t) ? t : null;
    }
}
