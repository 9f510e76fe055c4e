using System.Buffers.Binary;
using System.Text.Json.Nodes;
using ContainerPS.Engine.Idmap;
using ContainerPS.Engine.Runtime;

namespace ContainerPS.Engine.Tests;

/// <summary>Id maps as objects: raw.idmap parsing, maps with raw entries punched through, the OCI mappings and binds, and the shifter's pure parts.</summary>
public class IdmapTests
{
    private static readonly IdMapping M = new(1000000, 1000000, 65536);
    private static readonly IdMapping M2 = new(1065536, 1065536, 65536);

    private static IdRange R(long c, long h, long n) => new(c, h, n);

    // ------------------------------------------------------------------ raw.idmap

    [Fact]
    public void RawIdmap_parses_ids_ranges_comments_and_blank_lines()
    {
        var e = RawIdmap.Parse("# a comment\n\n  both 1000 1000  \r\nuid 50-60 500-510\ngid\t7\t8\n");
        Assert.Equal(new[]
        {
            new RawIdmapEntry("both", 1000, 1000, 1),
            new RawIdmapEntry("uid", 50, 500, 11),
            new RawIdmapEntry("gid", 7, 8, 1),
        }, e);
        Assert.Empty(RawIdmap.Parse(""));
        Assert.Empty(RawIdmap.Parse("\n# nothing\n"));
        // A uid line and a gid line with the same ids do not overlap (only 'both' meets both kinds).
        Assert.Equal(2, RawIdmap.Parse("uid 1000 1000\ngid 1000 1000").Count);
        Assert.Equal(new RawIdmapEntry("uid", 4294967294, 0, 1), RawIdmap.Parse("uid 4294967294 0").Single());
    }

    [Theory]
    [InlineData("both 1000", 1)]                               // too few fields
    [InlineData("both 1000 1000 1000", 1)]                     // too many fields
    [InlineData("user 1000 1000", 1)]                          // bad kind
    [InlineData("BOTH 1000 1000", 1)]                          // kinds are lower case
    [InlineData("both x 1000", 1)]                             // bad number
    [InlineData("both 1000 -5", 1)]                            // negative
    [InlineData("both +1000 1000", 1)]                         // sign
    [InlineData("both 1000 0x10", 1)]                          // hex
    [InlineData("both 4294967295 1", 1)]                       // not below uint.MaxValue (-1, the invalid id)
    [InlineData("uid 60-50 500-510", 1)]                       // reversed range
    [InlineData("uid 50- 500", 1)]                             // half a range
    [InlineData("uid 50-60 500-505", 1)]                       // range length mismatch
    [InlineData("uid 50 500-501", 1)]                          // one id for two
    [InlineData("both 1000 1000\nuid 1000 2000", 2)]           // host id overlaps an earlier line
    [InlineData("uid 1000 1000\nuid 2000 1000", 2)]            // container id overlaps
    [InlineData("gid 10-20 10-20\n# c\nboth 15 30", 3)]       // 'both' overlaps a gid line
    [InlineData("uid 10-20 100-110\nuid 30-40 105-115", 2)]   // partial container overlap
    public void RawIdmap_rejects_bad_lines_as_InvalidIdmap(string text, int line)
    {
        var ex = Assert.Throws<ContainerPSException>(() => RawIdmap.Parse(text));
        Assert.Equal("InvalidIdmap", ex.ErrorId);
        Assert.Equal(ErrorKind.InvalidArgument, ex.Kind);
        Assert.Contains($"raw.idmap line {line} ", ex.Message);
        var why = RawIdmap.Check(text);
        Assert.NotNull(why);
        Assert.Contains($"line {line}", why);
        Assert.False(why!.EndsWith('.'));
    }

    [Fact]
    public void RawIdmap_Check_is_null_for_valid_text()
    {
        Assert.Null(RawIdmap.Check("both 1000 1000\nuid 50-60 500-510"));
        Assert.Null(RawIdmap.Check(""));
    }

    // ------------------------------------------------------------------ IdMapping

