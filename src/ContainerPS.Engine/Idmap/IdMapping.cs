using System.Globalization;

namespace ContainerPS.Engine.Idmap;

/// <summary>One line of a uid_map or gid_map: container ids ContainerStart.. are host ids HostStart.., Count of them.</summary>
public sealed record IdRange(long ContainerStart, long HostStart, long Count)
{
    public long ContainerEnd => ContainerStart + Count; // exclusive
    public long HostEnd => HostStart + Count;            // exclusive
}

/// <summary>
/// A container's id map. It is made of a base allocation (container ids 0..Size-1 are host uids
/// UidBase.. and gids GidBase..) with the raw.idmap entries punched through it (LXD's rule: a raw
/// entry maps its host ids to its container ids, and those container ids leave the base range), or,
/// for maps read back from the state (volatile.idmap.*), of the uid and gid ranges themselves.
/// Two maps are equal when they map the same ids.
/// </summary>
public sealed class IdMapping : IEquatable<IdMapping>, Platform.IUserNamespaceMap
{
    public IdMapping(long uidBase, long gidBase, long size, string? rawIdmap = null)
    {
        UidBase = uidBase;
        GidBase = gidBase;
        Size = size;
        var raw = RawIdmap.Parse(rawIdmap ?? "");
        Uids = Build(uidBase, size, raw.Where(e => e.Kind is "uid" or "both"));
        Gids = Build(gidBase, size, raw.Where(e => e.Kind is "gid" or "both"));
        Raw = raw;
    }

    private IdMapping(IReadOnlyList<IdRange> uids, IReadOnlyList<IdRange> gids)
    {
        Uids = uids;
        Gids = gids;
        UidBase = ToHost(true, 0) ?? -1;
        GidBase = ToHost(false, 0) ?? -1;
        Size = uids.Sum(r => r.Count);
        Raw = Array.Empty<RawIdmapEntry>();
    }

    /// <summary>Host uid of container root (the base allocation's start; for a map read back, whatever container 0 maps to).</summary>
    public long UidBase { get; }
    public long GidBase { get; }
    /// <summary>Size of the base allocation (for a map read back: the number of uids it maps).</summary>
    public long Size { get; }
    public IReadOnlyList<IdRange> Uids { get; }
    public IReadOnlyList<IdRange> Gids { get; }
    public IReadOnlyList<RawIdmapEntry> Raw { get; }

    public IReadOnlyList<IdRange> Ranges(bool uid) => uid ? Uids : Gids;

    /// <summary>The text of /proc/PID/uid_map (or gid_map) for this map: one line per range.</summary>
    public string ToProcMap(bool uid) => string.Concat(Ranges(uid).Select(r => $"{r.ContainerStart} {r.HostStart} {r.Count}\n"));

    /// <summary>The host id container id <paramref name="id"/> is, or null when the map does not map it.</summary>
    public long? ToHost(bool uid, long id) =>
        Ranges(uid).FirstOrDefault(r => id >= r.ContainerStart && id < r.ContainerEnd) is { } r ? r.HostStart + (id - r.ContainerStart) : null;

    /// <summary>The container id host id <paramref name="hostId"/> is, or null when it is outside the map.</summary>
    public long? ToContainer(bool uid, long hostId) =>
        Ranges(uid).FirstOrDefault(r => hostId >= r.HostStart && hostId < r.HostEnd) is { } r ? r.ContainerStart + (hostId - r.HostStart) : null;

    private static IReadOnlyList<IdRange> Build(long baseStart, long size, IEnumerable<RawIdmapEntry> raw)
    {
        var rawRanges = raw.Select(e => new IdRange(e.ContainerStart, e.HostStart, e.Count)).OrderBy(r => r.ContainerStart).ToList();
        var result = new List<IdRange>();
        var next = 0L;
        foreach (var r in rawRanges.Where(r => r.ContainerStart < size && r.ContainerEnd > 0))
        {
            if (r.ContainerStart > next)
                result.Add(new IdRange(next, baseStart + next, r.ContainerStart - next));
            next = Math.Max(next, r.ContainerEnd);
        }
        if (next < size)
            result.Add(new IdRange(next, baseStart + next, size - next));
        result.AddRange(rawRanges);
        result = Canonical(result);
        for (var i = 0; i < result.Count; i++)
            for (var j = i + 1; j < result.Count; j++)
                if (result[i].HostStart < result[j].HostEnd && result[j].HostStart < result[i].HostEnd)
                    throw new ContainerPSException(Errors.InvalidIdmap,
                        $"The id map maps host ids {Math.Max(result[i].HostStart, result[j].HostStart)}.. twice (raw.idmap overlaps the base range {baseStart}-{baseStart + size - 1}).", null);
        if (result.Count > 340)
            throw new ContainerPSException(Errors.InvalidIdmap, "An id map has at most 340 ranges (the kernel's limit).", null);
        return result;
    }

    /// <summary>Ranges sorted by container id, neighbours that continue each other merged: equal maps have equal ranges.</summary>
    private static List<IdRange> Canonical(IEnumerable<IdRange> ranges)
    {
        var merged = new List<IdRange>();
        foreach (var r in ranges.OrderBy(r => r.ContainerStart))
        {
            if (merged.Count > 0 && merged[^1].ContainerEnd == r.ContainerStart && merged[^1].HostEnd == r.HostStart)
                merged[^1] = merged[^1] with { Count = merged[^1].Count + r.Count };
            else
                merged.Add(r);
        }
        return merged;
    }

    /// <summary>The form kept in volatile.idmap.* keys: "u C H N;...;g C H N;...".</summary>
    public string Serialize() =>
        string.Join(';', Uids.Select(r => $"u {r.ContainerStart} {r.HostStart} {r.Count}").Concat(Gids.Select(r => $"g {r.ContainerStart} {r.HostStart} {r.Count}")));

    public static IdMapping Deserialize(string text)
    {
        var uids = new List<IdRange>();
        var gids = new List<IdRange>();
        foreach (var part in text.Split(';', StringSplitOptions.RemoveEmptyEntries))
        {
            var f = part.Split(' ');
            if (f.Length != 4 || f[0] is not ("u" or "g") || !Number(f[1], out var c) || !Number(f[2], out var h) || !Number(f[3], out var n))
                throw new ContainerPSException(Errors.InvalidIdmap, $"'{text}' is not a recorded id map.", text);
            (f[0] == "u" ? uids : gids).Add(new IdRange(c, h, n));
        }
        return new IdMapping(Canonical(uids), Canonical(gids));

        static bool Number(string s, out long v) => long.TryParse(s, NumberStyles.None, CultureInfo.InvariantCulture, out v);
    }

    public bool Equals(IdMapping? other) => other is not null && Serialize() == other.Serialize();
    public override bool Equals(object? obj) => Equals(obj as IdMapping);
    public override int GetHashCode() => Serialize().GetHashCode(StringComparison.Ordinal);

    /// <summary>Display form: "0 1000000 65536" (ranges joined by ", "; uid and gid apart when they differ).</summary>
    public override string ToString()
    {
        static string Join(IEnumerable<IdRange> rs) => string.Join(", ", rs.Select(r => $"{r.ContainerStart} {r.HostStart} {r.Count}"));
        var u = Join(Uids);
        var g = Join(Gids);
        return u == g ? u : $"uid {u}; gid {g}";
    }
}
