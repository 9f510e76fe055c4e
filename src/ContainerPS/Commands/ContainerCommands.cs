using System.Collections;
using System.Management.Automation;
using ContainerPS.Engine;

namespace ContainerPS.Commands;

[Cmdlet(VerbsCommon.New, "Container", SupportsShouldProcess = true)]
[OutputType(typeof(Container))]
public sealed class NewContainerCommand : ContainerPSCmdlet
{
    /// <summary>One name or several (New-Container web1, web2 -Image busybox): a container each.</summary>
    [Parameter(Mandatory = true, Position = 0, ValueFromPipelineByPropertyName = true)]
    public string[] Name { get; set; } = Array.Empty<string>();

    [Parameter(Mandatory = true, Position = 1, ValueFromPipelineByPropertyName = true)]
    [ArgumentCompleter(typeof(ImageNameCompleter))]
    public string Image { get; set; } = "";

    [Parameter(ValueFromPipelineByPropertyName = true)]
    [ArgumentCompleter(typeof(PoolNameCompleter))]
    public string? StoragePool { get; set; }

    [Parameter]
    public Hashtable? Config { get; set; }

    [Parameter]
    public SwitchParameter Start { get; set; }

    [Parameter]
    public SwitchParameter IsolatedIdmap { get; set; }

    [Parameter]
    public SwitchParameter Privileged { get; set; }

    /// <summary>CNI networks to attach at every start (eth0, eth1, ... in this order).</summary>
    [Parameter]
    [ArgumentCompleter(typeof(NetworkNameCompleter))]
    public string[]? Network { get; set; }

    protected override void ProcessRecord()
    {
        foreach (var name in Name)
        {
            if (!ShouldProcess(name, $"Create container from image '{Image}'"))
                continue;
            Try(() =>
            {
                var c = Engine.Containers.Create(name, Image, StoragePool, ConfigFrom(Config), IsolatedIdmap, Privileged, Network);
                if (Start)
                    c = Engine.Containers.Start(name);
                WriteObject(c);
            });
        }
    }
}

[Cmdlet(VerbsCommon.Get, "Container")]
[OutputType(typeof(Container))]
public sealed class GetContainerCommand : ContainerPSCmdlet
{
    [Parameter(Position = 0, ValueFromPipelineByPropertyName = true)]
    [SupportsWildcards]
    [ArgumentCompleter(typeof(ContainerNameCompleter))]
    public string[]? Name { get; set; }

    [Parameter]
    [ArgumentCompleter(typeof(PropertyNameCompleter))]
    public string? Property { get; set; }

    protected override void ProcessRecord()
    {
        IReadOnlyList<Container> all = Array.Empty<Container>();
        if (!Try(() => all = Engine.Containers.List()))
            return;
        foreach (var c in Select(all, c => c.Name, Name, ContainerPSException.ContainerNotFound))
            WriteEntity(c, Property);
    }
}

/// <summary>Cmdlets that act on containers named by -Name (wildcards match existing containers) or piped.</summary>
public abstract class ContainerActionCmdlet : ContainerPSCmdlet
{
    [Parameter(Mandatory = true, Position = 0, ValueFromPipelineByPropertyName = true)]
    [SupportsWildcards]
    [ArgumentCompleter(typeof(ContainerNameCompleter))]
    public string[] Name { get; set; } = Array.Empty<string>();

    [Parameter]
    public SwitchParameter PassThru { get; set; }

    protected abstract string Action { get; }

    protected abstract Container? Act(string name);

    protected override void ProcessRecord()
    {
        IEnumerable<string> names = Name;
        if (Name.Any(WildcardPattern.ContainsWildcardCharacters))
        {
            // Patterns name the containers they match, so -WhatIf and -Confirm show each one.
            IReadOnlyList<Container> all = Array.Empty<Container>();
            if (!Try(() => all = Engine.Containers.List()))
                return;
            names = Select(all, c => c.Name, Name,
                n => new ContainerPSException(Errors.ContainerNotFound, $"Container '{n}' not found.", n)).Select(c => c.Name).ToList();
        }
        foreach (var name in names)
        {
            if (!ShouldProcess(name, Action))
                continue;
            Try(() =>
            {
                var c = Act(name);
                if (PassThru && c is not null)
                    WriteObject(c);
            });
        }
    }
}

