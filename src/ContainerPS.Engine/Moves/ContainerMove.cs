using System.Diagnostics;
using ContainerPS.Engine.Migration;
using ContainerPS.Engine.Runtime;

namespace ContainerPS.Engine.Moves;

/// <summary>
/// The destination host of a move, as the source sees it: one call per step of
/// <see cref="MigrationTarget"/> there. Move-Container implements it over a PowerShell remoting
/// session. A transport failure (the session broke, a step could not be sent or was cut short) is
/// an <see cref="IOException"/>; Ctrl+C during a step is an <see cref="OperationCanceledException"/>;
/// an engine error on the destination comes back as the <see cref="ContainerPSException"/> it was.
/// </summary>
public interface IMoveDestination
{
    /// <summary>The destination's name in messages (the session's computer name).</summary>
    string Name { get; }

    string Receives();
    string Begin(string planJson);
    IReadOnlyList<string?> Listen(string token);
    void Append(string token, string part, byte[] data);

    /// <summary>The container as the destination reports it after the step: its state, and the object itself for -PassThru.</summary>
    MovedContainer Complete(string token);

    MovedContainer Commit(string token);
    void Abort(string token);
}

/// <summary>The destination's answer to Complete and Commit: the container's state there, and the object as it arrived.</summary>
public sealed record MovedContainer(string? State, object? Result);

/// <summary>
/// What a move did: the container as the destination keeps it, how long it ran nowhere, how long the move took, and the bytes sent on the data link
/// (compressed; post-copy's pages come on their own link and are not counted); for pre-copy, the bytes of memory each round held (null otherwise).
/// </summary>
public sealed record MoveResult(object? Moved, TimeSpan Downtime, TimeSpan Total, long BytesSent, IReadOnlyList<long>? RoundBytes = null);


/// <summary>
/// Moves a container to another host (Move-Container): plan, ask the destination to take it, freeze
/// it (CRIU dump), stream the filesystem and the saved state, restore it there frozen, record the
/// commit, tell the destination to keep it, confirm, and remove it here. Every failure before the
/// commit resumes the container here and rolls the destination back; after the commit, an unanswered
/// keep leaves it stopped on this side, marked for the operator (MoveUnconfirmed).
/// </summary>
public sealed class ContainerMove
{
    private const int ChunkSize = 8 << 20;

    private readonly OutgoingMoves source;
    private readonly IEngineLog log;

    public ContainerMove(OutgoingMoves source, IEngineLog log) => (this.source, this.log) = (source, log);

    private long bytesSent;
    private List<long>? rounds;

