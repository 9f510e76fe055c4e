namespace ContainerPS;

/// <summary>How a command run in a container ended (ContainerPS.ExecResult, from Invoke-ContainerExec -PassThru).</summary>
public sealed class ExecResult
{
    public required string Container { get; init; }
    public required string[] Command { get; init; }
    /// <summary>The command's exit code; 128+N when killed by signal N, 126 not executable, 127 not found.</summary>
    public int ExitCode { get; init; }
    public TimeSpan Duration { get; init; }
}
