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
            throw new ContainerPSException(ErrorKind.ResourceUnavailable, "NoSubordinateIds", $"{file} has no range for root.", file);
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

    private static (long, long)? Find(string file)
    {
        if (!File.Exists(file))
            return null;
        foreach (var line in File.ReadLines(file))
        {
            var f = line.Trim().Split(':');
            if (f.Length == 3 && (f[0] == "root" || f[0] == "0")
                && long.TryParse(f[1], NumberStyles.None, CultureInfo.InvariantCulture, out var start)
                && long.TryParse(f[2], NumberStyles.None, CultureInfo.InvariantCulture, out var count) && count >= 65536)
                return (start, count);
        }
        return null;
    }
}
