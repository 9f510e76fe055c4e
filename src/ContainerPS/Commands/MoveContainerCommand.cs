using System.Diagnostics;
using System.Management.Automation;
using System.Management.Automation.Runspaces;
using ContainerPS.Engine;
using ContainerPS.Engine.Migration;
using ContainerPS.Engine.Runtime;

namespace ContainerPS.Commands;

/// <summary>
/// Moves a container to another ContainerPS host reached by PowerShell remoting. The orchestration
/// lives here because the transport is a PSSession; each step is one engine call on either side.
/// </summary>
[Cmdlet(VerbsCommon.Move, "Container", SupportsShouldProcess = true, ConfirmImpact = ConfirmImpact.Medium)]
[OutputType(typeof(PSObject))]
public sealed class MoveContainerCommand : ContainerPSCmdlet
{
    private const int ChunkSize = 8 << 20;

    [Parameter(Mandatory = true, Position = 0, ValueFromPipelineByPropertyName = true)]
    [ArgumentCompleter(typeof(ContainerNameCompleter))]
    public string Name { get; set; } = "";

    /// <summary>A session to the destination host (New-PSSession -HostName ... -SSHTransport) where ContainerPS is installed or imported.</summary>
    [Parameter(Mandatory = true, Position = 1)]
    public PSSession Destination { get; set; } = null!;

    /// <summary>Pre-copy live migration (needs memory dirty tracking in the kernel).</summary>
    [Parameter]
    public SwitchParameter Live { get; set; }

    /// <summary>Pre-copy rounds with -Live.</summary>
    [Parameter]
    [ValidateRange(1, 64)]
    public int Iterations { get; set; } = 3;

    /// <summary>Send the data through the remoting session instead of a direct TCP link (when the destination's ports are firewalled).</summary>
    [Parameter]
    public SwitchParameter DataThroughSession { get; set; }

    [Parameter]
    public SwitchParameter PassThru { get; set; }

    // The destination side: ContainerPS loaded there, then one static engine call per step.
    private const string RemoteScript = """
        param($Step, $A, $B, $C)
        if (-not (Get-Module ContainerPS)) { Import-Module ContainerPS -ErrorAction Stop }
        try {
            switch ($Step) {
                'receives' { [ContainerPS.Engine.Migration.MigrationTarget]::Receives() }
                'begin'    { [ContainerPS.Engine.Migration.MigrationTarget]::Begin($A) }
                'listen'   { [ContainerPS.Engine.Migration.MigrationTarget]::Listen($A) }
                'append'   { [ContainerPS.Engine.Migration.MigrationTarget]::Append($A, $B, [byte[]]$C) }
                'complete' { [ContainerPS.Engine.Migration.MigrationTarget]::Complete($A) }
                'commit'   { [ContainerPS.Engine.Migration.MigrationTarget]::Commit($A) }
                'abort'    { [ContainerPS.Engine.Migration.MigrationTarget]::Abort($A) }
            }
        } catch {
            # The engine's own error (its stable ID and message) travels back as data.
            $x = $_.Exception
            while ($x -and $x -isnot [ContainerPS.Engine.ContainerPSException]) { $x = $x.InnerException }
            if (-not $x) { throw }
            [pscustomobject]@{ PSTypeName = 'ContainerPS.RemoteError'; ErrorId = $x.ErrorId; Kind = "$($x.Kind)"; Message = $x.Message }
        }
        """;

