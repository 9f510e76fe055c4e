namespace ContainerPS.Engine.Storage;

/// <summary>
/// The dir driver: a pool is a directory, a volume a directory below it
/// (SOURCE/custom/NAME, SOURCE/containers/NAME, SOURCE/images/NAME). Copies use cp -a
/// --reflink=auto (reflinks where the filesystem has them). A size is enforced with project quotas
/// where the pool's filesystem enforces them (ext4 mounted prjquota, xfs mounted pquota), as LXD's
/// dir driver does: the volume's tree gets a project id (the inode number of the volume's directory:
/// unique on its filesystem while it exists, kept across renames, no state to keep) with the inherit
/// flag on its directories, and the project a block limit. Elsewhere a size is recorded only.
/// </summary>
public sealed class DirDriver : IStorageDriver
{
    private readonly ExternalTool tool;

    public DirDriver(ExternalTool tool) => this.tool = tool;

    public string Name => "dir";

    public bool SnapshotFilesReadable => true;

    public ConfigSchema Schema { get; } = new("dir",
        poolKeys: new[]
        {
            new ConfigKey("source", ConfigValues.Any, "The directory holding the pool (set with -Source).", SetOnlyAtCreation: true),
        },
        volumeKeys: new[]
        {
            new ConfigKey("size", ConfigValues.Size, "Size limit of the volume: enforced where the pool's filesystem has project quotas (ext4 mounted prjquota, xfs pquota), else only recorded."),
        });

    public PoolSource CheckSource(string? source, string defaultSource)
    {
        if (source is null)
        {
            if (Directory.Exists(defaultSource) && Directory.EnumerateFileSystemEntries(defaultSource).Any())
                throw new ContainerPSException(Errors.SourceNotEmpty,
                    $"The default location of the pool, {defaultSource}, is not empty (left over from an earlier pool?). Remove it or give -Source.", defaultSource);
            return new PoolSource(defaultSource, Owned: true);
        }
        if (source.Length == 0 || HostPath.HasControlCharacters(source) || !Path.IsPathRooted(source))
            throw InvalidSource(source, "it must be an absolute path without control characters");
        string path;
        try { path = HostPath.Canonical(source); }
        catch (IOException e) { throw InvalidSource(source, e.Message); }

        if (File.Exists(path))
            throw InvalidSource(source, "it is a file, not a directory");
        if (Path.Exists(path) && !Directory.Exists(path))
            throw InvalidSource(source, "it exists and is not a directory");
        if (Directory.Exists(path))
        {
            if (Directory.EnumerateFileSystemEntries(path).Any())
                throw new ContainerPSException(Errors.SourceNotEmpty,
                    $"Source '{source}' is a directory that is not empty; a dir pool needs an empty or new directory.", source);
            return new PoolSource(path, Owned: false);
        }
        var parent = Path.GetDirectoryName(path);
        if (parent is null || !Directory.Exists(parent))
            throw InvalidSource(source, $"its parent directory {parent} does not exist");
        return new PoolSource(path, Owned: true);
    }

    private static ContainerPSException InvalidSource(string source, string why) =>
        new(Errors.InvalidSource, $"Invalid source '{Names.Printable(source)}' for a dir pool: {why}.", source);

    public void CreatePool(PoolContext pool)
    {
        if (!Directory.Exists(pool.Source))
            Directory.CreateDirectory(pool.Source, VolumeLayout.Mode0711);
        VolumeLayout.CreateTypeDirs(pool.Source);
    }

    public void UpdatePool(PoolContext pool, IReadOnlyDictionary<string, string?> changes)
    {
        // A dir pool has no keys that change anything on disk.
    }

    public void DeletePool(PoolContext pool)
    {
        foreach (var type in VolumeTypes.All)
            RemoveTree(Path.Join(pool.Source, VolumeLayout.TypeDir(type)));
        if (!pool.OwnsSource || !Directory.Exists(pool.Source))
            return;
        if (Directory.EnumerateFileSystemEntries(pool.Source).Any())
            tool.Log.Warning($"Kept {pool.Source}: it holds files ContainerPS did not create. Remove it by hand when they are no longer needed.");
        else
            Directory.Delete(pool.Source, recursive: false);
    }

    public (long? Used, long? Size) PoolUsage(PoolContext pool)
    {
        if (!Directory.Exists(pool.Source))
            return (null, null);
        var (total, used) = DiskUsage.Filesystem(pool.Source);
        return (used, total);
    }

