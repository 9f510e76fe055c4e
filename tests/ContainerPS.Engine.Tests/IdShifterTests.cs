using System.Diagnostics;
using ContainerPS.Engine.Idmap;

namespace ContainerPS.Engine.Tests;

/// <summary>The chown shifter on real ext4 and btrfs filesystems: owners, ACLs, file capabilities, setuid bits, links, resuming.</summary>
public class IdShifterTests
{
    private static readonly IdMapping M = new(1000000, 1000000, 65536);
    private static readonly IdMapping M2 = new(1065536, 1065536, 65536);
    private const ulong CapNetRaw = 1UL << 13;

    /// <summary>
    /// The test tree, with container (unshifted) ids. Paths are relative to the tree's root, as find prints them.
    /// </summary>
    private static void Build(string root, string outsideTarget)
    {
        const string script = """
            set -e
            cd "$1"
            mkdir d
            setfacl -m d:u:1000:rx,d:g:1000:rx d
            mkdir -p d/nested/deeper                 # inherit the default ACL: access and default entries
            echo deep > d/nested/deeper/file
            chown 1:1 d/nested/deeper/file
            echo data > f
            chown 1000:1000 f
            setfacl -m u:1000:rw,g:1000:r f
            echo bin > suid
            chmod 4755 suid
            setcap cap_net_raw+ep suid
            echo sg > sgid
            chown 0:5 sgid
            chmod 2755 sgid
            mkdir sgid-dir
            chown 0:1000 sgid-dir
            chmod 2775 sgid-dir
            ln -s "$2" link-out
            chown -h 1000:1000 link-out
            echo h > h1
            ln h1 h2
            chown 2000:2000 h1
            mkfifo fifo
            chown 3:3 fifo
            echo o > outside
            chown 70000:70000 outside
            echo m > mixed
            chown 100:70001 mixed
            echo . > .hidden
            chown 4:4 .hidden
            """;
        TestProcess.Run("bash", "-c", script, "build", root, outsideTarget);
    }

    private sealed record Entry(string Owner, string Mode, string Type);

    /// <summary>Every entry of the tree (find -printf, not following symlinks): path -> owner, mode, type.</summary>
    private static SortedDictionary<string, Entry> Entries(string root)
    {
        var result = new SortedDictionary<string, Entry>(StringComparer.Ordinal);
        foreach (var line in TestProcess.RunIn(root, "find", ".", "-printf", "%p\t%U:%G\t%m\t%y\n").Split('\n', StringSplitOptions.RemoveEmptyEntries))
        {
            var f = line.Split('\t');
            result.Add(f[0], new Entry(f[1], f[2], f[3]));
        }
        return result;
    }

    /// <summary>Owners, modes, ACLs and every extended attribute of the tree, as text.</summary>
    private static string Snapshot(string root)
    {
        var entries = Entries(root);
        var files = entries.Where(e => e.Value.Type != "l").Select(e => e.Key).ToArray();
        return string.Join('\n', entries.Select(e => $"{e.Key} {e.Value}"))
            + "\n" + TestProcess.RunIn(root, "getfacl", new[] { "-n", "--" }.Concat(files).ToArray())
            + "\n" + TestProcess.RunIn(root, "getfattr", new[] { "-h", "-d", "-m", "-", "-e", "hex", "--" }.Concat(files).ToArray());
    }

    private static string Acl(string root, string path) => TestProcess.RunIn(root, "getfacl", "-n", "--", path);

    private static byte[] Capability(string root, string path)
    {
        var line = TestProcess.RunIn(root, "getfattr", "-h", "-n", IdShifter.CapabilityXattr, "-e", "hex", "--", path)
            .Split('\n').Single(l => l.StartsWith(IdShifter.CapabilityXattr + "=0x", StringComparison.Ordinal));
        return Convert.FromHexString(line[(IdShifter.CapabilityXattr.Length + 3)..]);
    }