    protected override void ProcessRecord()
    {
        if (!ShouldProcess(Name, $"Move container to {Destination.ComputerName}"))
            return;
        Engine.Migration.MigrationPlan? plan = null;
        if (!Try(() => plan = Engine.Containers.PlanMove(Name, Live, Receives())))
            return;
        WriteVerbose(plan!.RootfsFormat is { } format
            ? $"The filesystem goes as a {format} send stream (both pools are {format})."
            : "The filesystem goes as a tar.");
        var total = Stopwatch.StartNew();
        Phase("asking the destination to take it", 2);
        string token;
        try { token = (string)Remote("begin", plan!.ToJson())[0].BaseObject; }
        catch (Exception e) when (e is ContainerPSException or RuntimeException or InvalidOperationException or InvalidRunspaceStateException or IOException or OperationCanceledException)
        {
            var record = e is ContainerPSException ce ? ToErrorRecord(ce) : new ErrorRecord(e, "MoveRefused", ErrorCategory.InvalidOperation, Name);
            record.ErrorDetails = new ErrorDetails($"The destination refused container '{Name}': {e.Message} Nothing was changed.");
            WriteError(record);
            return;
        }

        string? state = null;
        var frozen = new Stopwatch();
        PSObject? moved;
        var confirmed = false;
        var committing = false;
        MigrationChannel.Sender? link = null;
        try
        {
            link = DataThroughSession ? null : OpenDataLink(token);
            frozen.Start();
            Phase(plan!.Running ? "freezing it (CRIU dump)" : "stopped: no dump", 10);
            state = Engine.Containers.FreezeForMove(Name);
            Send(token, link, ContainerService.ArchiveRootfs, null, plan!.RootfsFormat, 20);
            if (state is not null)
                Send(token, link, ContainerService.ArchiveState, state, null, 70);
            link?.Finish();
            Phase(plan.Running ? "restoring it on the destination" : "creating it on the destination", 85);
            moved = Remote("complete", token).FirstOrDefault();
            if (plan!.Running && moved?.Properties["State"]?.Value as string != "Running")
                throw new InvalidOperationException($"the destination reports the container {moved?.Properties["State"]?.Value ?? "missing"}, not Running");
            // The destination holds it frozen until told to keep it; from the commit on, this side
            // cannot tell by itself which copy lives, so it is recorded first.
            Phase("telling the destination to keep it", 90);
            Engine.Containers.BeginCommitMove(Name);
            committing = true;
            moved = Remote("commit", token).FirstOrDefault();
            frozen.Stop();
            Engine.Containers.ConfirmMove(Name);
            confirmed = true;
        }
        catch (Exception e) when (committing && !confirmed && e is not ContainerPSException && e is RuntimeException or InvalidOperationException or IOException or InvalidRunspaceStateException or OperationCanceledException)
        {
            // No answer to the commit: the destination may have kept the container, or not. It runs on neither host by this side's doing.
            string? kept = null;
            Try(() => kept = Engine.Containers.KeepUnconfirmedMove(Name));
            var record = new ErrorRecord(e, "MoveUnconfirmed", ErrorCategory.OperationStopped, Name)
            {
                ErrorDetails = new ErrorDetails($"Moving container '{Name}' to {Destination.ComputerName}: the destination did not answer when told to keep it ({e.Message}), " +
                    $"so whether it kept the container is unknown. Check there with Get-Container: {kept ?? "see the error before this one"}."),
            };
            WriteError(record);
            return;
        }
        catch (Exception e) when (e is ContainerPSException or RuntimeException or InvalidOperationException or IOException or InvalidRunspaceStateException or OperationCanceledException)
        {
            // The source is resumed before anything is written: after Ctrl+C, writing ends the command.
            string? notCleaned = abandoned ? "its session is still busy with the step that was cut short. It rolls back its part at its first ContainerPS command after that session ends (Remove-PSSession)" : null;
            if (!abandoned)
            {
                try { Remote("abort", token); }
                catch (Exception a) when (a is RuntimeException or InvalidOperationException or InvalidRunspaceStateException or IOException or OperationCanceledException) { notCleaned = a.Message; }
            }
            var resumed = Try(() => Engine.Containers.ResumeAfterFailedMove(Name, state));
            if (notCleaned is not null)
                WriteWarning($"Could not clean up the destination: {notCleaned}");
            var record = e is ContainerPSException ce ? ToErrorRecord(ce) : new ErrorRecord(e, "MoveFailed", ErrorCategory.OperationStopped, Name);
            record.ErrorDetails = new ErrorDetails($"Moving container '{Name}' failed: {e.Message}. {(resumed ? "It runs on the source again (or is as it was)." : "Restoring it on the source failed too: see the error before this one.")}");
            WriteError(record);
            return;
        }
        finally
        {
            link?.Dispose();
            if (!confirmed) // the bar ends here when the move did not go through; else after the source is removed
                WriteProgress(new ProgressRecord(1, $"Moving {Name} to {Destination.ComputerName}", "done") { RecordType = ProgressRecordType.Completed });
        }
        Phase("removing it here", 95);
        if (!Try(() => Engine.Containers.FinishMove(Name)))
            WriteWarning($"Container '{Name}' runs on {Destination.ComputerName}, but removing it here failed: remove it with Remove-Container -Force.");
        WriteProgress(new ProgressRecord(1, $"Moving {Name} to {Destination.ComputerName}", "done") { RecordType = ProgressRecordType.Completed });
        WriteVerbose($"moved {Name} to {Destination.ComputerName}: {total.Elapsed.TotalMilliseconds:0} ms in all, frozen {frozen.Elapsed.TotalMilliseconds:0} ms");
        if (PassThru && moved is not null)
        {
            moved.Properties.Add(new PSNoteProperty("MoveDowntimeMs", (long)frozen.Elapsed.TotalMilliseconds));
            moved.Properties.Add(new PSNoteProperty("MoveTotalMs", (long)total.Elapsed.TotalMilliseconds));
            WriteObject(moved);
        }
    }

    /// <summary>One step of the move on its progress bar.</summary>
    private void Phase(string status, int percent) =>
        WriteProgress(new ProgressRecord(1, $"Moving {Name} to {Destination.ComputerName}", status) { PercentComplete = percent });

