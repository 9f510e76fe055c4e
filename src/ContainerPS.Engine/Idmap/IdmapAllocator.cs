namespace ContainerPS.Engine.Idmap;

/// <summary>
/// Chooses a container's map. Shared (the default): the first <see cref="DefaultSize"/> ids of root's
/// subordinate range, the same for every non-isolated container. Isolated: a range of its own,
/// first fit after the shared block, never overlapping another isolated container's.
/// </summary>
public static class IdmapAllocator
{
    public const long DefaultSize = 65536;

    public static IdMapping Shared((long Start, long Count) uids, (long Start, long Count) gids) =>
        new(uids.Start, gids.Start, DefaultSize);

    /// <param name="taken">Uid bases and sizes of the other isolated containers.</param>
    public static IdMapping Isolated((long Start, long Count) uids, (long Start, long Count) gids, long size, IEnumerable<(long Base, long Size)> taken)
    {
        var used = taken.OrderBy(t => t.Base).ToList();
        var candidate = uids.Start + DefaultSize;
        foreach (var (b, s) in used)
        {
            if (candidate + size <= b)
                break;
            candidate = Math.Max(candidate, b + s);
        }
        var limit = Math.Min(uids.Count, gids.Count);
        if (candidate + size > uids.Start + limit)
            throw new ContainerPSException(Errors.IdmapExhausted,
                $"No free range of {size} ids is left in root's subordinate ids ({uids.Start}-{uids.Start + limit - 1}) for an isolated map.", null);
        var offset = candidate - uids.Start;
        return new IdMapping(candidate, gids.Start + offset, size);
    }
}