    /// <summary>Checks the tree Build made, with its ids shifted by <paramref name="s"/> (0: unshifted).</summary>
    private static void AssertTree(string root, long s, string outsideTarget)
    {
        var e = Entries(root);
        string O(long u, long g) => $"{u}:{g}";
        var expected = new Dictionary<string, string>
        {
            ["."] = O(s, s), ["./d"] = O(s, s), ["./d/nested"] = O(s, s), ["./d/nested/deeper"] = O(s, s),
            ["./d/nested/deeper/file"] = O(s + 1, s + 1), ["./f"] = O(s + 1000, s + 1000), ["./suid"] = O(s, s),
            ["./sgid"] = O(s, s + 5), ["./sgid-dir"] = O(s, s + 1000), ["./link-out"] = O(s + 1000, s + 1000),
            ["./h1"] = O(s + 2000, s + 2000), ["./h2"] = O(s + 2000, s + 2000), ["./fifo"] = O(s + 3, s + 3),
            ["./outside"] = O(70000, 70000), ["./mixed"] = O(s + 100, 70001), ["./.hidden"] = O(s + 4, s + 4),
        };
        if (e.ContainsKey("./lost+found"))
            expected["./lost+found"] = O(s, s);
        Assert.Equal(expected.OrderBy(x => x.Key, StringComparer.Ordinal), e.Select(x => KeyValuePair.Create(x.Key, x.Value.Owner)));

        // setuid/setgid bits survive the chown; types are what they were.
        Assert.Equal(new Entry(O(s, s), "4755", "f"), e["./suid"]);
        Assert.Equal(new Entry(O(s, s + 5), "2755", "f"), e["./sgid"]);
        Assert.Equal(new Entry(O(s, s + 1000), "2775", "d"), e["./sgid-dir"]);
        Assert.Equal("l", e["./link-out"].Type);
        Assert.Equal("p", e["./fifo"].Type);
        // The symlink's target, outside the tree, is not touched.
        Assert.Equal("1000:1000 f", TestProcess.Run("stat", "-c", "%u:%g %F", outsideTarget).Trim().Replace("regular file", "f"));
        Assert.Equal(TestProcess.Run("stat", "-c", "%i", Path.Combine(root, "h1")), TestProcess.Run("stat", "-c", "%i", Path.Combine(root, "h2")));

        var id = s + 1000;
        var f = Acl(root, "f");
        Assert.Contains($"\nuser:{id}:rw-\n", f);
        Assert.Contains($"\ngroup:{id}:r--\n", f);
        Assert.Contains("\nuser::rw-\n", f);
        var d = Acl(root, "d");
        Assert.Contains($"\ndefault:user:{id}:r-x\n", d);
        Assert.Contains($"\ndefault:group:{id}:r-x\n", d);
        Assert.DoesNotContain($"\nuser:{id}:", d); // d has a default ACL only
        var nested = Acl(root, "d/nested");
        Assert.Contains($"\nuser:{id}:r-x\n", nested);
        Assert.Contains($"\ngroup:{id}:r-x\n", nested);
        Assert.Contains($"\ndefault:user:{id}:r-x\n", nested);
        Assert.Contains($"\ndefault:group:{id}:r-x\n", nested);
        Assert.Contains($"\nuser:{id}:r-x", Acl(root, "d/nested/deeper/file"));
        var all = TestProcess.RunIn(root, "getfacl", "-R", "-P", "-n", ".");
        if (s != 0)
            Assert.DoesNotContain(":1000:", all);

        var cap = Capability(root, "suid");
        Assert.Equal(s == 0 ? 20 : 24, cap.Length);
        Assert.Equal((true, CapNetRaw, 0UL, s), IdShifter.DecodeCapability(cap));
    }

    private static void AssertProgress(List<(long Done, long Total)> calls, IdShifter.Result result, string root)
    {
        Assert.NotEmpty(calls);
        Assert.Equal((result.Files, result.Files), calls[^1]);
        Assert.All(calls, c => Assert.True(c.Done <= c.Total));
        Assert.Equal(Entries(root).Count, result.Files); // every entry once
    }

