using System.Net;
using ContainerPS.Engine.Migration;

namespace ContainerPS.Engine.Runtime;

/// <summary>
/// The source of a post-copy move (see Moves/PostCopyMove): a lazy CRIU dump whose frozen processes
/// serve their pages to the destination, the record of who owns the container (this host until the
/// destination resumed it, the destination from then on), and the repair of a source killed midway
/// (CRIU serves on by itself).
/// </summary>
public sealed class PostCopySource
{
    private readonly OutgoingMoves moves;
    private readonly ContainerRecords records;
    private readonly ContainerPaths paths;
    private readonly ContainerCheckpoints checkpoints;
    private readonly ContainerLauncher launcher;
    private readonly ContainerService containers;

    internal PostCopySource(OutgoingMoves moves, ContainerRecords records, ContainerPaths paths, ContainerCheckpoints checkpoints, ContainerLauncher launcher, ContainerService containers) =>
        (this.moves, this.records, this.paths, this.checkpoints, this.launcher, this.containers) = (moves, records, paths, checkpoints, launcher, containers);

    /// <summary>True when CRIU here can serve memory lazily (userfaultfd; Test-ContainerCheckpoint's LazyPages).</summary>
    public bool Supported() => checkpoints.Support().LazyPages;

    /// <summary>
    /// Post-copy: dumps everything of the running container but its memory and serves the pages
    /// from its frozen processes on <paramref name="address"/> (the address the destination reaches
    /// this host at), with TLS on the move's own key; returns once the page server listens. The dump
    /// directory (the saved state to send) is <paramref name="dir"/>; it also holds the endpoint, the
    /// certificate and the key the destination needs. Recorded, so a source killed from here on is
    /// repaired (<see cref="Repair"/>).
    /// </summary>
    /// <param name="plan">The move's plan: the container must still be as it says (what it carries), checked under the container's lock.</param>
    public LazyDump Freeze(string name, MigrationPlan plan, IPAddress address, out string dir)
    {
        using var _ = records.Lock(name);
        var row = records.ReadyRow(name);
        var rt = paths.Runtime(name);
        moves.CheckUnchanged(row, plan, rt.Inspect().IsRunning);
        if (!rt.Inspect().IsRunning)
            throw new ContainerPSException(Errors.ContainerNotRunning, $"Container '{name}' is not running: post-copy moves a running container's memory.", name);
        dir = Path.Join(paths.CheckpointsDir(row), "move");
        if (Directory.Exists(dir))
            Directory.Delete(dir, recursive: true);
        records.BeginStep(row, new ContainerStep(ContainerStep.MoveOut, Dir: dir, Owns: true, Phase: OutgoingMoves.MoveServing, Volumes: moves.Carried(row)));
        try
        {
            var args = checkpoints.DumpArguments(row, rt, dir);
            var port = LazyPages.FreePort(address);
            LazyPages.WriteCredentials(dir, address.ToString(), port);
            LazyPages.WriteDumpConfig(rt.CriuConfig, dir, address.ToString());
            var dump = LazyDump.Start(NativePrograms.Runc, args, rt.RuncId(name), new IPEndPoint(address, port), Criu.Environment);
            if (!dump.WaitReady(TimeSpan.FromMinutes(2)))
            {
                dump.Abort();
                var exit = dump.WaitExit(TimeSpan.FromSeconds(30));
                dump.Dispose();
                throw ContainerCheckpoints.DumpFailed(row, exit?.Stderr ?? "CRIU did not report its page server within 2 minutes", dir);
            }
            FaultPoints.Hit("move.source.pages-ready");
            return dump;
        }
        catch
        {
            File.Delete(rt.CriuConfig);
            ContainerCheckpoints.DiscardDump(dir, ownsDirectory: true);
            records.EndStep(row);
            throw;
        }
    }

    /// <summary>
    /// A post-copy move that failed before the destination resumed the container: the page server is
    /// ended, CRIU resumes the processes here, and the saved state goes.
    /// </summary>
    /// <returns>
    /// False when CRIU's dump ended well instead: the destination had resumed the container (its
    /// answer was lost) and fetched every page, so it runs there and this copy is stopped for good.
    /// </returns>
    public bool ResumeAfterFailure(string name, LazyDump dump, string dir)
    {
        using var _ = records.Lock(name);
        var row = records.Row(name);
        var rt = paths.Runtime(name);
        try
        {
            dump.Abort(); // (no effect when the destination's daemon is connected: then its transfer is waited for)
            if (dump.WaitExit(TimeSpan.FromMinutes(30)) is not { } exit)
                throw new ContainerPSException(Errors.MoveFailed, $"CRIU's page server for container '{name}' did not end within 30 minutes after the move failed.", name);
            if (exit.ExitCode == 0)
            {
                checkpoints.AfterDump(row, rt);
                return false;
            }
            if (!rt.Inspect().IsRunning)
                throw new ContainerPSException(Errors.MoveFailed, $"Container '{name}' did not resume here after the failed post-copy move: {ContainerLauncher.RuncMessage(exit.Stderr)}", name);
            return true;
        }
        finally
        {
            File.Delete(rt.CriuConfig);
            ContainerCheckpoints.DiscardDump(dir, ownsDirectory: true);
            records.EndStep(row);
        }
    }

