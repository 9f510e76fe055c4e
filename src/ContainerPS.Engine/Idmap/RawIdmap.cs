using System.Globalization;

namespace ContainerPS.Engine.Idmap;

/// <summary>One raw.idmap line: host ids HostStart.. are container ids ContainerStart.. (Count of them).</summary>
public sealed record RawIdmapEntry(string Kind, long HostStart, long ContainerStart, long Count);

/// <summary>
/// The raw.idmap config key, as in LXD/Incus: one entry per line, "KIND HOST CONTAINER", where KIND is
/// uid, gid or both and HOST and CONTAINER are an id or an inclusive range of the same length
/// ("both 1000 1000", "uid 50-60 500-510"). Blank lines and lines starting with # are ignored.
/// </summary>
public static class RawIdmap
{
    public static IReadOnlyList<RawIdmapEntry> Parse(string text)
    {
        var entries = new List<RawIdmapEntry>();
        var lines = text.Split('\n');
        for (var n = 0; n < lines.Length; n++)
        {
            var line = lines[n].Trim();
            if (line.Length == 0 || line.StartsWith('#'))
                continue;
            var f = line.Split((char[]?)null, StringSplitOptions.RemoveEmptyEntries);
            if (f.Length != 3 || f[0] is not ("uid" or "gid" or "both"))
                throw Invalid(n, line, "expected 'uid|gid|both HOST CONTAINER'");
            var (hs, hc) = Range(f[1]) ?? throw Invalid(n, line, $"'{f[1]}' is not an id or a range N-M");
            var (cs, cc) = Range(f[2]) ?? throw Invalid(n, line, $"'{f[2]}' is not an id or a range N-M");
            if (hc != cc)
                throw Invalid(n, line, $"the host range has {hc} ids and the container range {cc}");
            foreach (var e in entries.Where(e => Overlaps(e.Kind, f[0])))
                if ((e.HostStart < hs + hc && hs < e.HostStart + e.Count) || (e.ContainerStart < cs + cc && cs < e.ContainerStart + e.Count))
                    throw Invalid(n, line, "it overlaps an earlier line");
            entries.Add(new RawIdmapEntry(f[0], hs, cs, hc));
        }
        return entries;
    }

    /// <summary>Config key check: null when <paramref name="text"/> parses, else why not.</summary>
    public static string? Check(string text)
    {
        try { Parse(text); return null; }
        catch (ContainerPSException e) { return e.Message.TrimEnd('.'); }
    }

    private static bool Overlaps(string a, string b) => a == "both" || b == "both" || a == b;

    private static (long Start, long Count)? Range(string s)
    {
        var dash = s.IndexOf('-');
        if (dash < 0)
            return Id(s) is long id ? (id, 1) : null;
        if (Id(s[..dash]) is long a && Id(s[(dash + 1)..]) is long b && b >= a)
            return (a, b - a + 1);
        return null;
    }

    private static long? Id(string s) =>
        long.TryParse(s, NumberStyles.None, CultureInfo.InvariantCulture, out var v) && v < uint.MaxValue ? v : null;

    private static ContainerPSException Invalid(int line, string text, string why) =>
        new(Errors.InvalidIdmap, $"raw.idmap line {line + 1} ('{text}'): {why}.", text);
}