    [Theory]
    [InlineData("ext4")]
    [InlineData("btrfs")]
    public void Shift_to_a_map_to_another_and_back_restores_the_tree(string fsType)
    {
        using var fs = new LoopFs(fsType);
        var root = fs.Root;
        Build(root, fs.OutsideTarget);
        AssertTree(root, 0, fs.OutsideTarget);
        var before = Snapshot(root);
        Assert.Contains("cap_net_raw=ep", TestProcess.RunIn(root, "getcap", "suid"));

        var progress = new List<(long, long)>();
        var r = IdShifter.Shift(root, null, M, (done, total) => progress.Add((done, total)));
        AssertTree(root, 1000000, fs.OutsideTarget);
        AssertProgress(progress, r, root);
        Assert.Equal(r.Files - 2, r.Changed); // all but 'outside' and the second visit of the hard link
        Assert.Equal("0100000300200000000000000000000000000000" + "40420f00", Convert.ToHexString(Capability(root, "suid")).ToLowerInvariant());

        progress.Clear();
        var r2 = IdShifter.Shift(root, M, M2, (done, total) => progress.Add((done, total)));
        AssertTree(root, 1065536, fs.OutsideTarget);
        AssertProgress(progress, r2, root);
        Assert.Equal(r.Files, r2.Files);
        Assert.Equal(r2.Files - 2, r2.Changed);

        progress.Clear();
        var r3 = IdShifter.Shift(root, M2, null, (done, total) => progress.Add((done, total)));
        AssertProgress(progress, r3, root);
        AssertTree(root, 0, fs.OutsideTarget);
        Assert.Equal(before, Snapshot(root));
        Assert.Contains("cap_net_raw=ep", TestProcess.RunIn(root, "getcap", "suid"));
        Assert.Equal(IdShifter.EncodeCapability(true, CapNetRaw, 0, 0), Capability(root, "suid")); // v2 again
    }

    [Theory]
    [InlineData("ext4")]
    [InlineData("btrfs")]
    public void Shift_resumes_over_a_fully_or_half_shifted_tree(string fsType)
    {
        using var fs = new LoopFs(fsType);
        var a = Path.Combine(fs.Root, "a");
        var b = Path.Combine(fs.Root, "b");
        Directory.CreateDirectory(a);
        Directory.CreateDirectory(b);
        Build(a, fs.OutsideTarget);
        Build(b, fs.OutsideTarget);
        var unshifted = Snapshot(a);
        Assert.Equal(unshifted, Snapshot(b));

        var full = IdShifter.Shift(a, null, M);
        AssertTree(a, 1000000, fs.OutsideTarget);
        var shifted = Snapshot(a);
        Assert.NotEqual(unshifted, shifted);

        // Run again over the finished tree (a resumed run that had got to the end): nothing changes.
        var progress = new List<(long, long)>();
        var again = IdShifter.Shift(a, null, M, (done, total) => progress.Add((done, total)));
        Assert.Equal(0, again.Changed);
        Assert.Equal(full.Files, again.Files);
        AssertProgress(progress, again, a);
        Assert.Equal(shifted, Snapshot(a));

        // b as a crash would leave it: some owners changed, some ACLs not yet, one capability already v3, one file done.
        const string half = """
            set -e
            cd "$1"
            chown 1001000:1001000 f                    # owner shifted, access ACL still u:1000 g:1000
            chown -h 1001000:1001000 link-out
            chown 1000000:1000000 . d d/nested
            chown 1002000:1002000 h1                   # and so h2
            chown 1000003:1000003 fifo
            chown 1000000:1000005 sgid                 # the chown cleared setgid...
            chmod 2755 sgid                            # ...and it was put back
            setfattr -n security.capability -v 0x010000030020000000000000000000000000000040420f00 suid   # v3 written, owner not yet
            """;
        TestProcess.Run("bash", "-c", half, "half", b);
        Assert.NotEqual(shifted, Snapshot(b));
        Assert.Equal("4755", Entries(b)["./suid"].Mode);

        progress.Clear();
        var resumed = IdShifter.Shift(b, null, M, (done, total) => progress.Add((done, total)));
        AssertProgress(progress, resumed, b);
        Assert.Equal(full.Files, resumed.Files);
        Assert.True(resumed.Changed < full.Changed, $"{resumed.Changed} of {full.Changed} changed");
        Assert.True(resumed.Changed > 0);
        AssertTree(b, 1000000, fs.OutsideTarget);
        Assert.Equal(shifted, Snapshot(b));

        // And both go back to the start.
        IdShifter.Shift(a, M, null);
        IdShifter.Shift(b, M, null);
        Assert.Equal(unshifted, Snapshot(a));
        Assert.Equal(unshifted, Snapshot(b));
    }

