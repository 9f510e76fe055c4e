using System.Globalization;
using ContainerPS.Engine.Idmap;

namespace ContainerPS.Engine.Runtime;

/// <summary>
/// Id maps: the map of each container (base allocation from root's subordinate ids, shared or
/// isolated or at security.idmap.base, with raw.idmap entries), changed by Set-Container and taking
/// effect at the next start; the map a container runs with is kept in volatile.idmap.current.
/// </summary>
public sealed class ContainerIdmaps
{
    private readonly StateStore store;
    private readonly ContainerPaths paths;

    internal ContainerIdmaps(StateStore store, ContainerPaths paths) => (this.store, this.paths) = (store, paths);

    public const string IdmapCurrentKey = "volatile.idmap.current";

    internal static readonly string[] IdmapKeys = { "security.idmap.isolated", "security.idmap.size", "security.idmap.base", "raw.idmap", UnsafeIdmapKey };

    /// <summary>The opt-in that lets raw.idmap map host ids root was not delegated (the container is then root-equivalent).</summary>
    public const string UnsafeIdmapKey = "security.idmap.unsafe";

    private readonly Lazy<(long Start, long Count)> uids = new(() => SubIds.Root("/etc/subuid"));

    private readonly Lazy<(long Start, long Count)> gids = new(() => SubIds.Root("/etc/subgid"));

    private (long Start, long Count) Uids => uids.Value;

    private (long Start, long Count) Gids => gids.Value;

    /// <summary>The raw.idmap host ids of <paramref name="cfg"/> that /etc/subuid and /etc/subgid do not delegate to root.</summary>
    private static IReadOnlyList<string> UndelegatedIds(IReadOnlyDictionary<string, string> cfg) =>
        cfg.TryGetValue("raw.idmap", out var raw) && raw.Trim().Length > 0
            ? SubIds.Undelegated(RawIdmap.Parse(raw), SubIds.RootRanges("/etc/subuid"), SubIds.RootRanges("/etc/subgid"))
            : Array.Empty<string>();

    /// <summary>
    /// IdmapNotDelegated unless every raw.idmap host id is delegated to root or the container opted in
    /// with security.idmap.unsafe (LXD requires root:ID:COUNT lines in /etc/subuid and /etc/subgid).
    /// Returns the undelegated ids an opted-in container maps (empty when there are none).
    /// </summary>
    internal static IReadOnlyList<string> CheckDelegated(IReadOnlyDictionary<string, string> cfg, string container)
    {
        var outside = UndelegatedIds(cfg);
        if (outside.Count == 0 || cfg.GetValueOrDefault(UnsafeIdmapKey) == "true")
            return outside;
        throw new ContainerPSException(Errors.IdmapNotDelegated,
            $"raw.idmap of container '{container}' maps host {string.Join(", ", outside)}, which /etc/subuid and /etc/subgid do not delegate to root. " +
            "Add 'root:FIRST:COUNT' lines for them to both files (as LXD requires), or set security.idmap.unsafe=true to map them anyway: " +
            "the container's root then owns those host ids (host root itself for id 0), and the container counts as privileged.", container);
    }

    /// <summary>True when the container maps host ids that were not delegated (security.idmap.unsafe): it is root-equivalent.</summary>
    internal static bool HasUnsafeMap(ContainerRow row) =>
        !row.Privileged && row.Config.GetValueOrDefault(UnsafeIdmapKey) == "true" && UndelegatedIds(row.Config).Count > 0;

    /// <summary>
    /// The base allocation a container with config <paramref name="cfg"/> gets: security.idmap.base if
    /// set, else its own first-fit range when isolated (<paramref name="keep"/>, its present one, when it
    /// still fits), else the shared map. <paramref name="self"/> is left out of the ranges taken.
    /// Throws InvalidIdmap when raw.idmap does not fit the allocation (host ids mapped twice).
    /// </summary>
    internal (long Base, long Size) AllocateBase(IReadOnlyDictionary<string, string> cfg, long? self, (long Base, long Size)? keep, string container)
    {
        var alloc = ChooseBase(cfg, self, keep);
        _ = new IdMapping(alloc.Base, Gids.Start + (alloc.Base - Uids.Start), alloc.Size, cfg.GetValueOrDefault("raw.idmap"));
        CheckDelegated(cfg, container);
        return alloc;
    }

