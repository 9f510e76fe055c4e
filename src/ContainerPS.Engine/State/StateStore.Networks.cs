using Microsoft.Data.Sqlite;

namespace ContainerPS.Engine.State;

public sealed record NetworkRow(long Id, string Name, string Config, string Description, DateTime CreatedAt);

/// <summary>
/// A container's membership of a network: its interface name, what it asked for (options JSON:
/// ips, mac, portMappings), and while attached the conflist used for ADD and the ADD result.
/// </summary>
public sealed record AttachmentRow(long ContainerId, string Container, string ContainerUuid, long NetworkId, string Network,
    string IfName, string Options, string? AddConfig, string? Result);

public sealed partial class StateStore
{
    private static NetworkRow MapNetwork(SqliteDataReader r) =>
        new(r.GetInt64(0), r.GetString(1), r.GetString(2), r.GetString(3), ParseTimestamp(r.GetString(4)));

    public List<NetworkRow> Networks() =>
        Query("SELECT id, name, config, description, created_at FROM networks ORDER BY name", MapNetwork);

    public NetworkRow? Network(string name) =>
        Query("SELECT id, name, config, description, created_at FROM networks WHERE name = $n", MapNetwork, ("$n", name)).SingleOrDefault();

    public void InsertNetwork(string name, string config, string description)
    {
        try
        {
            Exec("INSERT INTO networks(name, config, description, created_at) VALUES ($n, $c, $d, $t)",
                ("$n", name), ("$c", config), ("$d", description), ("$t", Timestamp(DateTime.UtcNow)));
        }
        catch (SqliteException e) when (IsUniqueViolation(e))
        {
            throw new ContainerPSException(Errors.NetworkExists, $"Network '{name}' already exists.", name);
        }
    }

    public void DeleteNetworkRow(long id) => Exec("DELETE FROM networks WHERE id = $id", ("$id", id));

    private const string AttachmentQuery =
        "SELECT a.container_id, c.name, c.uuid, a.network_id, n.name, a.ifname, a.options, a.add_config, a.result " +
        "FROM container_networks a JOIN containers c ON c.id = a.container_id JOIN networks n ON n.id = a.network_id";

    private static AttachmentRow MapAttachment(SqliteDataReader r) => new(
        r.GetInt64(0), r.GetString(1), r.GetString(2), r.GetInt64(3), r.GetString(4), r.GetString(5), r.GetString(6),
        r.IsDBNull(7) ? null : r.GetString(7), r.IsDBNull(8) ? null : r.GetString(8));

    /// <summary>A container's networks in interface order (eth0, eth1, ... eth10).</summary>
    public List<AttachmentRow> Attachments(long containerId) =>
        Query(AttachmentQuery + " WHERE a.container_id = $c", MapAttachment, ("$c", containerId))
            .OrderBy(a => a.IfName.Length).ThenBy(a => a.IfName, StringComparer.Ordinal).ToList();

    public List<AttachmentRow> Attachments() =>
        Query(AttachmentQuery + " ORDER BY c.name", MapAttachment)
            .OrderBy(a => a.Container, StringComparer.Ordinal).ThenBy(a => a.IfName.Length).ThenBy(a => a.IfName, StringComparer.Ordinal).ToList();

    public List<string> NetworkUsers(long networkId) =>
        Query("SELECT c.name FROM container_networks a JOIN containers c ON c.id = a.container_id WHERE a.network_id = $n ORDER BY c.name",
            r => r.GetString(0), ("$n", networkId));

    public void InsertAttachment(long containerId, long networkId, string ifname, string options)
    {
        try
        {
            Exec("INSERT INTO container_networks(container_id, network_id, ifname, options) VALUES ($c, $n, $i, $o)",
                ("$c", containerId), ("$n", networkId), ("$i", ifname), ("$o", options));
        }
        catch (SqliteException e) when (IsUniqueViolation(e))
        {
            throw new ContainerPSException(Errors.NetworkAlreadyConnected, "The container is already connected to that network or uses that interface name.", ifname);
        }
    }

    /// <summary>Records (or, with nulls, forgets) the conflist and result of a successful ADD.</summary>
    public void SetAttachmentResult(long containerId, long networkId, string? addConfig, string? result) =>
        Exec("UPDATE container_networks SET add_config = $a, result = $r WHERE container_id = $c AND network_id = $n",
            ("$a", addConfig), ("$r", result), ("$c", containerId), ("$n", networkId));

    public void DeleteAttachment(long containerId, long networkId) =>
        Exec("DELETE FROM container_networks WHERE container_id = $c AND network_id = $n", ("$c", containerId), ("$n", networkId));
}
