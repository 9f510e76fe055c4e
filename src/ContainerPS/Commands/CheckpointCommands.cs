using System.Management.Automation;

namespace ContainerPS.Commands;

[Cmdlet(VerbsData.Checkpoint, "Container", SupportsShouldProcess = true, DefaultParameterSetName = "Snapshot")]
[OutputType(typeof(ContainerSnapshot))]
public sealed class CheckpointContainerCommand : ContainerPSCmdlet
{
    [Parameter(Mandatory = true, Position = 0, ValueFromPipelineByPropertyName = true)]
    [ArgumentCompleter(typeof(ContainerNameCompleter))]
    public string Name { get; set; } = "";

    /// <summary>A new (or empty) directory for the CRIU images, instead of a stateful snapshot.</summary>
    [Parameter(Mandatory = true, ParameterSetName = "Path")]
    public string Path { get; set; } = "";

    /// <summary>The stateful snapshot's name (default snap0, snap1, ...).</summary>
    [Parameter(ParameterSetName = "Snapshot")]
    public string? SnapshotName { get; set; }

    /// <summary>Keep the container running after the dump (it is frozen only while it is saved).</summary>
    [Parameter]
    public SwitchParameter LeaveRunning { get; set; }

    protected override void ProcessRecord()
    {
        var target = ParameterSetName == "Path" ? GetUnresolvedProviderPathFromPSPath(Path) : null;
        var what = target ?? $"stateful snapshot {(SnapshotName is null ? "" : $"'{SnapshotName}'")}".TrimEnd();
        if (!ShouldProcess(Name, $"Checkpoint into {what}{(LeaveRunning ? " and leave it running" : " and stop it")}"))
            return;
        Try(() =>
        {
            var snap = Engine.Checkpoints.Checkpoint(Name, target, target is null ? SnapshotName : null, LeaveRunning);
            if (snap is not null)
                WriteObject(snap);
        });
    }
}

[Cmdlet(VerbsData.Restore, "Container", SupportsShouldProcess = true, DefaultParameterSetName = "Snapshot")]
[OutputType(typeof(Container))]
public sealed class RestoreContainerCommand : ContainerPSCmdlet
{
    [Parameter(Mandatory = true, Position = 0, ValueFromPipelineByPropertyName = true)]
    [Alias("Container")]
    [ArgumentCompleter(typeof(ContainerNameCompleter))]
    public string Name { get; set; } = "";

    /// <summary>A directory made by Checkpoint-Container -Path.</summary>
    [Parameter(Mandatory = true, ParameterSetName = "Path")]
    public string Path { get; set; } = "";

    /// <summary>A stateful snapshot: its filesystem and its processes are restored.</summary>
    [Parameter(Mandatory = true, ParameterSetName = "Snapshot", Position = 1)]
    [ArgumentCompleter(typeof(SnapshotNameCompleter))]
    public string Snapshot { get; set; } = "";

    [Parameter]
    public SwitchParameter PassThru { get; set; }

    protected override void ProcessRecord()
    {
        var path = ParameterSetName == "Path" ? GetUnresolvedProviderPathFromPSPath(Path) : null;
        if (!ShouldProcess(Name, $"Restore the running state from {path ?? $"snapshot '{Snapshot}'"}"))
            return;
        Try(() =>
        {
            var c = Engine.Checkpoints.Restore(Name, path, path is null ? Snapshot : null);
            if (PassThru)
                WriteObject(c);
        });
    }
}

[Cmdlet(VerbsDiagnostic.Test, "ContainerCheckpoint")]
[OutputType(typeof(CheckpointSupport))]
public sealed class TestContainerCheckpointCommand : ContainerPSCmdlet
{
    /// <summary>Return only $true or $false.</summary>
    [Parameter]
    public SwitchParameter Quiet { get; set; }

    protected override void EndProcessing()
    {
        var r = Engine.Checkpoints.Support();
        if (Quiet)
            WriteObject(r.Supported);
        else
            WriteObject(r);
    }
}
