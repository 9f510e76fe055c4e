using System.Management.Automation;
using System.Management.Automation.Runspaces;
using ContainerPS.Engine;
using ContainerPS.Engine.Moves;

namespace ContainerPS.Commands;

/// <summary>
/// The destination of Move-Container through a PowerShell remoting session: each step is one call
/// of MigrationTarget there (RemoteScript), waited for in slices so that Ctrl+C and a broken session
/// end it at once.
/// </summary>
internal sealed class SessionMoveDestination(PSSession session, Cmdlet cmdlet, string containerName) : IMoveDestination
{
    // The destination side: ContainerPS loaded there, then one static engine call per step.
    private const string RemoteScript = """
        param($Step, $A, $B, $C)
        if (-not (Get-Module ContainerPS)) { Import-Module ContainerPS -ErrorAction Stop }
        try {
            switch ($Step) {
                'receives' { [ContainerPS.Commands.MoveTarget]::Receives() }
                'begin'    { [ContainerPS.Commands.MoveTarget]::Begin($A) }
                'listen'   { [ContainerPS.Commands.MoveTarget]::Listen($A) }
                'append'   { [ContainerPS.Commands.MoveTarget]::Append($A, $B, [byte[]]$C) }
                'complete' { [ContainerPS.Commands.MoveTarget]::Complete($A) }
                'commit'   { [ContainerPS.Commands.MoveTarget]::Commit($A) }
                'abort'    { [ContainerPS.Commands.MoveTarget]::Abort($A) }
            }
        } catch {
            # The engine's own error (its stable ID and message) travels back as data.
            $x = $_.Exception
            while ($x -and $x -isnot [ContainerPS.Engine.ContainerPSException]) { $x = $x.InnerException }
            if (-not $x) { throw }
            [pscustomobject]@{ PSTypeName = 'ContainerPS.RemoteError'; ErrorId = $x.ErrorId; Kind = "$($x.Kind)"; Message = $x.Message }
        }
        """;

    /// <summary>Set when a step was left running (Ctrl+C, or the session broke): the destination is not called again.</summary>
    private bool abandoned;

    public string Name => session.ComputerName;
    public string Receives() => Call("receives").FirstOrDefault()?.BaseObject as string ?? "";
    public string Begin(string planJson) => (string)Call("begin", planJson)[0].BaseObject;
    public IReadOnlyList<string?> Listen(string token) => Call("listen", token).Select(o => o.BaseObject as string).ToList();
    public void Append(string token, string part, byte[] data) => Call("append", token, part, data);
    public MovedContainer Complete(string token) => Moved(Call("complete", token));
    public MovedContainer Commit(string token) => Moved(Call("commit", token));

    public void Abort(string token)
    {
        if (abandoned)
            throw new IOException("its session is still busy with the step that was cut short. It rolls back its part at its first ContainerPS command after that session ends (Remove-PSSession)");
        Call("abort", token);
    }

    private static MovedContainer Moved(IList<PSObject> result) =>
        new(result.FirstOrDefault()?.Properties["State"]?.Value as string, result.FirstOrDefault());

    /// <summary>
    /// One step on the destination. Ctrl+C (StopProcessing) and a session that breaks end the wait
    /// at once instead of leaving Move-Container hanging on a destination that will not answer.
    /// A transport failure is an IOException; the destination's engine error is rebuilt as it was.
    /// </summary>
    private IList<PSObject> Call(string step, params object[] args)
    {
        if (abandoned)
            throw new IOException($"the session to {Name} is still busy with a step that was cut short");
        var ps = PowerShell.Create();
        ps.Runspace = session.Runspace;
        ps.AddScript(RemoteScript).AddArgument(step);
        foreach (var a in args)
            ps.AddArgument(a);
        IList<PSObject> result;
        try
        {
            var pending = ps.BeginInvoke();
            while (!pending.AsyncWaitHandle.WaitOne(200))
            {
                var info = session.Runspace.RunspaceStateInfo;
                if (!cmdlet.Stopping && info.State == RunspaceState.Opened)
                    continue;
                abandoned = true; // and ps is not disposed: that would wait for the remote step
                try { ps.BeginStop(null, null); }
                catch (InvalidOperationException) { }
                throw cmdlet.Stopping
                    ? new OperationCanceledException($"the move was stopped while the destination ran its '{step}' step")
                    : new IOException($"the session to {Name} is {info.State}{(info.Reason is { } why ? ": " + why.Message : "")}");
            }
            using var _ = ps;
            result = ps.EndInvoke(pending);
            if (ps.Streams.Error.Count > 0)
                throw new IOException(ps.Streams.Error[0].Exception?.Message ?? ps.Streams.Error[0].ToString());
        }
        catch (Exception e) when (e is RuntimeException or InvalidOperationException or InvalidRunspaceStateException)
        {
            throw new IOException(e.Message, e);
        }
        if (result.Count > 0 && result[0].Properties["ErrorId"]?.Value is string id && result[0].TypeNames.Any(t => t.EndsWith("ContainerPS.RemoteError", StringComparison.Ordinal)))
            throw new ContainerPSException(Errors.ById.GetValueOrDefault(id) ?? new ErrorCode(id, Enum.TryParse<ErrorKind>(result[0].Properties["Kind"]?.Value as string, out var kind) ? kind : ErrorKind.OperationFailed),
                $"{Name}: {result[0].Properties["Message"]?.Value}", containerName);
        return result;
    }
}