    /// <param name="dataThroughSession">Send the data through the destination's calls instead of a direct encrypted TCP link.</param>
    /// <param name="iterations">Pre-copy: at most this many memory rounds (1 to <see cref="PreCopyMove.MaxIterations"/>).</param>
    public MoveResult Run(string name, IMoveDestination destination, MoveMode mode, bool dataThroughSession, int iterations = 3)
    {
        PreCopyMove.CheckIterations(name, iterations);
        var plan = source.PlanMove(name, Receives(destination));
        if (mode == MoveMode.PreCopy && plan.Running)
            plan = PreCopyMove.Check(source, name, destination.Name, plan, iterations);
        if (mode == MoveMode.PostCopy && plan.Running && plan.Shared is not null)
            throw new ContainerPSException(Errors.PostCopyNotSupported,
                $"Container '{name}' is on a ceph OSD pool {destination.Name} shares, so its images are handed over, not copied; that needs the container stopped first, " +
                "and post-copy keeps its processes on this host until the last page has gone: move with -Mode StopAndCopy (the downtime is the checkpoint alone).", name);
        if (mode == MoveMode.PostCopy && plan.Running)
            PostCopyMove.Check(source, name, dataThroughSession);
        var activity = $"Moving {name} to {destination.Name}";
        void Phase(string status, int percent) => log.Progress(activity, status, percent);
        log.Verbose(plan.Shared is { } shared ? $"The container's RBD images are handed over (both hosts use OSD pool {shared.OsdPool}): its filesystem is not copied."
            : plan.RootfsFormat is { } format ? $"The filesystem goes as a {format} send stream (both pools are {format})."
            : "The filesystem goes as a tar.");
        var total = Stopwatch.StartNew();
        Phase("asking the destination to take it", 2);
        string token;
        try { token = destination.Begin(plan.ToJson()); }
        catch (Exception e) when (e is ContainerPSException or IOException or OperationCanceledException)
        {
            throw new ContainerPSException(e is ContainerPSException ce ? ce.Code : Errors.MoveRefused,
                $"The destination refused container '{name}': {e.Message} Nothing was changed.", name, e);
        }

        if (mode == MoveMode.PostCopy && plan.Running)
            return new PostCopyMove(source, log, this).Run(name, destination, plan, token, activity, total);
        string? state = null;
        var frozen = new Stopwatch();
        MovedContainer? moved;
        var confirmed = false;
        var committing = false;
        MigrationChannel.Sender? link = null;
        try
        {
            link = dataThroughSession || plan.Parts().Count > byte.MaxValue + 1 ? null : OpenDataLink(destination, token); // a part is a byte on the link
            var preCopied = plan.PreCopyRounds > 0 ? new PreCopyMove(source, log, this).Rounds(name, destination, token, link, plan, Phase, out rounds) : null;
            frozen.Start();
            Phase(plan.Running ? "freezing it (CRIU dump)" : "stopped: no dump", 10);
            state = source.FreezeForMove(name, plan, token, preCopied);
            foreach (var (part, label) in source.Archives(plan, state))
                Send(destination, token, link, plan, part, label, state, part == MigrationPlan.PartState ? 70 : 20, Phase);
            link?.Finish();
            Phase(plan.Running ? "restoring it on the destination" : "creating it on the destination", 85);
            moved = destination.Complete(token);
            if (plan.Running && moved.State != "Running")
                throw new IOException($"the destination reports the container {moved.State ?? "missing"}, not Running");
            // The destination holds it frozen until told to keep it; from the commit on, this side
            // cannot tell by itself which copy lives, so it is recorded first.
            Phase("telling the destination to keep it", 90);
            source.BeginCommitMove(name);
            committing = true;
            moved = destination.Commit(token);
            frozen.Stop();
            source.ConfirmMove(name);
            confirmed = true;
        }
        catch (Exception e) when (committing && !confirmed && e is IOException or OperationCanceledException)
        {
            // No answer to the commit: the destination may have kept the container, or not. It runs on neither host by this side's doing.
            string kept;
            try { kept = source.KeepUnconfirmedMove(name); }
            catch (ContainerPSException k) { kept = k.Message; }
            throw new ContainerPSException(Errors.MoveUnconfirmed,
                $"Moving container '{name}' to {destination.Name}: the destination did not answer when told to keep it ({e.Message}), " +
                $"so whether it kept the container is unknown. Check there with Get-Container: {kept}", name, e);
        }
        catch (Exception e) when (e is ContainerPSException or IOException or OperationCanceledException)
        {
            // The source is resumed before anything is reported: after Ctrl+C, reporting ends the command.
            string? notCleaned = null;
            try { destination.Abort(token); }
            catch (Exception a) when (a is ContainerPSException or IOException or OperationCanceledException) { notCleaned = a.Message; }
            string? notResumed = null;
            try { source.ResumeAfterFailedMove(name, state); }
            catch (ContainerPSException r) { notResumed = r.Message; }
            if (notCleaned is not null)
                log.Warning($"Could not clean up the destination: {notCleaned}");
            throw new ContainerPSException(e is ContainerPSException ce ? ce.Code : Errors.MoveFailed,
                $"Moving container '{name}' failed: {e.Message}. " +
                (notResumed is null ? "It runs on the source again (or is as it was)." : $"Restoring it on the source failed too: {notResumed}"), name, e);
        }
        finally
        {
            link?.Dispose();
            if (!confirmed) // the bar ends here when the move did not go through; else after the source is removed
                log.Progress(activity, "done", -1);
        }
        return Finish(name, destination, moved, activity, frozen.Elapsed, total, "frozen");
    }

