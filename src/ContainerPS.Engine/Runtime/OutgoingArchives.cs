using CliWrap;
using ContainerPS.Engine.Migration;
using ContainerPS.Engine.Storage;

namespace ContainerPS.Engine.Runtime;

/// <summary>
/// What the source of a move sends, part by part (<see cref="MigrationPlan.Parts"/>): the filesystem
/// (a tar, or the pool driver's own stream), each snapshot and saved state, each copied volume, as
/// zstd-compressed chunks for the data link.
/// </summary>
internal sealed class OutgoingArchives(StorageService storage, ExternalTool tool, ContainerRecords records, ContainerPaths paths)
{
    /// <summary>
    /// The archives a move of <paramref name="plan"/> sends, in order, each with what the progress bar
    /// calls it: the filesystem, each snapshot (and its saved state), each volume, then the saved state
    /// (the move's dump in <paramref name="stateDir"/>, or a stateful stop's).
    /// </summary>
    public IReadOnlyList<(string Part, string Label)> Archives(MigrationPlan plan, string? stateDir)
    {
        // Handed over on a shared ceph pool: the image (with its snapshots) and those volumes are not sent.
        var copied = plan.Shared is null;
        var archives = new List<(string, string)>();
        if (copied)
            archives.Add((MigrationPlan.PartRootfs, "the filesystem"));
        for (var i = 0; i < plan.SnapshotList.Count; i++)
        {
            if (copied)
                archives.Add((MigrationPlan.SnapshotPart(i), $"snapshot '{plan.SnapshotList[i].Name}'"));
            if (plan.SnapshotList[i].Stateful)
                archives.Add((MigrationPlan.SnapshotStatePart(i), $"the saved state of snapshot '{plan.SnapshotList[i].Name}'"));
        }
        for (var i = 0; i < plan.VolumeList.Count; i++)
            if (!plan.VolumeList[i].HandedOver)
                archives.Add((MigrationPlan.VolumePart(i), $"volume '{plan.VolumeList[i].Pool}/{plan.VolumeList[i].Name}'"));
        if (stateDir is not null || plan.StopState)
            archives.Add((MigrationPlan.PartState, "the saved state"));
        return archives;
    }

    /// <summary>Streams one archive of <see cref="Archives"/> (see <see cref="SendArchive"/>).</summary>
    public void SendPart(MigrationPlan plan, string part, string? stateDir, int chunkSize, Action<ReadOnlyMemory<byte>> consume)
    {
        var row = records.ReadyRow(plan.Name);
        var index = part.Split('.') is [_, var n, ..] ? int.Parse(n, System.Globalization.CultureInfo.InvariantCulture) : -1;
        string? Snapshot(int i) => i < 0 ? null : ContainerSnapshots.SnapshotVolume(plan.Name, plan.SnapshotList[i].Name);
        if (part == MigrationPlan.PartRootfs && plan.RootfsFormat is not null)
            SendStream(row.Pool, VolumeType.Container, plan.Name, Snapshot(plan.SnapshotList.Count - 1), chunkSize, consume);
        else if (part == MigrationPlan.PartRootfs)
            SendArchive(plan.Name, null, null, chunkSize, consume);
        else if (part == MigrationPlan.PartState)
            SendArchive(plan.Name, stateDir ?? paths.StopStateDir(row), null, chunkSize, consume, withoutRounds: stateDir is not null);
        else if (part == MigrationPlan.RoundPart(index) && index < plan.PreCopyRounds)
            SendArchive(plan.Name, PreCopySource.RoundDir(OutgoingMoves.MoveDir(paths, row), index), null, chunkSize, consume);
        else if (part == MigrationPlan.SnapshotStatePart(index))
            SendArchive(plan.Name, paths.SnapshotStateDir(row, plan.SnapshotList[index].Name), null, chunkSize, consume);
        else if (part == MigrationPlan.SnapshotPart(index) && plan.RootfsFormat is not null)
            SendStream(row.Pool, VolumeType.Snapshot, Snapshot(index)!, Snapshot(index - 1), chunkSize, consume);
        else if (part == MigrationPlan.SnapshotPart(index))
            storage.ReadVolumeFiles(row.Pool, VolumeType.Snapshot, ContainerSnapshots.SnapshotVolume(plan.Name, plan.SnapshotList[index].Name),
                dir => SendArchive(plan.Name, dir, null, chunkSize, consume));
        else if (part == MigrationPlan.VolumePart(index))
            storage.ReadVolumeFiles(plan.VolumeList[index].Pool, VolumeType.Custom, plan.VolumeList[index].Name, dir => SendArchive(plan.Name, dir, null, chunkSize, consume));
        else
            throw new ContainerPSException(Errors.InvalidArchivePart, $"Unknown archive '{Names.Printable(part)}'.", part);
    }

    /// <summary>
    /// Streams the container's filesystem, zstd-compressed, into <paramref name="consume"/> (in chunks, on this thread): the pool
    /// driver's own stream when <paramref name="format"/> names it (btrfs or zfs send of a temporary
    /// snapshot, which is removed afterwards), else a tar (numeric owners, xattrs, ACLs); or a tar of
    /// a checkpoint directory. A producer that fails is an IOException with its stderr.
    /// </summary>
    /// <param name="withoutRounds">A pre-copy move's final dump: its rounds (pre.I) went before, as parts of their own.</param>
    private void SendArchive(string name, string? stateDir, string? format, int chunkSize, Action<ReadOnlyMemory<byte>> consume, bool withoutRounds = false)
    {
        var row = records.ReadyRow(name);
        if (stateDir is null && format is not null)
        {
            SendStream(row.Pool, VolumeType.Container, name, null, chunkSize, consume);
            return;
        }
        var dir = stateDir ?? storage.VolumePath(row.Pool, VolumeType.Container, name);
        string[] rounds = withoutRounds ? new[] { "--anchored", "--exclude=./pre.[0-9]*" } : Array.Empty<string>();
        // Fast compression on every core: the link (a remoting session) is the slow part.
        var command = Cli.Wrap("tar").WithArguments(new[] { "--numeric-owner", "--xattrs", "--xattrs-include=*", "--acls", "--zstd", "--sparse" }.Concat(rounds).Concat(new[] { "-C", dir, "-cf", "-", "." }))
            .WithEnvironmentVariables(new Dictionary<string, string?> { ["ZSTD_CLEVEL"] = "1", ["ZSTD_NBTHREADS"] = "0" });
        Produce(command, $"tar --zstd --sparse -C {dir} -cf - .", null, chunkSize, consume);
    }

    /// <summary>The pool driver's stream of a volume (the difference from <paramref name="parent"/>, a snapshot sent before, if given), zstd-compressed.</summary>
    private void SendStream(string pool, VolumeType type, string volume, string? parent, int chunkSize, Action<ReadOnlyMemory<byte>> consume)
    {
        var (send, cleanup) = storage.SendVolume(pool, type, volume, parent);
        Produce(Cli.Wrap(send[0]).WithArguments(send.Skip(1)) | Cli.Wrap("zstd").WithArguments(new[] { "-1", "-T0", "-c" }),
            $"{string.Join(' ', send)} | zstd -1 -T0 -c", cleanup, chunkSize, consume);
    }

    private void Produce(Command command, string line, Action? cleanup, int chunkSize, Action<ReadOnlyMemory<byte>> consume)
    {
        try { tool.RunInto(command, line, chunkSize, consume); }
        catch (ContainerPSException e) when (e.Code == Errors.ToolFailed)
        {
            throw new IOException(e.Message, e);
        }
        finally
        {
            cleanup?.Invoke();
        }
    }
}
