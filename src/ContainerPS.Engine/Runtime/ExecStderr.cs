namespace ContainerPS.Engine.Runtime;

/// <summary>
/// Tells the exec helper's own failure from the command's stderr, for every caller of an exec (the
/// cmdlet, its -AsJob job, fleet execs). cps-exec reports a failure to enter the container as a
/// stderr line starting with "cps-exec: " and exit code 255; a command may print such a line too,
/// so those lines are held until the exit code is known.
/// </summary>
public sealed class ExecStderr
{
    public const string HelperPrefix = "cps-exec: ";

    /// <summary>The exit code of cps-exec when it could not run the command.</summary>
    public const int HelperFailedExitCode = 255;

    private readonly List<string> held = new();

    /// <summary>True when <paramref name="line"/> is held until the exit code is known; false: it is the command's stderr, to report now.</summary>
    public bool Hold(string line)
    {
        if (!line.StartsWith(HelperPrefix, StringComparison.Ordinal))
            return false;
        held.Add(line);
        return true;
    }

    /// <summary>The held lines once the command has exited: each with whether it is the helper's failure (exit 255) rather than the command's stderr.</summary>
    public IReadOnlyList<(string Line, bool HelperFailed)> Release(int exitCode)
    {
        var lines = held.Select(l => (l, exitCode == HelperFailedExitCode)).ToList();
        held.Clear();
        return lines;
    }
}
