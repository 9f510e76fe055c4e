using System.Globalization;
using System.Text.Json;
using System.Text.RegularExpressions;
using ContainerPS.Engine.Platform;

namespace ContainerPS.Engine.Storage;

/// <summary>
/// The ceph driver, as Incus's: a pool is an OSD pool (ceph.osd.pool_name, made with
/// ceph.osd.pg_num placement groups, or an existing empty one given as -Source); a volume is an RBD
/// image (custom_NAME, container_NAME, image_FINGERPRINT) holding an ext4 or xfs filesystem
/// (block.filesystem); container snapshots are RBD snapshots (container_C@snapshot_S); copies are
/// clones of a protected snapshot (ceph.rbd.clone_copy, the default) or full copies. An image that
/// clones still depend on is renamed zombie_* and removed with its last clone.
/// Without kernel rbd or nbd, a volume is reached as rbd-fuse (one image, never the whole OSD pool)
/// + a loop device + a mount at the volume's path, made when the volume is first needed and torn
/// down (umount, losetup -d, umount of the fuse) before a rollback, rename or removal.
/// The cluster is found as the ceph tools find it: $CEPH_CONF, else /etc/ceph/CLUSTER.conf.
/// </summary>
public sealed class CephDriver : IStorageDriver, IDisposable
{
    public const string ClusterKey = "ceph.cluster_name";
    public const string UserKey = "ceph.user.name";
    public const string OsdPoolKey = "ceph.osd.pool_name";
    public const string PgNumKey = "ceph.osd.pg_num";
    public const string CloneCopyKey = "ceph.rbd.clone_copy";
    public const string FeaturesKey = "ceph.rbd.features";
    /// <summary>The rados object in an OSD pool that says which ContainerPS pool uses it ("NAME created" or "NAME existing").</summary>
    private const string MarkerObject = "containerps.pool";
    /// <summary>The file in the pool's directory recording that the OSD pool was claimed (so a removal knows whether to touch the cluster).</summary>
    private const string LocalMarker = ".ceph-osd-pool";
    /// <summary>The snapshot of an image volume that containers are cloned from.</summary>
    private const string ImageSnapshot = "readonly";
    private const string DefaultVolumeSize = "10GiB";
    private static readonly TimeSpan CephTimeout = TimeSpan.FromMinutes(2);

    private static readonly Regex OsdPoolName = new(@"^[A-Za-z0-9][A-Za-z0-9_.-]{0,99}\z", RegexOptions.CultureInvariant);
    private static readonly Regex CephName = new(@"^[A-Za-z0-9][A-Za-z0-9_.-]{0,62}\z", RegexOptions.CultureInvariant);
    private static readonly string[] KnownFeatures = { "layering", "striping", "exclusive-lock", "object-map", "fast-diff", "deep-flatten", "journaling", "data-pool" };

    private readonly ExternalTool tool;

    public CephDriver(ExternalTool tool) => this.tool = tool;

    public string Name => "ceph";

    public ConfigSchema Schema { get; } = new("ceph",
        poolKeys: new[]
        {
            new ConfigKey("source", ConfigValues.Any, "An existing, empty OSD pool to use (or one to create under that name).", SetOnlyAtCreation: true),
            new ConfigKey(ClusterKey, Plain("cluster name"), "The Ceph cluster (its config is $CEPH_CONF, else /etc/ceph/NAME.conf; default ceph).", SetOnlyAtCreation: true),
            new ConfigKey(UserKey, Plain("user name"), "The Ceph user the tools connect as (client.NAME; default admin).", SetOnlyAtCreation: true),
            new ConfigKey(OsdPoolKey, v => OsdPoolName.IsMatch(v) ? null : $"'{v}' is not an OSD pool name", "The OSD pool holding the pool's RBD images (default: the pool's name).", SetOnlyAtCreation: true),
            new ConfigKey(PgNumKey, ConfigValues.PositiveInt, "Placement groups of an OSD pool ContainerPS creates (default 32).", SetOnlyAtCreation: true),
            new ConfigKey(CloneCopyKey, ConfigValues.Bool, "Copies are clones of a protected snapshot (true, the default) or full rbd copies (false)."),
            new ConfigKey(FeaturesKey, Features, "RBD features of new images, comma-separated (default: the cluster's, layering included)."),
        },
        volumeKeys: new[]
        {
            new ConfigKey("size", ConfigValues.Size, "Size of the volume's RBD image and filesystem (default 10GiB); it can grow, not shrink."),
            new ConfigKey("block.filesystem", v => v is "ext4" or "xfs" ? null : $"'{v}' is not ext4 or xfs", "Filesystem of the volume: ext4 (default) or xfs.", SetOnlyAtCreation: true),
            new ConfigKey("block.mount_options", MountOptions, "Mount options of the volume's filesystem (default none)."),
        });

    private static Func<string, string?> Plain(string what) => v => CephName.IsMatch(v) ? null : $"'{v}' is not a Ceph {what}";

    private static string? Features(string v) =>
        v.Split(',').All(f => KnownFeatures.Contains(f)) && v.Split(',').Contains("layering")
            ? null : $"'{v}' is not a comma-separated list of RBD features including layering ({string.Join(", ", KnownFeatures)})";

    private static string? MountOptions(string v) =>
        v.All(c => char.IsAsciiLetterOrDigit(c) || "_=,.:-".Contains(c)) ? null : $"'{v}' is not a comma-separated list of mount options";

    // ------------------------------------------------------------------ the ceph tools

    private static string Cluster(PoolContext pool) => pool.Config.GetValueOrDefault(ClusterKey) ?? "ceph";
    private static string User(PoolContext pool) => pool.Config.GetValueOrDefault(UserKey) ?? "admin";
    private static string OsdPool(PoolContext pool) => pool.Config.GetValueOrDefault(OsdPoolKey) ?? pool.Name;

    /// <summary>The config file the tools will read: $CEPH_CONF, else /etc/ceph/CLUSTER.conf.</summary>
    private static string ConfigFile(PoolContext pool) =>
        Environment.GetEnvironmentVariable("CEPH_CONF") is { Length: > 0 } conf ? conf : $"/etc/ceph/{Cluster(pool)}.conf";

