using System.Text.Json;
using static ContainerPS.Engine.Storage.CephCluster;
using static ContainerPS.Engine.Storage.CephNames;

namespace ContainerPS.Engine.Storage;

/// <summary>
/// What a pool's OSD pool holds: the marker object that claims it for one ContainerPS pool, its RBD
/// images with their snapshots and clone parents (read through librbd), their removal (an image or
/// snapshot that clones still depend on is kept as zombie_* and goes with its last clone), and the
/// bytes they use (rbd du).
/// </summary>
internal sealed class CephOsdPool(CephCluster cluster, CephOwnership ownership)
{
    /// <summary>The rados object in an OSD pool that says which ContainerPS pool uses it ("NAME created" or "NAME existing").</summary>
    private const string MarkerObject = "containerps.pool";
    /// <summary>The file in the pool's directory recording that the OSD pool was claimed (so a removal knows whether to touch the cluster).</summary>
    private const string LocalMarker = ".ceph-osd-pool";

    /// <summary>The rados object whose xattr "pools" lists the owner ids of the pools that joined the OSD pool (ceph.osd.shared), comma-separated.</summary>
    private const string SharesObject = "containerps.shares", SharesXattr = "pools";

    public sealed record RbdSnapshot(string Name, bool Protected, long Size);

    public sealed record RbdImage(string Name, long Size, string? ParentImage, string? ParentSnapshot, List<RbdSnapshot> Snapshots);

    // ------------------------------------------------------------------ the claim on the OSD pool

    /// <summary>
    /// Takes the pool's OSD pool: an existing one that is empty and unclaimed, else one created with
    /// ceph.osd.pg_num placement groups; the claim is recorded in the OSD pool and in the pool's directory.
    /// </summary>
    public void Claim(PoolContext pool)
    {
        var conf = ConfigFile(pool);
        if (!File.Exists(conf))
            throw new ContainerPSException(Errors.CephConfigNotFound,
                $"No config for Ceph cluster '{Cluster(pool)}': {conf} does not exist (set CEPH_CONF or ceph.cluster_name).", conf);
        var osd = OsdPool(pool);
        var existing = cluster.Ceph(pool, "rados", "lspools").Split('\n', StringSplitOptions.RemoveEmptyEntries).Contains(osd);
        string marker;
        if (pool.Config.GetValueOrDefault(CephDriver.SharedKey) == "true")
        {
            // Joining an OSD pool another ContainerPS pool (on another host) claimed: registered, never purged from here.
            if (!existing || cluster.TryCeph(pool, "rados", "-p", osd, "stat", MarkerObject).ExitCode != 0)
                throw new ContainerPSException(Errors.InvalidSource,
                    $"OSD pool '{osd}' is not used by a ContainerPS pool yet: {CephDriver.SharedKey}=true joins one that another host's pool made or claimed.", osd);
            Directory.CreateDirectory(pool.Source, VolumeLayout.Mode0711);
            File.WriteAllText(Path.Join(pool.Source, LocalMarker), pool.Name + " shared\n");
            Register(pool, join: true);
            return;
        }
        if (existing)
        {
            var owner = cluster.TryCeph(pool, "rados", "-p", osd, "get", MarkerObject, "-");
            if (owner.ExitCode == 0)
                throw new ContainerPSException(Errors.SourceInUse,
                    $"OSD pool '{osd}' is used by ContainerPS pool '{owner.StandardOutput.Split(' ')[0]}' already.", osd);
            if (cluster.Client(pool).List(osd).Count > 0)
                throw new ContainerPSException(Errors.SourceNotEmpty, $"OSD pool '{osd}' holds RBD images; give an empty OSD pool.", osd);
            marker = pool.Name + " existing";
        }
        else
        {
            var pg = pool.Config.GetValueOrDefault(CephDriver.PgNumKey) ?? "32";
            cluster.Ceph(pool, "ceph", "osd", "pool", "create", osd, pg, pg);
            marker = pool.Name + " created";
        }
        Directory.CreateDirectory(pool.Source, VolumeLayout.Mode0711);
        // Written before the pool is initialised: a removal after a failure here still finds what to undo.
        File.WriteAllText(Path.Join(pool.Source, LocalMarker), marker + "\n");
        cluster.Ceph(pool, "rados", "-p", osd, "put", MarkerObject, Path.Join(pool.Source, LocalMarker));
        if (!existing)
            cluster.Rbd(pool, "pool", "init", osd);
    }

