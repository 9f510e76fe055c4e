using System.Management.Automation;
using ContainerPS.Engine;

namespace ContainerPS.Commands;

[Cmdlet(VerbsCommon.Get, "ContainerState")]
[OutputType(typeof(ContainerState))]
public sealed class GetContainerStateCommand : ContainerPSCmdlet
{
    [Parameter(Position = 0, ValueFromPipelineByPropertyName = true)]
    [SupportsWildcards]
    [ArgumentCompleter(typeof(ContainerNameCompleter))]
    public string[]? Name { get; set; }

    protected override void ProcessRecord()
    {
        IReadOnlyList<string> all = Array.Empty<string>();
        if (!Try(() => all = Engine.State.Containers().Select(c => c.Name).ToList()))
            return;
        foreach (var name in Select(all, n => n, Name, ContainerPSException.ContainerNotFound))
            Try(() => WriteObject(Engine.Containers.Usage(name)));
    }
}