    /// <summary>Arguments every ceph tool gets: the cluster, the user, its config, and a bounded wait for the monitors.</summary>
    private static string[] Connect(PoolContext pool) =>
        new[] { "--cluster", Cluster(pool), "--id", User(pool), "-c", ConfigFile(pool), "--client_mount_timeout", "20" };

    /// <summary>Runs rbd, rados or ceph against the pool's cluster; an unreachable cluster is CephNotReachable, other failures ToolFailed.</summary>
    private string Ceph(PoolContext pool, string program, params string[] args)
    {
        var r = TryCeph(pool, program, args);
        if (r.ExitCode == 0)
            return r.StandardOutput;
        throw Failure(pool, program, args, r.ExitCode, r.StandardError + r.StandardOutput);
    }

    private CliWrap.Buffered.BufferedCommandResult TryCeph(PoolContext pool, string program, params string[] args) =>
        tool.Execute(program, Connect(pool).Concat(args).ToArray(), null, null, CephTimeout);

    private static ContainerPSException Failure(PoolContext pool, string program, string[] args, int exitCode, string output)
    {
        // librados prints cephx and keyring noise first: keep the tool's own lines.
        var lines = output.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)
            .Where(l => !Regex.IsMatch(l, @"^\d{4}-\d\d-\d\dT")).ToList();
        var err = string.Join(' ', lines.Count > 0 ? lines : output.Split('\n').Select(l => l.Trim()));
        if (err.Contains("couldn't connect to the cluster", StringComparison.Ordinal) || err.Contains("error connecting to the cluster", StringComparison.Ordinal)
            || err.Contains("conf_read_file", StringComparison.Ordinal) || err.Contains("unable to open config file", StringComparison.Ordinal)
            || err.Contains("failed to fetch mon config", StringComparison.Ordinal) || err.Contains("timed out", StringComparison.Ordinal))
            return new ContainerPSException(Errors.CephNotReachable,
                $"Cannot reach Ceph cluster '{Cluster(pool)}' as client.{User(pool)} (config {ConfigFile(pool)}): {err}", Cluster(pool));
        return new ContainerPSException(Errors.ToolFailed, $"'{program} {string.Join(' ', args)}' failed with exit code {exitCode}: {err}", program);
    }

    private string Rbd(PoolContext pool, params string[] args) => Ceph(pool, "rbd", args);


    // ------------------------------------------------------------------ what the OSD pool holds

    private sealed record RbdSnapshot(string Name, bool Protected, long Size);

    private sealed record RbdImage(string Name, long Size, string? ParentImage, string? ParentSnapshot, List<RbdSnapshot> Snapshots);

    /// <summary>Images of the OSD pool with their snapshots and parents (what `rbd ls -l` shows), read through librbd.</summary>
    private Dictionary<string, RbdImage> Images(PoolContext pool)
    {
        var images = new Dictionary<string, RbdImage>(StringComparer.Ordinal);
        foreach (var name in Client(pool).List(OsdPool(pool)))
            if (Image(pool, name) is { } image) // null: removed meanwhile
                images[name] = image;
        return images;
    }

    /// <summary>One image of the OSD pool (a parent only when it is in the same OSD pool), or null when there is none: a lookup that does not open every image.</summary>
    private RbdImage? Image(PoolContext pool, string name)
    {
        var osd = OsdPool(pool);
        if (Client(pool).Info(osd, name) is not { } info)
            return null;
        var local = info.ParentPool == osd;
        return new RbdImage(name, info.Size, local ? info.ParentImage : null, local ? info.ParentSnapshot : null,
            info.Snapshots.Select(x => new RbdSnapshot(x.Name, x.Protected, x.Size)).ToList());
    }

    /// <summary>Connections to the clusters this driver's pools use, one per cluster, user and config, made when first needed and closed with the driver (one command).</summary>
    private readonly Dictionary<string, RbdClient> clients = new(StringComparer.Ordinal);

    private RbdClient Client(PoolContext pool)
    {
        var key = $"{Cluster(pool)}\n{User(pool)}\n{ConfigFile(pool)}";
        if (!clients.TryGetValue(key, out var client))
            clients[key] = client = RbdClient.Connect(Cluster(pool), User(pool), ConfigFile(pool));
        return client;
    }

    public void Dispose()
    {
        foreach (var c in clients.Values)
            c.Dispose();
        clients.Clear();
    }

    /// <summary>The feature bits of ceph.rbd.features, or null for the cluster's default features.</summary>
    private static ulong? FeatureMask(PoolContext pool) =>
        pool.Config.GetValueOrDefault(FeaturesKey) is { } f ? f.Split(',').Aggregate(0UL, (m, x) => m | RbdClient.FeatureBits[x]) : null;

    private static bool HasChildren(Dictionary<string, RbdImage> images, string image, string snapshot) =>
        images.Values.Any(i => i.ParentImage == image && i.ParentSnapshot == snapshot);

    // ------------------------------------------------------------------ pools

    public PoolSource CheckSource(string? source, string defaultSource)
    {
        if (source is not null && !OsdPoolName.IsMatch(source))
            throw new ContainerPSException(Errors.InvalidSource,
                $"Invalid source '{Names.Printable(source)}' for a ceph pool: give the name of an OSD pool (letters, digits, '.', '_', '-').", source);
        if (Directory.Exists(defaultSource) && Directory.EnumerateFileSystemEntries(defaultSource).Any())
            throw new ContainerPSException(Errors.SourceNotEmpty,
                $"The pool's directory {defaultSource}, where its volumes are mounted, is not empty (left over from an earlier pool?).", defaultSource);
        return new PoolSource(defaultSource, Owned: true, source is null ? null : new Dictionary<string, string> { [OsdPoolKey] = source });
    }

    public void CreatePool(PoolContext pool)
    {
        var conf = ConfigFile(pool);
        if (!File.Exists(conf))
            throw new ContainerPSException(Errors.CephConfigNotFound,
                $"No config for Ceph cluster '{Cluster(pool)}': {conf} does not exist (set CEPH_CONF or ceph.cluster_name).", conf);
        var osd = OsdPool(pool);
        var existing = Ceph(pool, "rados", "lspools").Split('\n', StringSplitOptions.RemoveEmptyEntries).Contains(osd);
        string marker;
        if (existing)
        {
            var owner = TryCeph(pool, "rados", "-p", osd, "get", MarkerObject, "-");
            if (owner.ExitCode == 0)
                throw new ContainerPSException(Errors.SourceInUse,
                    $"OSD pool '{osd}' is used by ContainerPS pool '{owner.StandardOutput.Split(' ')[0]}' already.", osd);
            if (Client(pool).List(osd).Count > 0)
                throw new ContainerPSException(Errors.SourceNotEmpty, $"OSD pool '{osd}' holds RBD images; give an empty OSD pool.", osd);
            marker = pool.Name + " existing";
        }
        else
        {
            var pg = pool.Config.GetValueOrDefault(PgNumKey) ?? "32";
            Ceph(pool, "ceph", "osd", "pool", "create", osd, pg, pg);
            marker = pool.Name + " created";
        }
        Directory.CreateDirectory(pool.Source, VolumeLayout.Mode0711);
        // Written before the pool is initialised: a removal after a failure here still finds what to undo.
        File.WriteAllText(Path.Join(pool.Source, LocalMarker), marker + "\n");
        Ceph(pool, "rados", "-p", osd, "put", MarkerObject, Path.Join(pool.Source, LocalMarker));
        if (!existing)
            Rbd(pool, "pool", "init", osd);
        VolumeLayout.CreateTypeDirs(pool.Source);
        Directory.CreateDirectory(FuseRoot(pool), VolumeLayout.Mode0700);
    }

    public void UpdatePool(PoolContext pool, IReadOnlyDictionary<string, string?> changes)
    {
        // ceph.rbd.clone_copy and ceph.rbd.features only change how later volumes are made.
    }

    public void DeletePool(PoolContext pool)
    {
        foreach (var mapped in MappedImages(pool))
            Unmap(pool, mapped);
        var local = Path.Join(pool.Source, LocalMarker);
        if (File.Exists(local))
        {
            var marker = File.ReadAllText(local).Trim();
            var osd = OsdPool(pool);
            var remote = TryCeph(pool, "rados", "-p", osd, "get", MarkerObject, "-");
            if (remote.ExitCode == 0 && remote.StandardOutput.Trim() == marker)
            {
                PurgeImages(pool);
                if (marker.EndsWith(" created", StringComparison.Ordinal))
                {
                    var r = TryCeph(pool, "ceph", "osd", "pool", "delete", osd, osd, "--yes-i-really-really-mean-it");
                    if (r.ExitCode != 0)
                    {
                        tool.Log.Warning($"OSD pool '{osd}' was emptied but not deleted (the monitors refuse: set mon_allow_pool_delete=true to let ContainerPS delete the pools it made): {r.StandardError.Trim()}");
                        Ceph(pool, "rados", "-p", osd, "rm", MarkerObject);
                    }
                }
                else
                {
                    Ceph(pool, "rados", "-p", osd, "rm", MarkerObject);
                }
            }
            else if (remote.ExitCode != 0 && !remote.StandardError.Contains("No such file", StringComparison.Ordinal)
                     && !remote.StandardError.Contains("error opening pool", StringComparison.Ordinal))
            {
                throw Failure(pool, "rados", new[] { "get", MarkerObject }, remote.ExitCode, remote.StandardError);
            }
            File.Delete(local);
        }
        if (Directory.Exists(FuseRoot(pool)))
            foreach (var leftover in Directory.GetFiles(FuseRoot(pool), ".*"))
                File.Delete(leftover);
        if (Directory.Exists(pool.Source))
        {
            foreach (var dir in VolumeTypes.All.Select(t => Path.Join(pool.Source, VolumeLayout.TypeDir(t))).Append(FuseRoot(pool)))
                if (Directory.Exists(dir))
                    foreach (var d in Directory.GetDirectories(dir).Append(dir))
                        if (!Mounts.IsMountPoint(d) && !Directory.EnumerateFileSystemEntries(d).Any())
                            Directory.Delete(d);
            if (pool.OwnsSource && !Directory.EnumerateFileSystemEntries(pool.Source).Any())
                Directory.Delete(pool.Source);
        }
    }

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
        var (client, osd) = (Client(pool), OsdPool(pool));
        foreach (var s in image.Snapshots)
        {
            if (s.Protected)
                client.SnapUnprotect(osd, image.Name, s.Name);
            client.SnapRemove(osd, image.Name, s.Name);
        }
        client.Remove(osd, image.Name);
    }

    /// <summary>Used bytes of the OSD pool's images (rbd du). Its size is the cluster's, not known without a mgr.</summary>
    public (long? Used, long? Size) PoolUsage(PoolContext pool)
    {
        using var doc = JsonDocument.Parse(DiskUsageJson(pool));
        return (doc.RootElement.TryGetProperty("total_used_size", out var u) ? u.GetInt64() : 0, null);
    }

    /// <summary>`rbd du` of the OSD pool, read once per command (a listing asks for every volume).</summary>
    private string DiskUsageJson(PoolContext pool) =>
        duCache.TryGetValue(OsdPool(pool), out var json) ? json : duCache[OsdPool(pool)] = Rbd(pool, "du", "--format", "json", "-p", OsdPool(pool)) is { Length: > 0 } s ? s : "{}";

    private readonly Dictionary<string, string> duCache = new(StringComparer.Ordinal);

    // ------------------------------------------------------------------ names and places

    private static string Prefix(string type) => type switch
    {
        VolumeTypes.Custom or VolumeTypes.CustomSnapshot => "custom",
        VolumeTypes.Container or VolumeTypes.Snapshot => "container",
        VolumeTypes.Image => "image",
        _ => throw new ArgumentOutOfRangeException(nameof(type), type, "unknown volume type"),
    };

    /// <summary>The RBD image of a volume (a snapshot volume CONTAINER@NAME: its container's image).</summary>
    private static string ImageName(VolumeContext volume) =>
        $"{Prefix(volume.Type)}_{(VolumeTypes.IsSnapshot(volume.Type) ? volume.Name.Split('@')[0] : volume.Name)}";

    /// <summary>The RBD snapshot of a snapshot volume CONTAINER@NAME.</summary>
    private static string SnapshotName(VolumeContext volume) => "snapshot_" + volume.Name.Split('@', 2)[1];

    private string Spec(PoolContext pool, VolumeContext volume) =>
        VolumeTypes.IsSnapshot(volume.Type)
            ? $"{OsdPool(pool)}/{ImageName(volume)}@{SnapshotName(volume)}"
            : $"{OsdPool(pool)}/{ImageName(volume)}";

    /// <summary>Where the rbd-fuse mounts of the pool's images are: one directory per mapped image.</summary>
    private static string FuseRoot(PoolContext pool) => Path.Join(pool.Source, ".rbd");

    private static string FuseDir(PoolContext pool, string image) => Path.Join(FuseRoot(pool), image);

    public string VolumePath(PoolContext pool, VolumeContext volume) => VolumeLayout.Path(pool.Source, volume);

    private static string Setting(PoolContext pool, VolumeContext volume, string key, string fallback) =>
        volume.Config.GetValueOrDefault(key) ?? pool.Config.GetValueOrDefault("volume." + key) ?? fallback;

    private static long SizeOf(PoolContext pool, VolumeContext volume) =>
        ByteSize.TryParse(Setting(pool, volume, "size", DefaultVolumeSize), out var n) ? n : throw new ArgumentException("bad size");

    // ------------------------------------------------------------------ mapping: rbd-fuse + loop + mount

    /// <summary>Mounts the volume's filesystem at its path (mapping the image first) unless it is mounted already.</summary>
    public string MountVolume(PoolContext pool, VolumeContext volume)
    {
        if (VolumeTypes.IsSnapshot(volume.Type))
            throw new ContainerPSException(Errors.SnapshotNotMountable,
                $"The files of ceph snapshot '{volume.Name}' cannot be read directly (rbd-fuse maps only an image's head): copy the container from the snapshot within the pool, or restore it.", volume.Name);
        var path = VolumePath(pool, volume);
        var image = ImageName(volume);
        if (Mounts.IsMountPoint(path) && !File.Exists(GrowMarker(pool, volume)) && Alive(pool, image))
            return path;
        using var _ = MapLock(pool, image);
        if (Mounts.IsMountPoint(path) && !Alive(pool, image))
        {
            // Its rbd-fuse died (killed, crashed): what was not flushed is lost, as in any crash; the
            // dead mounts go lazily and the image is mapped again.
            tool.Log.Warning($"The rbd-fuse process of volume '{volume.Name}' is gone: mapping RBD image {OsdPool(pool)}/{image} again.");
            DropDeadMapping(pool, image);
        }
        if (Mounts.IsMountPoint(path))
        {
            if (File.Exists(GrowMarker(pool, volume)))
                GrowWhenFree(pool, volume, path);
            return path;
        }
        var loop = Map(pool, ImageName(volume));
        try
        {
            var fs = FilesystemOf(pool, volume);
            if (fs == "ext4")
                GrowExt4Offline(loop);
            Directory.CreateDirectory(path, VolumeLayout.Mode0711);
            MountFilesystem(pool, volume, loop, path);
            if (fs == "xfs")
                tool.Run("xfs_growfs", new[] { path });
        }
        catch
        {
            Unmap(pool, ImageName(volume));
            throw;
        }
        return path;
    }

    /// <summary>Whether the image's rbd-fuse still answers (its file is there): a dead one leaves a mount that fails with ENOTCONN.</summary>
    private static bool Alive(PoolContext pool, string image) => File.Exists(Path.Join(FuseDir(pool, image), image));

    /// <summary>Lazily unmounts a volume whose rbd-fuse is gone, detaches its loop devices and the dead fuse mount.</summary>
    private void DropDeadMapping(PoolContext pool, string image)
    {
        foreach (var path in MountPathsOf(pool, image))
            Mounts.Unmount(path);
        var dir = FuseDir(pool, image);
        foreach (var line in tool.Run("losetup", new[] { "-l", "-n", "-O", "NAME,BACK-FILE" }).Split('\n', StringSplitOptions.RemoveEmptyEntries))
            if (line.Trim().Split(' ', 2, StringSplitOptions.RemoveEmptyEntries) is [var loop, var back] && back.Trim().StartsWith(dir + "/", StringComparison.Ordinal))
                tool.Execute("losetup", new[] { "-d", loop }, null, null);
        Mounts.Unmount(dir);
        // The dead client still holds the image's exclusive lock, and its watch stays until the OSD's
        // watch timeout (30 s): break the lock (rbd blocklists that client) so the next mapping writes at once.
        var spec = $"{OsdPool(pool)}/{image}";
        var locks = TryCeph(pool, "rbd", "lock", "ls", "--format", "json", spec);
        if (locks.ExitCode != 0 || locks.StandardOutput.Trim().Length == 0)
            return;
        using var doc = JsonDocument.Parse(locks.StandardOutput);
        foreach (var l in doc.RootElement.ValueKind == JsonValueKind.Array ? doc.RootElement.EnumerateArray() : Enumerable.Empty<JsonElement>())
            if (l.TryGetProperty("id", out var id) && l.TryGetProperty("locker", out var locker))
                TryCeph(pool, "rbd", "lock", "rm", spec, id.GetString()!, locker.GetString()!);
    }

    private static string FilesystemOf(PoolContext pool, VolumeContext volume) => Setting(pool, volume, "block.filesystem", "ext4");

    /// <summary>Mounts the volume's filesystem from its loop device at its path, with its mount options.</summary>
    private void MountFilesystem(PoolContext pool, VolumeContext volume, string loop, string path)
    {
        var fs = FilesystemOf(pool, volume);
        tool.Run("mount", new[] { "-t", fs, "-o", MountOptionsOf(pool, volume, fs), loop, path });
    }

    /// <summary>The mount options: the volume's block.mount_options, plus what a clone needs (xfs: nouuid) and what keeps ext4 from zeroing its inode tables over RBD.</summary>
    private static string MountOptionsOf(PoolContext pool, VolumeContext volume, string fs)
    {
        var options = Setting(pool, volume, "block.mount_options", "").Split(',', StringSplitOptions.RemoveEmptyEntries).ToList();
        options.Add(fs == "xfs" ? "nouuid" : "noinit_itable");
        return string.Join(',', options.Distinct());
    }

    /// <summary>An exclusive lock on mapping one image, across processes; VolumeBusy after a minute.</summary>
    private static FileStream MapLock(PoolContext pool, string image)
    {
        Directory.CreateDirectory(FuseRoot(pool), VolumeLayout.Mode0700);
        try { return FileLock.Take(Path.Join(FuseRoot(pool), "." + image + ".lock"), TimeSpan.FromSeconds(60)); }
        catch (IOException e)
        {
            throw new ContainerPSException(Errors.VolumeBusy, $"RBD image {OsdPool(pool)}/{image} is being mapped or unmapped by another session (waited 60 s).", image, e);
        }
    }

    /// <summary>Maps an image: rbd-fuse of that one image, then a loop device on its file. Returns the loop device.</summary>
    private string Map(PoolContext pool, string image)
    {
        var dir = FuseDir(pool, image);
        var file = Path.Join(dir, image);
        Directory.CreateDirectory(dir, VolumeLayout.Mode0700);
        if (Mounts.IsMountPoint(dir) && !File.Exists(file))
            Mounts.Unmount(dir); // a dead rbd-fuse's mount (ENOTCONN)
        if (!Mounts.IsMountPoint(dir))
        {
            // rbd-fuse connects as client.admin of the -c config unless CEPH_ARGS says otherwise; Debian 13's
            // crashes on -p without cps-rbd-fuse-compat.so (native/lib).
            var env = new Dictionary<string, string?> { ["CEPH_ARGS"] = $"--cluster {Cluster(pool)} --id {User(pool)} --client_mount_timeout 20" };
            if (NativePrograms.NativeOrNull("cps-rbd-fuse-compat.so") is { } compat)
                env["LD_PRELOAD"] = compat;
            var args = new[] { "-c", ConfigFile(pool), "-p", OsdPool(pool), "-r", image, dir };
            var r = tool.Execute("rbd-fuse", args, null, env, CephTimeout);
            if (r.ExitCode != 0)
                throw Failure(pool, "rbd-fuse", args, r.ExitCode, r.StandardError + r.StandardOutput);
            // rbd-fuse mounts an empty directory, and exits 0, when the image cannot be opened.
            if (!File.Exists(file))
            {
                UnmountFuse(dir);
                throw new ContainerPSException(Errors.VolumeNotFound, $"RBD image {OsdPool(pool)}/{image} could not be mapped (rbd-fuse shows no such image).", image);
            }
        }
        return LoopsOf(file).FirstOrDefault() ?? tool.Run("losetup", new[] { "-f", "--show", file }).Trim();
    }

    private List<string> LoopsOf(string file) =>
        File.Exists(file)
            ? tool.Run("losetup", new[] { "-j", file, "-O", "NAME", "-n" }).Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries).ToList()
            : new List<string>();

    /// <summary>Undoes <see cref="Map"/> and the mount: umount the volume, detach the loop, unmount the fuse. Idempotent; VolumeBusy while the filesystem is in use.</summary>
    private void Unmap(PoolContext pool, string image)
    {
        if (Mounts.IsMountPoint(FuseDir(pool, image)) && !Alive(pool, image))
            DropDeadMapping(pool, image);
        foreach (var path in MountPathsOf(pool, image))
        {
            while (Mounts.IsMountPoint(path))
            {
                var r = tool.Execute("umount", new[] { path }, null, null);
                if (r.ExitCode != 0)
                    throw new ContainerPSException(Errors.VolumeBusy, $"Cannot unmount {path}: {r.StandardError.Trim()} (is a container using it?).", path);
            }
        }
        var dir = FuseDir(pool, image);
        foreach (var loop in LoopsOf(Path.Join(dir, image)))
            tool.Run("losetup", new[] { "-d", loop });
        if (Directory.Exists(dir))
        {
            UnmountFuse(dir);
            Directory.Delete(dir);
        }
        File.Delete(Path.Join(FuseRoot(pool), "." + image + ".grow")); // a fresh mapping grows the filesystem anyway
    }

    /// <summary>Where the volume of an image (custom_NAME, container_NAME, image_NAME) is mounted.</summary>
    private IEnumerable<string> MountPathsOf(PoolContext pool, string image) =>
        VolumeTypes.All.Where(t => !VolumeTypes.IsSnapshot(t) && Prefix(t) == image.Split('_')[0])
            .Select(t => VolumePath(pool, new VolumeContext(image[(image.IndexOf('_') + 1)..], t, new Dictionary<string, string>())));

    private void UnmountFuse(string dir)
    {
        // A detached loop device lets go of the file a moment later: retry while the fuse is busy.
        for (var i = 0; Mounts.IsMountPoint(dir); i++)
        {
            var r = tool.Execute("umount", new[] { dir }, null, null);
            if (r.ExitCode != 0 && i >= 50)
                throw new ContainerPSException(Errors.VolumeBusy, $"Cannot unmount the rbd-fuse mount {dir}: {r.StandardError.Trim()}.", dir);
            if (r.ExitCode != 0)
                Thread.Sleep(100);
        }
    }

    /// <summary>Images with an rbd-fuse mount below the pool's directory (this mount namespace).</summary>
    private static List<string> MappedImages(PoolContext pool) =>
        Directory.Exists(FuseRoot(pool))
            ? Directory.GetDirectories(FuseRoot(pool)).Select(Path.GetFileName).Where(n => n is not null && !n.StartsWith('.')).Select(n => n!).ToList()
            : new List<string>();

    /// <summary>Grows an unmounted ext4 filesystem to its device when the image was grown while the filesystem was in use.</summary>
    private void GrowExt4Offline(string loop)
    {
        var device = long.Parse(tool.Run("blockdev", new[] { "--getsize64", loop }).Trim(), CultureInfo.InvariantCulture);
        var header = tool.Execute("dumpe2fs", new[] { "-h", loop }, null, null).StandardOutput;
        long Field(string name) => Regex.Match(header, $@"^{name}:\s+(\d+)", RegexOptions.Multiline) is { Success: true } m ? long.Parse(m.Groups[1].Value, CultureInfo.InvariantCulture) : 0;
        var blocks = Field("Block count");
        var blockSize = Field("Block size");
        if (blocks == 0 || blockSize == 0 || device - blocks * blockSize < 4 * blockSize)
            return;
        tool.Execute("e2fsck", new[] { "-f", "-p", loop }, null, null);
        tool.Run("resize2fs", new[] { loop });
    }

    /// <summary>Snapshots an image; a mounted filesystem is frozen around it so the snapshot is consistent.</summary>
    private void Snapshot(PoolContext pool, VolumeContext volume, string snapshot)
    {
        var path = VolumePath(pool, volume);
        var frozen = !VolumeTypes.IsSnapshot(volume.Type) && Mounts.IsMountPoint(path);
        if (frozen)
            tool.Run("fsfreeze", new[] { "-f", path });
        try { Client(pool).SnapCreate(OsdPool(pool), ImageName(volume), snapshot); }
        finally
        {
            if (frozen)
                tool.Run("fsfreeze", new[] { "-u", path });
        }
    }

    // ------------------------------------------------------------------ volumes

    public bool VolumeExists(PoolContext pool, VolumeContext volume)
    {
        return Image(pool, ImageName(volume)) is { } image
               && (!VolumeTypes.IsSnapshot(volume.Type) || image.Snapshots.Any(s => s.Name == SnapshotName(volume)));
    }

    public void CreateVolume(PoolContext pool, VolumeContext volume)
    {
        var image = ImageName(volume);
        var exists = Image(pool, image) is not null;
        if (volume.Type == VolumeTypes.Image && !exists && Image(pool, Zombie(image)) is not null)
        {
            // The same image again (its name is its content's hash): the image kept for its clones is taken back.
            Client(pool).Rename(OsdPool(pool), Zombie(image), image);
            MountVolume(pool, volume);
            return;
        }
        if (exists)
            throw new ContainerPSException(Errors.VolumeExists, $"RBD image {OsdPool(pool)}/{image} already exists but the pool has no such volume; remove it first.", image);
        var size = SizeOf(pool, volume);
        Client(pool).Create(OsdPool(pool), image, size, FeatureMask(pool));
        try
        {
            string loop;
            using (MapLock(pool, image))
                loop = Map(pool, image);
            if (FilesystemOf(pool, volume) == "xfs")
                tool.Run("mkfs.xfs", new[] { "-q", "-K", loop });
            else
                tool.Run("mkfs.ext4", new[] { "-q", "-F", "-E", "nodiscard,lazy_itable_init=1,lazy_journal_init=1", loop });
            MountVolume(pool, volume);
        }
        catch
        {
            try { DeleteVolume(pool, volume); }
            catch (ContainerPSException e) { tool.Log.Warning($"Could not remove the half-made RBD image {image}: {e.Message}"); }
            throw;
        }
    }

    /// <summary>The name an image gets while clones keep it: an image volume's is fixed (a later import takes it back), others' are unique.</summary>
    private static string Zombie(string image) =>
        image.StartsWith("image_", StringComparison.Ordinal) ? "zombie_" + image : $"zombie_{image}_{Guid.NewGuid():n}";

    public void DeleteVolume(PoolContext pool, VolumeContext volume)
    {
        var image = ImageName(volume);
        var osd = OsdPool(pool);
        if (VolumeTypes.IsSnapshot(volume.Type))
        {
            var images = Images(pool);
            if (images.TryGetValue(image, out var owner) && owner.Snapshots.FirstOrDefault(s => s.Name == SnapshotName(volume)) is { } snap)
            {
                if (HasChildren(images, image, snap.Name))
                    Client(pool).SnapRename(osd, image, snap.Name, $"zombie_{Guid.NewGuid():n}");
                else
                {
                    if (snap.Protected)
                        Client(pool).SnapUnprotect(osd, image, snap.Name);
                    Client(pool).SnapRemove(osd, image, snap.Name);
                }
            }
            return; // the snapshot of a live image frees nothing else
        }
        using (MapLock(pool, image))
            Unmap(pool, image);
        var all = Images(pool);
        if (all.TryGetValue(image, out var rbd))
        {
            if (rbd.Snapshots.Any(s => HasChildren(all, image, s.Name)))
                Client(pool).Rename(osd, image, Zombie(image)); // kept for its clones
            else
            {
                RemoveImage(pool, rbd);
                // A removed clone may have been the last child of a copy-* snapshot or of a zombie image.
                if (rbd.ParentImage is not null)
                    CollectZombies(pool);
            }
        }
        var path = VolumePath(pool, volume);
        if (Directory.Exists(path) && !Mounts.IsMountPoint(path) && !Directory.EnumerateFileSystemEntries(path).Any())
            Directory.Delete(path);
        foreach (var leftover in new[] { Path.Join(FuseRoot(pool), "." + image + ".lock"), GrowMarker(pool, volume) })
            if (File.Exists(leftover))
                File.Delete(leftover);
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
                foreach (var s in image.Snapshots.Where(s => (zombie || s.Name.StartsWith("copy-", StringComparison.Ordinal) || s.Name.StartsWith("zombie_", StringComparison.Ordinal))
                                                              && !HasChildren(images, image.Name, s.Name)))
                {
                    if (s.Protected)
                        Client(pool).SnapUnprotect(OsdPool(pool), image.Name, s.Name);
                    Client(pool).SnapRemove(OsdPool(pool), image.Name, s.Name);
                    progress = true;
                }
                if (zombie && !images.Values.Any(c => c.ParentImage == image.Name) && (progress || image.Snapshots.Count == 0))
                {
                    if (Image(pool, image.Name) is { Snapshots.Count: 0 })
                    {
                        Client(pool).Remove(OsdPool(pool), image.Name);
                        progress = true;
                    }
                }
                if (progress)
                    break; // the listing is stale: read it again
            }
        }
    }

    public void RenameVolume(PoolContext pool, VolumeContext volume, string newName)
    {
        var target = volume with { Name = newName };
        var osd = OsdPool(pool);
        if (VolumeTypes.IsSnapshot(volume.Type))
        {
            // A snapshot moves with its container's image; only a rename within one image is left to do.
            if (VolumeExists(pool, target))
                return;
            if (ImageName(volume) != ImageName(target))
                throw new ContainerPSException(Errors.VolumeExists, $"Snapshot {Spec(pool, volume)} cannot move to another image ({Spec(pool, target)}).", newName);
            Client(pool).SnapRename(osd, ImageName(volume), SnapshotName(volume), SnapshotName(target));
            return;
        }
        if (VolumeExists(pool, target))
            throw new ContainerPSException(Errors.VolumeExists, $"RBD image {Spec(pool, target)} already exists.", newName);
        using (MapLock(pool, ImageName(volume)))
            Unmap(pool, ImageName(volume));
        Client(pool).Rename(osd, ImageName(volume), ImageName(target));
        var old = VolumePath(pool, volume);
        if (Directory.Exists(old) && !Mounts.IsMountPoint(old) && !Directory.EnumerateFileSystemEntries(old).Any())
            Directory.Delete(old);
        MountAfter(pool, target, "renaming");
    }

    /// <summary>
    /// Mounts a volume again after an operation that had to unmap it, so its path shows its files as
    /// on the other drivers; a failure here is a warning (the operation itself is done, and the next
    /// command that needs the files mounts them).
    /// </summary>
    private void MountAfter(PoolContext pool, VolumeContext volume, string what)
    {
        try { MountVolume(pool, volume); }
        catch (ContainerPSException e) { tool.Log.Warning($"After {what} '{volume.Name}', its filesystem could not be mounted yet: {e.Message}"); }
    }

    /// <summary>
    /// A container snapshot (an RBD snapshot, the filesystem frozen around it), else a clone of a
    /// protected snapshot (ceph.rbd.clone_copy, the default; constant time), else a full rbd copy
    /// (another OSD pool, or clone_copy=false), or export | import between clusters.
    /// </summary>
    public void CopyVolume(PoolContext sourcePool, VolumeContext source, PoolContext pool, VolumeContext target)
    {
        if (VolumeTypes.IsSnapshot(target.Type))
        {
            if (VolumeTypes.IsSnapshot(source.Type) || ImageName(source) != ImageName(target))
                throw new ContainerPSException(Errors.InvalidSnapshot, $"An RBD snapshot is taken of its own image: {target.Name} is not a snapshot of {source.Name}.", target.Name);
            Snapshot(sourcePool, source, SnapshotName(target));
            return;
        }
        if (Image(pool, ImageName(target)) is not null)
            throw new ContainerPSException(Errors.VolumeExists, $"RBD image {Spec(pool, target)} already exists.", target.Name);
        var sameCluster = Cluster(sourcePool) == Cluster(pool) && ConfigFile(sourcePool) == ConfigFile(pool);
        var clone = sameCluster && OsdPool(sourcePool) == OsdPool(pool) && pool.Config.GetValueOrDefault(CloneCopyKey) != "false";
        var (originImage, originSnap, originSize) = Origin(sourcePool, source, protect: clone);
        var origin = $"{OsdPool(sourcePool)}/{originImage}@{originSnap}";
        try
        {
            if (clone)
                Client(pool).Clone(OsdPool(sourcePool), originImage, originSnap, OsdPool(pool), ImageName(target), FeatureMask(pool));
            else if (sameCluster)
                Rbd(pool, "cp", "--no-progress", origin, Spec(pool, target));
            else
                tool.RunPipe(new[] { "rbd" }.Concat(Connect(sourcePool)).Concat(new[] { "export", "--no-progress", origin, "-" }).ToArray(),
                    new[] { "rbd" }.Concat(Connect(pool)).Concat(new[] { "import", "--no-progress", "-", Spec(pool, target) }).ToArray());
            // A copy has the size the origin had when it was taken.
            var wanted = SizeOf(pool, target);
            if (wanted > originSize)
                Grow(pool, target, wanted);
            MountVolume(pool, target);
        }
        catch
        {
            try { DeleteVolume(pool, target); }
            catch (ContainerPSException e) { tool.Log.Warning($"Could not remove the half-made copy {Spec(pool, target)}: {e.Message}"); }
            throw;
        }
        finally
        {
            // A full copy needs the copy-* snapshot it was read from no more (a clone keeps it as its parent).
            if (!clone && originSnap.StartsWith("copy-", StringComparison.Ordinal))
                Client(sourcePool).SnapRemove(OsdPool(sourcePool), originImage, originSnap);
        }
    }

    /// <summary>
    /// The snapshot a copy is made from: a snapshot volume's own, an image volume's `readonly`
    /// snapshot (made once), else a new copy-* snapshot; protected when it is to be cloned. Returns
    /// it with its size.
    /// </summary>
    private (string Image, string Snapshot, long Size) Origin(PoolContext pool, VolumeContext source, bool protect)
    {
        if (Image(pool, ImageName(source)) is not { } image)
            throw new ContainerPSException(Errors.VolumeNotFound, $"RBD image {OsdPool(pool)}/{ImageName(source)} does not exist.", source.Name);
        var snapshot = source.Type switch
        {
            VolumeTypes.Snapshot or VolumeTypes.CustomSnapshot => SnapshotName(source),
            VolumeTypes.Image => ImageSnapshot,
            _ => $"copy-{Guid.NewGuid():n}",
        };
        var existing = image.Snapshots.FirstOrDefault(s => s.Name == snapshot);
        if (existing is null)
        {
            if (VolumeTypes.IsSnapshot(source.Type))
                throw new ContainerPSException(Errors.VolumeNotFound, $"RBD snapshot {Spec(pool, source)} does not exist.", source.Name);
            Snapshot(pool, source, snapshot);
        }
        if (protect && existing is not { Protected: true })
            Client(pool).SnapProtect(OsdPool(pool), image.Name, snapshot);
        return (image.Name, snapshot, existing?.Size ?? image.Size);
    }

    /// <summary>rbd snap rollback, with the image unmapped (no mount or cache may hold the old blocks), then mounted again.</summary>
    public void RestoreVolume(PoolContext pool, VolumeContext snapshot, VolumeContext target)
    {
        using (MapLock(pool, ImageName(target)))
            Unmap(pool, ImageName(target));
        Client(pool).SnapRollback(OsdPool(pool), ImageName(snapshot), SnapshotName(snapshot));
        MountAfter(pool, target, "restoring");
    }

    public void UpdateVolume(PoolContext pool, VolumeContext volume, IReadOnlyDictionary<string, string?> changes)
    {
        if (changes.ContainsKey("block.mount_options"))
        {
            var path = VolumePath(pool, volume);
            if (Mounts.IsMountPoint(path))
            {
                tool.Run("mount", new[] { "-o", "remount," + MountOptionsOf(pool, volume, FilesystemOf(pool, volume)), path });
            }
        }
        if (!changes.TryGetValue("size", out var size))
            return;
        var wanted = SizeOf(pool, volume);
        var current = Image(pool, ImageName(volume)) is { } image ? image.Size
            : throw new ContainerPSException(Errors.VolumeNotFound, $"RBD image {Spec(pool, volume)} does not exist.", volume.Name);
        if (wanted < current)
            throw new ContainerPSException(Errors.VolumeShrinkNotSupported,
                $"A ceph volume can grow, not shrink: '{volume.Name}' is {ByteSize.Format(current)} and size {size ?? DefaultVolumeSize} is smaller.", volume.Name);
        if (wanted > current)
            Grow(pool, volume, wanted);
    }

    /// <summary>
    /// Grows the image, then its filesystem: online where the kernel lets this host (xfs; ext4 needs
    /// CAP_SYS_RESOURCE), else offline when nothing else has it mounted, else at its next mount.
    /// </summary>
    private void Grow(PoolContext pool, VolumeContext volume, long bytes)
    {
        var path = VolumePath(pool, volume);
        var file = Path.Join(FuseDir(pool, ImageName(volume)), ImageName(volume));
        var loop = LoopsOf(file).FirstOrDefault();
        if (loop is null)
        {
            Client(pool).Resize(OsdPool(pool), ImageName(volume), bytes);
            return; // not mapped: MountVolume grows the filesystem
        }
        // Through the mapping's own file: rbd-fuse resizes the image and shows the new size at once
        // (a resize by another client reaches its cached attributes only a second or so later).
        using (var f = new FileStream(file, FileMode.Open, FileAccess.Write))
            f.SetLength(bytes);
        tool.Run("losetup", new[] { "-c", loop });
        var fs = FilesystemOf(pool, volume);
        if (!Mounts.IsMountPoint(path))
            return;
        if (fs == "xfs")
        {
            tool.Run("xfs_growfs", new[] { path });
            return;
        }
        if (tool.Execute("resize2fs", new[] { loop }, null, null).ExitCode == 0)
            return;
        using (MapLock(pool, ImageName(volume)))
        {
            File.WriteAllText(GrowMarker(pool, volume), "");
            if (!GrowWhenFree(pool, volume, path))
                tool.Log.Warning($"The RBD image of '{volume.Name}' grew to {ByteSize.Format(bytes)}; its ext4 filesystem grows when no running container uses the volume (at its next start or mount): this host cannot resize ext4 online without CAP_SYS_RESOURCE.");
        }
    }

    /// <summary>Marks a volume whose image grew while its ext4 filesystem could not (in use, no online resize here).</summary>
    private static string GrowMarker(PoolContext pool, VolumeContext volume) => Path.Join(FuseRoot(pool), "." + ImageName(volume) + ".grow");

    /// <summary>
    /// Unmounts the volume's ext4 filesystem and grows it offline unless another mount (a running
    /// container's) still holds it; mounts it again either way. True when it grew (the marker goes).
    /// </summary>
    private bool GrowWhenFree(PoolContext pool, VolumeContext volume, string path)
    {
        var loop = LoopsOf(Path.Join(FuseDir(pool, ImageName(volume)), ImageName(volume))).FirstOrDefault();
        if (loop is null)
            return false;
        tool.Run("umount", new[] { path });
        var free = !LibC.DeviceInUse(loop);
        try
        {
            if (free)
                GrowExt4Offline(loop);
        }
        finally { MountFilesystem(pool, volume, loop, path); }
        if (free)
            File.Delete(GrowMarker(pool, volume));
        return free;
    }

    /// <summary>Used bytes: the mounted filesystem's (statvfs), else the image's or snapshot's in `rbd du`.</summary>
    public long? VolumeUsage(PoolContext pool, VolumeContext volume)
    {
        var path = VolumePath(pool, volume);
        if (!VolumeTypes.IsSnapshot(volume.Type) && Mounts.IsMountPoint(path))
            return DiskUsage.Filesystem(path).Used;
        using var doc = JsonDocument.Parse(DiskUsageJson(pool));
        if (!doc.RootElement.TryGetProperty("images", out var list))
            return null;
        foreach (var e in list.EnumerateArray())
        {
            var snap = e.TryGetProperty("snapshot", out var s) ? s.GetString() : null;
            if (e.GetProperty("name").GetString() == ImageName(volume) && snap == (VolumeTypes.IsSnapshot(volume.Type) ? SnapshotName(volume) : null))
                return e.GetProperty("used_size").GetInt64();
        }
        return null;
    }

    public bool EnforcesSize(PoolContext pool) => true;
}
