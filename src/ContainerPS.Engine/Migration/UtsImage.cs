using System.Buffers.Binary;

namespace ContainerPS.Engine.Migration;

/// <summary>
/// CRIU's image of a UTS namespace (utsns-ID.img), whose hostname a restore sets again: a copy
/// restored from its source's dump gets its own hostname by having it written here. The image is
/// two 32-bit magics, then one entry: its 32-bit little-endian length and the protobuf message
/// uts_ns_entry { string nodename = 1; string domainname = 2; }; other fields are kept as they are.
/// </summary>
internal static class UtsImage
{
    internal static void SetHostname(string dir, string hostname)
    {
        foreach (var file in Directory.GetFiles(dir, "utsns-*.img"))
        {
            var image = File.ReadAllBytes(file);
            if (image.Length < 12)
                throw Invalid(file, "it is too short");
            var size = BinaryPrimitives.ReadInt32LittleEndian(image.AsSpan(8));
            if (size < 0 || 12L + size > image.Length)
                throw Invalid(file, "its entry's length is past its end");
            var entry = Rewrite(image.AsSpan(12, size), System.Text.Encoding.UTF8.GetBytes(hostname), file);
            var output = new MemoryStream();
            output.Write(image, 0, 8);
            var length = new byte[4];
            BinaryPrimitives.WriteInt32LittleEndian(length, entry.Length);
            output.Write(length);
            output.Write(entry);
            output.Write(image, 12 + size, image.Length - 12 - size);
            var tmp = file + ".new";
            using (var f = new FileStream(tmp, new FileStreamOptions { Mode = FileMode.Create, Access = FileAccess.Write, UnixCreateMode = UnixFileMode.UserRead | UnixFileMode.UserWrite }))
                output.WriteTo(f);
            File.Move(tmp, file, overwrite: true);
        }
    }

    /// <summary>The entry with field 1 (nodename) replaced by <paramref name="hostname"/>.</summary>
    private static byte[] Rewrite(ReadOnlySpan<byte> entry, byte[] hostname, string file)
    {
        var output = new List<byte>(entry.Length + hostname.Length);
        var at = 0;
        var replaced = false;
        while (at < entry.Length)
        {
            var start = at;
            var key = ReadVarint(entry, ref at, file);
            var end = (key & 7) switch
            {
                0 => SkipVarint(entry, at, file),
                1 => at + 8,
                2 => LengthDelimitedEnd(entry, ref at, file),
                5 => at + 4,
                _ => throw Invalid(file, $"field wire type {key & 7} is not known"),
            };
            if (end > entry.Length)
                throw Invalid(file, "a field runs past the entry's end");
            if (key == (1 << 3 | 2))
            {
                WriteVarint(output, key);
                WriteVarint(output, (ulong)hostname.Length);
                output.AddRange(hostname);
                replaced = true;
            }
            else
                output.AddRange(entry[start..end].ToArray());
            at = end;
        }
        if (!replaced)
            throw Invalid(file, "it has no hostname");
        return output.ToArray();
    }

    private static int LengthDelimitedEnd(ReadOnlySpan<byte> s, ref int at, string file)
    {
        var length = ReadVarint(s, ref at, file);
        return length > int.MaxValue ? int.MaxValue : at + (int)length;
    }

    private static int SkipVarint(ReadOnlySpan<byte> s, int at, string file)
    {
        ReadVarint(s, ref at, file);
        return at;
    }

    private static ulong ReadVarint(ReadOnlySpan<byte> s, ref int at, string file)
    {
        ulong value = 0;
        for (var shift = 0; shift < 64; shift += 7)
        {
            if (at >= s.Length)
                throw Invalid(file, "a number runs past the entry's end");
            var b = s[at++];
            value |= (ulong)(b & 0x7f) << shift;
            if ((b & 0x80) == 0)
                return value;
        }
        throw Invalid(file, "a number is too long");
    }

    private static void WriteVarint(List<byte> output, ulong value)
    {
        while (value >= 0x80)
        {
            output.Add((byte)(value | 0x80));
            value >>= 7;
        }
        output.Add((byte)value);
    }

    private static ContainerPSException Invalid(string file, string why) =>
        new(Errors.InvalidCheckpoint, $"{file} is not a CRIU UTS namespace image ContainerPS can read: {why}.", file);
}
