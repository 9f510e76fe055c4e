using YamlDotNet.Core;
using YamlDotNet.RepresentationModel;

namespace ContainerPS.Engine.Images;

/// <summary>
/// The part of an LXD/Incus image's metadata.yaml that ContainerPS uses: top-level scalars
/// (architecture, creation_date, ...) and the scalars of the <c>properties:</c> mapping (os,
/// release, architecture, description, ...), read with YamlDotNet. Other sections (templates,
/// expiry_date lists...) and anything nested below a property are left out.
/// </summary>
internal sealed class LxdMetadata
{
    public SortedDictionary<string, string> TopLevel { get; } = new(StringComparer.Ordinal);
    public SortedDictionary<string, string> Properties { get; } = new(StringComparer.Ordinal);

    /// <summary>Parses the text; throws <see cref="FormatException"/> when it is not a YAML mapping.</summary>
    public static LxdMetadata Parse(string text)
    {
        var yaml = new YamlStream();
        try { yaml.Load(new StringReader(text)); }
        catch (YamlException e) { throw new FormatException(e.Message, e); }
        if (yaml.Documents.Count == 0 || yaml.Documents[0].RootNode is not YamlMappingNode root)
            throw new FormatException("it is not a YAML mapping of keys");
        if (root.Children.Count == 0)
            throw new FormatException("it holds no keys");
        var meta = new LxdMetadata();
        foreach (var (key, value) in root.Children)
        {
            if (key is not YamlScalarNode { Value: { } name })
                continue;
            if (value is YamlScalarNode { Value: { } scalar })
                meta.TopLevel[name] = scalar;
            else if (name == "properties" && value is YamlMappingNode properties)
                foreach (var (pkey, pvalue) in properties.Children)
                    if (pkey is YamlScalarNode { Value: { } pname } && pvalue is YamlScalarNode { Value: { } pscalar })
                        meta.Properties[pname] = pscalar;
        }
        return meta;
    }
}
