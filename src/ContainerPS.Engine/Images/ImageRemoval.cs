using ContainerPS.Engine.Storage;

namespace ContainerPS.Engine.Images;

/// <summary>
/// Removal and garbage: removing an image (its image volumes in every pool, its tarball, its row),
/// and the repair of operations whose process died (unfinished imports rolled back, unfinished
/// removals finished) with the sweep of work directories nobody owns.
/// </summary>
internal sealed class ImageRemoval(StateStore store, StorageService storage, IEngineLog log, ImageFiles files, ImagePaths paths, ImageCatalogue catalogue)
{
    /// <summary>
    /// Removes an image: its image volumes in every pool, its tarball and its row. Containers created
    /// from it are copies and keep working (as in LXD).
    /// </summary>
    public void Remove(string aliasOrFingerprint)
    {
        var row = catalogue.FindRow(aliasOrFingerprint) ?? throw ImageCatalogue.NotFound(aliasOrFingerprint);
        store.Write(() =>
        {
            if (!store.Claim("images", row.Id, RowState.Deleting))
                throw ContainerPSException.Busy($"Image '{aliasOrFingerprint}'", Errors.ImageBusy);
        });
        try
        {
            RemoveDisk(row.Fingerprint);
        }
        catch
        {
            store.Write(() => store.Release("images", row.Id));
            throw;
        }
        FaultPoints.Hit("image.delete.after-disk");
        store.Write(() => store.DeleteImageRow(row.Id));
        log.Verbose($"Removed image {row.Fingerprint[..12]}{(row.Alias is null ? "" : $" ({row.Alias})")}.");
    }

    /// <summary>Removes the image volumes of an image in every pool and its tarball (each when there).</summary>
    private void RemoveDisk(string fingerprint)
    {
        foreach (var pool in store.Pools())
        {
            if (store.Volume(pool.Id, VolumeType.Image, fingerprint) is null)
                continue;
            log.Verbose($"Removing the image volume of {fingerprint[..12]} from pool '{pool.Name}'.");
            storage.RemoveVolume(pool.Name, VolumeType.Image, fingerprint, anyType: true);
        }
        var tarball = paths.TarballPath(fingerprint);
        if (File.Exists(tarball))
            File.Delete(tarball);
    }

    /// <summary>
    /// Rolls back imports and finishes removals whose process died, and removes work directories
    /// nobody owns. Called when a host is opened (after the storage repair); cheap when nothing is pending.
    /// </summary>
    public IReadOnlyList<string> RepairInterrupted()
    {
        var done = new List<string>();
        var rows = store.AnyUnfinished("images") ? store.Images() : new();
        foreach (var r in rows.Where(r => r.State != RowState.Ready && r.Owner is { IsAlive: false }))
        {
            if (!store.Write(() => store.TakeOver("images", r.Id, r.Owner!.Value)))
                continue;
            var what = r.HasFingerprint ? $"image {r.Fingerprint[..12]}" : "an image";
            if (r.Alias is not null)
                what += $" ('{r.Alias}')";
            try
            {
                if (r.State == RowState.Creating)
                {
                    if (r.OpArg is { Length: > 0 } work && !work.Contains('/') && work != "." && work != "..")
                        files.RemoveTree(Path.Join(paths.WorkDirectory, work));
                    if (r.HasFingerprint && File.Exists(paths.TarballPath(r.Fingerprint)))
                        File.Delete(paths.TarballPath(r.Fingerprint));
                    store.Write(() => store.DeleteImageRow(r.Id));
                    done.Add($"rolled back the unfinished import of {what}");
                }
                else if (r.State == RowState.Deleting)
                {
                    RemoveDisk(r.Fingerprint);
                    store.Write(() => store.DeleteImageRow(r.Id));
                    done.Add($"finished the unfinished removal of {what}");
                }
                else
                {
                    store.Write(() => store.Release("images", r.Id));
                    done.Add($"released {what} from an unknown operation '{r.State}'");
                }
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException or ContainerPSException)
            {
                log.Warning($"Could not repair the interrupted operation on {what}: {e.Message}. A later command will try again.");
            }
        }
        SweepWorkDirectory();
        foreach (var line in done)
            log.Warning("Repaired an interrupted operation: " + line + ".");
        return done;
    }

    /// <summary>Removes work directories that no image row names (left by a crash at a point no row covers).</summary>
    private void SweepWorkDirectory()
    {
        if (!Directory.Exists(paths.WorkDirectory))
            return;
        var entries = Directory.GetFileSystemEntries(paths.WorkDirectory);
        if (entries.Length == 0)
            return;
        var owned = store.Images().Select(r => r.OpArg).Where(a => a is not null).ToHashSet(StringComparer.Ordinal);
        foreach (var entry in entries)
        {
            if (owned.Contains(Path.GetFileName(entry)))
                continue;
            try { files.RemoveTree(entry); }
            catch (ContainerPSException e) { log.Verbose($"Could not remove the stale image work directory {entry}: {e.Message}"); }
        }
    }
}
