using ContainerPS.Engine.Migration;

namespace ContainerPS.Engine.Runtime;

/// <summary>
/// The source of a pre-copy move (see Moves/PreCopyMove): CRIU pre-dumps of the running container
/// (runc checkpoint --pre-dump: its memory, with soft-dirty tracking, while it runs on), each into
/// pre.I of the move's state directory and each holding only the pages written since the one
/// before; the final dump (<see cref="OutgoingMoves.FreezeForMove"/>) then refers to the last one.
/// The rounds are recorded on the container (phase "pre-copying"), so a source killed during them
/// is repaired by its next command: the container runs on, the rounds' images go.
/// </summary>
public sealed class PreCopySource
{
    private readonly OutgoingMoves moves;
    private readonly ContainerRecords records;
    private readonly ContainerPaths paths;
    private readonly ContainerCheckpoints checkpoints;
    private readonly ContainerLauncher launcher;
    private readonly ExternalTool tool;

    internal PreCopySource(OutgoingMoves moves, ContainerRecords records, ContainerPaths paths, ContainerCheckpoints checkpoints, ContainerLauncher launcher, ExternalTool tool) =>
        (this.moves, this.records, this.paths, this.checkpoints, this.launcher, this.tool) = (moves, records, paths, checkpoints, launcher, tool);

    /// <summary>True when this kernel tracks dirty memory for CRIU (soft-dirty; Test-ContainerCheckpoint's MemoryTracking).</summary>
    public bool Supported() => checkpoints.Support().MemoryTracking;

    internal const string Phase = "pre-copying";

    /// <summary>Where round <paramref name="round"/> is dumped, in the move's state directory <paramref name="dir"/> (on both hosts).</summary>
    public static string RoundDir(string dir, int round) => Path.Join(dir, RoundName(round));

    /// <summary>Round <paramref name="round"/>'s directory name: the parent path (relative) of the dump after it.</summary>
    public static string RoundName(int round) => "pre." + round.ToString(System.Globalization.CultureInfo.InvariantCulture);

    /// <summary>
    /// Starts the rounds: records the move on the container (it must still be as <paramref name="plan"/>
    /// says, and running) with its state directory, which is made afresh. Returns that directory.
    /// </summary>
    public string Begin(string name, MigrationPlan plan)
    {
        using var _ = records.Lock(name);
        var row = records.ReadyRow(name);
        var rt = paths.Runtime(name);
        moves.CheckUnchanged(row, plan, rt.Inspect().IsRunning);
        if (!rt.Inspect().IsRunning)
            throw new ContainerPSException(Errors.ContainerNotRunning, $"Container '{name}' is not running: pre-copy moves a running container's memory.", name);
        ContainerLauncher.CheckCriu();
        var dir = OutgoingMoves.MoveDir(paths, row);
        if (Directory.Exists(dir))
            Directory.Delete(dir, recursive: true);
        records.BeginStep(row, new ContainerStep(ContainerStep.MoveOut, Dir: dir, Owns: true, Phase: Phase, Volumes: moves.Carried(row)));
        return dir;
    }

    /// <summary>
    /// Round <paramref name="round"/>: a pre-dump of the running container into pre.ROUND, of the
    /// pages written since round ROUND-1 (all of them in round 0). The container runs on. Returns the
    /// bytes of memory the round holds (its pages-*.img).
    /// </summary>
    public long PreDump(string name, int round)
    {
        using var _ = records.Lock(name);
        var row = records.Row(name);
        if (ContainerRecords.StepOf(row) is not { Op: ContainerStep.MoveOut, Phase: Phase, Dir: { } dir })
            throw new ContainerPSException(Errors.ContainerBusy, $"Container '{name}' is not in a pre-copy move.", name);
        var rt = paths.Runtime(name);
        if (!rt.Inspect().IsRunning)
            throw new ContainerPSException(Errors.ContainerNotRunning, $"Container '{name}' stopped during its pre-copy move.", name);
        var into = RoundDir(dir, round);
        var args = checkpoints.DumpArguments(row, rt, into);
        args.Add("--pre-dump");
        if (round > 0)
            args.AddRange(new[] { "--parent-path", Path.Join("..", RoundName(round - 1)) });
        args.Add(rt.RuncId(name));
        var r = tool.Execute(NativePrograms.Runc, args, null, Criu.Environment, TimeSpan.FromMinutes(10));
        if (r.ExitCode != 0)
            throw ContainerCheckpoints.DumpFailed(row, r.StandardError, into);
        FaultPoints.Hit("move.source.pre-dump");
        return Directory.EnumerateFiles(into, "pages-*.img").Sum(f => new FileInfo(f).Length);
    }

    /// <summary>
    /// A pre-copy move that failed before its final dump (or whose final dump failed): the container
    /// runs on here (thawed, if CRIU left it frozen), the rounds' images go, the record ends.
    /// </summary>
    internal void Discard(ContainerRow row, string dir)
    {
        launcher.ThawIfPaused(row, paths.Runtime(row.Name));
        ContainerCheckpoints.DiscardDump(dir, ownsDirectory: true);
    }

    /// <summary>A pre-copy move whose source process died during the rounds: the container never stopped; it runs on, and the rounds' images go.</summary>
    internal string Repair(ContainerRow row, string dir)
    {
        Discard(row, dir);
        return paths.Runtime(row.Name).Inspect().IsRunning
            ? $"the pre-copy move of container '{row.Name}' was cut short before its final dump: it runs on here, as it was"
            : $"the pre-copy move of container '{row.Name}' was cut short before its final dump; its memory rounds were removed";
    }
}