    /// <summary>
    /// The destination runs the container and fetches its memory: from now on it owns it. Recorded,
    /// so that a repair here never runs this copy again.
    /// </summary>
    public void DestinationResumed(string name) => moves.SetMovePhase(name, OutgoingMoves.MoveServingResumed, "move.source.post-copy-resumed");

    /// <summary>
    /// Waits until the destination has fetched the last page (CRIU's dump then ends and the processes
    /// are gone here). When the page transfer fails instead, CRIU resumes the processes here: they are
    /// stopped at once, since the destination ran the container meanwhile; this copy keeps its
    /// filesystem, stopped.
    /// </summary>
    public void WaitAllFetched(string name, LazyDump dump)
    {
        var exit = dump.WaitExit(TimeSpan.FromMinutes(30));
        using var _ = records.Lock(name);
        var row = records.Row(name);
        var rt = paths.Runtime(name);
        File.Delete(rt.CriuConfig);
        if (exit is { ExitCode: 0 })
        {
            checkpoints.AfterDump(row, rt);
            return;
        }
        if (exit is null)
            dump.Abort();
        launcher.CleanupRuntime(row, rt);
        records.EndStep(row);
        throw new IOException(exit is null ? "the destination did not fetch all pages within 30 minutes"
            : $"the page transfer failed ({ContainerLauncher.RuncMessage(exit.Value.Stderr).Trim()}{Criu.LogErrors(ContainerRecords.StepOf(row)?.Dir ?? "", "dump.log")}); " +
              $"container '{name}' is stopped here (it had resumed on the destination, so its processes do not run here again)");
    }

    /// <summary>
    /// A post-copy move whose source process died while CRIU served the pages (CRIU goes on by itself).
    /// Before the destination resumed the container, the page server is ended and the processes run
    /// here again; after, the destination owns the container: once it has every page it is removed
    /// here, and if the transfer failed it is stopped here (its processes were the destination's to run).
    /// </summary>
    internal string Repair(ContainerRow row, bool resumed, string dir)
    {
        var rt = paths.Runtime(row.Name);
        var log = Path.Join(dir, "dump.log");
        bool Ended() => File.Exists(log) && File.ReadLines(log).Any(l => l.Contains("Dumping FAILED", StringComparison.Ordinal) || l.Contains("Dumping finished successfully", StringComparison.Ordinal));
        if (!resumed && LazyPages.Endpoint(dir) is { } endpoint && !Ended())
            LazyDump.Abort(new IPEndPoint(endpoint.Address, endpoint.Port));
        // CRIU's log says how the dump ended; a CRIU that was killed says nothing, but the processes
        // it held went with it (it kills them on a successful end too, just before its last line).
        var clock = System.Diagnostics.Stopwatch.StartNew();
        TimeSpan? gone = null;
        while (!Ended() && clock.Elapsed < TimeSpan.FromSeconds(60) && (gone is null || clock.Elapsed - gone < TimeSpan.FromSeconds(5)))
        {
            if (gone is null && !rt.Inspect().IsRunning)
                gone = clock.Elapsed;
            Thread.Sleep(50);
        }
        File.Delete(rt.CriuConfig);
        if (Criu.DumpFinished(dir))
        {
            containers.RemoveHeld(row, force: true);
            return $"finished the post-copy move of container '{row.Name}': the destination fetched all of its memory and runs it; removed it here";
        }
        if (!resumed && rt.Inspect().IsRunning)
        {
            launcher.ThawIfPaused(row, rt);
            ContainerCheckpoints.DiscardDump(dir, ownsDirectory: true);
            return $"the post-copy move of container '{row.Name}' was cut short before the destination resumed it: it runs here again";
        }
        launcher.CleanupRuntime(row, rt);
        ContainerCheckpoints.DiscardDump(dir, ownsDirectory: true);
        return resumed
            ? $"the post-copy move of container '{row.Name}' was cut short after the destination resumed it, and its memory did not all arrive there: it is stopped here (its filesystem as it was at the move); check the destination with Get-Container"
            : $"the post-copy move of container '{row.Name}' was cut short and its processes are gone: it is stopped here";
    }
}