    [Fact]
    public void A_plain_map_is_one_range()
    {
        var m = new IdMapping(1000000, 2000000, 65536);
        Assert.Equal(new[] { R(0, 1000000, 65536) }, m.Uids);
        Assert.Equal(new[] { R(0, 2000000, 65536) }, m.Gids);
        Assert.Equal(m.Uids, m.Ranges(true));
        Assert.Equal(m.Gids, m.Ranges(false));
        Assert.Equal("0 1000000 65536\n", m.ToProcMap(true));
        Assert.Equal("0 2000000 65536\n", m.ToProcMap(false));
        Assert.Equal((1000000L, 2000000L, 65536L), (m.UidBase, m.GidBase, m.Size));
        Assert.Empty(m.Raw);
        Assert.Equal("0 1000000 65536", M.ToString());
        Assert.Equal("uid 0 1000000 65536; gid 0 2000000 65536", m.ToString());
    }

    [Fact]
    public void A_both_entry_is_punched_through_the_uid_and_gid_base()
    {
        var m = new IdMapping(1000000, 1000000, 65536, "both 1000 1000");
        var expected = new[] { R(0, 1000000, 1000), R(1000, 1000, 1), R(1001, 1001001, 64535) };
        Assert.Equal(expected, m.Uids);
        Assert.Equal(expected, m.Gids);
        Assert.Equal("0 1000000 1000\n1000 1000 1\n1001 1001001 64535\n", m.ToProcMap(true));
        Assert.Equal(m.ToProcMap(true), m.ToProcMap(false));
        Assert.Equal("0 1000000 1000, 1000 1000 1, 1001 1001001 64535", m.ToString());
        Assert.Equal(new RawIdmapEntry("both", 1000, 1000, 1), m.Raw.Single());
        // The ranges cover container ids 0..65535 exactly once.
        Assert.Equal(65536, m.Uids.Sum(r => r.Count));
    }

    [Fact]
    public void A_uid_entry_leaves_the_gids_alone_and_a_gid_entry_the_uids()
    {
        var u = new IdMapping(1000000, 2000000, 65536, "uid 1000 0");
        Assert.Equal(new[] { R(0, 1000, 1), R(1, 1000001, 65535) }, u.Uids);
        Assert.Equal(new[] { R(0, 2000000, 65536) }, u.Gids);
        Assert.Equal("uid 0 1000 1, 1 1000001 65535; gid 0 2000000 65536", u.ToString());

        var g = new IdMapping(1000000, 2000000, 65536, "gid 33 65535");
        Assert.Equal(new[] { R(0, 1000000, 65536) }, g.Uids);
        Assert.Equal(new[] { R(0, 2000000, 65535), R(65535, 33, 1) }, g.Gids);
        Assert.Equal("0 2000000 65535\n65535 33 1\n", g.ToProcMap(false));
    }

    [Fact]
    public void Range_entries_and_entries_outside_the_base_become_their_own_ranges()
    {
        var m = new IdMapping(1000000, 2000000, 65536, "uid 50-60 500-510\ngid 7 8\nboth 3000-3009 70000-70009\nuid 4000-4009 65530-65539");
        Assert.Equal(new[]
        {
            R(0, 1000000, 500), R(500, 50, 11), R(511, 1000511, 65019), R(65530, 4000, 10), R(70000, 3000, 10),
        }, m.Uids);
        Assert.Equal(new[] { R(0, 2000000, 8), R(8, 7, 1), R(9, 2000009, 65527), R(70000, 3000, 10) }, m.Gids);
        Assert.Equal("0 1000000 500\n500 50 11\n511 1000511 65019\n65530 4000 10\n70000 3000 10\n", m.ToProcMap(true));
        Assert.Equal(4, m.Raw.Count);
    }

    [Fact]
    public void ToHost_and_ToContainer_follow_the_ranges_and_are_null_when_unmapped()
    {
        var m = new IdMapping(1000000, 2000000, 65536, "both 1000 1000\nuid 50-60 500-510");
        Assert.Equal(1000000, m.ToHost(true, 0));
        Assert.Equal(2000000, m.ToHost(false, 0));
        Assert.Equal(1000, m.ToHost(true, 1000));
        Assert.Equal(1000, m.ToHost(false, 1000));
        Assert.Equal(1001001, m.ToHost(true, 1001));
        Assert.Equal(1000999, m.ToHost(true, 999));
        Assert.Equal(50, m.ToHost(true, 500));
        Assert.Equal(60, m.ToHost(true, 510));
        Assert.Equal(2000500, m.ToHost(false, 500));
        Assert.Equal(1065535, m.ToHost(true, 65535));
        Assert.Null(m.ToHost(true, 65536));
        Assert.Null(m.ToHost(false, 70000));

        Assert.Equal(0, m.ToContainer(true, 1000000));
        Assert.Equal(0, m.ToContainer(false, 2000000));
        Assert.Equal(1000, m.ToContainer(true, 1000));
        Assert.Equal(505, m.ToContainer(true, 55));
        Assert.Equal(65535, m.ToContainer(true, 1065535));
        Assert.Null(m.ToContainer(true, 1001000)); // punched out by the raw entry
        Assert.Null(m.ToContainer(true, 1065536));
        Assert.Null(m.ToContainer(true, 999999));
        Assert.Null(m.ToContainer(false, 55));      // the range entry is uid only
        Assert.Null(m.ToContainer(false, 1000000));
    }