    /// <summary>The end of a move the destination kept: the container goes here, the bar ends, and the result.</summary>
    internal MoveResult Finish(string name, IMoveDestination destination, MovedContainer moved, string activity, TimeSpan downtime, Stopwatch total, string down)
    {
        log.Progress(activity, "removing it here", 95);
        try { source.FinishMove(name); }
        catch (ContainerPSException e)
        {
            log.Warning($"Container '{name}' runs on {destination.Name}, but removing it here failed ({e.Message}): remove it with Remove-Container -Force.");
        }
        log.Progress(activity, "done", -1);
        log.Verbose($"moved {name} to {destination.Name}: {total.Elapsed.TotalMilliseconds:0} ms in all, {down} {downtime.TotalMilliseconds:0} ms");
        return new MoveResult(moved.Result, downtime, total.Elapsed, bytesSent, rounds);
    }

    /// <summary>The destination's answer: the volume stream its pool receives (btrfs, zfs) and whether it takes what a container carries (<see cref="MigrationPlan.ParseReceives"/>), or null (a destination that cannot say).</summary>
    private static string? Receives(IMoveDestination destination)
    {
        try { return destination.Receives() is { Length: > 0 } f ? f : null; }
        catch (Exception e) when (e is ContainerPSException or IOException or OperationCanceledException) { return null; }
    }

    /// <summary>
    /// The direct, encrypted data link to the destination (its key comes through the session), or
    /// null when the destination cannot offer one or it cannot be reached: the data then goes
    /// through the session (slower: about 30 MB/s here).
    /// </summary>
    internal MigrationChannel.Sender? OpenDataLink(IMoveDestination destination, string token) => OpenDataLink(destination, token, out _);

    /// <param name="sourceAddress">This host's address as the destination sees it (the session's client address), when it says.</param>
    internal MigrationChannel.Sender? OpenDataLink(IMoveDestination destination, string token, out System.Net.IPAddress? sourceAddress)
    {
        var offer = destination.Listen(token);
        sourceAddress = offer.Count == 4 && System.Net.IPAddress.TryParse(offer[3], out var seen) ? seen : null;
        if (offer.Count is not (3 or 4) || offer.Take(3).Any(o => o is null) || !int.TryParse(offer[1], out var port))
        {
            log.Verbose("The destination offers no direct data link: sending through the remoting session.");
            return null;
        }
        var link = MigrationChannel.Sender.TryConnect(offer[0]!, port, Convert.FromBase64String(offer[2]!), TimeSpan.FromSeconds(5));
        log.Verbose(link is null
            ? $"Cannot reach {offer[0]}:{port}: sending through the remoting session."
            : $"Data link to {offer[0]}:{port} (AES-256-GCM, key exchanged through the session).");
        return link;
    }

    /// <summary>Streams one archive (a tar, or the rootfs as a driver stream) to the destination in chunks, with progress in bytes.</summary>
    /// <param name="percent">Where this archive starts on the move's progress bar.</param>
    internal void Send(IMoveDestination destination, string token, MigrationChannel.Sender? link, MigrationPlan plan, string part, string label, string? state, int percent, Action<string, int> phase)
    {
        long sent = 0;
        var number = (byte)plan.Parts().ToList().IndexOf(part);
        source.SendPart(plan, part, state, ChunkSize, chunk =>
        {
            if (link is not null)
                link.Send(number, chunk.Span);
            else
                destination.Append(token, part, chunk.ToArray());
            sent += chunk.Length;
            bytesSent += chunk.Length;
            phase($"sending {label}: {sent / 1048576.0:0.0} MiB (compressed)", percent);
        });
    }
}
