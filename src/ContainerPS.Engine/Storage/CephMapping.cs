using System.Globalization;
using System.Text.Json;
using System.Text.RegularExpressions;
using static ContainerPS.Engine.Storage.CephCluster;
using static ContainerPS.Engine.Storage.BlockVolumes;
using static ContainerPS.Engine.Storage.CephNames;

namespace ContainerPS.Engine.Storage;

/// <summary>
/// How a ceph volume's files are reached on this host: the image mapped with the kernel's rbd
/// (<see cref="CephKrbd"/>, /dev/rbdN) or, where the kernel has no rbd or ceph.rbd.map=fuse, with
/// rbd-fuse of its one image and a loop device on the image's file; then a mount of its filesystem
/// at the volume's path, made under a per-image lock and torn down again (umount, then rbd unmap,
/// or losetup -d and umount of the fuse). An image stays mapped the way it was mapped until it is
/// unmapped (a change of ceph.rbd.map applies at its next mapping). Also what needs that mapping:
/// repairing one whose rbd-fuse died, growing the filesystem with its image, and freezing it
/// around an RBD snapshot.
/// </summary>
internal sealed class CephMapping(CephCluster cluster, ExternalTool tool, CephOwnership ownership, CephKrbd krbd)
{
    /// <summary>Mounts the volume's filesystem at its path (mapping the image first) unless it is mounted already.</summary>
    public string MountVolume(PoolContext pool, VolumeContext volume)
    {
        if (VolumeTypes.IsSnapshot(volume.Type))
            throw new ContainerPSException(Errors.SnapshotNotMountable,
                $"The files of ceph snapshot '{volume.Name}' cannot be read directly (rbd-fuse maps only an image's head): copy the container from the snapshot within the pool, or restore it.", volume.Name);
        var path = VolumePath(pool, volume);
        var image = ImageName(volume);
        if (Mounts.IsMountPoint(path) && !File.Exists(GrowMarker(pool, image)) && Alive(pool, image))
            return path;
        using var _ = MapLock(pool, image);
        if (Mounts.IsMountPoint(path) && !Alive(pool, image))
        {
            // Its rbd-fuse died (killed, crashed) or its kernel device was unmapped behind our back: what
            // was not flushed is lost, as in any crash; the dead mounts go lazily and the image is mapped again.
            tool.Log.Warning(CephKrbd.Recorded(pool, image)
                ? $"The kernel RBD device of volume '{volume.Name}' is gone: mapping RBD image {OsdPool(pool)}/{image} again."
                : $"The rbd-fuse process of volume '{volume.Name}' is gone: mapping RBD image {OsdPool(pool)}/{image} again.");
            DropDeadMapping(pool, image);
        }
        if (Mounts.IsMountPoint(path))
        {
            if (File.Exists(GrowMarker(pool, image)))
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

    /// <summary>
    /// Mounts a volume again after an operation that had to unmap it, so its path shows its files as
    /// on the other drivers; a failure here is a warning (the operation itself is done, and the next
    /// command that needs the files mounts them).
    /// </summary>
    public void MountAfter(PoolContext pool, VolumeContext volume, string what)
    {
        try { MountVolume(pool, volume); }
        catch (ContainerPSException e) { tool.Log.Warning($"After {what} '{volume.Name}', its filesystem could not be mounted yet: {e.Message}"); }
    }

    /// <summary>Whether the image's mapping is live: its kernel device maps it, or its rbd-fuse still answers (its file is there; a dead one leaves a mount that fails with ENOTCONN).</summary>
    private static bool Alive(PoolContext pool, string image) =>
        CephKrbd.Recorded(pool, image) ? CephKrbd.Device(pool, image) is not null : File.Exists(Path.Join(FuseDir(pool, image), image));

    /// <summary>The block device the image's filesystem is on (/dev/rbdN, or the loop device on its rbd-fuse file), or null when it is not mapped.</summary>
    public string? DeviceOf(PoolContext pool, string image) =>
        CephKrbd.Recorded(pool, image) ? CephKrbd.Device(pool, image) : LoopsOf(Path.Join(FuseDir(pool, image), image)).FirstOrDefault();

    /// <summary>Lazily unmounts a volume whose mapping is gone; then drops a kernel mapping's record, or detaches its loop devices and the dead fuse mount.</summary>
    private void DropDeadMapping(PoolContext pool, string image)
    {
        foreach (var path in MountPathsOf(pool, image))
            Mounts.Unmount(path);
        if (CephKrbd.Recorded(pool, image))
        {
            krbd.Unmap(pool, image);
            return;
        }
        var dir = FuseDir(pool, image);
        foreach (var line in tool.Run("losetup", new[] { "-l", "-n", "-O", "NAME,BACK-FILE" }).Split('\n', StringSplitOptions.RemoveEmptyEntries))
            if (line.Trim().Split(' ', 2, StringSplitOptions.RemoveEmptyEntries) is [var loop, var back] && back.Trim().StartsWith(dir + "/", StringComparison.Ordinal))
                tool.Execute("losetup", new[] { "-d", loop }, null, null);
        Mounts.Unmount(dir);
        // The dead client still holds the image's exclusive lock, and its watch stays until the OSD's
        // watch timeout (30 s): break the lock (rbd blocklists that client) so the next mapping writes at once.
        var spec = $"{OsdPool(pool)}/{image}";
        var locks = cluster.TryCeph(pool, "rbd", "lock", "ls", "--format", "json", spec);
        if (locks.ExitCode != 0 || locks.StandardOutput.Trim().Length == 0)
            return;
        using var doc = JsonDocument.Parse(locks.StandardOutput);
        foreach (var l in doc.RootElement.ValueKind == JsonValueKind.Array ? doc.RootElement.EnumerateArray() : Enumerable.Empty<JsonElement>())
            if (l.TryGetProperty("id", out var id) && l.TryGetProperty("locker", out var locker))
                cluster.TryCeph(pool, "rbd", "lock", "rm", spec, id.GetString()!, locker.GetString()!);
    }

    /// <summary>Mounts the volume's filesystem from its loop device at its path, with its mount options.</summary>
    private void MountFilesystem(PoolContext pool, VolumeContext volume, string loop, string path)
    {
        var fs = FilesystemOf(pool, volume);
        tool.Run("mount", new[] { "-t", fs, "-o", MountOptionsOf(pool, volume, fs), loop, path });
    }

    /// <summary>An exclusive lock on mapping one image, across processes; VolumeBusy after a minute.</summary>
    public static FileStream MapLock(PoolContext pool, string image)
    {
        Directory.CreateDirectory(FuseRoot(pool), VolumeLayout.Mode0700);
        try { return FileLock.Take(LockFile(pool, image), TimeSpan.FromSeconds(60)); }
        catch (IOException e)
        {
            throw new ContainerPSException(Errors.VolumeBusy, $"RBD image {OsdPool(pool)}/{image} is being mapped or unmapped by another session (waited 60 s).", image, e);
        }
    }

    /// <summary>
    /// Maps an image the way it is mapped already, else as the pool's ceph.rbd.map says: with the
    /// kernel, or rbd-fuse of that one image and a loop device on its file. Returns the block device.
    /// </summary>
    public string Map(PoolContext pool, string image)
    {
        var dir = FuseDir(pool, image);
        var file = Path.Join(dir, image);
        if (CephKrbd.Recorded(pool, image) || (!Mounts.IsMountPoint(dir) && krbd.Mode(pool) == CephKrbd.Krbd))
        {
            // Only the image's owner maps it (another host sharing the OSD pool may have it).
            if (!image.StartsWith("image_", StringComparison.Ordinal) && CephKrbd.Device(pool, image) is null)
                ownership.CheckOwned(pool, image);
            return krbd.Map(pool, image);
        }
        Directory.CreateDirectory(dir, VolumeLayout.Mode0700);
        if (Mounts.IsMountPoint(dir) && !File.Exists(file))
            Mounts.Unmount(dir); // a dead rbd-fuse's mount (ENOTCONN)
        if (!Mounts.IsMountPoint(dir))
        {
            // Only the image's owner writes it: another host sharing the OSD pool may have it (rbd-fuse clients hand librbd's lock to each other).
            if (!image.StartsWith("image_", StringComparison.Ordinal))
                ownership.CheckOwned(pool, image);
            // rbd-fuse connects as client.admin of the -c config unless CEPH_ARGS says otherwise; Debian 13's
            // crashes on -p without cps-rbd-fuse-compat.so (native/lib).
            var env = new Dictionary<string, string?> { ["CEPH_ARGS"] = $"--cluster {Cluster(pool)} --id {User(pool)} --client_mount_timeout 20" };
            if (NativePrograms.NativeOrNull("cps-rbd-fuse-compat.so") is { } compat)
                env["LD_PRELOAD"] = compat;
            var args = new[] { "-c", ConfigFile(pool), "-p", OsdPool(pool), "-r", image, dir };
            var r = tool.Execute("rbd-fuse", args, null, env, ToolTimeout);
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

    /// <summary>Undoes <see cref="Map"/> and the mount: umount the volume, then rbd unmap, or detach the loop and unmount the fuse. Idempotent; VolumeBusy while the filesystem is in use.</summary>
    public void Unmap(PoolContext pool, string image)
    {
        if ((Mounts.IsMountPoint(FuseDir(pool, image)) || CephKrbd.Recorded(pool, image)) && !Alive(pool, image))
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
        File.Delete(GrowMarker(pool, image)); // a fresh mapping grows the filesystem anyway
        if (CephKrbd.Recorded(pool, image))
        {
            krbd.Unmap(pool, image);
            return;
        }
        var dir = FuseDir(pool, image);
        foreach (var loop in LoopsOf(Path.Join(dir, image)))
            tool.Run("losetup", new[] { "-d", loop });
        if (Directory.Exists(dir))
        {
            UnmountFuse(dir);
            Directory.Delete(dir);
        }
    }

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
    public static List<string> MappedImages(PoolContext pool) =>
        Directory.Exists(FuseRoot(pool))
            ? Directory.GetDirectories(FuseRoot(pool)).Select(Path.GetFileName).Where(n => n is not null && !n.StartsWith('.')).Select(n => n!).ToList()
            : new List<string>();

    // ------------------------------------------------------------------ growing and snapshots

    /// <summary>
    /// Grows the image, then its filesystem: online where the kernel lets this host (xfs; ext4 needs
    /// CAP_SYS_RESOURCE), else offline when nothing else has it mounted, else at its next mount.
    /// </summary>
    public void Grow(PoolContext pool, VolumeContext volume, long bytes)
    {
        ownership.CheckOwned(pool, ImageName(volume));
        var path = VolumePath(pool, volume);
        var file = Path.Join(FuseDir(pool, ImageName(volume)), ImageName(volume));
        var loop = DeviceOf(pool, ImageName(volume));
        if (loop is null || CephKrbd.Recorded(pool, ImageName(volume)))
        {
            cluster.Client(pool).Resize(OsdPool(pool), ImageName(volume), bytes);
            if (loop is null)
                return; // not mapped: MountVolume grows the filesystem
            krbd.WaitForSize(loop, bytes);
        }
        else
        {
            // Through the mapping's own file: rbd-fuse resizes the image and shows the new size at once
            // (a resize by another client reaches its cached attributes only a second or so later).
            using (var f = new FileStream(file, FileMode.Open, FileAccess.Write))
                f.SetLength(bytes);
            tool.Run("losetup", new[] { "-c", loop });
        }
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
            File.WriteAllText(GrowMarker(pool, ImageName(volume)), "");
            if (!GrowWhenFree(pool, volume, path))
                tool.Log.Warning($"The RBD image of '{volume.Name}' grew to {ByteSize.Format(bytes)}; its ext4 filesystem grows when no running container uses the volume (at its next start or mount): this host cannot resize ext4 online without CAP_SYS_RESOURCE.");
        }
    }

    /// <summary>
    /// Unmounts the volume's ext4 filesystem and grows it offline unless another mount (a running
    /// container's) still holds it; mounts it again either way. True when it grew (the marker goes).
    /// </summary>
    private bool GrowWhenFree(PoolContext pool, VolumeContext volume, string path)
    {
        var loop = DeviceOf(pool, ImageName(volume));
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
            File.Delete(GrowMarker(pool, ImageName(volume)));
        return free;
    }

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
    public void Snapshot(PoolContext pool, VolumeContext volume, string snapshot)
    {
        var path = VolumePath(pool, volume);
        var frozen = !VolumeTypes.IsSnapshot(volume.Type) && Mounts.IsMountPoint(path);
        if (frozen)
            tool.Run("fsfreeze", new[] { "-f", path });
        try { cluster.Client(pool).SnapCreate(OsdPool(pool), ImageName(volume), snapshot); }
        finally
        {
            if (frozen)
                tool.Run("fsfreeze", new[] { "-u", path });
        }
    }
}
