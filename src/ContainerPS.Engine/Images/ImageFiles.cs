using System.Security.Cryptography;

namespace ContainerPS.Engine.Images;

/// <summary>
/// The file work of images: GNU tar with the flags that keep a rootfs intact (numeric owners, modes,
/// xattrs such as security.capability, POSIX ACLs, hard links, device nodes), the normalised image
/// tarball and its fingerprint, and removal of work trees.
/// </summary>
internal sealed class ImageFiles
{
    private readonly ExternalTool tool;

    public ImageFiles(ExternalTool tool) => this.tool = tool;

    public static readonly TimeSpan TarTimeout = TimeSpan.FromMinutes(30);

    /// <summary>What every extraction uses: run as root, owners by number, modes, xattrs and ACLs kept.</summary>
    private static readonly string[] ExtractFlags =
    {
        "--numeric-owner", "--same-owner", "--same-permissions", "--xattrs", "--xattrs-include=*", "--acls",
    };

    /// <summary>
    /// Extracts <paramref name="archive"/> (tar, optionally gzip, xz, bzip2 or zstd compressed: GNU tar
    /// detects it) into the existing directory <paramref name="directory"/>.
    /// </summary>
    /// <param name="activity">Shows progress under this name: tar's checkpoints (one per 1 MiB of archive read), in percent of an uncompressed archive's size.</param>
    public void Extract(string archive, string directory, IEnumerable<string>? extraArguments = null, string? activity = null)
    {
        var args = new List<string> { "--extract", "--file=" + archive, "--directory=" + directory };
        args.AddRange(ExtractFlags);
        if (extraArguments is not null)
            args.AddRange(extraArguments);
        try
        {
            if (activity is null)
                tool.Run("tar", args, TarTimeout);
            else
                ExtractShowingProgress(archive, args, activity);
        }
        catch (ContainerPSException e) when (e.Code == Errors.ToolFailed && UnsafeMember(ToolOutput(e)) is { } why)
        {
            throw new ContainerPSException(Errors.ImageUnsafe,
                $"{archive} is unsafe: {why}. GNU tar refused it and nothing was imported (tar: {ToolOutput(e)})", archive, e);
        }
    }

    private void ExtractShowingProgress(string archive, List<string> args, string activity)
    {
        // A checkpoint every 100 records of 10 KiB: tar writes "tar: Read checkpoint N" to stderr.
        args.AddRange(new[] { "--checkpoint=100", "--checkpoint-action=echo" });
        var size = new FileInfo(archive).Length;
        var compressed = !archive.EndsWith(".tar", StringComparison.OrdinalIgnoreCase);
        tool.RunWatched("tar", args, l =>
        {
            var m = System.Text.RegularExpressions.Regex.Match(l, @"checkpoint (\d+)$");
            if (!m.Success)
                return false;
            var read = long.Parse(m.Groups[1].Value, System.Globalization.CultureInfo.InvariantCulture) * 10240;
            tool.Log.Progress(activity, $"{read >> 20} MiB unpacked", compressed ? -2 : (int)Math.Min(99, read * 100 / Math.Max(1, size)));
            return true;
        }, null, TarTimeout);
        tool.Log.Progress(activity, "done", -1);
    }

    /// <summary>What GNU tar's refusal says about a member that would land outside the directory, or null.</summary>
    private static string? UnsafeMember(string tarOutput) =>
        tarOutput.Contains("contains '..'", StringComparison.Ordinal) ? "a member name contains '..' (it would be written outside the rootfs)"
        : tarOutput.Contains("Cannot hard link to", StringComparison.Ordinal) ? "a hard link points outside the archive (such as an absolute /etc/shadow)"
        : tarOutput.Contains("Not a directory", StringComparison.Ordinal) || tarOutput.Contains("Cannot create symlink", StringComparison.Ordinal)
            ? "a member's path goes through a symbolic link the archive made (it could lead outside the rootfs)"
        : null;

