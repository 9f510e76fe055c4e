using Microsoft.Data.Sqlite;

namespace ContainerPS.Engine.State;

/// <summary>A custom volume mounted into a container at Path (a disk device named Name).</summary>
public sealed record DeviceRow(long ContainerId, string Container, long VolumeId, string Pool, string Volume, string Name, string Path, bool ReadOnly);

public sealed partial class StateStore
{
    private const string DeviceQuery =
        "SELECT d.container_id, c.name, d.volume_id, p.name, v.name, d.name, d.path, d.readonly " +
        "FROM container_volumes d JOIN containers c ON c.id = d.container_id JOIN volumes v ON v.id = d.volume_id JOIN pools p ON p.id = v.pool_id";

    private static DeviceRow MapDevice(SqliteDataReader r) => new(
        r.GetInt64(0), r.GetString(1), r.GetInt64(2), r.GetString(3), r.GetString(4), r.GetString(5), r.GetString(6), r.GetInt64(7) != 0);

    /// <summary>A container's volume mounts, by path (so a parent directory is mounted before what is below it).</summary>
    public List<DeviceRow> Devices(long containerId) =>
        Query(DeviceQuery + " WHERE d.container_id = $c ORDER BY d.path", MapDevice, ("$c", containerId));

    /// <summary>The containers a volume is mounted into.</summary>
    public List<DeviceRow> VolumeDevices(long volumeId) =>
        Query(DeviceQuery + " WHERE d.volume_id = $v ORDER BY c.name", MapDevice, ("$v", volumeId));

    public void InsertDevice(long containerId, long volumeId, string name, string path, bool readOnly)
    {
        try
        {
            Exec("INSERT INTO container_volumes(container_id, volume_id, name, path, readonly) VALUES ($c, $v, $n, $p, $r)",
                ("$c", containerId), ("$v", volumeId), ("$n", name), ("$p", path), ("$r", readOnly ? 1 : 0));
        }
        catch (SqliteException e) when (IsUniqueViolation(e))
        {
            throw new ContainerPSException(Errors.DeviceExists,
                $"The container already has a device named '{name}', a volume mounted at {path}, or this volume mounted.", name);
        }
    }

    public void DeleteDevice(long containerId, long volumeId) =>
        Exec("DELETE FROM container_volumes WHERE container_id = $c AND volume_id = $v", ("$c", containerId), ("$v", volumeId));
}