    [Theory]
    [InlineData("ext4")]
    [InlineData("btrfs")]
    public void Symlinked_directories_are_shifted_themselves_but_not_entered(string fsType)
    {
        using var fs = new LoopFs(fsType);
        var outsideDir = Path.Combine(fs.Dir, "outside-dir");
        const string script = """
            set -e
            mkdir "$2"
            echo x > "$2/file"
            chown -R 1000:1000 "$2"
            cd "$1"
            mkdir d
            echo y > d/file
            chown 1000:1000 d/file
            ln -s d ld
            ln -s "$2" lout
            chown -h 7:7 lout
            """;
        TestProcess.Run("bash", "-c", script, "build", fs.Root, outsideDir);
        var progress = new List<(long Done, long Total)>();
        var r = IdShifter.Shift(fs.Root, null, M, (done, total) => progress.Add((done, total)));

        var e = Entries(fs.Root);
        Assert.Equal(e.Count, r.Files);
        Assert.Equal(r.Files, progress[^1].Done);
        Assert.Equal("1001000:1001000", e["./d/file"].Owner);
        Assert.Equal("1000000:1000000", e["./ld"].Owner);
        Assert.Equal("1000007:1000007", e["./lout"].Owner);
        Assert.Equal("l", e["./lout"].Type);
        Assert.Equal("1000:1000\n1000:1000\n", TestProcess.Run("stat", "-c", "%u:%g", outsideDir, Path.Combine(outsideDir, "file")));

        IdShifter.Shift(fs.Root, M, null);
        e = Entries(fs.Root);
        Assert.Equal("1000:1000", e["./d/file"].Owner);
        Assert.Equal("0:0", e["./ld"].Owner);
        Assert.Equal("7:7", e["./lout"].Owner);
        Assert.Equal("1000:1000\n1000:1000\n", TestProcess.Run("stat", "-c", "%u:%g", outsideDir, Path.Combine(outsideDir, "file")));
    }

    [Theory]
    [InlineData("ext4")]
    [InlineData("btrfs")]
    public void Links_out_of_the_tree_and_mounts_below_it_are_neither_counted_nor_shifted(string fsType)
    {
        using var fs = new LoopFs(fsType);
        TestProcess.Run("bash", "-c", "set -e; cd \"$1\"; mkdir d mp; touch d/f; ln -s . self; ln -s /usr usr; ln -s d ld", "build", fs.Root);
        TestProcess.Run("mount", "-t", "tmpfs", "-o", "size=1m", "tmpfs", Path.Combine(fs.Root, "mp"));
        try
        {
            TestProcess.Run("touch", Path.Combine(fs.Root, "mp/inside"));
            var progress = new List<(long Done, long Total)>();
            var r = IdShifter.Shift(fs.Root, null, M, (done, total) => progress.Add((done, total)));
            // root, d, d/f, self, usr, ld (and ext4's lost+found); mp shows the tmpfs: left out
            long expected = Directory.Exists(Path.Combine(fs.Root, "lost+found")) ? 7 : 6;
            Assert.Equal(expected, r.Files);
            Assert.Equal((expected, expected), progress[^1]);
            Assert.Equal("0:0\n0:0\n", TestProcess.Run("stat", "-c", "%u:%g", Path.Combine(fs.Root, "mp"), Path.Combine(fs.Root, "mp/inside")));
            Assert.Equal("1000000:1000000\n", TestProcess.Run("stat", "-c", "%u:%g", Path.Combine(fs.Root, "d/f")));
        }
        finally
        {
            TestProcess.Run("umount", Path.Combine(fs.Root, "mp"));
        }
    }

