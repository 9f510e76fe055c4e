namespace ContainerPS;

/// <summary>What CRIU can do on this host (ContainerPS.CheckpointSupport), from Test-ContainerCheckpoint.</summary>
public sealed class CheckpointSupport
{
    /// <summary>True when checkpoint and restore work: CRIU 4 or later, and `criu check` passes.</summary>
    public bool Supported { get; init; }
    public string? CriuPath { get; init; }
    public string? Version { get; init; }
    /// <summary>The last line of `criu check` ("Looks good.").</summary>
    public string Check { get; init; } = "";
    /// <summary>Memory dirty tracking (soft-dirty bits): what pre-copy live migration needs.</summary>
    public bool MemoryTracking { get; init; }
    /// <summary>userfaultfd for lazy pages (post-copy).</summary>
    public bool LazyPages { get; init; }
    public string Message { get; init; } = "";

    public override string ToString() => Message;
}
