namespace ContainerPS;

/// <summary>A storage volume as users see it (ContainerPS.StorageVolume).</summary>
public sealed class StorageVolume
{
    public required string Pool { get; init; }
    public required string Name { get; init; }
    /// <summary>custom, container or image.</summary>
    public required string Type { get; init; }
    public string Description { get; init; } = "";
    /// <summary>The volume's own configuration keys (pool volume.* defaults already applied at creation).</summary>
    public required SortedDictionary<string, string> Config { get; init; }
    /// <summary>Bytes the volume's files occupy on disk.</summary>
    public long? Used { get; init; }
    /// <summary>The size limit in bytes (config key size), or null for none.</summary>
    public long? Size { get; init; }
    /// <summary>Whether the storage enforces <see cref="Size"/> (false when it is only recorded).</summary>
    public bool SizeEnforced { get; init; }
    /// <summary>The directory on the host where the volume's files are.</summary>
    public string? Path { get; init; }
    public DateTime CreatedAt { get; init; }
    /// <summary>Containers that use the volume.</summary>
    public required string[] UsedBy { get; init; }
    /// <summary>For a container's volume: the names of its snapshots (snapshot volumes CONTAINER@NAME in the pool).</summary>
    public string[] Snapshots { get; init; } = Array.Empty<string>();
    /// <summary>Created, or Creating/Deleting/Renaming while an operation on it is under way.</summary>
    public string Status { get; init; } = "Created";

    public override string ToString() => $"{Pool}/{Type}/{Name}";
}

public static class VolumeTypes
{
    public const string Custom = "custom";
    public const string Container = "container";
    public const string Image = "image";
    /// <summary>A container snapshot's filesystem, named CONTAINER@SNAPSHOT.</summary>
    public const string Snapshot = "snapshot";
    public static readonly string[] All = { Custom, Container, Image, Snapshot };
}
