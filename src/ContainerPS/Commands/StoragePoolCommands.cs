using System.Collections;
using System.Management.Automation;
using ContainerPS.Engine;

namespace ContainerPS.Commands;

[Cmdlet(VerbsCommon.New, "StoragePool", SupportsShouldProcess = true)]
[OutputType(typeof(StoragePool))]
public sealed class NewStoragePoolCommand : ContainerPSCmdlet
{
    [Parameter(Mandatory = true, Position = 0, ValueFromPipelineByPropertyName = true)]
    public string Name { get; set; } = "";

    [Parameter(Mandatory = true, ValueFromPipelineByPropertyName = true)]
    [ArgumentCompleter(typeof(DriverNameCompleter))]
    public string Driver { get; set; } = "";

    [Parameter(ValueFromPipelineByPropertyName = true)]
    public string? Source { get; set; }

    [Parameter(ValueFromPipelineByPropertyName = true)]
    public Hashtable? Config { get; set; }

    [Parameter(ValueFromPipelineByPropertyName = true)]
    public string? Description { get; set; }

    protected override void ProcessRecord()
    {
        var target = Source is null ? $"{Name} ({Driver})" : $"{Name} ({Driver} on {Source})";
        if (!ShouldProcess(target, "Create storage pool"))
            return;
        Try(() => WriteObject(Engine.Storage.CreatePool(Name, Driver, Source, ConfigFrom(Config), Description)));
    }
}

[Cmdlet(VerbsCommon.Get, "StoragePool")]
[OutputType(typeof(StoragePool))]
public sealed class GetStoragePoolCommand : ContainerPSCmdlet
{
    [Parameter(Position = 0, ValueFromPipelineByPropertyName = true)]
    [SupportsWildcards]
    [ArgumentCompleter(typeof(PoolNameCompleter))]
    public string[]? Name { get; set; }

    /// <summary>Return only this property's bare value (a property name such as used, or a config key).</summary>
    [Parameter]
    [ArgumentCompleter(typeof(PropertyNameCompleter))]
    public string? Property { get; set; }

    protected override void ProcessRecord()
    {
        IReadOnlyList<StoragePool> pools = Array.Empty<StoragePool>();
        if (!Try(() => pools = Engine.Storage.ListPools()))
            return;
        foreach (var pool in Select(pools, p => p.Name, Name, ContainerPSException.PoolNotFound))
            WriteEntity(pool, Property);
    }
}

[Cmdlet(VerbsCommon.Set, "StoragePool", SupportsShouldProcess = true)]
[OutputType(typeof(StoragePool))]
public sealed class SetStoragePoolCommand : ContainerPSCmdlet
{
    [Parameter(Mandatory = true, Position = 0, ValueFromPipelineByPropertyName = true)]
    [ArgumentCompleter(typeof(PoolNameCompleter))]
    public string Name { get; set; } = "";

    /// <summary>Keys to set; a $null value unsets the key.</summary>
    [Parameter]
    public Hashtable? Config { get; set; }

    [Parameter]
    public string? Description { get; set; }

    [Parameter]
    public SwitchParameter PassThru { get; set; }

    protected override void ProcessRecord()
    {
        if (!ShouldProcess(Name, "Set storage pool configuration"))
            return;
        Try(() =>
        {
            var pool = Engine.Storage.UpdatePool(Name, ConfigFrom(Config), Description);
            if (PassThru)
                WriteObject(pool);
        });
    }
}

[Cmdlet(VerbsCommon.Remove, "StoragePool", SupportsShouldProcess = true, ConfirmImpact = ConfirmImpact.High)]
public sealed class RemoveStoragePoolCommand : ContainerPSCmdlet
{
    [Parameter(Mandatory = true, Position = 0, ValueFromPipelineByPropertyName = true)]
    [ArgumentCompleter(typeof(PoolNameCompleter))]
    public string[] Name { get; set; } = Array.Empty<string>();

    /// <summary>Also remove the pool's volumes.</summary>
    [Parameter]
    public SwitchParameter Force { get; set; }

    protected override void ProcessRecord()
    {
        foreach (var name in Name)
        {
            if (ShouldProcess(name, Force ? "Remove storage pool and all its volumes" : "Remove storage pool"))
                Try(() => Engine.Storage.RemovePool(name, Force));
        }
    }
}
