using System.Collections;
using System.Management.Automation;
using ContainerPS.Engine;

namespace ContainerPS.Commands;

[Cmdlet(VerbsCommon.Add, "StorageVolume", SupportsShouldProcess = true)]
[OutputType(typeof(StorageVolume))]
public sealed class AddStorageVolumeCommand : ContainerPSCmdlet
{
    [Parameter(Mandatory = true, Position = 0, ValueFromPipelineByPropertyName = true)]
    [ArgumentCompleter(typeof(PoolNameCompleter))]
    public string Pool { get; set; } = "";

    [Parameter(Mandatory = true, Position = 1)]
    public string Name { get; set; } = "";

    /// <summary>Shortcut for the size config key (500MiB, 10GiB).</summary>
    [Parameter]
    public string? Size { get; set; }

    [Parameter]
    public Hashtable? Config { get; set; }

    [Parameter]
    public string? Description { get; set; }

    protected override void ProcessRecord()
    {
        if (!ShouldProcess($"{Pool}/custom/{Name}", "Create storage volume"))
            return;
        var config = ConfigFrom(Config);
        if (Size is not null)
            config["size"] = Size;
        Try(() => WriteObject(Engine.Storage.CreateVolume(Pool, Name, config, Description)));
    }
}

[Cmdlet(VerbsCommon.Get, "StorageVolume")]
[OutputType(typeof(StorageVolume))]
public sealed class GetStorageVolumeCommand : ContainerPSCmdlet
{
    [Parameter(Position = 0, ValueFromPipelineByPropertyName = true)]
    [SupportsWildcards]
    [ArgumentCompleter(typeof(PoolNameCompleter))]
    public string[]? Pool { get; set; }

    [Parameter(Position = 1)]
    [SupportsWildcards]
    [ArgumentCompleter(typeof(VolumeNameCompleter))]
    public string[]? Name { get; set; }

    [Parameter]
    [ValidateSet(VolumeTypes.Custom, VolumeTypes.Container, VolumeTypes.Image, VolumeTypes.Snapshot, VolumeTypes.CustomSnapshot)]
    public string? Type { get; set; }

    /// <summary>Return only this property's bare value (a property name such as used, or a config key).</summary>
    [Parameter]
    [ArgumentCompleter(typeof(PropertyNameCompleter))]
    public string? Property { get; set; }

    protected override void ProcessRecord()
    {
        IReadOnlyList<StoragePool> pools = Array.Empty<StoragePool>();
        if (!Try(() => pools = Engine.Storage.ListPools()))
            return;
        var volumes = new List<StorageVolume>();
        foreach (var pool in Select(pools, p => p.Name, Pool, ContainerPSException.PoolNotFound))
            Try(() => volumes.AddRange(Engine.Storage.ListVolumes(pool.Name).Where(v => Type is null || v.Type == Type)));
        // A literal -Name is an error only when no selected pool has it.
        var where = Pool is { Length: 1 } && !WildcardPattern.ContainsWildcardCharacters(Pool[0]) ? Pool[0] : "";
        foreach (var v in Select(volumes, v => v.Name, Name, n => ContainerPSException.VolumeNotFound(where, Type ?? VolumeTypes.Custom, n)))
            WriteEntity(v, Property);
    }
}

/// <summary>Parameters that name one volume, bound from a StorageVolume in the pipeline by property name.</summary>
public abstract class StorageVolumeCmdlet : ContainerPSCmdlet
{
    [Parameter(Mandatory = true, Position = 0, ValueFromPipelineByPropertyName = true)]
    [ArgumentCompleter(typeof(PoolNameCompleter))]
    public string Pool { get; set; } = "";

    [Parameter(Mandatory = true, Position = 1, ValueFromPipelineByPropertyName = true)]
    [ArgumentCompleter(typeof(VolumeNameCompleter))]
    public string Name { get; set; } = "";

    /// <summary>The volume's type; custom unless a volume object from the pipeline says otherwise.</summary>
    [Parameter(ValueFromPipelineByPropertyName = true)]
    [ValidateSet(VolumeTypes.Custom, VolumeTypes.Container, VolumeTypes.Image, VolumeTypes.Snapshot, VolumeTypes.CustomSnapshot)]
    public string Type { get; set; } = VolumeTypes.Custom;

    protected string Target => $"{Pool}/{Type}/{Name}";

    /// <summary>The engine's type for <see cref="Type"/> (InvalidVolumeType for a name the engine does not know).</summary>
    protected VolumeType ParsedType => VolumeTypes.Parse(Type);
}

[Cmdlet(VerbsCommon.Set, "StorageVolume", SupportsShouldProcess = true)]
[OutputType(typeof(StorageVolume))]
public sealed class SetStorageVolumeCommand : StorageVolumeCmdlet
{
    /// <summary>Keys to set; a $null value unsets the key.</summary>
    [Parameter]
    public Hashtable? Config { get; set; }

    [Parameter]
    public string? Description { get; set; }

    [Parameter]
    public SwitchParameter PassThru { get; set; }

    protected override void ProcessRecord()
    {
        if (!ShouldProcess(Target, "Set storage volume configuration"))
            return;
        Try(() =>
        {
            var v = Engine.Storage.UpdateVolume(Pool, ParsedType, Name, ConfigFrom(Config), Description);
            if (PassThru)
                WriteObject(v);
        });
    }
}

[Cmdlet(VerbsCommon.Rename, "StorageVolume", SupportsShouldProcess = true)]
[OutputType(typeof(StorageVolume))]
public sealed class RenameStorageVolumeCommand : StorageVolumeCmdlet
{
    [Parameter(Mandatory = true, Position = 2)]
    public string NewName { get; set; } = "";

    [Parameter]
    public SwitchParameter PassThru { get; set; }

    protected override void ProcessRecord()
    {
        if (!ShouldProcess(Target, $"Rename storage volume to '{NewName}'"))
            return;
        Try(() =>
        {
            var v = Engine.Storage.RenameVolume(Pool, ParsedType, Name, NewName);
            if (PassThru)
                WriteObject(v);
        });
    }
}

[Cmdlet(VerbsCommon.Copy, "StorageVolume", SupportsShouldProcess = true)]
[OutputType(typeof(StorageVolume))]
public sealed class CopyStorageVolumeCommand : StorageVolumeCmdlet
{
    /// <summary>The pool to copy into; the source pool when omitted.</summary>
    [Parameter]
    [ArgumentCompleter(typeof(PoolNameCompleter))]
    public string? TargetPool { get; set; }

    /// <summary>The copy's name; the source's name when omitted (then -TargetPool is needed).</summary>
    [Parameter(Position = 2)]
    public string? NewName { get; set; }

    [Parameter]
    public SwitchParameter PassThru { get; set; }

    protected override void ProcessRecord()
    {
        if (!ShouldProcess(Target, $"Copy storage volume to '{TargetPool ?? Pool}/custom/{NewName ?? Name}'"))
            return;
        Try(() =>
        {
            var v = Engine.Storage.CopyVolume(Pool, ParsedType, Name, TargetPool, NewName);
            if (PassThru)
                WriteObject(v);
        });
    }
}

[Cmdlet(VerbsCommon.Remove, "StorageVolume", SupportsShouldProcess = true, ConfirmImpact = ConfirmImpact.High)] // its data goes: it asks, as Remove-StoragePool does
public sealed class RemoveStorageVolumeCommand : StorageVolumeCmdlet
{
    protected override void ProcessRecord()
    {
        if (ShouldProcess(Target, "Remove storage volume"))
            Try(() => Engine.Storage.RemoveVolume(Pool, ParsedType, Name));
    }
}