    [Fact]
    public void A_map_read_back_keeps_its_root_and_size_and_maps_compare_by_the_ids_they_map()
    {
        var raw = new IdMapping(1000000, 1000000, 65536, "both 1000 1000");
        var back = IdMapping.Deserialize(raw.Serialize());
        Assert.Equal(1000000, back.UidBase);
        Assert.Equal(65536, back.Size);
        var rootRaw = IdMapping.Deserialize(new IdMapping(1000000, 1000000, 65536, "both 1000 0").Serialize());
        Assert.Equal(1000, rootRaw.UidBase);
        Assert.Equal(65536, rootRaw.Size);
        // A raw entry that maps ids exactly as the base does is the same map.
        var same = new IdMapping(1000000, 1000000, 65536, "both 1001000 1000");
        Assert.Equal(new IdMapping(1000000, 1000000, 65536), same);
        Assert.Single(same.Uids);
        Assert.Equal("InvalidIdmap", Assert.Throws<ContainerPSException>(() => IdMapping.Deserialize("u a b c")).ErrorId);
    }

    [Fact]
    public void Serialize_and_Deserialize_round_trip_and_maps_compare_by_content()
    {
        var m = new IdMapping(1000000, 2000000, 65536, "both 1000 1000\nuid 50-60 500-510");
        var text = m.Serialize();
        Assert.Equal("u 0 1000000 500;u 500 50 11;u 511 1000511 489;u 1000 1000 1;u 1001 1001001 64535;"
            + "g 0 2000000 1000;g 1000 1000 1;g 1001 2001001 64535", text);
        var back = IdMapping.Deserialize(text);
        Assert.Equal(m.Uids, back.Uids);
        Assert.Equal(m.Gids, back.Gids);
        Assert.Equal(m.ToProcMap(true), back.ToProcMap(true));
        Assert.Equal(m.ToProcMap(false), back.ToProcMap(false));
        Assert.Equal(m, back);
        Assert.True(m.Equals((object)back));
        Assert.Equal(m.GetHashCode(), back.GetHashCode());
        Assert.Equal(text, back.Serialize());
        Assert.Equal(1000000, back.ToHost(true, 0));
        Assert.Equal(2000000, back.ToHost(false, 0));

        var plain = IdMapping.Deserialize(new IdMapping(1000000, 2000000, 65536).Serialize());
        Assert.Equal((1000000L, 2000000L, 65536L), (plain.UidBase, plain.GidBase, plain.Size));
        Assert.Equal("u 0 1000000 65536;g 0 2000000 65536", plain.Serialize());

        Assert.Equal(new IdMapping(1000000, 1000000, 65536), M);
        Assert.NotEqual(M, M2);
        Assert.NotEqual(M, new IdMapping(1000000, 1000000, 65536, "uid 1000 1000"));
        Assert.NotEqual(new IdMapping(1000000, 1000000, 65536, "uid 1000 1000"), new IdMapping(1000000, 1000000, 65536, "gid 1000 1000"));
        Assert.False(M.Equals(null));
        Assert.False(M.Equals("0 1000000 65536"));
    }

    [Theory]
    [InlineData("x 0 1000000 65536")]
    [InlineData("u 0 1000000")]
    [InlineData("u 0 1000000 65536 1")]
    public void Deserialize_rejects_what_is_not_a_recorded_map(string text)
    {
        var ex = Assert.Throws<ContainerPSException>(() => IdMapping.Deserialize(text));
        Assert.Equal("InvalidIdmap", ex.ErrorId);
    }

