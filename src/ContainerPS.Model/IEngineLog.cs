namespace ContainerPS.Engine;

/// <summary>
/// Where the engine sends diagnostics. The cmdlet layer forwards these to the verbose and warning
/// streams; the engine itself never touches PowerShell.
/// </summary>
public interface IEngineLog
{
    void Verbose(string message);
    void Warning(string message);

    /// <summary>Progress of a long operation (Write-Progress); <paramref name="percent"/> -1 ends it, -2 is a step whose share of the whole is not known.</summary>
    void Progress(string activity, string status, int percent) { }
}

public sealed class NullEngineLog : IEngineLog
{
    public static readonly NullEngineLog Instance = new();
    public void Verbose(string message) { }
    public void Warning(string message) { }
}
