using System.Collections;
using System.Management.Automation;
using ContainerPS.Engine;
using ContainerPS.Engine.Runtime;
using Unit = ContainerPS.Engine.Runtime.BootUnit;

namespace ContainerPS.Commands;

/// <summary>
/// Prepares the host (lxd init): creates or adopts the default storage pool and, with -BootUnit,
/// installs the systemd unit containerps.service, which runs Start-ContainerHost at boot and
/// Stop-ContainerHost at shutdown, for this module and state root.
/// </summary>
[Cmdlet(VerbsData.Initialize, "ContainerHost", SupportsShouldProcess = true)]
[OutputType(typeof(StoragePool), typeof(ContainerHostBoot))]
public sealed class InitializeContainerHostCommand : ContainerPSCmdlet
{
    [Parameter(Position = 0)]
    [ArgumentCompleter(typeof(DriverNameCompleter))]
    public string StorageDriver { get; set; } = "dir";

    [Parameter]
    public Hashtable? StoragePoolConfig { get; set; }

    /// <summary>Name of the default pool to create or adopt.</summary>
    [Parameter]
    public string StoragePool { get; set; } = "default";

    /// <summary>Also install (or update) the boot unit containerps.service and enable it.</summary>
    [Parameter]
    public SwitchParameter BootUnit { get; set; }

    /// <summary>With -BootUnit: where the unit is written (default /etc/systemd/system; elsewhere it is only written, not enabled).</summary>
    [Parameter]
    [ValidateNotNullOrEmpty]
    public string UnitDirectory { get; set; } = Unit.DefaultDirectory;

    protected override void EndProcessing()
    {
        if (ShouldProcess(StoragePool, $"Create the default storage pool ({StorageDriver}) and record it as the default")
            && !Try(() => WriteObject(Engine.Config.InitializeHost(StorageDriver, ConfigFrom(StoragePoolConfig), StoragePool))))
            return;
        if (!BootUnit)
            return;
        var dir = GetUnresolvedProviderPathFromPSPath(UnitDirectory);
        if (!ShouldProcess(System.IO.Path.Join(dir, Unit.Name), "Install and enable the boot unit"))
            return;
        Try(() =>
        {
            // The unit runs this pwsh with this module, on this state root (ContainerHost.ResolveRoot
            // fails here, before anything is written, on a bad CONTAINERPS_ROOT).
            var env = new Dictionary<string, string> { [ContainerHost.RootVariable] = ContainerHost.ResolveRoot() };
            if (Environment.GetEnvironmentVariable(ContainerHost.RuntimeVariable) is { Length: > 0 } run)
                env[ContainerHost.RuntimeVariable] = run;
            var module = MyInvocation.MyCommand.Module?.ModuleBase is { } b && File.Exists(System.IO.Path.Join(b, "ContainerPS.psd1"))
                ? System.IO.Path.Join(b, "ContainerPS.psd1")
                : MyInvocation.MyCommand.Module?.Path ?? throw new ContainerPSException(Errors.ModuleNotFound,
                    "Initialize-ContainerHost must run from the imported ContainerPS module.", null);
            var unit = Unit.Text(PwshCommand(), module, env);
            var result = Unit.Install(dir, unit, Engine.Tool);
            if (!result.Systemd)
                WriteWarning($"systemd is not the init here: {result.Path} was written, but nothing will run it at boot. Run Start-ContainerHost from this host's init system instead.");
            WriteObject(result);
        });
    }

    /// <summary>The argv of this pwsh: pwsh itself, or dotnet and pwsh.dll for the dotnet tool.</summary>
    private static string[] PwshCommand()
    {
        var process = Environment.ProcessPath ?? throw new ContainerPSException(Errors.PwshNotFound, "The path of this pwsh is not known.", null);
        if (System.IO.Path.GetFileNameWithoutExtension(process) != "dotnet")
            return new[] { process };
        var dll = System.IO.Path.Join(System.IO.Path.GetDirectoryName(typeof(PSObject).Assembly.Location), "pwsh.dll");
        return File.Exists(dll) ? new[] { process, dll }
            : throw new ContainerPSException(Errors.PwshNotFound, $"pwsh.dll was not found next to {typeof(PSObject).Assembly.Location}.", null);
    }
}

/// <summary>What the host does at boot: starts the containers with boot.autostart=true, by priority.</summary>
[Cmdlet(VerbsLifecycle.Start, "ContainerHost", SupportsShouldProcess = true)]
[OutputType(typeof(Container))]
public sealed class StartContainerHostCommand : ContainerPSCmdlet
{
    protected override void EndProcessing()
    {
        if (!ShouldProcess(ContainerHost.ResolveRoot(), "Start the containers with boot.autostart"))
            return;
        Try(() =>
        {
            foreach (var c in Engine.Autostart.Start((name, e) => WriteError(ToErrorRecord(e))))
                WriteObject(c);
        });
    }
}

/// <summary>What the host does at shutdown: stops every running container, cleanly within -Timeout.</summary>
[Cmdlet(VerbsLifecycle.Stop, "ContainerHost", SupportsShouldProcess = true)]
[OutputType(typeof(Container))]
public sealed class StopContainerHostCommand : ContainerPSCmdlet
{
    /// <summary>Seconds each container gets to shut down cleanly before it is killed (default 30).</summary>
    [Parameter]
    [ValidateRange(0, 86400)]
    public int Timeout { get; set; } = 30;

    /// <summary>Kill the containers at once.</summary>
    [Parameter]
    public SwitchParameter Force { get; set; }

    protected override void EndProcessing()
    {
        if (!ShouldProcess(ContainerHost.ResolveRoot(), "Stop every running container"))
            return;
        Try(() =>
        {
            foreach (var c in Engine.Autostart.StopAll(TimeSpan.FromSeconds(Timeout), Force, (name, e) => WriteError(ToErrorRecord(e))))
                WriteObject(c);
        });
    }
}
