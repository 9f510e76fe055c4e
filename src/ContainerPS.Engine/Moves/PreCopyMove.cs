using System.Diagnostics;
using ContainerPS.Engine.Migration;
using ContainerPS.Engine.Runtime;

namespace ContainerPS.Engine.Moves;

/// <summary>
/// The rounds of Move-Container -Live (-Mode PreCopy) of a running container, before the
/// stop-and-copy part of <see cref="ContainerMove"/>: CRIU pre-dumps its memory while it runs (round 1:
/// all of it; each next round: the pages written since the one before, by the kernel's soft-dirty
/// tracking) and each round goes to the destination at once. The rounds end after -Iterations, or
/// as soon as the dirty set stops shrinking: a round not at least a tenth smaller than the one before
/// (the container writes memory about as fast as it is copied: more rounds would not shorten the downtime). The final dump then holds only what
/// changed since the last round, so the downtime is the final dump, the filesystem and the restore.
///
/// Until the final dump the container runs here, untouched: any failure (a pre-dump, the
/// destination, the link) ends the move with it running here, its rounds' images removed on both
/// sides. From the final dump on, the move is stop-and-copy's, with its repairs.
/// </summary>
internal sealed class PreCopyMove(OutgoingMoves source, IEngineLog log, ContainerMove move)
{
    public const int MaxIterations = MigrationPlan.MaxPreCopyRounds;

    /// <summary>-Iterations must be 1 to <see cref="MaxIterations"/>.</summary>
    public static void CheckIterations(string name, int iterations)
    {
        if (iterations is < 1 or > MaxIterations)
            throw new ContainerPSException(Errors.InvalidIterations,
                $"-Iterations {iterations} is out of range: a pre-copy move makes 1 to {MaxIterations} memory rounds before its final dump. Nothing was moved.", name);
    }

    /// <summary>
    /// What pre-copy of a running container needs before anything changes: storage that is copied
    /// (not handed over on a shared ceph pool) and the kernel's dirty-memory tracking. Returns the plan
    /// with its rounds.
    /// </summary>
    public static MigrationPlan Check(OutgoingMoves source, string name, string destination, MigrationPlan plan, int iterations)
    {
        if (plan.Shared is not null)
            throw new ContainerPSException(Errors.PreCopyNotSupported,
                $"Container '{name}' is on a ceph OSD pool {destination} shares, so its images are handed over, not copied; that happens with the container stopped, " +
                "and pre-copy would still leave its processes running here while the images change hands: move it with -Mode StopAndCopy (the downtime is the checkpoint alone).", name);
        if (!source.PreCopy.Supported())
            throw new ContainerPSException(Errors.PreCopyNotSupported,
                "Live migration by pre-copy needs the kernel's memory dirty tracking, which this kernel lacks (it is built without CONFIG_MEM_SOFT_DIRTY; " +
                "`criu check --feature mem_dirty_track` says \"Dirty tracking is OFF\"; Test-ContainerCheckpoint: MemoryTracking False). " +
                $"Move '{name}' without -Live: it is dumped, copied and restored (stop-and-copy), keeping its processes, memory and addresses; or with -Mode PostCopy.", name);
        return plan with { PreCopyRounds = iterations };
    }

    /// <summary>
    /// Runs the rounds (the container runs on) and sends each; returns the last round's directory name,
    /// the final dump's parent, and in <paramref name="bytes"/> the memory each round held.
    /// </summary>
    public string Rounds(string name, IMoveDestination destination, string token, MigrationChannel.Sender? link, MigrationPlan plan, Action<string, int> phase, out List<long> bytes)
    {
        bytes = new List<long>();
        source.PreCopy.Begin(name, plan);
        var clock = new Stopwatch();
        for (var i = 0; i < plan.PreCopyRounds; i++)
        {
            var percent = 3 + 6 * i / plan.PreCopyRounds;
            phase($"pre-copying its memory, round {i + 1} of up to {plan.PreCopyRounds} (it runs on)", percent);
            clock.Restart();
            var size = source.PreCopy.PreDump(name, i);
            var dumped = clock.Elapsed.TotalMilliseconds;
            move.Send(destination, token, link, plan, MigrationPlan.RoundPart(i), $"memory round {i + 1}", null, percent, phase);
            bytes.Add(size);
            log.Verbose($"pre-copy {name}: round {i + 1}: {size / 1048576.0:0.0} MiB of memory, dumped in {dumped:0} ms, sent in {clock.Elapsed.TotalMilliseconds - dumped:0} ms");
            if (i > 0 && size * 10 > bytes[i - 1] * 9)
            {
                log.Verbose($"pre-copy {name}: round {i + 1} was not a tenth smaller than round {i} (its memory changes about as fast as it is copied): the final dump follows");
                break;
            }
        }
        return PreCopySource.RoundName(bytes.Count - 1);
    }
}
