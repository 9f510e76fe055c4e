using System.Diagnostics;
using ContainerPS.Engine.Migration;
using ContainerPS.Engine.Runtime;

namespace ContainerPS.Engine.Moves;

/// <summary>
/// Move-Container -Mode PostCopy of a running container: CRIU dumps everything but memory (the
/// processes stay frozen here and serve their pages), the filesystem and that small state go over
/// the data link, the destination restores at once with lazy pages and runs the container while a
/// daemon there fetches each page on first touch and the rest in the background. Downtime is the
/// non-memory part; memory size only lengthens the tail.
///
/// Ownership changes once: before the destination resumes the container, any failure ends the page
/// server, CRIU resumes the processes here and the destination drops its part (as with
/// stop-and-copy). From the moment the destination runs it, the destination owns it: the processes
/// never run here again. If the pages then stop coming (the source host or the link dies), the
/// destination stops its copy, since memory that never arrived would read as zeros, and the
/// container is left stopped with its filesystem on both sides: its running state is lost. That is
/// post-copy's inherent risk, the price of its short downtime.
/// </summary>
internal sealed class PostCopyMove(OutgoingMoves source, IEngineLog log, ContainerMove move)
{
    /// <summary>What post-copy needs before anything changes: CRIU's lazy pages and a direct link.</summary>
    public static void Check(OutgoingMoves source, string name, bool dataThroughSession)
    {
        if (dataThroughSession)
            throw new ContainerPSException(Errors.PostCopyNotSupported,
                $"Post-copy cannot send memory through the remoting session: the destination fetches pages from a port on this host. Move '{name}' without -DataThroughSession, or with -Mode StopAndCopy.", name);
        if (!source.PostCopy.Supported())
            throw new ContainerPSException(Errors.PostCopyNotSupported,
                $"Post-copy needs CRIU's lazy pages (userfaultfd), which `criu check --feature uffd-noncoop` does not report here (Test-ContainerCheckpoint: LazyPages). Move '{name}' with -Mode StopAndCopy.", name);
    }

    public MoveResult Run(string name, IMoveDestination destination, MigrationPlan plan, string token, string activity, Stopwatch total)
    {
        void Phase(string status, int percent) => log.Progress(activity, status, percent);
        var down = new Stopwatch();
        LazyDump? dump = null;
        string? dir = null;
        MigrationChannel.Sender? link = null;
        MovedContainer moved;
        bool resumed = false, committing = false, confirmed = false;
        try
        {
            link = move.OpenDataLink(destination, token, out var sourceAddress);
            if (link is null || sourceAddress is null)
                throw new ContainerPSException(Errors.PostCopyNotSupported,
                    $"Post-copy needs a direct connection between the hosts, and {destination.Name} could not be reached on one (see -Verbose); move with -Mode StopAndCopy.", name);
            down.Start();
            Phase("freezing it: all but its memory (CRIU lazy dump)", 10);
            dump = source.PostCopy.Freeze(name, plan, sourceAddress, out dir);
            log.Verbose($"post-copy {name}: page server on {sourceAddress} (TLS), non-memory state dumped in {down.Elapsed.TotalMilliseconds:0} ms");
            foreach (var (part, label) in source.Archives(plan, dir))
                move.Send(destination, token, link, plan, part, label, dir, part == MigrationPlan.PartState ? 40 : 20, Phase);
            link.Finish();
            var sent = down.Elapsed.TotalMilliseconds;
            Phase("resuming it on the destination (its memory follows)", 50);
            moved = destination.Complete(token);
            if (moved.State != "Running")
                throw new IOException($"the destination reports the container {moved.State ?? "missing"}, not Running");
            down.Stop();
            resumed = true;
            source.PostCopy.DestinationResumed(name);
            log.Verbose($"post-copy {name}: runs on {destination.Name} after {down.Elapsed.TotalMilliseconds:0} ms (sent at {sent:0} ms); fetching its memory");
            Phase("the destination fetches its memory", 60);
            source.PostCopy.WaitAllFetched(name, dump);
            Phase("telling the destination to keep it", 90);
            source.BeginCommitMove(name);
            committing = true;
            moved = destination.Commit(token);
            source.ConfirmMove(name);
            confirmed = true;
        }
        catch (Exception e) when (!resumed && e is ContainerPSException or IOException or OperationCanceledException)
        {
            string? notCleaned = null;
            try { destination.Abort(token); }
            catch (Exception a) when (a is ContainerPSException or IOException or OperationCanceledException) { notCleaned = a.Message; }
            string? notResumed = null;
            var resumedHere = true;
            try
            {
                if (dump is not null)
                    resumedHere = source.PostCopy.ResumeAfterFailure(name, dump, dir!);
                else
                    source.ResumeAfterFailedMove(name, null);
            }
            catch (ContainerPSException r) { notResumed = r.Message; }
            if (notCleaned is not null)
                log.Warning($"Could not clean up the destination: {notCleaned}");
            if (!resumedHere)
                throw new ContainerPSException(Errors.MoveUnconfirmed,
                    $"Moving container '{name}' to {destination.Name}: {e.Message}; but the destination had resumed it and fetched all of its memory, so it runs there. " +
                    $"It stays here Stopped: check there with Get-Container, then remove it here with Remove-Container.", name, e);
            throw new ContainerPSException(e is ContainerPSException ce ? ce.Code : Errors.MoveFailed,
                $"Moving container '{name}' failed: {e.Message}. " +
                (notResumed is null ? "It runs on the source again (or is as it was)." : $"Resuming it on the source failed too: {notResumed}"), name, e);
        }
        catch (Exception e) when (resumed && !confirmed && e is ContainerPSException or IOException or OperationCanceledException)
        {
            if (!committing)
            {
                // The pages stopped coming: the destination's copy cannot go on, this one must not.
                string? notCleaned = null;
                try { destination.Abort(token); }
                catch (Exception a) when (a is ContainerPSException or IOException or OperationCanceledException) { notCleaned = a.Message; }
                throw new ContainerPSException(Errors.MoveFailed,
                    $"Moving container '{name}' failed after it resumed on {destination.Name}: {e.Message}. Its running state is lost (post-copy's risk); " +
                    $"it is stopped on the source with its filesystem as it was at the move{(notCleaned is null ? ", and removed from the destination" : $"; the destination could not be cleaned up ({notCleaned})")}. Start-Container boots it afresh.", name, e);
            }
            string kept;
            try { kept = source.KeepUnconfirmedMove(name); }
            catch (ContainerPSException k) { kept = k.Message; }
            throw new ContainerPSException(Errors.MoveUnconfirmed,
                $"Moving container '{name}' to {destination.Name}: all of its memory arrived there, but the destination did not answer when told to keep it ({e.Message}). " +
                $"Check there with Get-Container: {kept}", name, e);
        }
        finally
        {
            link?.Dispose();
            dump?.Dispose();
            if (!confirmed)
                log.Progress(activity, "done", -1);
        }
        return move.Finish(name, destination, moved, activity, down.Elapsed, total, "down (post-copy)");
    }
}
