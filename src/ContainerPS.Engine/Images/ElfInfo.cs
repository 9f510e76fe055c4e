using System.Buffers.Binary;

namespace ContainerPS.Engine.Images;

/// <summary>
/// The two facts images need from an ELF binary: its architecture (in the kernel's uname -m naming,
/// as LXD writes it) and whether it needs a program interpreter (is dynamically linked).
/// </summary>
internal sealed record ElfInfo(string Architecture, bool Dynamic)
{
    private const uint PT_INTERP = 3;

    /// <summary>Null when the file is not a readable 64- or 32-bit little-endian ELF file.</summary>
    public static ElfInfo? Read(string path)
    {
        byte[] head;
        try
        {
            using var f = File.OpenRead(path);
            head = new byte[64];
            if (f.Read(head, 0, 64) < 52 || head[0] != 0x7f || head[1] != (byte)'E' || head[2] != (byte)'L' || head[3] != (byte)'F' || head[5] != 1)
                return null;
            var is64 = head[4] == 2;
            var machine = BinaryPrimitives.ReadUInt16LittleEndian(head.AsSpan(18));
            long phoff = is64 ? (long)BinaryPrimitives.ReadUInt64LittleEndian(head.AsSpan(32)) : BinaryPrimitives.ReadUInt32LittleEndian(head.AsSpan(28));
            int phentsize = BinaryPrimitives.ReadUInt16LittleEndian(head.AsSpan(is64 ? 54 : 42));
            int phnum = BinaryPrimitives.ReadUInt16LittleEndian(head.AsSpan(is64 ? 56 : 44));
            var dynamic = false;
            if (phentsize >= 4 && phnum is > 0 and < 4096)
            {
                var table = new byte[phentsize * phnum];
                f.Seek(phoff, SeekOrigin.Begin);
                if (f.Read(table, 0, table.Length) == table.Length)
                    for (var i = 0; i < phnum; i++)
                        if (BinaryPrimitives.ReadUInt32LittleEndian(table.AsSpan(i * phentsize)) == PT_INTERP)
                            dynamic = true;
            }
            return new ElfInfo(MachineName(machine, is64), dynamic);
        }
        catch (IOException) { return null; }
        catch (UnauthorizedAccessException) { return null; }
    }

    private static string MachineName(ushort machine, bool is64) => machine switch
    {
        62 => "x86_64",
        3 => "i686",
        183 => "aarch64",
        40 => "armv7l",
        243 => is64 ? "riscv64" : "riscv32",
        21 => "ppc64le",
        22 => "s390x",
        _ => $"elf-machine-{machine}",
    };

    /// <summary>The architecture of the first ELF binary found among the usual shells and tools of a rootfs, or null.</summary>
    public static string? ArchitectureOf(string rootfs)
    {
        foreach (var candidate in new[] { "bin/sh", "bin/busybox", "usr/bin/env", "bin/ls", "usr/bin/ls" })
        {
            var path = ImageFiles.ResolveInside(rootfs, candidate);
            if (path is not null && File.Exists(path) && Read(path) is { } elf)
                return elf.Architecture;
        }
        return null;
    }
}