    [Fact]
    public void Nested_btrfs_subvolumes_are_shifted()
    {
        using var fs = new LoopFs("btrfs");
        TestProcess.Run("btrfs", "subvolume", "create", Path.Combine(fs.Root, "sub"));
        TestProcess.Run("bash", "-c", "set -e; cd \"$1\"/sub; mkdir -p dir/deep; touch inner dir/deep/f", "build", fs.Root);
        Assert.NotEqual(TestProcess.Run("stat", "-c", "%d", fs.Root), TestProcess.Run("stat", "-c", "%d", Path.Combine(fs.Root, "sub")));
        var r = IdShifter.Shift(fs.Root, null, M);
        Assert.Equal(6, r.Files);
        Assert.All(Entries(fs.Root), e => Assert.Equal("1000000:1000000", e.Value.Owner));
    }

    [Theory]
    [InlineData("ext4")]
    [InlineData("btrfs")]
    public void Progress_is_reported_every_1000_files_and_at_the_end(string fsType)
    {
        using var fs = new LoopFs(fsType);
        TestProcess.Run("bash", "-c", "set -e; cd \"$1\"; mkdir -p a/b; cd a/b; touch $(seq -f f%g 1 2600); chown 5:5 f*", "build", fs.Root);
        long n = Entries(fs.Root).Count;
        Assert.True(n >= 2603);
        var progress = new List<(long Done, long Total)>();
        var r = IdShifter.Shift(fs.Root, null, M, (done, total) => progress.Add((done, total)));
        Assert.Equal(n, r.Files);
        Assert.Equal(n, r.Changed);
        Assert.Equal(new[] { (1000L, n), (2000L, n), (n, n) }, progress);
        Assert.All(Entries(fs.Root).Where(x => x.Key.StartsWith("./a/b/f", StringComparison.Ordinal)), x => Assert.Equal("1000005:1000005", x.Value.Owner));
    }

    /// <summary>
    /// A sparse image file formatted <c>type</c> and loop-mounted on a temporary directory. The tests run
    /// as root in a private mount namespace (build.ps1: unshare --mount --propagation private dotnet test).
    /// Dispose unmounts it (the loop device clears itself; one left over is detached) and deletes it all.
    /// </summary>
    private sealed class LoopFs : IDisposable
    {
        private bool mounted;

        public LoopFs(string type)
        {
            Dir = Directory.CreateTempSubdirectory("cps-shift-").FullName;
            Image = Path.Combine(Dir, "fs.img");
            Root = Path.Combine(Dir, "mnt");
            OutsideTarget = Path.Combine(Dir, "outside-target");
            try
            {
                Directory.CreateDirectory(Root);
                File.WriteAllText(OutsideTarget, "not in the tree\n");
                TestProcess.Run("chown", "1000:1000", OutsideTarget);
                TestProcess.Run("truncate", "-s", "256M", Image); // btrfs wants >= 120 MB
                if (type == "ext4")
                    TestProcess.Run("mkfs.ext4", "-q", "-F", Image);
                else
                    TestProcess.Run("mkfs.btrfs", "-q", "-f", Image);
                TestProcess.Run("mount", "-o", "loop", Image, Root);
                mounted = true;
                Assert.Equal(type, TestProcess.Run("findmnt", "-n", "-o", "FSTYPE", "--mountpoint", Root).Trim());
            }
            catch
            {
                Dispose();
                throw;
            }
        }

        public string Dir { get; }
        public string Image { get; }
        /// <summary>The filesystem's mount point.</summary>
        public string Root { get; }
        /// <summary>A file outside the filesystem, owned 1000:1000, that a symlink in the tree points at.</summary>
        public string OutsideTarget { get; }

        public void Dispose()
        {
            if (mounted)
            {
                try { TestProcess.Run("umount", Root); }
                catch (InvalidOperationException) { TestProcess.Run("umount", "-l", Root); }
                mounted = false;
            }
            if (File.Exists(Image))
            {
                // mount -o loop sets autoclear: the umount frees the device. Detach it if it is still there.
                // Autoclear runs after the last close, so the device may go between the listing and the detach.
                foreach (var line in TestProcess.Run("losetup", "-j", Image).Split('\n', StringSplitOptions.RemoveEmptyEntries))
                {
                    try { TestProcess.Run("losetup", "-d", line[..line.IndexOf(':')]); }
                    catch (InvalidOperationException) when (TestProcess.Run("losetup", "-j", Image).Trim().Length == 0) { }
                }
            }
            Directory.Delete(Dir, recursive: true);
        }
    }
}
