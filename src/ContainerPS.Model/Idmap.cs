namespace ContainerPS;

/// <summary>
/// One range of a container's id map (ContainerPS.Idmap): container ids ContainerStart.. are host ids
/// HostStart.. (Count of them) for uids, gids or both. Current: the range is in the map the container
/// runs (or last ran) with; Next: it is in the map its next start uses (they differ after a
/// security.idmap.* or raw.idmap change until the container restarts).
/// </summary>
public sealed class Idmap
{
    public required string Container { get; init; }
    /// <summary>uid, gid or both.</summary>
    public required string Kind { get; init; }
    public long HostStart { get; init; }
    public long ContainerStart { get; init; }
    public long Count { get; init; }
    /// <summary>The range is the container's own isolated allocation (security.idmap.isolated).</summary>
    public bool Isolated { get; init; }
    /// <summary>The range comes from raw.idmap.</summary>
    public bool Raw { get; init; }
    public bool Current { get; init; }
    public bool Next { get; init; }

    public override string ToString() => $"{Kind} {ContainerStart} {HostStart} {Count}";
}

/// <summary>
/// A range of the host's subordinate ids (ContainerPS.HostIdmap) from /etc/subuid or /etc/subgid and
/// what uses it: the map shared by non-isolated containers, an isolated container, or nothing (free).
/// </summary>
public sealed class HostIdmap
{
    /// <summary>uid or gid.</summary>
    public required string Kind { get; init; }
    public long HostStart { get; init; }
    public long Count { get; init; }
    /// <summary>Shared, Isolated or Free.</summary>
    public required string Use { get; init; }
    public required string[] Containers { get; init; }

    public override string ToString() => $"{Kind} {HostStart} {Count} {Use}";
}
