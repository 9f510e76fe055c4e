using System.Management.Automation;
using ContainerPS.Engine;

namespace ContainerPS.Commands;

/// <summary>Cmdlets on a custom volume's snapshots: -Pool and -Volume bind from a piped StorageVolume (Volume = its Name) or StorageVolumeSnapshot.</summary>
public abstract class VolumeSnapshotsCmdlet : ContainerPSCmdlet
{
    [Parameter(Mandatory = true, Position = 0, ValueFromPipelineByPropertyName = true)]
    [ArgumentCompleter(typeof(PoolNameCompleter))]
    public string Pool { get; set; } = "";

    [Parameter(Mandatory = true, Position = 1, ValueFromPipelineByPropertyName = true)]
    [ArgumentCompleter(typeof(VolumeNameCompleter))]
    public string Volume { get; set; } = "";
}

/// <summary>Cmdlets on one snapshot: -Name binds from a piped ContainerPS.StorageVolumeSnapshot too.</summary>
public abstract class StorageVolumeSnapshotCmdlet : VolumeSnapshotsCmdlet
{
    [Parameter(Mandatory = true, Position = 2, ValueFromPipelineByPropertyName = true)]
    public string Name { get; set; } = "";

    protected string Target => $"{Pool}/{Volume}/{Name}";
}

[Cmdlet(VerbsCommon.New, "StorageVolumeSnapshot", SupportsShouldProcess = true)]
[OutputType(typeof(StorageVolumeSnapshot))]
public sealed class NewStorageVolumeSnapshotCommand : StorageVolumeSnapshotCmdlet
{
    protected override void ProcessRecord()
    {
        if (ShouldProcess(Target, "Create storage volume snapshot"))
            Try(() => WriteObject(Engine.Storage.CreateVolumeSnapshot(Pool, Volume, Name)));
    }
}

[Cmdlet(VerbsCommon.Get, "StorageVolumeSnapshot")]
[OutputType(typeof(StorageVolumeSnapshot))]
public sealed class GetStorageVolumeSnapshotCommand : VolumeSnapshotsCmdlet
{
    /// <summary>Snapshot names (wildcards); not bound from the pipeline, so a piped volume lists all its snapshots.</summary>
    [Parameter(Position = 2)]
    [SupportsWildcards]
    public string[]? Name { get; set; }

    protected override void ProcessRecord()
    {
        IReadOnlyList<StorageVolumeSnapshot> snaps = Array.Empty<StorageVolumeSnapshot>();
        if (!Try(() => snaps = Engine.Storage.ListVolumeSnapshots(Pool, Volume)))
            return;
        foreach (var s in Select(snaps, s => s.Name, Name,
                     n => new ContainerPSException(Errors.SnapshotNotFound, $"Snapshot '{n}' of storage volume '{Pool}/{Volume}' not found.", n)))
            WriteObject(s);
    }
}

[Cmdlet(VerbsData.Restore, "StorageVolumeSnapshot", SupportsShouldProcess = true, ConfirmImpact = ConfirmImpact.High)]
public sealed class RestoreStorageVolumeSnapshotCommand : StorageVolumeSnapshotCmdlet
{
    protected override void ProcessRecord()
    {
        if (ShouldProcess($"{Pool}/{Volume}", $"Replace the volume's files with snapshot '{Name}'"))
            Try(() => Engine.Storage.RestoreVolumeSnapshot(Pool, Volume, Name));
    }
}

[Cmdlet(VerbsCommon.Remove, "StorageVolumeSnapshot", SupportsShouldProcess = true)]
public sealed class RemoveStorageVolumeSnapshotCommand : StorageVolumeSnapshotCmdlet
{
    protected override void ProcessRecord()
    {
        if (ShouldProcess(Target, "Remove storage volume snapshot"))
            Try(() => Engine.Storage.RemoveVolumeSnapshot(Pool, Volume, Name));
    }
}
