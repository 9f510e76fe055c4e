using Microsoft.Data.Sqlite;

namespace ContainerPS.Engine.State;

/// <summary>
/// An image row. While an import runs (state Creating) the fingerprint is a placeholder
/// (<see cref="StateStore.PendingFingerprintPrefix"/>...) and op_arg names the import's work directory
/// under $root/images/tmp.
/// </summary>
public sealed record ImageRow(
    long Id, string Fingerprint, string? Alias, string Format, string Description,
    SortedDictionary<string, string> Properties, long Size, DateTime CreatedAt, RowState State, ProcessIdentity? Owner, string? OpArg)
{
    public bool HasFingerprint => !Fingerprint.StartsWith(StateStore.PendingFingerprintPrefix, StringComparison.Ordinal);
}

public sealed partial class StateStore
{
    /// <summary>Fingerprints of rows whose import has not computed its fingerprint yet start with this.</summary>
    public const string PendingFingerprintPrefix = "pending-";

    private const string ImageColumns = "id, fingerprint, alias, format, description, properties, size, created_at, state, op_pid, op_start, op_arg";

    private static ImageRow MapImage(SqliteDataReader r) => new(
        r.GetInt64(0), r.GetString(1), r.IsDBNull(2) ? null : r.GetString(2), r.GetString(3), r.GetString(4),
        FromJson(r.GetString(5)), r.GetInt64(6), ParseTimestamp(r.GetString(7)), RowStates.Parse(r.GetString(8)), Owner(r, 9),
        r.IsDBNull(11) ? null : r.GetString(11));

    /// <summary>All image rows (any state): aliased images by alias first, then the others by fingerprint.</summary>
    public List<ImageRow> Images() =>
        Query($"SELECT {ImageColumns} FROM images ORDER BY alias IS NULL, alias, fingerprint", MapImage);

    public ImageRow? Image(long id) =>
        Query($"SELECT {ImageColumns} FROM images WHERE id = $id", MapImage, ("$id", id)).SingleOrDefault();

    public ImageRow? ImageByAlias(string alias) =>
        Query($"SELECT {ImageColumns} FROM images WHERE alias = $a", MapImage, ("$a", alias)).SingleOrDefault();

    public ImageRow? ImageByFingerprint(string fingerprint) =>
        Query($"SELECT {ImageColumns} FROM images WHERE fingerprint = $f", MapImage, ("$f", fingerprint)).SingleOrDefault();

    /// <summary>Rows whose fingerprint starts with <paramref name="hexPrefix"/> (lower-case hex only: no LIKE wildcards).</summary>
    public List<ImageRow> ImagesByFingerprintPrefix(string hexPrefix)
    {
        if (hexPrefix.Length == 0 || !hexPrefix.All(c => char.IsAsciiDigit(c) || c is >= 'a' and <= 'f'))
            throw new ArgumentException("a fingerprint prefix is lower-case hex", nameof(hexPrefix));
        return Query($"SELECT {ImageColumns} FROM images WHERE substr(fingerprint, 1, $n) = $p ORDER BY fingerprint", MapImage,
            ("$n", hexPrefix.Length), ("$p", hexPrefix));
    }

    /// <summary>
    /// Inserts an image row in state Creating, owned by this process, with a placeholder fingerprint
    /// (<paramref name="workName"/> makes it unique) and op_arg = <paramref name="workName"/>.
    /// Throws ImageExists when <paramref name="alias"/> is taken.
    /// </summary>
    public long InsertImage(string? alias, string format, string description, string workName)
    {
        var me = ProcessIdentity.Current;
        try
        {
            Exec("""
                INSERT INTO images(fingerprint, alias, format, description, properties, size, created_at, state, op_pid, op_start, op_arg)
                VALUES ($f, $a, $fmt, $d, '{}', 0, $t, $st, $pid, $start, $arg)
                """,
                ("$f", PendingFingerprintPrefix + workName), ("$a", alias), ("$fmt", format), ("$d", description),
                ("$t", Timestamp(DateTime.UtcNow)), ("$st", RowState.Creating.ToDb()), ("$pid", me.Pid), ("$start", me.StartTime), ("$arg", workName));
        }
        catch (SqliteException e) when (IsUniqueViolation(e))
        {
            var holder = alias is null ? null : ImageByAlias(alias);
            throw new ContainerPSException(Errors.ImageExists,
                holder is { HasFingerprint: true }
                    ? $"The image alias '{alias}' is taken by image {holder.Fingerprint[..12]}."
                    : $"The image alias '{alias}' is taken by an image that is being created.", alias);
        }
        return (long)Scalar("SELECT last_insert_rowid()")!;
    }

    /// <summary>Records the computed fingerprint, format, properties, size and description of a row being created.</summary>
    public void CompleteImage(long id, string fingerprint, string format, IReadOnlyDictionary<string, string> properties, long size, string description) =>
        Exec("UPDATE images SET fingerprint = $f, format = $fmt, properties = $p, size = $s, description = $d WHERE id = $id",
            ("$f", fingerprint), ("$fmt", format), ("$p", ToJson(properties)), ("$s", size), ("$d", description), ("$id", id));

    public void DeleteImageRow(long id) => Exec("DELETE FROM images WHERE id = $id", ("$id", id));

    /// <summary>Name and image reference (as the container was created from: alias or fingerprint) of every container.</summary>
    public List<(string Name, string Image)> ContainerImageReferences() =>
        Query("SELECT name, image FROM containers ORDER BY name", r => (r.GetString(0), r.GetString(1)));
}