    /// <summary>
    /// Undoes <see cref="Claim"/> when the pool's directory records one that the OSD pool still
    /// holds: every image goes, and the OSD pool too when ContainerPS created it (else just the marker).
    /// </summary>
    public void Release(PoolContext pool)
    {
        var local = Path.Join(pool.Source, LocalMarker);
        if (!File.Exists(local))
            return;
        var marker = File.ReadAllText(local).Trim();
        var osd = OsdPool(pool);
        if (marker.EndsWith(" shared", StringComparison.Ordinal))
        {
            // A pool that joined another's OSD pool: its images are forgotten (the volumes' removal did that), the OSD pool stays.
            Register(pool, join: false);
            File.Delete(local);
            CephOwnership.DropPoolId(pool);
            return;
        }
        CheckNotShared(pool);
        var remote = cluster.TryCeph(pool, "rados", "-p", osd, "get", MarkerObject, "-");
        if (remote.ExitCode == 0 && remote.StandardOutput.Trim() == marker)
        {
            PurgeImages(pool);
            cluster.TryCeph(pool, "rados", "-p", osd, "rm", SharesObject); // (no pool has joined: CheckNotShared)
            if (marker.EndsWith(" created", StringComparison.Ordinal))
            {
                var r = cluster.TryCeph(pool, "ceph", "osd", "pool", "delete", osd, osd, "--yes-i-really-really-mean-it");
                if (r.ExitCode != 0)
                {
                    cluster.Tool.Log.Warning($"OSD pool '{osd}' was emptied but not deleted (the monitors refuse: set mon_allow_pool_delete=true to let ContainerPS delete the pools it made): {r.StandardError.Trim()}");
                    cluster.Ceph(pool, "rados", "-p", osd, "rm", MarkerObject);
                }
            }
            else
            {
                cluster.Ceph(pool, "rados", "-p", osd, "rm", MarkerObject);
            }
        }
        else if (remote.ExitCode != 0 && !remote.StandardError.Contains("No such file", StringComparison.Ordinal)
                 && !remote.StandardError.Contains("error opening pool", StringComparison.Ordinal))
        {
            throw Failure(pool, "rados", new[] { "get", MarkerObject }, remote.ExitCode, remote.StandardError);
        }
        File.Delete(local);
        CephOwnership.DropPoolId(pool);
    }

    /// <summary>SourceInUse when pools of other hosts joined this pool's OSD pool (ceph.osd.shared): removing it would take their images.</summary>
    public void CheckNotShared(PoolContext pool)
    {
        if (Joined(pool) || !File.Exists(Path.Join(pool.Source, LocalMarker)))
            return;
        var osd = OsdPool(pool);
        var shares = Shares(pool).Count;
        if (shares > 0)
            throw new ContainerPSException(Errors.SourceInUse,
                $"OSD pool '{osd}' is shared with {shares} ContainerPS pool(s) on other hosts ({CephDriver.SharedKey}): remove those first, or their containers lose their images.", osd);
    }

    /// <summary>Whether this pool joined an OSD pool another ContainerPS pool claimed (ceph.osd.shared).</summary>
    internal static bool Joined(PoolContext pool) =>
        Path.Join(pool.Source, LocalMarker) is var local && File.Exists(local) && File.ReadAllText(local).Trim().EndsWith(" shared", StringComparison.Ordinal);

    /// <summary>The owner ids of the pools that joined this pool's OSD pool; an error (the cluster cannot be read) throws, never reads as none.</summary>
    private List<string> Shares(PoolContext pool) =>
        (cluster.Client(pool).GetXattr(OsdPool(pool), SharesObject, SharesXattr) ?? "").Split(',', StringSplitOptions.RemoveEmptyEntries).ToList();