[Cmdlet(VerbsLifecycle.Start, "Container", SupportsShouldProcess = true)]
[OutputType(typeof(Container))]
public sealed class StartContainerCommand : ContainerActionCmdlet
{
    /// <summary>Boot normally, discarding a state saved by Stop-Container -Stateful.</summary>
    [Parameter]
    public SwitchParameter Stateless { get; set; }

    protected override string Action => "Start container";
    protected override Container? Act(string name) => Engine.Containers.Start(name, Stateless);
}

/// <summary>Cmdlets that stop a container: a clean shutdown within -Timeout, or -Force.</summary>
public abstract class ContainerStopCmdlet : ContainerActionCmdlet
{
    /// <summary>Kill the container at once instead of asking its init to shut down.</summary>
    [Parameter]
    public SwitchParameter Force { get; set; }

    /// <summary>Seconds to wait for a clean shutdown before killing (default 30).</summary>
    [Parameter]
    [ValidateRange(0, 86400)]
    public int Timeout { get; set; } = 30;

    protected Container Stop(string name) => Engine.Containers.Stop(name, Force, TimeSpan.FromSeconds(Timeout));
}

[Cmdlet(VerbsLifecycle.Stop, "Container", SupportsShouldProcess = true)]
[OutputType(typeof(Container))]
public sealed class StopContainerCommand : ContainerStopCmdlet
{
    /// <summary>Save the running state with CRIU (the next Start-Container restores it) instead of shutting down.</summary>
    [Parameter]
    public SwitchParameter Stateful { get; set; }

    protected override string Action => Stateful ? "Save the running state and stop container" : Force ? "Kill container" : "Stop container";
    protected override Container? Act(string name) => Engine.Containers.Stop(name, Force, TimeSpan.FromSeconds(Timeout), Stateful);
}

[Cmdlet(VerbsLifecycle.Restart, "Container", SupportsShouldProcess = true)]
[OutputType(typeof(Container))]
public sealed class RestartContainerCommand : ContainerStopCmdlet
{
    protected override string Action => "Restart container";

    protected override Container? Act(string name)
    {
        if (Engine.Containers.Get(name).State == "Running")
            Stop(name);
        return Engine.Containers.Start(name);
    }
}

[Cmdlet(VerbsCommon.Remove, "Container", SupportsShouldProcess = true, ConfirmImpact = ConfirmImpact.Medium)]
public sealed class RemoveContainerCommand : ContainerActionCmdlet
{
    /// <summary>Kill a running container first.</summary>
    [Parameter]
    public SwitchParameter Force { get; set; }

    protected override string Action => Force ? "Kill and remove container" : "Remove container";

    /// <returns>With -PassThru, the container as it was just before it was removed.</returns>
    protected override Container? Act(string name)
    {
        var before = PassThru ? Engine.Containers.Get(name) : null;
        Engine.Containers.Remove(name, Force);
        return before;
    }
}

[Cmdlet(VerbsCommon.Rename, "Container", SupportsShouldProcess = true)]
[OutputType(typeof(Container))]
public sealed class RenameContainerCommand : ContainerPSCmdlet
{
    [Parameter(Mandatory = true, Position = 0, ValueFromPipelineByPropertyName = true)]
    [ArgumentCompleter(typeof(ContainerNameCompleter))]
    public string Name { get; set; } = "";

    [Parameter(Mandatory = true, Position = 1)]
    public string NewName { get; set; } = "";

    [Parameter]
    public SwitchParameter PassThru { get; set; }

