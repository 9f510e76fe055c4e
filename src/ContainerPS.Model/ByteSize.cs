using System.Globalization;

namespace ContainerPS;

/// <summary>
/// Byte sizes as LXD/Incus write them: a whole number with an optional unit, decimal (kB, MB, GB,
/// TB, PB, EB) or binary (KiB, MiB, GiB, TiB, PiB, EiB); no unit or B means bytes.
/// </summary>
public static class ByteSize
{
    private static readonly (string Suffix, long Factor)[] Units =
    {
        ("KiB", 1L << 10), ("MiB", 1L << 20), ("GiB", 1L << 30), ("TiB", 1L << 40), ("PiB", 1L << 50), ("EiB", 1L << 60),
        ("kB", 1000L), ("MB", 1000_000L), ("GB", 1000_000_000L), ("TB", 1000_000_000_000L),
        ("PB", 1000_000_000_000_000L), ("EB", 1000_000_000_000_000_000L),
        ("B", 1L),
    };

    public static bool TryParse(string? text, out long bytes)
    {
        bytes = 0;
        if (string.IsNullOrWhiteSpace(text))
            return false;
        var s = text.Trim();
        long factor = 1;
        foreach (var (suffix, f) in Units)
        {
            if (s.EndsWith(suffix, StringComparison.Ordinal))
            {
                factor = f;
                s = s[..^suffix.Length].TrimEnd();
                break;
            }
        }
        if (s.Length == 0 || !s.All(char.IsAsciiDigit))
            return false;
        if (!long.TryParse(s, NumberStyles.None, CultureInfo.InvariantCulture, out var n))
            return false;
        try { bytes = checked(n * factor); }
        catch (OverflowException) { return false; }
        return true;
    }

    /// <summary>Human form for tables: 1.5GiB, 512MiB, 10KiB, 100B.</summary>
    public static string Format(long? bytes)
    {
        if (bytes is not long b)
            return "";
        string[] names = { "B", "KiB", "MiB", "GiB", "TiB", "PiB", "EiB" };
        double v = b;
        var i = 0;
        while (Math.Abs(v) >= 1024 && i < names.Length - 1) { v /= 1024; i++; }
        return i == 0 ? $"{b}B" : v.ToString(v < 10 ? "0.##" : v < 100 ? "0.#" : "0", CultureInfo.InvariantCulture) + names[i];
    }
}