    public string VolumePath(PoolContext pool, VolumeContext volume) => VolumeLayout.Path(pool.Source, volume);

    private static string TempPath(PoolContext pool, VolumeContext volume) => VolumeLayout.TempPath(pool.Source, volume);

    public bool VolumeExists(PoolContext pool, VolumeContext volume) => Directory.Exists(VolumePath(pool, volume));

    public void CreateVolume(PoolContext pool, VolumeContext volume)
    {
        var path = VolumePath(pool, volume);
        if (Path.Exists(path))
            throw new ContainerPSException(Errors.VolumeExists,
                $"The directory for volume '{volume.Type.Name()}/{volume.Name}' already exists at {path} but the pool has no such volume; remove it first.", path);
        Directory.CreateDirectory(path, VolumeLayout.Mode0755);
        try { ApplySize(pool, volume, path, volume.Config.GetValueOrDefault("size")); }
        catch
        {
            RemoveTree(path);
            throw;
        }
    }

    /// <summary>
    /// The volume's project quota: its tree joins its project and the project gets the size as its
    /// limit; no size removes the limit. Nothing happens where the filesystem does not enforce project
    /// quotas (the size is only recorded there), nor for snapshots (read-only copies).
    /// </summary>
    private void ApplySize(PoolContext pool, VolumeContext volume, string path, string? size)
    {
        if (VolumeTypes.IsSnapshot(volume.Type) || !EnforcesSize(pool))
            return;
        long bytes = 0;
        if (size is not null && !ByteSize.TryParse(size, out bytes))
            throw new ContainerPSException(Errors.InvalidConfigValue, $"Invalid size '{size}'.", size);
        var project = ProjectOf(pool.Source, path);
        if (size is not null)
            ProjectQuota.SetProject(path, project);
        ProjectQuota.SetLimit(pool.Source, project, bytes);
        tool.Log.Verbose($"Project quota {project} of {path}: {(size is null ? "no limit" : $"{bytes} bytes")}");
    }

    /// <summary>
    /// The project id of a volume's tree: the one its directory already has (kept across renames and
    /// set only from the host: a user namespace cannot change it); for a new tree the inode number of its
    /// directory (unique on the filesystem while it exists); where that does not fit in 32 bits (a large
    /// xfs), the first id from a hash of it that no project of the filesystem uses yet.
    /// </summary>
    private static uint ProjectOf(string poolSource, string path)
    {
        var current = ProjectQuota.GetProject(path);
        // (One its parent has too is inherited from an admin's project around the pool, never ours.)
        if (current != 0 && current != ProjectQuota.GetProject(Path.GetDirectoryName(path)!))
            return current;
        var ino = LibC.LStat(path).stx_ino;
        if (ino is > 0 and < uint.MaxValue)
            return (uint)ino;
        var id = (uint)(ino ^ (ino >> 32)) | 0x80000000u;
        for (var i = 0; i < 64; i++, id = id == uint.MaxValue - 1 ? 0x80000000u : id + 1)
            if (!ProjectQuota.InUse(poolSource, id))
                return id;
        throw new ContainerPSException(Errors.DriverNotSupported,
            $"No free project id found for {path} (inode {ino}); the size of this volume cannot be enforced.", path);
    }

    /// <summary>Removes the limit of the project of a volume's directory (before it goes), where sizes are enforced.</summary>
    private void ClearSize(PoolContext pool, string path)
    {
        if (!Directory.Exists(path) || !EnforcesSize(pool))
            return;
        try { ProjectQuota.SetLimit(pool.Source, ProjectOf(pool.Source, path), 0); }
        catch (Exception e) when (e is IOException or ContainerPSException)
        {
            tool.Log.Warning($"Could not remove the project quota of {path}: {e.Message}");
        }
    }

    public void DeleteVolume(PoolContext pool, VolumeContext volume)
    {
        ClearSize(pool, VolumePath(pool, volume));
        RemoveTree(TempPath(pool, volume));
        RemoveTree(VolumePath(pool, volume));
    }

    public void RenameVolume(PoolContext pool, VolumeContext volume, string newName) => VolumeLayout.Rename(pool.Source, volume, newName);

