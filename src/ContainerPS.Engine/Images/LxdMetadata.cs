using System.Text;

namespace ContainerPS.Engine.Images;

/// <summary>
/// The part of an LXD/Incus image's metadata.yaml that ContainerPS uses: top-level scalars
/// (architecture, creation_date, ...) and the <c>properties:</c> mapping (os, release, architecture,
/// description, ...). A deliberately small YAML reader: block mappings of plain, single- or
/// double-quoted scalars; other sections (templates, expiry_date lists...) are skipped.
/// </summary>
internal sealed class LxdMetadata
{
    public SortedDictionary<string, string> TopLevel { get; } = new(StringComparer.Ordinal);
    public SortedDictionary<string, string> Properties { get; } = new(StringComparer.Ordinal);

    /// <summary>Parses the text; throws <see cref="FormatException"/> when it is not a YAML mapping.</summary>
    public static LxdMetadata Parse(string text)
    {
        var meta = new LxdMetadata();
        string? section = null;
        int? childIndent = null;
        var keys = 0;
        foreach (var raw in text.Replace("\r\n", "\n").Split('\n'))
        {
            var line = StripComment(raw).TrimEnd();
            if (line.Trim().Length == 0 || line == "---" || line == "...")
                continue;
            if (line.Contains('\t') && line.TrimStart(' ').Length != line.TrimStart(' ', '\t').Length)
                throw new FormatException("tabs are not allowed in YAML indentation");
            var indent = line.Length - line.TrimStart(' ').Length;
            var body = line.Trim();
            if (indent == 0)
            {
                section = null;
                childIndent = null;
                if (!TrySplit(body, out var key, out var value))
                    throw new FormatException($"expected 'key: value' at top level, found '{Names.Printable(body)}'");
                keys++;
                if (value.Length == 0)
                    section = key;
                else
                    meta.TopLevel[key] = Scalar(value);
                continue;
            }
            if (section != "properties")
                continue;
            childIndent ??= indent;
            if (indent != childIndent)
                continue; // deeper structure below a property: not a scalar property
            if (TrySplit(body, out var pkey, out var pvalue) && pvalue.Length > 0)
                meta.Properties[pkey] = Scalar(pvalue);
        }
        if (keys == 0)
            throw new FormatException("it holds no keys");
        return meta;
    }

    private static bool TrySplit(string body, out string key, out string value)
    {
        key = value = "";
        if (body.StartsWith('-'))
            return false;
        int colon;
        if (body.StartsWith('"') || body.StartsWith('\''))
        {
            var end = body.IndexOf(body[0], 1);
            if (end < 0)
                return false;
            colon = body.IndexOf(':', end);
            if (colon < 0)
                return false;
            key = Scalar(body[..colon].Trim());
        }
        else
        {
            colon = body.IndexOf(": ", StringComparison.Ordinal);
            if (colon < 0 && body.EndsWith(':'))
                colon = body.Length - 1;
            if (colon <= 0)
                return false;
            key = body[..colon].Trim();
        }
        value = body[(colon + 1)..].Trim();
        return key.Length > 0;
    }

    /// <summary>Removes a comment: '#' at the start or after whitespace, outside quotes.</summary>
    private static string StripComment(string line)
    {
        char quote = '\0';
        for (var i = 0; i < line.Length; i++)
        {
            var c = line[i];
            if (quote != '\0')
            {
                if (c == quote)
                    quote = '\0';
                else if (c == '\\' && quote == '"')
                    i++;
            }
            else if (c is '"' or '\'' && (i == 0 || line[i - 1] is ' ' or ':'))
                quote = c;
            else if (c == '#' && (i == 0 || line[i - 1] == ' '))
                return line[..i];
        }
        return line;
    }

    private static string Scalar(string v)
    {
        if (v.Length >= 2 && v[0] == '\'' && v[^1] == '\'')
            return v[1..^1].Replace("''", "'");
        if (v.Length >= 2 && v[0] == '"' && v[^1] == '"')
        {
            var sb = new StringBuilder();
            for (var i = 1; i < v.Length - 1; i++)
            {
                if (v[i] == '\\' && i + 1 < v.Length - 1)
                {
                    i++;
                    sb.Append(v[i] switch { 'n' => '\n', 't' => '\t', '0' => '\0', _ => v[i] });
                }
                else
                    sb.Append(v[i]);
            }
            return sb.ToString();
        }
        return v;
    }
}