    [Theory]
    [InlineData(1000000, 1000000, "both 1000500 1000")]   // host 1000500 is the base's container 500
    [InlineData(1000000, 1000000, "uid 1065535 70000")]   // the base's last id, mapped again outside it
    [InlineData(1000000, 1000000, "uid 999990-1000009 100-119")] // straddles the base's start
    [InlineData(1000000, 2000000, "gid 2000010 5")]       // gid base
    [InlineData(1000000, 1000000, "uid 10 100\nuid 20-29 70000-70009\nuid 5-14 80000-80009")] // raw entries meet each other
    public void Raw_entries_whose_host_ids_overlap_the_map_are_rejected(long uidBase, long gidBase, string raw)
    {
        var ex = Assert.Throws<ContainerPSException>(() => new IdMapping(uidBase, gidBase, 65536, raw));
        Assert.Equal("InvalidIdmap", ex.ErrorId);
    }

    [Fact]
    public void Overlap_is_checked_per_kind()
    {
        // Host 2000010 is inside the gid base but not the uid base: fine as a uid entry.
        var m = new IdMapping(1000000, 2000000, 65536, "uid 2000010 5");
        Assert.Equal(2000010, m.ToHost(true, 5));
        Assert.Equal(2000005, m.ToHost(false, 5));
    }

    [Fact]
    public void A_map_has_at_most_340_ranges()
    {
        // Each raw id punched into the middle of the base adds itself and splits a base range: 170 of them make 341.
        var raw = string.Join('\n', Enumerable.Range(0, 170).Select(i => $"uid {10 + i} {2 * i + 1}"));
        var ex = Assert.Throws<ContainerPSException>(() => new IdMapping(1000000, 1000000, 65536, raw));
        Assert.Equal("InvalidIdmap", ex.ErrorId);
        // One less punch is 339 ranges: accepted.
        var ok = new IdMapping(1000000, 1000000, 65536, string.Join('\n', Enumerable.Range(0, 169).Select(i => $"uid {10 + i} {2 * i + 1}")));
        Assert.Equal(339, ok.Uids.Count);
        Assert.Single(ok.Gids);
    }

    // ------------------------------------------------------------------ OCI spec

    [Fact]
    public void Oci_spec_has_one_mapping_per_range_and_binds_as_rbind_mounts()
    {
        var map = new IdMapping(1000000, 2000000, 65536, "uid 50-60 500-510\ngid 7 8");
        var s = OciSpec.Build(new OciSpecInput("c1", "/x", map, new Dictionary<string, string>(), new[] { "/sbin/init" },
            Binds: new[] { new OciBind("/data", "/srv/data", false), new OciBind("/data/ro", "/srv/ro", true) }));
        static (long, long, long)[] Mappings(JsonNode n) =>
            n.AsArray().Select(m => (m!["containerID"]!.GetValue<long>(), m["hostID"]!.GetValue<long>(), m["size"]!.GetValue<long>())).ToArray();
        Assert.Equal(new[] { (0L, 1000000L, 500L), (500L, 50L, 11L), (511L, 1000511L, 65025L) }, Mappings(s["linux"]!["uidMappings"]!));
        Assert.Equal(new[] { (0L, 2000000L, 8L), (8L, 7L, 1L), (9L, 2000009L, 65527L) }, Mappings(s["linux"]!["gidMappings"]!));

        var mounts = s["mounts"]!.AsArray();
        var binds = mounts.Where(m => m!["type"]!.GetValue<string>() == "bind").ToArray();
        Assert.Equal(2, binds.Length);
        Assert.Same(mounts[^2], binds[0]); // after the standard mounts, in the given order
        Assert.Same(mounts[^1], binds[1]);
        Assert.Equal("/data", binds[0]!["destination"]!.GetValue<string>());
        Assert.Equal("/srv/data", binds[0]!["source"]!.GetValue<string>());
        Assert.Equal(new[] { "rbind", "nodev", "rw" }, binds[0]!["options"]!.AsArray().Select(o => o!.GetValue<string>()));
        Assert.Equal("/data/ro", binds[1]!["destination"]!.GetValue<string>());
        Assert.Equal("/srv/ro", binds[1]!["source"]!.GetValue<string>());
        Assert.Equal(new[] { "rbind", "nodev", "ro" }, binds[1]!["options"]!.AsArray().Select(o => o!.GetValue<string>()));

        var none = OciSpec.Build(new OciSpecInput("c1", "/x", M, new Dictionary<string, string>(), new[] { "/sbin/init" }));
        Assert.DoesNotContain(none["mounts"]!.AsArray(), m => m!["type"]!.GetValue<string>() == "bind");
        Assert.Single(none["linux"]!["uidMappings"]!.AsArray());
    }