    /// <summary>
    /// Progress of a copy into <paramref name="targetRoot"/>'s filesystem, for trees of 64 MiB or more:
    /// what the filesystem gained since the start, of the tree's size (a reflink copy gains nothing and
    /// is over at once). The source tree is measured on the first tick, so a copy over within half a
    /// second (the tick's interval) costs one statvfs; trees under 64 MiB show no bar.
    /// </summary>
    private (Action Tick, Func<bool> Shown) CopyProgress(string source, string targetRoot, string activity)
    {
        var start = DiskUsage.Filesystem(targetRoot).Used;
        long? total = null;
        var shown = false;
        return (() =>
        {
            total ??= DiskUsage.Tree(source) ?? 0; // once, and only for a copy still running after half a second
            if (total < 64L << 20)
                return;
            shown = true;
            var done = Math.Max(0, DiskUsage.Filesystem(targetRoot).Used - start);
            tool.Log.Progress(activity, $"{done >> 20} of {total >> 20} MiB", (int)Math.Min(99, done * 100 / total.Value));
        }, () => shown);
    }

    public void CopyVolume(PoolContext sourcePool, VolumeContext source, PoolContext pool, VolumeContext target)
    {
        VolumeLayout.EnsureTypeDir(pool.Source, target.Type);
        var temp = TempPath(pool, target);
        RemoveTree(temp);
        var final = VolumePath(pool, target);
        VolumeLayout.CheckFree(final);
        // cp -a keeps owners, modes, times, hard links, xattrs (ACLs, file capabilities) and special files.
        // A running container's file can vanish while cp reads the tree (renamed away: "cannot stat ...
        // No such file or directory"); the copy is then made again, as LXD's rsync copy shrugs off
        // vanished files. A tree at rest never fails that way twice.
        var progress = CopyProgress(VolumePath(sourcePool, source), pool.Source, $"Copying {source.Type.Name()} {source.Name}");
        for (var attempt = 1; ; attempt++)
        {
            try
            {
                tool.RunWatched("cp", new[] { "-a", "--reflink=auto", "--no-target-directory", VolumePath(sourcePool, source), temp }, null, progress.Tick);
                break;
            }
            catch (ContainerPSException e) when (attempt < 3 && e.Message.Contains("cannot stat", StringComparison.Ordinal)
                && e.Message.Contains("No such file or directory", StringComparison.Ordinal))
            {
                RemoveTree(temp);
            }
        }
        if (progress.Shown())
            tool.Log.Progress($"Copying {source.Type.Name()} {source.Name}", "done", -1);
        FaultPoints.Hit("volume.copy.before-rename");
        Directory.Move(temp, final);
        ApplySize(pool, target, final, target.Config.GetValueOrDefault("size"));
    }

    public void RestoreVolume(PoolContext pool, VolumeContext snapshot, VolumeContext target)
    {
        // Copy the snapshot beside the target, then swap: the target is never half-restored.
        var temp = TempPath(pool, target);
        RemoveTree(temp);
        tool.Run("cp", new[] { "-a", "--reflink=auto", "--no-target-directory", VolumePath(pool, snapshot), temp });
        var final = VolumePath(pool, target);
        var old = final + ".old";
        RemoveTree(old);
        if (Directory.Exists(final)) // not after a restore cut short here: it is done again
            Directory.Move(final, old);
        FaultPoints.Hit("volume.restore.mid-swap");
        Directory.Move(temp, final);
        // The restored tree is a new directory: its own project (and the limit) replaces the old one's.
        ApplySize(pool, target, final, target.Config.GetValueOrDefault("size"));
        ClearSize(pool, old);
        RemoveTree(old);
    }

    public void UpdateVolume(PoolContext pool, VolumeContext volume, IReadOnlyDictionary<string, string?> changes)
    {
        if (changes.TryGetValue("size", out var size))
            ApplySize(pool, volume, VolumePath(pool, volume), size);
    }

    public long? VolumeUsage(PoolContext pool, VolumeContext volume) => DiskUsage.Tree(VolumePath(pool, volume));

    public bool EnforcesSize(PoolContext pool) => Directory.Exists(pool.Source) && ProjectQuota.Enforced(pool.Source);

    /// <summary>rm -rf that never crosses into another filesystem mounted below the tree.</summary>
    private void RemoveTree(string path)
    {
        if (!Path.Exists(path) && !HostPath.IsSymlink(path))
            return;
        tool.Run("rm", new[] { "-rf", "--one-file-system", "--", path });
    }
}