    /// <summary>Adds this pool's owner id to the OSD pool's list of joined pools, or takes it out (one compare-and-swap, retried on a race).</summary>
    private void Register(PoolContext pool, bool join)
    {
        var self = CephOwnership.PoolId(pool);
        var client = cluster.Client(pool);
        for (var attempt = 0; attempt < 20; attempt++)
        {
            var current = client.GetXattr(OsdPool(pool), SharesObject, SharesXattr);
            var ids = (current ?? "").Split(',', StringSplitOptions.RemoveEmptyEntries).Where(i => i != self).ToList();
            if (join)
                ids.Add(self);
            if (client.SwapXattr(OsdPool(pool), SharesObject, SharesXattr, current, string.Join(',', ids)))
                return;
        }
        throw new ContainerPSException(Errors.VolumeBusy, $"The list of pools sharing OSD pool '{OsdPool(pool)}' kept changing: try again.", OsdPool(pool));
    }

    /// <summary>Whether other ContainerPS pools see this pool's images: it joined another's OSD pool, or others joined its own.</summary>
    public bool Shared(PoolContext pool) => Joined(pool) || (File.Exists(Path.Join(pool.Source, LocalMarker)) && Shares(pool).Count > 0);

    // ------------------------------------------------------------------ images and snapshots

    /// <summary>Images of the OSD pool with their snapshots and parents (what `rbd ls -l` shows), read through librbd.</summary>
    public Dictionary<string, RbdImage> Images(PoolContext pool)
    {
        var images = new Dictionary<string, RbdImage>(StringComparer.Ordinal);
        foreach (var name in cluster.Client(pool).List(OsdPool(pool)))
            if (Image(pool, name) is { } image) // null: removed meanwhile
                images[name] = image;
        return images;
    }

    /// <summary>One image of the OSD pool (a parent only when it is in the same OSD pool), or null when there is none: a lookup that does not open every image.</summary>
    public RbdImage? Image(PoolContext pool, string name)
    {
        var osd = OsdPool(pool);
        if (cluster.Client(pool).Info(osd, name) is not { } info)
            return null;
        var local = info.ParentPool == osd;
        return new RbdImage(name, info.Size, local ? info.ParentImage : null, local ? info.ParentSnapshot : null,
            info.Snapshots.Select(x => new RbdSnapshot(x.Name, x.Protected, x.Size)).ToList());
    }

    /// <summary>The feature bits of ceph.rbd.features, or null for the cluster's default features.</summary>
    public static ulong? FeatureMask(PoolContext pool) =>
        pool.Config.GetValueOrDefault(CephDriver.FeaturesKey) is { } f ? f.Split(',').Aggregate(0UL, (m, x) => m | RbdClient.FeatureBits[x]) : null;

    private static bool HasChildren(Dictionary<string, RbdImage> images, string image, string snapshot) =>
        images.Values.Any(i => i.ParentImage == image && i.ParentSnapshot == snapshot);

    /// <summary>Removes every RBD image of the OSD pool, clones before their parents (a pool removal).</summary>
    private void PurgeImages(PoolContext pool)
    {
        for (var images = Images(pool); images.Count > 0; images = Images(pool))
        {
            var leaves = images.Values.Where(i => !images.Values.Any(c => c.ParentImage == i.Name)).ToList();
            if (leaves.Count == 0)
                throw new ContainerPSException(Errors.ToolFailed, $"RBD images of OSD pool '{OsdPool(pool)}' depend on each other in a cycle.", OsdPool(pool));
            foreach (var image in leaves)
                RemoveImage(pool, image);
        }
    }

    /// <summary>Removes an image that has no clones left: its snapshots (unprotected first), then the image.</summary>
    private void RemoveImage(PoolContext pool, RbdImage image)
    {
        var (client, osd) = (cluster.Client(pool), OsdPool(pool));
        foreach (var s in image.Snapshots)
        {
            if (s.Protected)
                client.SnapUnprotect(osd, image.Name, s.Name);
            client.SnapRemove(osd, image.Name, s.Name);
        }
        client.Remove(osd, image.Name);
        ownership.Forget(pool, image.Name);
    }

    /// <summary>Removes a snapshot of an image (if there), or renames it zombie_* while clones depend on it.</summary>
    public void DeleteSnapshot(PoolContext pool, string image, string snapshot)
    {
        var (client, osd) = (cluster.Client(pool), OsdPool(pool));
        var images = Images(pool);
        if (images.TryGetValue(image, out var owner) && owner.Snapshots.FirstOrDefault(s => s.Name == snapshot) is { } snap)
        {
            if (HasChildren(images, image, snap.Name))
                client.SnapRename(osd, image, snap.Name, $"zombie_{Guid.NewGuid():n}");
            else
            {
                if (snap.Protected)
                    client.SnapUnprotect(osd, image, snap.Name);
                client.SnapRemove(osd, image, snap.Name);
            }
        }
    }

