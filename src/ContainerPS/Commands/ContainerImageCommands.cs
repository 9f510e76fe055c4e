using System.Collections;
using System.Management.Automation;
using ContainerPS.Engine;
using ContainerPS.Engine.Images;

namespace ContainerPS.Commands;

/// <summary>Completes image aliases and (when nothing else matches) fingerprints.</summary>
public sealed class ImageNameCompleter : NameCompleter
{
    protected override IEnumerable<string> Names(ContainerHost host, IDictionary fake) =>
        host.State.Images().Where(i => i.HasFingerprint).Select(i => i.Alias ?? i.Fingerprint[..12]);
}

[Cmdlet(VerbsData.Import, "ContainerImage", SupportsShouldProcess = true)]
[OutputType(typeof(ContainerImage))]
public sealed class ImportContainerImageCommand : ContainerPSCmdlet
{
    [Parameter(Mandatory = true, Position = 0, ValueFromPipelineByPropertyName = true)]
    [Alias("FullName", "LiteralPath")]
    public string Path { get; set; } = "";

    [Parameter(ValueFromPipelineByPropertyName = true)]
    public string? Alias { get; set; }

    [Parameter(ValueFromPipelineByPropertyName = true)]
    public string? Description { get; set; }

    protected override void ProcessRecord()
    {
        var path = SessionState.Path.GetUnresolvedProviderPathFromPSPath(Path);
        if (!ShouldProcess(Alias is null ? path : $"{path} as '{Alias}'", "Import container image"))
            return;
        Try(() => WriteObject(Engine.Images.Import(path, Alias, Description)));
    }
}

[Cmdlet(VerbsCommon.New, "ContainerImage", SupportsShouldProcess = true)]
[OutputType(typeof(ContainerImage))]
public sealed class NewContainerImageCommand : ContainerPSCmdlet
{
    [Parameter(Mandatory = true, Position = 0, ValueFromPipelineByPropertyName = true)]
    public string Distribution { get; set; } = "";

    [Parameter(ValueFromPipelineByPropertyName = true)]
    public string? Alias { get; set; }

    [Parameter(ValueFromPipelineByPropertyName = true)]
    public string? Mirror { get; set; }

    protected override void ProcessRecord()
    {
        var what = Distribution == "busybox" && Mirror is null ? "busybox (built-in)" : $"{Distribution} (debootstrap --variant=minbase{(Mirror is null ? "" : " from " + Mirror)})";
        if (!ShouldProcess(Alias is null ? what : $"{what} as '{Alias}'", "Build container image"))
            return;
        Try(() => WriteObject(Engine.Images.Build(Distribution, Alias, Mirror)));
    }
}

[Cmdlet(VerbsCommon.Get, "ContainerImage")]
[OutputType(typeof(ContainerImage))]
public sealed class GetContainerImageCommand : ContainerPSCmdlet
{
    [Parameter(Position = 0, ValueFromPipelineByPropertyName = true)]
    [Alias("Fingerprint", "Alias")]
    [SupportsWildcards]
    [ArgumentCompleter(typeof(ImageNameCompleter))]
    public string[]? Name { get; set; }

    protected override void ProcessRecord()
    {
        IReadOnlyList<ContainerImage> images = Array.Empty<ContainerImage>();
        if (!Try(() => images = Engine.Images.List()))
            return;
        if (Name is null || Name.Length == 0)
        {
            foreach (var image in images)
                WriteObject(image);
            return;
        }
        var emitted = new HashSet<string>(StringComparer.Ordinal);
        foreach (var pattern in Name)
        {
            var wildcard = WildcardPattern.ContainsWildcardCharacters(pattern);
            var matcher = new WildcardPattern(pattern, WildcardOptions.IgnoreCase);
            var any = false;
            foreach (var image in images)
            {
                var match = wildcard
                    ? (image.Alias is not null && matcher.IsMatch(image.Alias)) || matcher.IsMatch(image.Fingerprint)
                    : ImageService.IsNamedBy(image.Alias, image.Fingerprint, pattern);
                if (!match)
                    continue;
                any = true;
                if (emitted.Add(image.Fingerprint))
                    WriteObject(image);
            }
            if (!any && !wildcard)
                WriteError(ToErrorRecord(new ContainerPSException(Errors.ImageNotFound, $"Image '{pattern}' not found.", pattern)));
        }
    }
}

[Cmdlet(VerbsCommon.Remove, "ContainerImage", SupportsShouldProcess = true, ConfirmImpact = ConfirmImpact.Medium)]
public sealed class RemoveContainerImageCommand : ContainerPSCmdlet
{
    [Parameter(Mandatory = true, Position = 0, ValueFromPipelineByPropertyName = true)]
    [Alias("Fingerprint", "Alias")]
    [ArgumentCompleter(typeof(ImageNameCompleter))]
    public string[] Name { get; set; } = Array.Empty<string>();

    protected override void ProcessRecord()
    {
        IReadOnlyList<ContainerImage> images = Array.Empty<ContainerImage>();
        Try(() => images = Engine.Images.List());
        foreach (var name in Name)
        {
            // Show which image a name means: "alias (fingerprint prefix)".
            var image = images.FirstOrDefault(i => ImageService.IsNamedBy(i.Alias, i.Fingerprint, name, ImageService.MinPrefix));
            var target = image is null ? name : image.Alias is null ? image.Fingerprint : $"{image.Alias} ({image.Fingerprint[..12]})";
            if (ShouldProcess(target, "Remove container image"))
                Try(() => Engine.Images.Remove(name));
        }
    }
}
