namespace ContainerPS;

/// <summary>A storage volume mounted into a container (ContainerPS.ContainerDevice, a disk device as LXD calls it).</summary>
public sealed class ContainerDevice
{
    public required string Container { get; init; }
    /// <summary>The device's name (the volume's name unless given).</summary>
    public required string Name { get; init; }
    /// <summary>Always disk.</summary>
    public string Type { get; init; } = "disk";
    public required string Pool { get; init; }
    /// <summary>The custom volume mounted.</summary>
    public required string Volume { get; init; }
    /// <summary>Where it is mounted inside the container.</summary>
    public required string Path { get; init; }
    public bool ReadOnly { get; init; }

    public override string ToString() => $"{Pool}/{Volume} -> {Path}";
}