    /// <summary>Removes an (unmapped) image if there, or renames it zombie_* while clones of its snapshots exist; a removed clone may free what its parent kept.</summary>
    public void DeleteImage(PoolContext pool, string image)
    {
        var all = Images(pool);
        if (!all.TryGetValue(image, out var rbd))
            return;
        if (rbd.Snapshots.Any(s => HasChildren(all, image, s.Name)))
            cluster.Client(pool).Rename(OsdPool(pool), image, Zombie(image)); // kept for its clones
        else
        {
            RemoveImage(pool, rbd);
            // A removed clone may have been the last child of a copy-* snapshot or of a zombie image.
            if (rbd.ParentImage is not null)
                CollectZombies(pool);
        }
    }

    /// <summary>
    /// Removes what only clones kept: snapshots made for copies (copy-*) or kept for clones (zombie_*)
    /// that no clone needs any more, and zombie images without snapshots. Repeats, as removing one
    /// can free its parent.
    /// </summary>
    private void CollectZombies(PoolContext pool)
    {
        for (var progress = true; progress;)
        {
            progress = false;
            var images = Images(pool);
            foreach (var image in images.Values)
            {
                var zombie = image.Name.StartsWith("zombie_", StringComparison.Ordinal);
                // Another host's image is its own business: one of its copies may be reading a copy-* snapshot right now.
                if (!zombie && !image.Name.StartsWith("image_", StringComparison.Ordinal) && ownership.Owner(pool, image.Name) is { } owner && owner != CephOwnership.PoolId(pool))
                    continue;
                foreach (var s in image.Snapshots.Where(s => (zombie || s.Name.StartsWith("copy-", StringComparison.Ordinal) || s.Name.StartsWith("zombie_", StringComparison.Ordinal))
                                                              && !HasChildren(images, image.Name, s.Name)))
                {
                    if (s.Protected)
                        cluster.Client(pool).SnapUnprotect(OsdPool(pool), image.Name, s.Name);
                    cluster.Client(pool).SnapRemove(OsdPool(pool), image.Name, s.Name);
                    progress = true;
                }
                if (zombie && !images.Values.Any(c => c.ParentImage == image.Name) && (progress || image.Snapshots.Count == 0))
                {
                    if (Image(pool, image.Name) is { Snapshots.Count: 0 })
                    {
                        cluster.Client(pool).Remove(OsdPool(pool), image.Name);
                        progress = true;
                    }
                }
                if (progress)
                    break; // the listing is stale: read it again
            }
        }
    }

    // ------------------------------------------------------------------ usage

    /// <summary>Used bytes of the OSD pool's images (rbd du). Its size is the cluster's, not known without a mgr.</summary>
    public (long? Used, long? Size) Usage(PoolContext pool)
    {
        using var doc = JsonDocument.Parse(DiskUsageJson(pool));
        return (doc.RootElement.TryGetProperty("total_used_size", out var u) ? u.GetInt64() : 0, null);
    }

    /// <summary>Used bytes of an image, or of one of its snapshots, in `rbd du`; null when it is not listed.</summary>
    public long? Usage(PoolContext pool, string image, string? snapshot)
    {
        using var doc = JsonDocument.Parse(DiskUsageJson(pool));
        if (!doc.RootElement.TryGetProperty("images", out var list))
            return null;
        foreach (var e in list.EnumerateArray())
        {
            var snap = e.TryGetProperty("snapshot", out var s) ? s.GetString() : null;
            if (e.GetProperty("name").GetString() == image && snap == snapshot)
                return e.GetProperty("used_size").GetInt64();
        }
        return null;
    }

    /// <summary>`rbd du` of the OSD pool, read once per command (a listing asks for every volume).</summary>
    private string DiskUsageJson(PoolContext pool) =>
        duCache.TryGetValue(OsdPool(pool), out var json) ? json : duCache[OsdPool(pool)] = cluster.Rbd(pool, "du", "--format", "json", "-p", OsdPool(pool)) is { Length: > 0 } s ? s : "{}";

    private readonly Dictionary<string, string> duCache = new(StringComparer.Ordinal);
}
