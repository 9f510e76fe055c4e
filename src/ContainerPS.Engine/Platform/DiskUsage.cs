using System.IO.Enumeration;

namespace ContainerPS.Engine.Platform;

/// <summary>Space figures for directories and the filesystems that hold them.</summary>
public static class DiskUsage
{
    /// <summary>Total and used bytes of the filesystem holding <paramref name="path"/> (statvfs).</summary>
    public static (long Total, long Used) Filesystem(string path)
    {
        var s = LibC.StatVfsOf(path);
        var total = (long)(s.f_blocks * s.f_frsize);
        var free = (long)(s.f_bfree * s.f_frsize);
        return (total, total - free);
    }

    /// <summary>
    /// Bytes allocated to the tree at <paramref name="path"/> (like du -s: blocks, hard links counted
    /// once, symlinks not followed, other filesystems not entered). Null when the path is gone.
    /// </summary>
    public static long? Tree(string path)
    {
        LibC.Statx root;
        try { root = LibC.LStat(path); }
        catch (IOException) { return null; }
        long total = (long)root.stx_blocks * 512;
        var seen = new HashSet<(ulong, ulong)>();
        var options = new EnumerationOptions
        {
            RecurseSubdirectories = true,
            IgnoreInaccessible = true,
            AttributesToSkip = 0,
            ReturnSpecialDirectories = false,
        };
        var entries = new FileSystemEnumerable<string>(path, (ref FileSystemEntry e) => e.ToFullPath(), options)
        {
            // Never descend through a symlink (.NET would follow one that points to a directory).
            ShouldRecursePredicate = (ref FileSystemEntry e) => (e.Attributes & FileAttributes.ReparsePoint) == 0,
        };
        foreach (var entry in entries)
        {
            LibC.Statx st;
            try { st = LibC.LStat(entry); }
            catch (IOException) { continue; } // removed while we walked
            if (st.stx_dev_major != root.stx_dev_major || st.stx_dev_minor != root.stx_dev_minor)
                continue;
            if (st.stx_nlink > 1 && (st.stx_mode & 0xF000) != 0x4000 && !seen.Add((st.stx_ino, st.stx_blocks)))
                continue;
            total += (long)st.stx_blocks * 512;
        }
        return total;
    }
}
