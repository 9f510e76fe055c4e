using System.Management.Automation;
using ContainerPS.Engine;

namespace ContainerPS.Commands;

/// <summary>Cmdlets on one snapshot: -Container and -Name bind from a piped ContainerPS.ContainerSnapshot.</summary>
public abstract class ContainerSnapshotCmdlet : ContainerPSCmdlet
{
    [Parameter(Mandatory = true, Position = 0, ValueFromPipelineByPropertyName = true)]
    [ArgumentCompleter(typeof(ContainerNameCompleter))]
    public string Container { get; set; } = "";

    [Parameter(Mandatory = true, Position = 1, ValueFromPipelineByPropertyName = true)]
    [ArgumentCompleter(typeof(SnapshotNameCompleter))]
    public string Name { get; set; } = "";
}

[Cmdlet(VerbsCommon.New, "ContainerSnapshot", SupportsShouldProcess = true)]
[OutputType(typeof(ContainerSnapshot))]
public sealed class NewContainerSnapshotCommand : ContainerSnapshotCmdlet
{
    protected override void ProcessRecord()
    {
        if (ShouldProcess($"{Container}/{Name}", "Create snapshot"))
            Try(() => WriteObject(Engine.Snapshots.Create(Container, Name)));
    }
}

[Cmdlet(VerbsCommon.Get, "ContainerSnapshot")]
[OutputType(typeof(ContainerSnapshot))]
public sealed class GetContainerSnapshotCommand : ContainerPSCmdlet
{
    [Parameter(Mandatory = true, Position = 0, ValueFromPipelineByPropertyName = true)]
    [ArgumentCompleter(typeof(ContainerNameCompleter))]
    public string Container { get; set; } = "";

    [Parameter(Position = 1)]
    [SupportsWildcards]
    [ArgumentCompleter(typeof(SnapshotNameCompleter))]
    public string[]? Name { get; set; }

    protected override void ProcessRecord()
    {
        IReadOnlyList<ContainerSnapshot> snaps = Array.Empty<ContainerSnapshot>();
        if (!Try(() => snaps = Engine.Snapshots.List(Container)))
            return;
        foreach (var s in Select(snaps, s => s.Name, Name,
                     n => new ContainerPSException(Errors.SnapshotNotFound, $"Snapshot '{n}' of container '{Container}' not found.", n)))
            WriteObject(s);
    }
}

[Cmdlet(VerbsData.Restore, "ContainerSnapshot", SupportsShouldProcess = true, ConfirmImpact = ConfirmImpact.High)]
public sealed class RestoreContainerSnapshotCommand : ContainerSnapshotCmdlet
{
    protected override void ProcessRecord()
    {
        if (ShouldProcess(Container, $"Replace the container's filesystem with snapshot '{Name}'"))
            Try(() => Engine.Snapshots.Restore(Container, Name));
    }
}

[Cmdlet(VerbsCommon.Remove, "ContainerSnapshot", SupportsShouldProcess = true)]
public sealed class RemoveContainerSnapshotCommand : ContainerSnapshotCmdlet
{
    protected override void ProcessRecord()
    {
        if (ShouldProcess($"{Container}/{Name}", "Remove snapshot"))
            Try(() => Engine.Snapshots.Remove(Container, Name));
    }
}