    private (long Base, long Size) ChooseBase(IReadOnlyDictionary<string, string> cfg, long? self, (long Base, long Size)? keep)
    {
        var size = cfg.TryGetValue("security.idmap.size", out var s) ? long.Parse(s, CultureInfo.InvariantCulture) : IdmapAllocator.DefaultSize;
        var isolated = cfg.GetValueOrDefault("security.idmap.isolated") == "true";
        if (cfg.TryGetValue("security.idmap.base", out var b))
        {
            var start = long.Parse(b, CultureInfo.InvariantCulture);
            var limit = Math.Min(Uids.Count, Gids.Count);
            if (start < Uids.Start || start + size > Uids.Start + limit)
                throw new ContainerPSException(Errors.InvalidIdmap,
                    $"security.idmap.base {start} with {size} ids is outside root's subordinate ids ({Uids.Start}-{Uids.Start + limit - 1} in /etc/subuid and /etc/subgid).", b);
            return (start, size);
        }
        if (!isolated)
            return (SharedMap().UidBase, IdmapAllocator.DefaultSize);
        if (keep is { } k && k.Size == size && k.Base != Uids.Start)
            return k;
        var map = IdmapAllocator.Isolated(Uids, Gids, size, TakenRanges(self));
        return (map.UidBase, map.Size);
    }

    /// <summary>Ranges other containers own (isolated or at a set base), in their next map and the one they run with.</summary>
    private IEnumerable<(long Base, long Size)> TakenRanges(long? self)
    {
        foreach (var c in store.Containers().Where(c => c.Id != self && !c.Privileged))
        {
            if (c.IdmapBase is long b && b != Uids.Start)
                yield return (b, c.IdmapSize ?? IdmapAllocator.DefaultSize);
            // The map it runs with, range by range (raw.idmap may have split it).
            foreach (var r in CurrentMap(c)?.Uids ?? Array.Empty<IdRange>())
                if (r.HostStart >= Uids.Start + IdmapAllocator.DefaultSize)
                    yield return (r.HostStart, r.Count);
        }
    }

    internal IdMapping SharedMap() => IdmapAllocator.Shared(Uids, Gids);

    internal IdMapping AllocateIsolated(long size) =>
        IdmapAllocator.Isolated(Uids, Gids, size, TakenRanges(null));

    /// <summary>The map the container's next start uses (null: privileged).</summary>
    internal IdMapping? MapOf(ContainerRow row)
    {
        if (row.Privileged || row.IdmapBase is null)
            return null;
        return new IdMapping(row.IdmapBase.Value, Gids.Start + (row.IdmapBase.Value - Uids.Start), row.IdmapSize ?? IdmapAllocator.DefaultSize,
            row.Config.GetValueOrDefault("raw.idmap"));
    }

    /// <summary>The map the container runs with, or ran with last (null: never started, or privileged).</summary>
    internal static IdMapping? CurrentMap(ContainerRow row) =>
        row.Config.TryGetValue(IdmapCurrentKey, out var v) && v.Length > 0 ? IdMapping.Deserialize(v) : null;

    /// <summary>The map of a container as it is now: the current one while it runs, else the next one.</summary>
    internal IdMapping? EffectiveMap(ContainerRow row) =>
        paths.Runtime(row.Name).Inspect().IsRunning ? CurrentMap(row) ?? MapOf(row) : MapOf(row);

