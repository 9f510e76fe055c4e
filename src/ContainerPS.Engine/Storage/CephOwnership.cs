using System.Security.Cryptography;
using System.Text;
using static ContainerPS.Engine.Storage.CephCluster;

namespace ContainerPS.Engine.Storage;

/// <summary>
/// Which ContainerPS pool owns an RBD image of an OSD pool that several hosts share: a rados object
/// (containerps.owner.IMAGE) whose xattr "owner" holds the owning pool's id, or "handover ID TOKEN"
/// while a move hands the image to pool ID. Every change is an atomic compare-and-swap, so of two
/// hosts that race for an image exactly one gets it, and a host maps (writes) or deletes only the
/// images it owns: an image a move handed over is forgotten, never deleted, by the host it left.
/// (rbd-fuse clients hand librbd's exclusive lock to each other on demand, and an advisory
/// `rbd lock add` blocks the mapping's own writes, so neither can be this guard.)
/// </summary>
internal sealed class CephOwnership(CephCluster cluster)
{
    private const string Xattr = "owner";
    private const string HandoverPrefix = "handover ";

    private static string Object(string image) => "containerps.owner." + image;

    /// <summary>This host's id for the pool: its machine and the pool's directory (two state roots on one machine are two owners).</summary>
    public static string PoolId(PoolContext pool)
    {
        var machine = File.Exists("/etc/machine-id") ? File.ReadAllText("/etc/machine-id").Trim() : Environment.MachineName;
        return Convert.ToHexString(SHA256.HashData(Encoding.UTF8.GetBytes(machine + "\n" + pool.Source)))[..16].ToLowerInvariant();
    }

    /// <summary>The cluster's fsid.</summary>
    public string Fsid(PoolContext pool) => cluster.Client(pool).Fsid();

    /// <summary>The image's owner record: a pool id, "handover ID TOKEN", or null (no record: an image made before records, owned by whoever maps it first).</summary>
    public string? Owner(PoolContext pool, string image) => cluster.Client(pool).GetXattr(OsdPool(pool), Object(image), Xattr);

    public static string Handover(string to, string token) => $"{HandoverPrefix}{to} {token}";

    /// <summary>Whether this pool owns the image (taking an image without a record).</summary>
    public bool Owns(PoolContext pool, string image)
    {
        var self = PoolId(pool);
        return Owner(pool, image) switch
        {
            null => Swap(pool, image, null, self) || Owner(pool, image) == self,
            var o => o == self,
        };
    }

    /// <summary>Maps and writes only an image this pool owns: VolumeBusy naming the owner otherwise.</summary>
    public void CheckOwned(PoolContext pool, string image)
    {
        if (!Owns(pool, image))
            throw new ContainerPSException(Errors.VolumeBusy,
                $"RBD image {OsdPool(pool)}/{image} belongs to another ContainerPS host sharing OSD pool '{OsdPool(pool)}' ({Owner(pool, image)}): this host does not map it.", image);
    }

    /// <summary>One atomic change of the record (expected null: created; value null: removed); false when it was not as expected.</summary>
    public bool Swap(PoolContext pool, string image, string? expected, string? value) =>
        cluster.Client(pool).SwapXattr(OsdPool(pool), Object(image), Xattr, expected, value);

    /// <summary>Records this pool as the owner of an image it has just made (a record left by an image of that name that is gone is replaced).</summary>
    public void Claim(PoolContext pool, string image)
    {
        var self = PoolId(pool);
        var current = Owner(pool, image);
        if (current != self && !Swap(pool, image, current, self))
            throw new ContainerPSException(Errors.VolumeBusy, $"The owner record of RBD image {OsdPool(pool)}/{image} changed under this host: try again.", image);
    }

    /// <summary>Drops the record of an image this pool owned and deleted.</summary>
    public void Forget(PoolContext pool, string image) => Swap(pool, image, PoolId(pool), null);
}