    /// <summary>
    /// Writes the normalised image tarball of <paramref name="rootfs"/>: POSIX format, entries sorted
    /// by name, numeric owners, xattrs and ACLs, and no per-run data (no atime/ctime, fixed names of
    /// extended headers). With <paramref name="deterministic"/> every mtime is 0 and every owner root,
    /// so the same input tree always gives the same bytes.
    /// </summary>
    public void Create(string rootfs, string tarball, bool deterministic)
    {
        var args = new List<string>
        {
            "--create", "--file=" + tarball, "--directory=" + rootfs, "--format=posix", "--sort=name", "--sparse",
            "--numeric-owner", "--xattrs", "--xattrs-include=*", "--acls",
            "--pax-option=exthdr.name=%d/PaxHeaders/%f,delete=atime,delete=ctime",
        };
        if (deterministic)
            args.AddRange(new[] { "--mtime=@0", "--owner=0", "--group=0" });
        args.Add(".");
        tool.Run("tar", args, TarTimeout);
    }

    /// <summary>
    /// Removes the device nodes (block and character) below <paramref name="root"/> and returns their
    /// paths relative to it. Images and moved-in filesystems never bring usable device nodes onto
    /// the host, as unpacking in an unprivileged user namespace never makes them; a container's /dev
    /// comes from runc. find -P never follows a symlink and stays on one filesystem.
    /// </summary>
    public IReadOnlyList<string> RemoveDeviceNodes(string root)
    {
        var r = tool.Execute("find", new[] { root, "-xdev", "(", "-type", "b", "-o", "-type", "c", ")", "-print0", "-delete" }, null, null, TarTimeout);
        if (r.ExitCode != 0)
            throw new ContainerPSException(Errors.ToolFailed, $"find in {root} failed: {r.StandardError.Trim()}", root);
        var prefix = root.TrimEnd('/') + "/";
        return r.StandardOutput.Split('\0', StringSplitOptions.RemoveEmptyEntries)
            .Select(p => p.StartsWith(prefix, StringComparison.Ordinal) ? p[prefix.Length..] : p).ToList();
    }

    /// <summary>"a, b, c and 4 more": at most <paramref name="max"/> names, printable.</summary>
    public static string NameList(IReadOnlyList<string> names, int max = 8) =>
        string.Join(", ", names.Take(max).Select(Names.Printable)) + (names.Count > max ? $" and {names.Count - max} more" : "");

    /// <summary>
    /// Makes <paramref name="directory"/> a mount of its own with nodev and nosuid, so that nothing
    /// unpacked below it is a usable device node or a setuid program while it is there.
    /// <see cref="RemoveTree"/> unmounts it.
    /// </summary>
    public void MountNoDevices(string directory) =>
        tool.Run("mount", new[] { "--bind", "-o", "nodev,nosuid", "--", directory, directory });

    /// <summary>The apparent size of what a tarball holds (sparse files counted in full): the sizes GNU tar lists.</summary>
    public long ApparentSize(string tarball)
    {
        var r = tool.Execute("tar", new[] { "--list", "--verbose", "--numeric-owner", "--file=" + tarball }, null, null, TarTimeout);
        if (r.ExitCode != 0)
            throw new ContainerPSException(Errors.ToolFailed, $"tar --list {tarball} failed: {r.StandardError.Trim()}", tarball);
        long total = 0;
        foreach (var line in r.StandardOutput.Split('\n'))
        {
            var f = line.Split(' ', 4, StringSplitOptions.RemoveEmptyEntries);
            if (f.Length >= 3 && line.StartsWith('-') && long.TryParse(f[2], System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out var size))
                total += size;
        }
        return total;
    }

    /// <summary>What a tool said when it failed (its stderr), without the command line ExternalTool puts first.</summary>
    public static string ToolOutput(ContainerPSException e)
    {
        var m = System.Text.RegularExpressions.Regex.Match(e.Message, @"failed with exit code \d+: (.*)$", System.Text.RegularExpressions.RegexOptions.Singleline);
        return (m.Success ? m.Groups[1].Value : e.Message).Replace('\n', ' ').Trim();
    }