    /// <summary>Get-ContainerIdmap: the ranges of each container's current and next map.</summary>
    public IReadOnlyList<ContainerPS.Idmap> List(string? name)
    {
        var rows = name is null ? store.Containers() : new List<ContainerRow> { store.Container(Names.Validate(name, "container")) ?? throw ContainerPSException.ContainerNotFound(name) };
        var result = new List<ContainerPS.Idmap>();
        foreach (var row in rows.Where(r => !r.Privileged))
        {
            var next = MapOf(row);
            var current = CurrentMap(row);
            var nextRanges = next is null ? new List<(string, IdRange)>() : Entries(next);
            var currentRanges = current is null ? new List<(string, IdRange)>() : Entries(current);
            foreach (var (kind, range) in nextRanges.Union(currentRanges))
            {
                var raw = (next is not null && IsRaw(next, range)) || range.HostStart < Uids.Start || range.HostStart >= Uids.Start + Uids.Count;
                result.Add(new ContainerPS.Idmap
                {
                    Container = row.Name, Kind = kind, HostStart = range.HostStart, ContainerStart = range.ContainerStart, Count = range.Count,
                    Isolated = row.Isolated && !raw, Raw = raw,
                    Current = currentRanges.Contains((kind, range)), Next = nextRanges.Contains((kind, range)),
                });
            }
        }
        return result;
    }

    private static bool IsRaw(IdMapping map, IdRange r) => map.Raw.Any(e => e.HostStart == r.HostStart && e.ContainerStart == r.ContainerStart && e.Count == r.Count);

    /// <summary>The ranges of a map, a uid and a gid range that are equal becoming one of kind "both".</summary>
    private static List<(string Kind, IdRange Range)> Entries(IdMapping map)
    {
        var list = new List<(string, IdRange)>();
        foreach (var u in map.Uids)
            list.Add((map.Gids.Contains(u) ? "both" : "uid", u));
        foreach (var g in map.Gids.Where(g => !map.Uids.Contains(g)))
            list.Add(("gid", g));
        return list;
    }

    /// <summary>Get-ContainerIdmap -Host: root's subordinate ranges and who uses which part.</summary>
    public IReadOnlyList<HostIdmap> HostRanges()
    {
        var result = new List<HostIdmap>();
        var rows = store.Containers().Where(r => !r.Privileged).ToList();
        foreach (var (kind, range, uid) in new[] { ("uid", Uids, true), ("gid", Gids, false) })
        {
            // Each container's ranges inside root's subordinate ids, in its next map and the one it runs with.
            var uses = new List<(long Start, long Count, string Container, bool Isolated)>();
            foreach (var r in rows)
                foreach (var map in new[] { MapOf(r), CurrentMap(r) }.OfType<IdMapping>().Distinct())
                    foreach (var piece in map.Ranges(uid).Where(p => p.HostStart >= range.Start && p.HostStart < range.Start + range.Count))
                        uses.Add((piece.HostStart, piece.Count, r.Name, piece.HostStart >= range.Start + IdmapAllocator.DefaultSize));
            var cursor = range.Start;
            foreach (var g in uses.GroupBy(u => (u.Start, u.Count)).OrderBy(g => g.Key.Start))
            {
                if (g.Key.Start < range.Start || g.Key.Start >= range.Start + range.Count)
                    continue;
                if (g.Key.Start > cursor)
                    result.Add(new HostIdmap { Kind = kind, HostStart = cursor, Count = g.Key.Start - cursor, Use = "Free", Containers = Array.Empty<string>() });
                result.Add(new HostIdmap
                {
                    Kind = kind, HostStart = g.Key.Start, Count = g.Key.Count, Use = g.Any(u => u.Isolated) ? "Isolated" : "Shared",
                    Containers = g.Select(u => u.Container).Distinct().Order(StringComparer.Ordinal).ToArray(),
                });
                cursor = Math.Max(cursor, g.Key.Start + g.Key.Count);
            }
            if (cursor < range.Start + range.Count)
                result.Add(new HostIdmap { Kind = kind, HostStart = cursor, Count = range.Start + range.Count - cursor, Use = "Free", Containers = Array.Empty<string>() });
        }
        return result;
    }
}
