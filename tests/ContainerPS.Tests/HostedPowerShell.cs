using System.Collections.ObjectModel;
using System.Management.Automation;
using System.Management.Automation.Runspaces;

[assembly: CollectionBehavior(DisableTestParallelization = true)] // CONTAINERPS_ROOT is process-wide

namespace ContainerPS.Tests;

/// <summary>
/// A PowerShell runspace (Microsoft.PowerShell.SDK) with the *built* module imported from the repo
/// root, and a fresh state root of its own.
/// </summary>
public sealed class HostedPowerShell : IDisposable
{
    private readonly Runspace runspace;

    public HostedPowerShell()
    {
        Root = Directory.CreateTempSubdirectory("cps-hosted-").FullName;
        Environment.SetEnvironmentVariable("CONTAINERPS_ROOT", Root);
        var iss = InitialSessionState.CreateDefault2();
        iss.ImportPSModule(new[] { ManifestPath });
        runspace = RunspaceFactory.CreateRunspace(iss);
        runspace.Open();
    }

    /// <summary>
    /// Like <see cref="HostedPowerShell()"/>, with the state root set to <paramref name="rootMode"/>:
    /// containers need at least 0711 (their mapped ids must traverse the root to reach the bundle).
    /// </summary>
    public HostedPowerShell(UnixFileMode rootMode) : this() => File.SetUnixFileMode(Root, rootMode);

    /// <summary>Mode 0711: what a root holding containers needs.</summary>
    public const UnixFileMode TraversableRoot =
        UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute | UnixFileMode.GroupExecute | UnixFileMode.OtherExecute;

    public string Root { get; }

    /// <summary>The runspace (with the module imported) the scripts run in, for pipelines of one's own (BeginInvoke, Stop).</summary>
    public Runspace Runspace => runspace;

    /// <summary>A PowerShell bound to this runspace; the caller disposes it.</summary>
    public PowerShell Create()
    {
        var ps = PowerShell.Create();
        ps.Runspace = runspace;
        return ps;
    }

    public static string RepoRoot
    {
        get
        {
            var dir = new DirectoryInfo(AppContext.BaseDirectory);
            while (dir is not null && !File.Exists(Path.Join(dir.FullName, "ContainerPS.psd1")))
                dir = dir.Parent;
            return dir?.FullName ?? throw new InvalidOperationException("ContainerPS.psd1 not found above " + AppContext.BaseDirectory);
        }
    }

    public static string ManifestPath
    {
        get
        {
            var psd1 = Path.Join(RepoRoot, "ContainerPS.psd1");
            if (!File.Exists(Path.Join(RepoRoot, "bin", "ContainerPS.dll")))
                throw new InvalidOperationException("The module is not built: run 'dotnet pwsh ./build.ps1 -Task Build' first.");
            return psd1;
        }
    }

    /// <summary>Runs a script; returns its output and the errors it wrote (non-terminating included).</summary>
    public (Collection<PSObject> Output, IReadOnlyList<ErrorRecord> Errors, IReadOnlyList<WarningRecord> Warnings) Run(string script)
    {
        using var ps = PowerShell.Create();
        ps.Runspace = runspace;
        ps.AddScript(script);
        Collection<PSObject> output;
        try { output = ps.Invoke(); }
        catch (RuntimeException e) { return (new Collection<PSObject>(), new[] { e.ErrorRecord }, ps.Streams.Warning.ToList()); }
        return (output, ps.Streams.Error.ToList(), ps.Streams.Warning.ToList());
    }

    /// <summary>Runs a script that must not write errors.</summary>
    public Collection<PSObject> Ok(string script)
    {
        var (output, errors, _) = Run(script);
        Assert.True(errors.Count == 0, string.Join("\n", errors.Select(e => e.FullyQualifiedErrorId + ": " + e)));
        return output;
    }

    public void Dispose()
    {
        runspace.Dispose();
        Environment.SetEnvironmentVariable("CONTAINERPS_ROOT", null);
        try { Directory.Delete(Root, recursive: true); }
        catch (DirectoryNotFoundException) { }
    }
}
