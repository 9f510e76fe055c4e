using System.Text.Json;

namespace ContainerPS.Engine.Migration;

/// <summary>One network of a moving container: the network's name on both hosts and the interface.</summary>
public sealed record MigrationNetwork(string Network, string Interface);

/// <summary>
/// What the destination needs to know to take a container over: its name, image and config, its id
/// map (a running container keeps its map: CRIU restores its user namespace as dumped) and networks.
/// Sent as JSON through the remoting session. RootfsFormat names the storage driver stream the
/// filesystem comes as (btrfs or zfs send, when both hosts' pools have it), null for a tar;
/// RootfsIdmap is the id map the files are stored in (volatile.idmap.last: shifted storage), null
/// for files in the container's own ids.
/// </summary>
public sealed record MigrationPlan(
    string Name, string Image, IReadOnlyDictionary<string, string> Config, bool Privileged, bool Isolated,
    long? IdmapBase, long? IdmapSize, IReadOnlyList<MigrationNetwork> Networks, bool Running,
    string? RootfsFormat = null, string? RootfsIdmap = null)
{
    public string ToJson() => JsonSerializer.Serialize(this);

    public static MigrationPlan FromJson(string json) =>
        JsonSerializer.Deserialize<MigrationPlan>(json) ?? throw new ContainerPSException(Errors.InvalidMigrationPlan, "Empty migration plan.");
}
