using System.Text.RegularExpressions;

namespace ContainerPS.Engine.Images;

/// <summary>
/// The built-in <c>busybox</c> image, made locally from the host's static busybox (Debian package
/// busybox-static): bin/busybox, a symlink per applet where busybox --list-full puts it,
/// sbin/init → ../bin/busybox with an inittab that keeps init running without gettys, and the
/// few files a system needs (passwd, group, hostname, hosts). Busybox init powers off on SIGUSR2
/// (running the inittab's shutdown action first), so the image's stop.signal is SIGUSR2.
/// </summary>
internal static partial class BusyboxRootfs
{
    public const string BusyboxPath = "/bin/busybox";
    public const string StopSignal = "SIGUSR2";

    private const UnixFileMode Mode0755 = UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute |
        UnixFileMode.GroupRead | UnixFileMode.GroupExecute | UnixFileMode.OtherRead | UnixFileMode.OtherExecute;
    private const UnixFileMode Mode0644 = UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.GroupRead | UnixFileMode.OtherRead;
    private const UnixFileMode Mode0700 = UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute;
    private const UnixFileMode Mode1777 = Mode0755 | UnixFileMode.GroupWrite | UnixFileMode.OtherWrite | UnixFileMode.StickyBit;

    [GeneratedRegex(@"BusyBox v(\S+)")]
    private static partial Regex VersionPattern();

    private const string Inittab = """
        # ContainerPS busybox image: no gettys (a container has no terminals to spawn them on) and no
        # respawn entries, so init only runs rcS and then stays up as pid 1 until it is signalled:
        # SIGUSR2 powers off, SIGUSR1 halts, SIGTERM reboots (each after the shutdown action).
        ::sysinit:/etc/init.d/rcS
        ::shutdown:/bin/sh -c "echo shutting down"

        """;

    private const string RcS = """
        #!/bin/sh
        # Boot script of the ContainerPS busybox image. It mounts nothing: the runtime sets up /proc,
        # /sys and /dev, and an unprivileged container could not mount them here anyway.
        hostname -F /etc/hostname 2>/dev/null
        echo booted

        """;

    /// <summary>Writes the rootfs into the existing empty directory <paramref name="rootfs"/> and returns the image's properties.</summary>
    public static SortedDictionary<string, string> Build(string rootfs, ExternalTool tool)
    {
        if (!File.Exists(BusyboxPath))
            throw new ContainerPSException(Errors.ToolMissing,
                $"The built-in busybox image needs {BusyboxPath} (Debian package busybox-static). Run 'build.ps1 -Task Bootstrap' to install what the host lacks.", BusyboxPath);
        var elf = ElfInfo.Read(BusyboxPath)
            ?? throw new ContainerPSException(Errors.ToolMissing, $"{BusyboxPath} is not an ELF executable.", BusyboxPath);
        if (elf.Dynamic)
            throw new ContainerPSException(Errors.ToolMissing,
                $"{BusyboxPath} is dynamically linked, so it cannot run in a container without the host's libraries; install busybox-static.", BusyboxPath);
        var banner = tool.Run(BusyboxPath, Array.Empty<string>());
        var version = VersionPattern().Match(banner) is { Success: true } m ? m.Groups[1].Value : "unknown";
        var applets = tool.Run(BusyboxPath, new[] { "--list-full" })
            .Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);

        File.SetUnixFileMode(rootfs, Mode0755);
        foreach (var dir in new[] { "bin", "sbin", "usr", "usr/bin", "usr/sbin", "etc", "etc/init.d", "proc", "sys", "dev", "run", "var", "var/log" })
            Dir(rootfs, dir, Mode0755);
        Dir(rootfs, "root", Mode0700);
        Dir(rootfs, "tmp", Mode1777);
        Dir(rootfs, "var/tmp", Mode1777);

        var busybox = Path.Join(rootfs, "bin/busybox");
        File.Copy(BusyboxPath, busybox);
        File.SetUnixFileMode(busybox, Mode0755);
        foreach (var applet in applets)
        {
            // --list-full names paths like bin/ls, usr/sbin/chroot; linuxrc (initramfs only) is left out.
            if (applet.Contains("..") || applet.StartsWith('/') || !applet.Contains('/') || applet == "bin/busybox")
                continue;
            var dir = Path.GetDirectoryName(applet)!;
            if (!Directory.Exists(Path.Join(rootfs, dir)))
                Dir(rootfs, dir, Mode0755);
            var link = Path.Join(rootfs, applet);
            if (Path.Exists(link))
                continue;
            var up = string.Concat(Enumerable.Repeat("../", applet.Count(c => c == '/')));
            var target = dir == "bin" ? "busybox" : up + "bin/busybox";
            File.CreateSymbolicLink(link, target);
        }
        if (!Path.Exists(Path.Join(rootfs, "sbin/init")))
            File.CreateSymbolicLink(Path.Join(rootfs, "sbin/init"), "../bin/busybox");

        Text(rootfs, "etc/inittab", Inittab, Mode0644);
        Text(rootfs, "etc/init.d/rcS", RcS, Mode0755);
        Text(rootfs, "etc/passwd", "root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/nonexistent:/bin/false\n", Mode0644);
        Text(rootfs, "etc/group", "root:x:0:\nnobody:x:65534:\n", Mode0644);
        Text(rootfs, "etc/hostname", "busybox\n", Mode0644);
        Text(rootfs, "etc/hosts", "127.0.0.1\tlocalhost\n::1\tlocalhost ip6-localhost ip6-loopback\n", Mode0644);

        return new SortedDictionary<string, string>(StringComparer.Ordinal)
        {
            ["os"] = "busybox",
            ["release"] = version,
            ["architecture"] = elf.Architecture,
            ["stop.signal"] = StopSignal,
            ["description"] = $"BusyBox {version} (built-in)",
        };
    }

    private static void Dir(string rootfs, string relative, UnixFileMode mode)
    {
        var path = Path.Join(rootfs, relative);
        Directory.CreateDirectory(path);
        File.SetUnixFileMode(path, mode);
    }

    private static void Text(string rootfs, string relative, string content, UnixFileMode mode)
    {
        var path = Path.Join(rootfs, relative);
        File.WriteAllText(path, content);
        File.SetUnixFileMode(path, mode);
    }
}
