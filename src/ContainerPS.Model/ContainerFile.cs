namespace ContainerPS;

/// <summary>A file, directory or symbolic link Copy-ContainerFile wrote into a container (ContainerPS.ContainerFile).</summary>
public sealed class ContainerFile
{
    public required string Container { get; init; }
    /// <summary>Its path inside the container (symlinks in the destination resolved, inside the container).</summary>
    public required string Path { get; init; }
    /// <summary>File, Directory or SymbolicLink.</summary>
    public required string Type { get; init; }
    /// <summary>Bytes written (0 for a directory; the target's length for a symbolic link).</summary>
    public long Length { get; init; }
    /// <summary>Permission bits as octal text (0644, 4755).</summary>
    public required string Mode { get; init; }
    /// <summary>Owner as the container sees it.</summary>
    public long Uid { get; init; }
    /// <summary>Group as the container sees it.</summary>
    public long Gid { get; init; }

    public override string ToString() => $"{Container}:{Path}";
}
