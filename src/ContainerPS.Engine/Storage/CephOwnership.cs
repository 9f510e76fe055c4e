using System.Security.Cryptography;
using System.Text;
using ContainerPS.Engine.Platform;
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

    private static string Object(string image) => "containerps.owner." + image;

    /// <summary>The file in the pool's directory that keeps its owner id.</summary>
    private const string IdFile = ".ceph-owner-id";

    /// <summary>
    /// This pool's owner id: 16 random hex digits made on first use and kept in the pool's directory,
    /// so a new machine-id or host name does not lock the pool out of its own images (two state
    /// roots are two owners).
    /// </summary>
    public static string PoolId(PoolContext pool)
    {
        var file = Path.Join(pool.Source, IdFile);
        if (!File.Exists(file))
        {
            var temp = $"{file}.{Environment.ProcessId}";
            using (var f = new FileStream(temp, FileMode.Create, FileAccess.Write))
            {
                f.Write(Encoding.ASCII.GetBytes(Convert.ToHexString(RandomNumberGenerator.GetBytes(8)).ToLowerInvariant() + "\n"));
                f.Flush(flushToDisk: true);
            }
            LibC.TryLink(temp, file); // of two processes making it at once, the first one's id stays
            File.Delete(temp);
        }
        var id = File.ReadAllText(file).Trim();
        return id.Length == 16 && id.All(char.IsAsciiHexDigitLower)
            ? id
            : throw new ContainerPSException(Errors.InvalidSource, $"The owner id file {file} of pool '{pool.Name}' is damaged: it must hold 16 hex digits.", file);
    }

    /// <summary>Removes the pool's owner id with the pool (a pool made again under that name is a new owner).</summary>
    public static void DropPoolId(PoolContext pool) => File.Delete(Path.Join(pool.Source, IdFile));

    /// <summary>The cluster's fsid.</summary>
    public string Fsid(PoolContext pool) => cluster.Client(pool).Fsid();

    /// <summary>The image's owner record: a pool id, "handover ID TOKEN", or null (no record: an image made before records, owned by whoever maps it first).</summary>
    public string? Owner(PoolContext pool, string image) => cluster.Client(pool).GetXattr(OsdPool(pool), Object(image), Xattr);

    /// <summary>
    /// Whether this pool owns the image. An image without a record was made before records, by the
    /// pool that claimed the OSD pool (a pool that joined one records every image it makes): that
    /// pool takes it now; a joined pool never does.
    /// </summary>
    public bool Owns(PoolContext pool, string image)
    {
        var self = PoolId(pool);
        return Owner(pool, image) switch
        {
            null => !CephOsdPool.Joined(pool) && (Swap(pool, image, null, self) || Owner(pool, image) == self),
            var o => o == self,
        };
    }

    /// <summary>Maps and writes only an image this pool owns: VolumeBusy naming the owner otherwise.</summary>
    public void CheckOwned(PoolContext pool, string image)
    {
        if (!Owns(pool, image))
            throw NotOwned(pool, image, Owner(pool, image));
    }

    /// <summary>One atomic change of the record (expected null: created; value null: removed); false when it was not as expected.</summary>
    public bool Swap(PoolContext pool, string image, string? expected, string? value) =>
        cluster.Client(pool).SwapXattr(OsdPool(pool), Object(image), Xattr, expected, value);

    /// <summary>
    /// Records this pool as the owner of an image. <paramref name="made"/>: this pool has just made the
    /// image (its exclusive create succeeded), so a record left by a removed image of that name is
    /// replaced; otherwise (the name an image is about to take) another's record refuses it.
    /// </summary>
    public void Claim(PoolContext pool, string image, bool made)
    {
        var self = PoolId(pool);
        var current = Owner(pool, image);
        if (current == self)
            return;
        if (current is not null && !made)
            throw NotOwned(pool, image, current);
        if (!Swap(pool, image, current, self))
            throw new ContainerPSException(Errors.VolumeBusy, $"The owner record of RBD image {OsdPool(pool)}/{image} changed under this host: try again.", image);
    }

    private static ContainerPSException NotOwned(PoolContext pool, string image, string? owner) =>
        new(Errors.VolumeBusy,
            $"RBD image {OsdPool(pool)}/{image} belongs to another ContainerPS host sharing OSD pool '{OsdPool(pool)}' ({owner ?? "not recorded"}): this host does not map or change it.", image);

    /// <summary>Drops the record of an image this pool owned and deleted.</summary>
    public void Forget(PoolContext pool, string image) => Swap(pool, image, PoolId(pool), null);
}
