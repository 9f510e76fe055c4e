using System.Management.Automation;
using ContainerPS.Engine;
using Microsoft.PowerShell.Commands;

namespace ContainerPS.Commands;

/// <summary>
/// Copy-ContainerFile: lxc file push/pull in the shape of Copy-Item -ToSession/-FromSession. Host
/// paths go through the FileSystem provider (wildcards, relative paths, PSPath); container paths are
/// absolute and resolved by the engine inside the container's root.
/// </summary>
[Cmdlet(VerbsCommon.Copy, "ContainerFile", SupportsShouldProcess = true, DefaultParameterSetName = ToSet)]
[OutputType(typeof(ContainerFile), ParameterSetName = new[] { ToSet })]
[OutputType(typeof(FileInfo), typeof(DirectoryInfo), ParameterSetName = new[] { FromSet })]
public sealed class CopyContainerFileCommand : ContainerPSCmdlet
{
    private const string ToSet = "ToContainer", FromSet = "FromContainer";
    private readonly CancellationTokenSource cancel = new();

    /// <summary>What to copy: host paths (wildcards allowed) with -ToContainer, absolute container paths with -FromContainer.</summary>
    [Parameter(Mandatory = true, Position = 0, ValueFromPipeline = true, ValueFromPipelineByPropertyName = true)]
    [Alias("FullName", "PSPath", "LiteralPath")]
    public string[] Path { get; set; } = Array.Empty<string>();

    /// <summary>Where to: an absolute container path with -ToContainer, a host path with -FromContainer.</summary>
    [Parameter(Mandatory = true, Position = 1)]
    public string Destination { get; set; } = "";

    [Parameter(Mandatory = true, ParameterSetName = ToSet)]
    [ArgumentCompleter(typeof(ContainerNameCompleter))]
    public string ToContainer { get; set; } = "";

    [Parameter(Mandatory = true, ParameterSetName = FromSet)]
    [ArgumentCompleter(typeof(ContainerNameCompleter))]
    public string FromContainer { get; set; } = "";

    [Parameter]
    public SwitchParameter Recurse { get; set; }

    [Parameter]
    public SwitchParameter PassThru { get; set; }

    protected override void ProcessRecord()
    {
        if (ParameterSetName == ToSet)
            Push();
        else
            Pull();
    }

    private void Push()
    {
        foreach (var source in Path.SelectMany(HostSources))
        {
            if (!ShouldProcess($"{ToContainer}:{Destination}", $"Copy '{source}' into container"))
                continue;
            Try(() =>
            {
                var written = Engine.Files.Push(ToContainer, source, Destination, Recurse, cancel.Token);
                if (PassThru)
                    WriteObject(written, enumerateCollection: true);
            });
        }
    }

    private void Pull()
    {
        var destination = SessionState.Path.GetUnresolvedProviderPathFromPSPath(Destination);
        if (Destination.EndsWith('/') && !destination.EndsWith('/'))
            destination += "/"; // "copy into this directory": it must exist
        foreach (var source in Path)
        {
            if (!ShouldProcess(destination, $"Copy '{FromContainer}:{source}' from container"))
                continue;
            Try(() =>
            {
                var written = Engine.Files.Pull(FromContainer, source, destination, Recurse, cancel.Token);
                // As Copy-Item -PassThru: the provider's items (UnixMode, User, Group and PSPath filled in).
                if (PassThru)
                    foreach (var item in written)
                        WriteObject(InvokeProvider.Item.Get(new[] { item.FullName }, force: true, literalPath: true), enumerateCollection: true);
            });
        }
    }

    /// <summary>
    /// The host files a -Path names: the path itself when it exists (so '[1].conf' is that file), else
    /// what its wildcards match (PathNotFound when nothing does), else the path (the engine reports it missing).
    /// </summary>
    private IEnumerable<string> HostSources(string path)
    {
        string literal;
        try
        {
            literal = SessionState.Path.GetUnresolvedProviderPathFromPSPath(path, out var provider, out _);
            if (provider.ImplementingType != typeof(FileSystemProvider))
                throw new ContainerPSException(Errors.InvalidPath, $"'{path}' is not a file system path.", path);
        }
        catch (Exception e) when (e is ContainerPSException or ItemNotFoundException or System.Management.Automation.DriveNotFoundException or ProviderNotFoundException or NotSupportedException)
        {
            WriteError(e is ContainerPSException c ? ToErrorRecord(c) : Record(e, Errors.InvalidPath, path));
            return Array.Empty<string>();
        }
        if (System.IO.Path.Exists(literal) || ContainerPS.Engine.Platform.HostPath.IsSymlink(literal) || !WildcardPattern.ContainsWildcardCharacters(path))
            return new[] { literal };
        IReadOnlyList<string> matches;
        try { matches = SessionState.Path.GetResolvedProviderPathFromPSPath(path, out _); }
        catch (ItemNotFoundException) { matches = Array.Empty<string>(); }
        if (matches.Count == 0)
            WriteError(ToErrorRecord(new ContainerPSException(Errors.PathNotFound, $"Cannot copy '{path}': no file matches.", path)));
        return matches;
    }

    protected override void StopProcessing() => cancel.Cancel();

    protected override void Dispose(bool disposing)
    {
        cancel.Dispose();
        base.Dispose(disposing);
    }
}