    // ------------------------------------------------------------------ IdShifter.Translate

    [Fact]
    public void Translate_from_unshifted_to_a_map()
    {
        var g = new IdMapping(1000000, 2000000, 65536);
        Assert.Equal(1000000, IdShifter.Translate(true, 0, null, M));
        Assert.Equal(1001000, IdShifter.Translate(true, 1000, null, M));
        Assert.Equal(1065535, IdShifter.Translate(true, 65535, null, M));
        Assert.Equal(2001000, IdShifter.Translate(false, 1000, null, g));
        Assert.Equal(1001000, IdShifter.Translate(true, 1000, null, g));
        // Outside the map: left as it is.
        Assert.Equal(65536, IdShifter.Translate(true, 65536, null, M));
        Assert.Equal(70000, IdShifter.Translate(false, 70000, null, M));
        // Idempotent: an id already shifted is not shifted again.
        Assert.Equal(1001000, IdShifter.Translate(true, 1001000, null, M));
        Assert.Equal(1001000, IdShifter.Translate(true, IdShifter.Translate(true, 1000, null, M), null, M));
        Assert.Equal(2001000, IdShifter.Translate(false, 2001000, null, g));
        // Null to null changes nothing.
        Assert.Equal(1000, IdShifter.Translate(true, 1000, null, null));
    }

    [Fact]
    public void Translate_from_a_map_to_a_map_and_back_to_unshifted()
    {
        Assert.Equal(1066536, IdShifter.Translate(true, 1001000, M, M2));
        Assert.Equal(1065536, IdShifter.Translate(false, 1000000, M, M2));
        Assert.Equal(1131071, IdShifter.Translate(true, 1065535, M, M2));
        // Already in M2 (a resumed M -> M2 shift): left.
        Assert.Equal(1066536, IdShifter.Translate(true, 1066536, M, M2));
        Assert.Equal(1066536, IdShifter.Translate(true, IdShifter.Translate(true, 1001000, M, M2), M, M2));
        // Ids outside M are not M's: left.
        Assert.Equal(1000, IdShifter.Translate(true, 1000, M, M2));
        Assert.Equal(70000, IdShifter.Translate(true, 70000, M, M2));

        Assert.Equal(1000, IdShifter.Translate(true, 1001000, M, null));
        Assert.Equal(0, IdShifter.Translate(false, 1000000, M, null));
        Assert.Equal(65535, IdShifter.Translate(true, 1065535, M, null));
        Assert.Equal(1000, IdShifter.Translate(true, 1000, M, null)); // already unshifted
        Assert.Equal(70000, IdShifter.Translate(true, 70000, M, null));

        for (long id = 0; id < 65536; id += 1111)
            Assert.Equal(id, IdShifter.Translate(true, IdShifter.Translate(true, IdShifter.Translate(true, id, null, M), M, M2), M2, null));
    }

    [Fact]
    public void Translate_honours_raw_entries()
    {
        var r = new IdMapping(1000000, 1000000, 65536, "both 1000 1000");
        Assert.Equal(1000, IdShifter.Translate(true, 1000, null, r));     // container 1000 is host 1000
        Assert.Equal(1001001, IdShifter.Translate(true, 1001, null, r));
        Assert.Equal(1000, IdShifter.Translate(true, 1000, r, null));
        Assert.Equal(1001000, IdShifter.Translate(true, 1000, r, M));     // host 1000 is r's container 1000, M's 1001000
        Assert.Equal(1000, IdShifter.Translate(false, 1001000, M, r));
        Assert.Equal(999, IdShifter.Translate(true, 1000999, r, null));
    }

    // ------------------------------------------------------------------ security.capability

    private const ulong CapNetRaw = 1UL << 13;

    [Fact]
    public void EncodeCapability_writes_v2_for_root_id_0()
    {
        var v = IdShifter.EncodeCapability(true, CapNetRaw, 0, 0);
        Assert.Equal(20, v.Length);
        Assert.Equal(0x02000001u, BinaryPrimitives.ReadUInt32LittleEndian(v));
        Assert.Equal(Convert.FromHexString("0100000200200000000000000000000000000000"), v); // what setcap cap_net_raw+ep writes
        Assert.Equal(0x02000000u, BinaryPrimitives.ReadUInt32LittleEndian(IdShifter.EncodeCapability(false, CapNetRaw, 0, 0)));
        Assert.Equal((true, CapNetRaw, 0UL, 0L), IdShifter.DecodeCapability(v));
    }

