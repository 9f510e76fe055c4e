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
    /// <summary>For a container's or custom volume: the names of its snapshots (snapshot volumes NAME@SNAPSHOT in the pool).</summary>
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
    /// <summary>A custom volume's snapshot, named VOLUME@SNAPSHOT.</summary>
    public const string CustomSnapshot = "custom-snapshot";
    public static readonly string[] All = { Custom, Container, Image, Snapshot, CustomSnapshot };

    public static bool IsSnapshot(string type) => type is Snapshot or CustomSnapshot;

    /// <summary>The type of the volumes a snapshot type is taken of (container for snapshot, custom for custom-snapshot); other types are their own.</summary>
    public static string Parent(string type) => type switch { Snapshot => Container, CustomSnapshot => Custom, _ => type };

    /// <summary>The snapshot type of a volume type (snapshot for container, custom-snapshot for custom), or null when it has none.</summary>
    public static string? SnapshotOf(string type) => type switch { Container => Snapshot, Custom => CustomSnapshot, _ => null };
}

/// <summary>A snapshot of a custom storage volume (ContainerPS.StorageVolumeSnapshot).</summary>
public sealed class StorageVolumeSnapshot
{
    public required string Pool { get; init; }
    /// <summary>The custom volume the snapshot was taken of.</summary>
    public required string Volume { get; init; }
    public required string Name { get; init; }
    /// <summary>Bytes the snapshot holds, where the driver knows (zfs: referenced; ceph: rbd du; dir, btrfs: its files).</summary>
    public long? Used { get; init; }
    public DateTime CreatedAt { get; init; }

    public override string ToString() => $"{Pool}/{Volume}/{Name}";
}
