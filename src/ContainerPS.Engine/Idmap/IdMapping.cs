namespace ContainerPS.Engine.Idmap;

/// <summary>
/// A container's id map: container uids 0..Size-1 are host uids UidBase.., and gids likewise from
/// GidBase (raw.idmap entries come with the id-mapping issue).
/// </summary>
public sealed record IdMapping(long UidBase, long GidBase, long Size)
{
    public string ToProcMap(bool uid) => $"0 {(uid ? UidBase : GidBase)} {Size}\n";

    /// <summary>Display form: "0 1000000 65536" (and the gid triple when it differs).</summary>
    public override string ToString() => UidBase == GidBase ? $"0 {UidBase} {Size}" : $"uid 0 {UidBase} {Size}; gid 0 {GidBase} {Size}";
}
