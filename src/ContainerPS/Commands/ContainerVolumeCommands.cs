using System.Collections;
using System.Management.Automation;
using ContainerPS.Engine;

namespace ContainerPS.Commands;

/// <summary>Parameters naming a custom volume and a container: -Pool and -Name bind from a piped StorageVolume.</summary>
public abstract class ContainerVolumeCmdlet : ContainerPSCmdlet
{
    [Parameter(Mandatory = true, Position = 0, ValueFromPipelineByPropertyName = true)]
    [ArgumentCompleter(typeof(PoolNameCompleter))]
    public string Pool { get; set; } = "";

    [Parameter(Mandatory = true, Position = 1, ValueFromPipelineByPropertyName = true)]
    [ArgumentCompleter(typeof(VolumeNameCompleter))]
    public string Name { get; set; } = "";

    [Parameter(Mandatory = true, Position = 2)]
    [ArgumentCompleter(typeof(ContainerNameCompleter))]
    public string Container { get; set; } = "";
}

[Cmdlet(VerbsData.Mount, "StorageVolume", SupportsShouldProcess = true)]
[OutputType(typeof(ContainerDevice))]
public sealed class MountStorageVolumeCommand : ContainerVolumeCmdlet
{
    /// <summary>Where the volume appears inside the container (created if missing).</summary>
    [Parameter(Mandatory = true, Position = 3)]
    public string Path { get; set; } = "";

    [Parameter]
    public SwitchParameter ReadOnly { get; set; }

    /// <summary>The device's name in the container (default: the volume's name).</summary>
    [Parameter]
    public string? DeviceName { get; set; }

    [Parameter]
    public SwitchParameter PassThru { get; set; }

    protected override void ProcessRecord()
    {
        if (!ShouldProcess(Container, $"Mount storage volume {Pool}/{Name} at {Path}"))
            return;
        Try(() =>
        {
            var d = Engine.VolumeMounts.Mount(Pool, Name, Container, Path, ReadOnly, DeviceName);
            if (PassThru)
                WriteObject(d);
        });
    }
}

[Cmdlet(VerbsData.Dismount, "StorageVolume", SupportsShouldProcess = true)]
public sealed class DismountStorageVolumeCommand : ContainerVolumeCmdlet
{
    protected override void ProcessRecord()
    {
        if (ShouldProcess(Container, $"Dismount storage volume {Pool}/{Name}"))
            Try(() => Engine.VolumeMounts.Dismount(Pool, Name, Container));
    }
}

[Cmdlet(VerbsCommon.Get, "ContainerIdmap", DefaultParameterSetName = "Container")]
[OutputType(typeof(Idmap), ParameterSetName = new[] { "Container" })]
[OutputType(typeof(HostIdmap), ParameterSetName = new[] { "Host" })]
public sealed class GetContainerIdmapCommand : ContainerPSCmdlet
{
    [Parameter(Position = 0, ValueFromPipelineByPropertyName = true, ParameterSetName = "Container")]
    [SupportsWildcards]
    [ArgumentCompleter(typeof(ContainerNameCompleter))]
    public string[]? Name { get; set; }

    /// <summary>The host's subordinate id ranges and what uses them.</summary>
    [Parameter(Mandatory = true, ParameterSetName = "Host")]
    public new SwitchParameter Host { get; set; }

    protected override void ProcessRecord()
    {
        if (Host)
        {
            Try(() => WriteObject(Engine.Idmaps.HostRanges(), enumerateCollection: true));
            return;
        }
        IReadOnlyList<Idmap> all = Array.Empty<Idmap>();
        IReadOnlyList<Container> containers = Array.Empty<Container>();
        if (!Try(() => { all = Engine.Idmaps.List(null); containers = Engine.Containers.List(); }))
            return;
        foreach (var c in Select(containers, c => c.Name, Name, ContainerPSException.ContainerNotFound))
            foreach (var m in all.Where(m => m.Container == c.Name))
                WriteObject(m);
    }
}

[Cmdlet(VerbsCommon.Set, "Container", SupportsShouldProcess = true)]
[OutputType(typeof(Container))]
public sealed class SetContainerCommand : ContainerPSCmdlet
{
    [Parameter(Mandatory = true, Position = 0, ValueFromPipelineByPropertyName = true)]
    [ArgumentCompleter(typeof(ContainerNameCompleter))]
    public string[] Name { get; set; } = Array.Empty<string>();

    /// <summary>Keys to set; a $null value unsets the key.</summary>
    [Parameter(Mandatory = true, Position = 1)]
    public Hashtable Config { get; set; } = new();

    [Parameter]
    public SwitchParameter PassThru { get; set; }

    protected override void ProcessRecord()
    {
        foreach (var name in Name)
        {
            if (!ShouldProcess(name, "Set container configuration"))
                continue;
            Try(() =>
            {
                var c = Engine.Config.Update(name, ConfigFrom(Config));
                if (PassThru)
                    WriteObject(c);
            });
        }
    }
}