    /// <summary>SHA-256 of a file as lower-case hex.</summary>
    public static string Sha256(string path)
    {
        using var s = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read, 1 << 20);
        return Convert.ToHexStringLower(SHA256.HashData(s));
    }

    /// <summary>
    /// Removes a work tree: first unmounts anything still mounted below it (a failed debootstrap can
    /// leave proc or sys mounted in its target), then rm -rf without crossing filesystems. Idempotent.
    /// </summary>
    public void RemoveTree(string path)
    {
        if (!Path.Exists(path) && !HostPath.IsSymlink(path))
            return;
        foreach (var mount in MountsBelow(path))
        {
            try { tool.Run("umount", new[] { "-l", "--", mount }); }
            catch (ContainerPSException e) { tool.Log.Verbose($"umount {mount}: {e.Message}"); }
        }
        tool.Run("rm", new[] { "-rf", "--one-file-system", "--", path });
    }

    /// <summary>Mount points at or below <paramref name="path"/>, deepest first.</summary>
    private static List<string> MountsBelow(string path)
    {
        var full = Path.GetFullPath(path).TrimEnd('/');
        var found = new List<string>();
        string[] lines;
        try { lines = File.ReadAllLines("/proc/self/mountinfo"); }
        catch (IOException) { return found; }
        foreach (var line in lines)
        {
            var fields = line.Split(' ');
            if (fields.Length < 5)
                continue;
            var mountPoint = UnescapeMountField(fields[4]);
            if (mountPoint == full || mountPoint.StartsWith(full + "/", StringComparison.Ordinal))
                found.Add(mountPoint);
        }
        return found.OrderByDescending(m => m.Length).ToList();
    }

    private static string UnescapeMountField(string s)
    {
        if (!s.Contains('\\'))
            return s;
        var sb = new System.Text.StringBuilder(s.Length);
        for (var i = 0; i < s.Length; i++)
        {
            if (s[i] == '\\' && i + 3 < s.Length && s[(i + 1)..(i + 4)].All(c => c is >= '0' and <= '7'))
            {
                sb.Append((char)Convert.ToInt32(s[(i + 1)..(i + 4)], 8));
                i += 3;
            }
            else
                sb.Append(s[i]);
        }
        return sb.ToString();
    }

    /// <summary>
    /// The host path of <paramref name="relative"/> (a path inside an image, '/'-separated, no '..')
    /// below <paramref name="rootfs"/>, or null when the path is unsafe: it has '..' or empty-name
    /// components, or an existing parent component is not a real directory (a symlink could lead out
    /// of the rootfs).
    /// </summary>
    public static string? SafePath(string rootfs, string relative)
    {
        var parts = relative.Split('/', StringSplitOptions.RemoveEmptyEntries).Where(p => p != ".").ToArray();
        if (parts.Length == 0 || parts.Any(p => p == ".."))
            return null;
        var current = rootfs;
        for (var i = 0; i < parts.Length - 1; i++)
        {
            current = Path.Join(current, parts[i]);
            if (HostPath.IsSymlink(current))
                return null;
            if (!Directory.Exists(current))
                return Path.Join(current, Path.Join(parts[(i + 1)..]));
        }
        return Path.Join(current, parts[^1]);
    }

    /// <summary>
    /// Resolves <paramref name="relative"/> inside the rootfs as the container would see it, following
    /// symlinks (absolute ones relative to the rootfs) without ever leaving it. Null when it does not exist.
    /// </summary>
    public static string? ResolveInside(string rootfs, string relative, int depth = 0)
    {
        if (depth > 16)
            return null;
        var parts = new Stack<string>(relative.Split('/', StringSplitOptions.RemoveEmptyEntries).Reverse());
        var resolved = new List<string>();
        while (parts.Count > 0)
        {
            var part = parts.Pop();
            if (part == ".")
                continue;
            if (part == "..")
            {
                if (resolved.Count > 0)
                    resolved.RemoveAt(resolved.Count - 1);
                continue;
            }
            var host = Path.Join(rootfs, Path.Join(resolved.Append(part).ToArray()));
            if (HostPath.IsSymlink(host))
            {
                var target = new FileInfo(host).LinkTarget ?? "";
                var rest = string.Join('/', parts);
                var next = target.StartsWith('/') ? target : string.Join('/', resolved) + "/" + target;
                return ResolveInside(rootfs, next + (rest.Length > 0 ? "/" + rest : ""), depth + 1);
            }
            if (!Path.Exists(host))
                return null;
            resolved.Add(part);
        }
        return Path.Join(rootfs, Path.Join(resolved.ToArray()));
    }
}