    [Fact]
    public void EncodeCapability_writes_v3_with_the_root_id_and_high_words()
    {
        var permitted = (1UL << 37) | 1;  // CAP_AUDIT_READ and CAP_CHOWN
        var inheritable = 1UL << 33;      // CAP_MAC_ADMIN
        var v = IdShifter.EncodeCapability(false, permitted, inheritable, 1000000);
        Assert.Equal(24, v.Length);
        Assert.Equal(0x03000000u, BinaryPrimitives.ReadUInt32LittleEndian(v));
        Assert.Equal(1u, BinaryPrimitives.ReadUInt32LittleEndian(v.AsSpan(4)));    // permitted, low word
        Assert.Equal(0u, BinaryPrimitives.ReadUInt32LittleEndian(v.AsSpan(8)));    // inheritable, low word
        Assert.Equal(0x20u, BinaryPrimitives.ReadUInt32LittleEndian(v.AsSpan(12))); // permitted, high word
        Assert.Equal(2u, BinaryPrimitives.ReadUInt32LittleEndian(v.AsSpan(16)));   // inheritable, high word
        Assert.Equal(new byte[] { 0x40, 0x42, 0x0f, 0x00 }, v[20..]);              // 1000000, little endian
        Assert.Equal((false, permitted, inheritable, 1000000L), IdShifter.DecodeCapability(v));
        Assert.Equal(0x03000001u, BinaryPrimitives.ReadUInt32LittleEndian(IdShifter.EncodeCapability(true, CapNetRaw, 0, 1000000)));
    }

    [Fact]
    public void DecodeCapability_rejects_what_is_not_v2_or_v3()
    {
        var v2 = IdShifter.EncodeCapability(true, CapNetRaw, 0, 0);
        var v3 = IdShifter.EncodeCapability(true, CapNetRaw, 0, 1000000);
        Assert.Null(IdShifter.DecodeCapability(Array.Empty<byte>()));
        Assert.Null(IdShifter.DecodeCapability(v2[..19]));
        Assert.Null(IdShifter.DecodeCapability(v3[..20].Concat(new byte[] { 0 }).ToArray())); // 21 bytes
        var v2Long = v2.Concat(new byte[4]).ToArray();          // v2 magic, v3 length
        Assert.Null(IdShifter.DecodeCapability(v2Long));
        Assert.Null(IdShifter.DecodeCapability(v3[..20]));        // v3 magic, v2 length
        var v1 = (byte[])v2.Clone();
        BinaryPrimitives.WriteUInt32LittleEndian(v1, 0x01000001);
        Assert.Null(IdShifter.DecodeCapability(v1));
        var v4 = (byte[])v3.Clone();
        BinaryPrimitives.WriteUInt32LittleEndian(v4, 0x04000001);
        Assert.Null(IdShifter.DecodeCapability(v4));
        Assert.Null(IdShifter.ShiftCapability(v4, null, M));
        Assert.Null(IdShifter.ShiftCapability(new byte[3], null, M));
    }

    [Fact]
    public void ShiftCapability_goes_v2_to_v3_to_v3_and_back_to_v2()
    {
        var v2 = IdShifter.EncodeCapability(true, CapNetRaw | (1UL << 35), 1UL << 2, 0);
        var inM = IdShifter.ShiftCapability(v2, null, M)!;
        Assert.Equal(24, inM.Length);
        Assert.Equal((true, CapNetRaw | (1UL << 35), 1UL << 2, 1000000L), IdShifter.DecodeCapability(inM));
        // Resumed: already M's root id, unchanged.
        Assert.Equal(inM, IdShifter.ShiftCapability(inM, null, M));
        var inM2 = IdShifter.ShiftCapability(inM, M, M2)!;
        Assert.Equal((true, CapNetRaw | (1UL << 35), 1UL << 2, 1065536L), IdShifter.DecodeCapability(inM2));
        Assert.Equal(inM2, IdShifter.ShiftCapability(inM2, M, M2));
        var back = IdShifter.ShiftCapability(inM2, M2, null)!;
        Assert.Equal(v2, back);
        // A v2 capability (host root) is not M's: M -> M2 leaves it v2.
        Assert.Equal(v2, IdShifter.ShiftCapability(v2, M, M2));
        // A v3 root id that is a container's non-root user moves with the map too.
        var user = IdShifter.EncodeCapability(false, CapNetRaw, 0, 1000);
        Assert.Equal(1001000L, IdShifter.DecodeCapability(IdShifter.ShiftCapability(user, null, M)!)!.Value.RootId);
    }

