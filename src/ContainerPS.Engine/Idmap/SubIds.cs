using System.Globalization;

namespace ContainerPS.Engine.Idmap;

/// <summary>
/// Root's subordinate id ranges from /etc/subuid and /etc/subgid. When root has none, an entry of
/// 1,000,000,000 ids from 1,000,000 is added, as LXD does.
/// </summary>
public static class SubIds
{
    public const long DefaultStart = 1_000_000, DefaultCount = 1_000_000_000;

    public static (long Start, long Count) Root(string file, bool create = true)
    {
        if (Find(file) is { } range)
            return range;
        if (!create)
            throw new ContainerPSException(Errors.NoSubordinateIds, $"{file} has no range for root.", file);
        using (var lockFile = new FileStream(file + ".containerps-lock", FileMode.OpenOrCreate, FileAccess.ReadWrite, FileShare.None))
        {
            if (Find(file) is { } again)
                return again;
            var prefix = File.Exists(file) && new FileInfo(file).Length > 0 && !File.ReadAllText(file).EndsWith('\n') ? "\n" : "";
            File.AppendAllText(file, $"{prefix}root:{DefaultStart}:{DefaultCount}\n");
        }
        File.Delete(file + ".containerps-lock");
        return (DefaultStart, DefaultCount);
    }

    /// <summary>Every range /etc/subuid (or subgid) delegates to root, whatever its size (LXD reads raw.idmap's host ids against them).</summary>
    public static IReadOnlyList<(long Start, long Count)> RootRanges(string file)
    {
        var ranges = new List<(long, long)>();
        if (!File.Exists(file))
            return ranges;
        foreach (var line in File.ReadLines(file))
        {
            var f = line.Trim().Split(':');
            if (f.Length == 3 && (f[0] == "root" || f[0] == "0")
                && long.TryParse(f[1], NumberStyles.None, CultureInfo.InvariantCulture, out var start)
                && long.TryParse(f[2], NumberStyles.None, CultureInfo.InvariantCulture, out var count) && count > 0)
                ranges.Add((start, count));
        }
        return ranges;
    }

    /// <summary>
    /// The host ids of raw.idmap entries that root was not delegated (as "uid 0-65535"): mapping them
    /// into a container would make its root the owner of host files (host root itself for id 0).
    /// </summary>
    public static IReadOnlyList<string> Undelegated(IEnumerable<RawIdmapEntry> raw, IReadOnlyList<(long Start, long Count)> uids,
        IReadOnlyList<(long Start, long Count)> gids)
    {
        static bool Covered(long start, long count, IReadOnlyList<(long Start, long Count)> ranges)
        {
            // Ranges may touch: walk from start as far as the delegated ranges reach.
            var at = start;
            for (var moved = true; moved && at < start + count;)
            {
                moved = false;
                foreach (var (s, c) in ranges)
                    if (s <= at && at < s + c)
                    {
                        at = s + c;
                        moved = true;
                    }
            }
            return at >= start + count;
        }
        var outside = new List<string>();
        foreach (var e in raw)
        {
            var range = e.Count == 1 ? $"{e.HostStart}" : $"{e.HostStart}-{e.HostStart + e.Count - 1}";
            var uid = e.Kind is "uid" or "both" && !Covered(e.HostStart, e.Count, uids);
            var gid = e.Kind is "gid" or "both" && !Covered(e.HostStart, e.Count, gids);
            if (uid || gid)
                outside.Add($"{(uid && gid ? "uid/gid" : uid ? "uid" : "gid")} {range}");
        }
        return outside;
    }

    /// <summary>The first of root's ranges large enough for a container's map (65536 ids).</summary>
    private static (long, long)? Find(string file) =>
        RootRanges(file).Where(r => r.Count >= 65536).Select(r => ((long, long)?)r).FirstOrDefault();
}
