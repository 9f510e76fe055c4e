using System.Management.Automation;
using System.Management.Automation.Runspaces;
using ContainerPS.Engine;
using ContainerPS.Engine.Moves;

namespace ContainerPS.Commands;

/// <summary>
/// Moves a container to another ContainerPS host reached by PowerShell remoting. The engine's
/// ContainerMove runs the move; this cmdlet is its transport: each destination step is one call of
/// MigrationTarget there, through the PSSession.
/// </summary>
[Cmdlet(VerbsCommon.Move, "Container", SupportsShouldProcess = true, ConfirmImpact = ConfirmImpact.Medium)]
[OutputType(typeof(PSObject))]
public sealed class MoveContainerCommand : ContainerPSCmdlet
{
    [Parameter(Mandatory = true, Position = 0, ValueFromPipelineByPropertyName = true)]
    [ArgumentCompleter(typeof(ContainerNameCompleter))]
    public string Name { get; set; } = "";

    /// <summary>A session to the destination host (New-PSSession -HostName ... -SSHTransport) where ContainerPS is installed or imported.</summary>
    [Parameter(Mandatory = true, Position = 1)]
    public PSSession Destination { get; set; } = null!;

    /// <summary>How a running container moves: StopAndCopy (default), PostCopy (memory follows on demand), PreCopy (memory copied in rounds while it runs; needs the kernel's memory dirty tracking; same as -Live).</summary>
    [Parameter]
    public MoveMode Mode { get; set; } = MoveMode.StopAndCopy;

    /// <summary>Pre-copy live migration (needs the kernel's memory dirty tracking): -Mode PreCopy.</summary>
    [Parameter]
    public SwitchParameter Live { get; set; }

    /// <summary>At most this many pre-copy rounds with -Live (1 to 64; fewer when the memory written between rounds stops shrinking).</summary>
    [Parameter]
    public int Iterations { get; set; } = 3;

    /// <summary>Send the data through the remoting session instead of a direct TCP link (when the destination's ports are firewalled).</summary>
    [Parameter]
    public SwitchParameter DataThroughSession { get; set; }

    [Parameter]
    public SwitchParameter PassThru { get; set; }

    protected override void ProcessRecord()
    {
        if (!ShouldProcess(Name, $"Move container to {Destination.ComputerName}"))
            return;
        MoveResult? result = null;
        var mode = Live ? MoveMode.PreCopy : Mode;
        if (!Try(() => result = new ContainerMove(Engine.Outgoing, this).Run(Name, new SessionMoveDestination(Destination, this, Name), mode, DataThroughSession, Iterations)))
            return;
        if (PassThru && result!.Moved is PSObject moved)
        {
            moved.Properties.Add(new PSNoteProperty("MoveDowntimeMs", (long)result.Downtime.TotalMilliseconds));
            moved.Properties.Add(new PSNoteProperty("MoveTotalMs", (long)result.Total.TotalMilliseconds));
            moved.Properties.Add(new PSNoteProperty("MoveBytesSent", result.BytesSent));
            moved.Properties.Add(new PSNoteProperty("MoveMode", mode.ToString()));
            moved.Properties.Add(new PSNoteProperty("MoveRounds", result.RoundBytes?.Count ?? 0));
            moved.Properties.Add(new PSNoteProperty("MoveRoundBytes", result.RoundBytes?.ToArray() ?? Array.Empty<long>()));
            WriteObject(moved);
        }
    }
}
