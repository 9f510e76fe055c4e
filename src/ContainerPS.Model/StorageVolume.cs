using ContainerPS.Engine;

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

/// <summary>What a storage volume holds; its name (<see cref="VolumeTypes.Name"/>) is what users see and type.</summary>
public enum VolumeType
{
    Custom,
    /// <summary>A container's root filesystem.</summary>
    Container,
    /// <summary>An image's unpacked filesystem, which containers are cloned from.</summary>
    Image,
    /// <summary>A container snapshot's filesystem, named CONTAINER@SNAPSHOT.</summary>
    Snapshot,
    /// <summary>A custom volume's snapshot, named VOLUME@SNAPSHOT.</summary>
    CustomSnapshot,
}

/// <summary>The names of volume types (as LXD spells them) and how the types relate.</summary>
public static class VolumeTypes
{
    /// <summary>The names, for parameter validation (attribute arguments must be constants).</summary>
    public const string Custom = "custom", Container = "container", Image = "image", Snapshot = "snapshot", CustomSnapshot = "custom-snapshot";

    public static readonly VolumeType[] All = Enum.GetValues<VolumeType>();

    public static string Name(this VolumeType type) => type switch
    {
        VolumeType.Custom => Custom,
        VolumeType.Container => Container,
        VolumeType.Image => Image,
        VolumeType.Snapshot => Snapshot,
        VolumeType.CustomSnapshot => CustomSnapshot,
        _ => throw new ArgumentOutOfRangeException(nameof(type), type, null),
    };

    /// <summary>The type named <paramref name="name"/> (custom, container, image, snapshot, custom-snapshot); false for any other name.</summary>
    public static bool TryParse(string? name, out VolumeType type)
    {
        foreach (var t in All)
            if (t.Name() == name)
            {
                type = t;
                return true;
            }
        type = default;
        return false;
    }

    /// <summary>The type named <paramref name="name"/>; InvalidVolumeType for any other name.</summary>
    public static VolumeType Parse(string name) =>
        TryParse(name, out var type) ? type
            : throw new ContainerPSException(Errors.InvalidVolumeType,
                $"Unknown volume type '{Names.Printable(name)}' (known: {string.Join(", ", All.Select(t => t.Name()))}).", name);

    public static bool IsSnapshot(this VolumeType type) => type is VolumeType.Snapshot or VolumeType.CustomSnapshot;

    /// <summary>The type of the volumes a snapshot type is taken of (container for snapshot, custom for custom-snapshot); other types are their own.</summary>
    public static VolumeType Parent(this VolumeType type) => type switch
    {
        VolumeType.Snapshot => VolumeType.Container,
        VolumeType.CustomSnapshot => VolumeType.Custom,
        _ => type,
    };

    /// <summary>The snapshot type of a volume type (snapshot for container, custom-snapshot for custom), or null when it has none.</summary>
    public static VolumeType? SnapshotOf(this VolumeType type) => type switch
    {
        VolumeType.Container => VolumeType.Snapshot,
        VolumeType.Custom => VolumeType.CustomSnapshot,
        _ => null,
    };
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