    protected override void ProcessRecord()
    {
        if (!ShouldProcess(Name, $"Rename container to '{NewName}'"))
            return;
        Try(() =>
        {
            var c = Engine.Containers.Rename(Name, NewName);
            if (PassThru)
                WriteObject(c);
        });
    }
}

[Cmdlet(VerbsCommon.Copy, "Container", SupportsShouldProcess = true, DefaultParameterSetName = "Container")]
[OutputType(typeof(Container))]
public sealed class CopyContainerCommand : ContainerPSCmdlet
{
    [Parameter(Mandatory = true, Position = 0, ValueFromPipelineByPropertyName = true)]
    [ArgumentCompleter(typeof(ContainerNameCompleter))]
    public string Name { get; set; } = "";

    [Parameter(Mandatory = true, Position = 1)]
    public string NewName { get; set; } = "";

    /// <summary>Copy this snapshot of the container instead of its current filesystem.</summary>
    [Parameter(ParameterSetName = "Snapshot", Mandatory = true)]
    public string? Snapshot { get; set; }

    /// <summary>Copy the running container's processes too: Start-Container of the copy restores them (CRIU).</summary>
    [Parameter(ParameterSetName = "Container")]
    public SwitchParameter Stateful { get; set; }

    [Parameter]
    [ArgumentCompleter(typeof(PoolNameCompleter))]
    public string? StoragePool { get; set; }

    [Parameter]
    public SwitchParameter PassThru { get; set; }

    protected override void ProcessRecord()
    {
        var source = Snapshot is null ? Name : $"{Name}/{Snapshot}";
        if (!ShouldProcess(source, Stateful ? $"Copy container with its running state to '{NewName}'" : $"Copy container to '{NewName}'"))
            return;
        Try(() =>
        {
            var c = Engine.Copies.Copy(Name, Snapshot, NewName, StoragePool, Stateful);
            if (PassThru)
                WriteObject(c);
        });
    }
}

[Cmdlet(VerbsLifecycle.Wait, "Container")]
[OutputType(typeof(Container))]
public sealed class WaitContainerCommand : ContainerPSCmdlet
{
    private readonly CancellationTokenSource cancel = new();

    [Parameter(Mandatory = true, Position = 0, ValueFromPipelineByPropertyName = true)]
    [ArgumentCompleter(typeof(ContainerNameCompleter))]
    public string[] Name { get; set; } = Array.Empty<string>();

    [Parameter(Position = 1)]
    [ValidateSet("Running", "Stopped", "Error")]
    public string State { get; set; } = "Stopped";

    /// <summary>Seconds to wait (default 60).</summary>
    [Parameter]
    [ValidateRange(0, 86400)]
    public int Timeout { get; set; } = 60;

    protected override void ProcessRecord()
    {
        foreach (var name in Name)
        {
            try { Try(() => WriteObject(Engine.Containers.Wait(name, State, TimeSpan.FromSeconds(Timeout), cancel.Token))); }
            catch (OperationCanceledException) { return; }
        }
    }

    protected override void StopProcessing() => cancel.Cancel();
}

[Cmdlet(VerbsCommon.Get, "ContainerLog")]
[OutputType(typeof(string))]
public sealed class GetContainerLogCommand : ContainerPSCmdlet
{
    [Parameter(Mandatory = true, Position = 0, ValueFromPipelineByPropertyName = true)]
    [ArgumentCompleter(typeof(ContainerNameCompleter))]
    public string Name { get; set; } = "";

    /// <summary>The whole log as one string instead of one string per line.</summary>
    [Parameter]
    public SwitchParameter Raw { get; set; }

    protected override void ProcessRecord() => Try(() =>
    {
        var text = Engine.Containers.ConsoleLog(Name);
        if (Raw)
            WriteObject(text);
        else
            foreach (var line in text.Split('\n').SkipLast(text.EndsWith('\n') ? 1 : 0))
                WriteObject(line);
    });
}
