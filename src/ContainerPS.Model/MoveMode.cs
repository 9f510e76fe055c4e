namespace ContainerPS;

/// <summary>How a running container moves (Move-Container -Mode).</summary>
public enum MoveMode
{
    /// <summary>Dump everything (memory included), copy, restore: downtime grows with memory.</summary>
    StopAndCopy,
    /// <summary>Dump all but memory, restore at once, fetch memory on demand from the source (CRIU lazy pages).</summary>
    PostCopy,
    /// <summary>Iterative pre-dumps while it runs (needs memory dirty tracking; -Live).</summary>
    PreCopy,
}