    // ------------------------------------------------------------------ POSIX ACLs

    private const ushort UserObj = 0x01, User = 0x02, GroupObj = 0x04, Group = 0x08, Mask = 0x10, Other = 0x20;

    private static byte[] Acl(params (ushort Tag, ushort Perm, uint Id)[] entries)
    {
        var v = new byte[4 + 8 * entries.Length];
        BinaryPrimitives.WriteUInt32LittleEndian(v, 2);
        for (var i = 0; i < entries.Length; i++)
        {
            BinaryPrimitives.WriteUInt16LittleEndian(v.AsSpan(4 + 8 * i), entries[i].Tag);
            BinaryPrimitives.WriteUInt16LittleEndian(v.AsSpan(6 + 8 * i), entries[i].Perm);
            BinaryPrimitives.WriteUInt32LittleEndian(v.AsSpan(8 + 8 * i), entries[i].Id);
        }
        return v;
    }

    [Fact]
    public void ShiftAcl_shifts_named_users_with_the_uid_map_and_named_groups_with_the_gid_map()
    {
        var map = new IdMapping(1000000, 2000000, 65536);
        // The *_OBJ, MASK and OTHER entries carry no id (0xFFFFFFFF on disk); small ids here would show if they were shifted.
        var acl = Acl((UserObj, 6, 0), (User, 6, 1000), (User, 4, 70000), (GroupObj, 4, 5), (Group, 4, 1000), (Mask, 6, 7), (Other, 4, 0xFFFFFFFF));
        var copy = (byte[])acl.Clone();
        var shifted = IdShifter.ShiftAcl(acl, null, map)!;
        Assert.Equal(copy, acl); // the input is left alone
        Assert.Equal(Acl((UserObj, 6, 0), (User, 6, 1001000), (User, 4, 70000), (GroupObj, 4, 5), (Group, 4, 2001000), (Mask, 6, 7), (Other, 4, 0xFFFFFFFF)), shifted);
        Assert.Equal(shifted, IdShifter.ShiftAcl(shifted, null, map)); // resumed: unchanged
        Assert.Equal(acl, IdShifter.ShiftAcl(shifted, map, null));
        var toM2 = IdShifter.ShiftAcl(IdShifter.ShiftAcl(acl, null, M)!, M, M2)!;
        Assert.Equal(Acl((UserObj, 6, 0), (User, 6, 1066536), (User, 4, 70000), (GroupObj, 4, 5), (Group, 4, 1066536), (Mask, 6, 7), (Other, 4, 0xFFFFFFFF)), toM2);
    }

    [Fact]
    public void ShiftAcl_takes_what_getfattr_shows_for_a_real_acl()
    {
        // getfattr -e hex -n system.posix_acl_access of a file with setfacl -m u:1000:rw,g:1000:r.
        var acl = Convert.FromHexString("0200000001000600ffffffff02000600e803000004000400ffffffff08000400e803000010000600ffffffff20000400ffffffff");
        var shifted = IdShifter.ShiftAcl(acl, null, M)!;
        Assert.Equal(Convert.FromHexString("0200000001000600ffffffff0200060028460f0004000400ffffffff0800040028460f0010000600ffffffff20000400ffffffff"), shifted);
    }

    [Fact]
    public void ShiftAcl_returns_null_for_malformed_values()
    {
        Assert.Null(IdShifter.ShiftAcl(Array.Empty<byte>(), null, M));
        Assert.Null(IdShifter.ShiftAcl(new byte[] { 2, 0, 0 }, null, M));
        var acl = Acl((User, 6, 1000));
        Assert.Null(IdShifter.ShiftAcl(acl[..^1], null, M));                    // a torn entry
        Assert.Null(IdShifter.ShiftAcl(acl.Concat(new byte[4]).ToArray(), null, M));
        var v1 = (byte[])acl.Clone();
        BinaryPrimitives.WriteUInt32LittleEndian(v1, 1);
        Assert.Null(IdShifter.ShiftAcl(v1, null, M));                            // version 1
        Assert.Equal(Acl(), IdShifter.ShiftAcl(Acl(), null, M));                  // a header alone is an empty ACL
    }
}