    /// <summary>The volume stream the destination's pool receives (btrfs, zfs), or null (tar only, or a destination that cannot say).</summary>
    private string? Receives()
    {
        try { return Remote("receives").FirstOrDefault()?.BaseObject as string is { Length: > 0 } f ? f : null; }
        catch (Exception e) when (e is ContainerPSException or RuntimeException or InvalidOperationException or InvalidRunspaceStateException or IOException or OperationCanceledException) { return null; }
    }

    /// <summary>
    /// The direct, encrypted data link to the destination (its key comes through the session), or
    /// null when the destination cannot offer one or it cannot be reached: the data then goes
    /// through the session (slower: about 30 MB/s here).
    /// </summary>
    private MigrationChannel.Sender? OpenDataLink(string token)
    {
        var offer = Remote("listen", token).Select(o => o.BaseObject as string).ToList();
        if (offer.Count != 3 || offer.Any(o => o is null) || !int.TryParse(offer[1], out var port))
        {
            WriteVerbose("The destination offers no direct data link: sending through the remoting session.");
            return null;
        }
        var link = MigrationChannel.Sender.TryConnect(offer[0]!, port, Convert.FromBase64String(offer[2]!), TimeSpan.FromSeconds(5));
        WriteVerbose(link is null
            ? $"Cannot reach {offer[0]}:{port}: sending through the remoting session."
            : $"Data link to {offer[0]}:{port} (AES-256-GCM, key exchanged through the session).");
        return link;
    }

    /// <summary>Streams one archive (a tar, or the rootfs as a driver stream) to the destination in chunks, with progress in bytes.</summary>
    /// <param name="percent">Where this archive starts on the move's progress bar.</param>
    private void Send(string token, MigrationChannel.Sender? link, string part, string? state, string? format, int percent)
    {
        using var archive = Engine.Containers.OpenArchive(Name, state, format);
        var tar = archive.Process;
        var errors = tar.StandardError.ReadToEndAsync();
        var stream = tar.StandardOutput.BaseStream;
        var buffer = new byte[ChunkSize];
        long sent = 0;
        while (true)
        {
            var n = 0;
            while (n < buffer.Length)
            {
                var r = stream.Read(buffer, n, buffer.Length - n);
                if (r == 0)
                    break;
                n += r;
            }
            if (n == 0)
                break;
            if (link is not null)
                link.Send(part == ContainerService.ArchiveRootfs ? (byte)0 : (byte)1, buffer.AsSpan(0, n));
            else
                Remote("append", token, part, n == buffer.Length ? buffer : buffer[..n]);
            sent += n;
            Phase($"sending the {(part == ContainerService.ArchiveRootfs ? "filesystem" : "saved state")}: {sent / 1048576.0:0.0} MiB (compressed)", percent);
        }
        tar.WaitForExit();
        if (tar.ExitCode != 0)
            throw new IOException($"{format ?? "tar"} of the {part} failed: {errors.Result.Trim()}");
    }

    /// <summary>Set when a remote step was left running (Ctrl+C, or the session broke): the destination is not called again.</summary>
    private bool abandoned;

    /// <summary>
    /// One step on the destination. It is waited for in slices, so Ctrl+C (StopProcessing) and a
    /// session that breaks end the wait at once instead of leaving Move-Container hanging on a
    /// destination that will not answer.
    /// </summary>
    private IList<PSObject> Remote(string step, params object[] args)
    {
        if (abandoned)
            throw new InvalidOperationException($"the session to {Destination.ComputerName} is still busy with a step that was cut short");
        var ps = PowerShell.Create();
        ps.Runspace = Destination.Runspace;
        ps.AddScript(RemoteScript).AddArgument(step);
        foreach (var a in args)
            ps.AddArgument(a);
        var pending = ps.BeginInvoke();
        while (!pending.AsyncWaitHandle.WaitOne(200))
        {
            var session = Destination.Runspace.RunspaceStateInfo;
            if (!Stopping && session.State == RunspaceState.Opened)
                continue;
            abandoned = true; // and ps is not disposed: that would wait for the remote step
            try { ps.BeginStop(null, null); }
            catch (InvalidOperationException) { }
            throw Stopping
                ? new OperationCanceledException($"the move was stopped while the destination ran its '{step}' step")
                : new IOException($"the session to {Destination.ComputerName} is {session.State}{(session.Reason is { } why ? ": " + why.Message : "")}");
        }
        using var _ = ps;
        var result = ps.EndInvoke(pending);
        if (ps.Streams.Error.Count > 0)
            throw new InvalidOperationException(ps.Streams.Error[0].Exception?.Message ?? ps.Streams.Error[0].ToString());
        if (result.Count > 0 && result[0].Properties["ErrorId"]?.Value is string id && result[0].TypeNames.Any(t => t.EndsWith("ContainerPS.RemoteError", StringComparison.Ordinal)))
            throw new ContainerPSException(Enum.TryParse<ErrorKind>(result[0].Properties["Kind"]?.Value as string, out var kind) ? kind : ErrorKind.OperationFailed,
                id, $"{Destination.ComputerName}: {result[0].Properties["Message"]?.Value}", Name);
        return result;
    }
}
