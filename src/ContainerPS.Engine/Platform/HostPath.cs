namespace ContainerPS.Engine.Platform;

/// <summary>Checks and canonical forms of host paths users give.</summary>
public static class HostPath
{
    /// <summary>
    /// The canonical form of <paramref name="path"/>: absolute, normalised, and with every symlink in
    /// its existing part resolved (the part that does not exist yet is appended as written).
    /// </summary>
    public static string Canonical(string path)
    {
        var full = Path.GetFullPath(path);
        var missing = new Stack<string>();
        var existing = full;
        while (!Path.Exists(existing) && !IsSymlink(existing))
        {
            missing.Push(Path.GetFileName(existing));
            existing = Path.GetDirectoryName(existing) ?? "/";
        }
        var real = LibC.RealPath(existing);
        while (missing.Count > 0)
            real = Path.Join(real, missing.Pop());
        return real;
    }

    public static bool IsSymlink(string path)
    {
        try { return File.GetAttributes(path).HasFlag(FileAttributes.ReparsePoint); }
        catch (IOException) { return false; }
    }

    /// <summary>True when <paramref name="path"/> is <paramref name="dir"/> or below it (both canonical).</summary>
    public static bool IsWithin(string path, string dir) =>
        path == dir || path.StartsWith(dir.TrimEnd('/') + "/", StringComparison.Ordinal);

    public static bool HasControlCharacters(string s) => s.Any(char.IsControl);
}
