using System.Diagnostics;
using System.Runtime.InteropServices;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using ContainerPS.Engine.Images;
using ContainerPS.Engine.State;
using ContainerPS.Engine.Platform;

namespace ContainerPS.Engine.Tests;

/// <summary>
/// Images against the real tar, busybox, debootstrap and filesystem. Every input is built by the
/// tests: rootfs trees with owners, modes, file capabilities, ACLs, symlinks and hard links, packed
/// as plain/gzip/xz tarballs, LXD unified tarballs and OCI layouts.
/// </summary>
public sealed class ImageServiceTests : IDisposable
{
    private readonly TempRoot root = new();
    private readonly RecordingLog log = new();
    private readonly ContainerHost host;
    private readonly string scratch;

    public ImageServiceTests()
    {
        host = root.Open(log);
        scratch = Directory.CreateTempSubdirectory("cps-image-input-").FullName;
    }

    public void Dispose()
    {
        host.Dispose();
        Sh($"rm -rf --one-file-system -- '{scratch}'");
        root.Dispose();
    }

    private static ContainerPSException Fails(Action a) => Assert.Throws<ContainerPSException>(a);

    // ------------------------------------------------------------------ helpers

    private static string Sh(string script) => TestProcess.Bash(script);

    [DllImport("libc", SetLastError = true)]
    private static extern int lsetxattr(string path, string name, byte[] value, nuint size, int flags);

    [DllImport("libc", SetLastError = true)]
    private static extern nint lgetxattr(string path, string name, byte[] value, nuint size);

    private static void SetXattr(string path, string name, byte[] value)
    {
        if (lsetxattr(path, name, value, (nuint)value.Length, 0) != 0)
            throw new IOException($"lsetxattr {name} on {path}: errno {Marshal.GetLastPInvokeError()}");
    }

    private static byte[]? GetXattr(string path, string name)
    {
        var buf = new byte[4096];
        var n = lgetxattr(path, name, buf, (nuint)buf.Length);
        return n < 0 ? null : buf[..(int)n];
    }

    /// <summary>v2 file capabilities: cap_net_bind_service=ep (what setcap writes).</summary>
    private static readonly byte[] NetBindCapability = Convert.FromHexString("0100000200040000000000000000000000000000");

    /// <summary>An access ACL: user::rw-, user:1234:r--, group::r--, mask::r--, other::---.</summary>
    private static readonly byte[] Acl = Convert.FromHexString("0200000001000600ffffffff02000400d204000004000400ffffffff10000400ffffffff20000000ffffffff");

    /// <summary>A small rootfs with every kind of metadata an image must keep.</summary>
    private string MakeRootfs(string name)
    {
        var dir = Path.Join(scratch, name);
        Directory.CreateDirectory(dir);
        Sh($"""
            cd '{dir}'
            mkdir -p bin etc home/user srv/private usr/bin tmp
            cp /bin/busybox bin/busybox
            ln -s busybox bin/sh
            echo 'hello image' > etc/greeting
            ln etc/greeting etc/greeting.hardlink
            printf 'ID=testos\nVERSION_CODENAME=testrel\nPRETTY_NAME="Test OS"\n' > etc/os-release
            echo mine > home/user/file && chown -R 1000:1000 home/user && chmod 0640 home/user/file
            chmod 0750 srv/private && chmod 1777 tmp
            cp /bin/true usr/bin/ping && chmod 4755 usr/bin/ping
            cp /bin/true usr/bin/bind
            ln -s ../../etc/greeting usr/bin/link-to-greeting
            """);
        SetXattr(Path.Join(dir, "usr/bin/bind"), "security.capability", NetBindCapability);
        SetXattr(Path.Join(dir, "etc/greeting"), "system.posix_acl_access", Acl);
        return dir;
    }

    private string Pack(string dir, string file, string compress = "")
    {
        var path = Path.Join(scratch, file);
        Sh($"tar -C '{dir}' -c{compress}f '{path}' --numeric-owner --xattrs --xattrs-include='*' --acls .");
        return path;
    }

    private void AssertRootfsKept(string vol)
    {
        Assert.Equal("hello image\n", File.ReadAllText(Path.Join(vol, "etc/greeting")));
        var user = LibC.LStat(Path.Join(vol, "home/user/file"));
        Assert.Equal((1000u, 1000u), (user.stx_uid, user.stx_gid));
        Assert.Equal(Convert.ToInt32("100640", 8), (int)user.stx_mode);
        Assert.Equal(Convert.ToInt32("40750", 8), (int)LibC.LStat(Path.Join(vol, "srv/private")).stx_mode);
        Assert.Equal(Convert.ToInt32("41777", 8), (int)LibC.LStat(Path.Join(vol, "tmp")).stx_mode);
        Assert.Equal(Convert.ToInt32("104755", 8), (int)LibC.LStat(Path.Join(vol, "usr/bin/ping")).stx_mode);
        Assert.Equal("busybox", new FileInfo(Path.Join(vol, "bin/sh")).LinkTarget);
        Assert.Equal("../../etc/greeting", new FileInfo(Path.Join(vol, "usr/bin/link-to-greeting")).LinkTarget);
        var a = LibC.LStat(Path.Join(vol, "etc/greeting"));
        var b = LibC.LStat(Path.Join(vol, "etc/greeting.hardlink"));
        Assert.Equal(a.stx_ino, b.stx_ino);
        Assert.Equal(NetBindCapability, GetXattr(Path.Join(vol, "usr/bin/bind"), "security.capability"));
        Assert.Equal(Acl, GetXattr(Path.Join(vol, "etc/greeting"), "system.posix_acl_access"));
    }

    private string ImageVolume(string pool, string fingerprint) => host.Storage.GetVolume(pool, VolumeType.Image, fingerprint).Path!;

    /// <summary>Nothing of an image is left: no rows, no tarballs, an empty work directory.</summary>
    private void AssertNoImageLeftovers()
    {
        Assert.Empty(host.State.Images());
        var images = Path.Join(root.Path, "images");
        if (Directory.Exists(images))
        {
            Assert.Empty(Directory.GetFiles(images));
            Assert.Empty(Directory.GetFileSystemEntries(Path.Join(images, "tmp")));
        }
    }

    // ------------------------------------------------------------------ rootfs tarballs

    [Theory]
    [InlineData("rootfs.tar", "")]
    [InlineData("rootfs.tar.gz", "z")]
    [InlineData("rootfs.tar.xz", "J")]
    public void Rootfs_tarball_keeps_contents_owners_modes_xattrs_acls_and_links(string file, string compress)
    {
        var tarball = Pack(MakeRootfs("src"), file, compress);
        var image = host.Images.Import(tarball, "test", "my image");

        Assert.Equal("rootfs", image.Format);
        Assert.Equal("test", image.Alias);
        Assert.Equal("my image", image.Description);
        Assert.Matches("^[0-9a-f]{64}$", image.Fingerprint);
        var stored = host.Images.TarballPath(image.Fingerprint);
        Assert.Equal(image.Fingerprint, Convert.ToHexStringLower(SHA256.HashData(File.ReadAllBytes(stored))));
        Assert.Equal(new FileInfo(stored).Length, image.Size);
        Assert.Equal("testos", image.Properties["os"]);
        Assert.Equal("testrel", image.Properties["release"]);
        Assert.Equal("x86_64", image.Properties["architecture"]);
        Assert.Empty(Directory.GetFileSystemEntries(host.Images.WorkDirectory));

        host.Storage.CreatePool("p", "dir", null, null);
        Assert.Equal(image.Fingerprint, host.Images.EnsureVolume(image, "p"));
        AssertRootfsKept(ImageVolume("p", image.Fingerprint));
    }

    [Fact]
    public void The_same_content_again_returns_the_image_without_alias_and_is_ImageExists_with_one()
    {
        var dir = MakeRootfs("src");
        var first = host.Images.Import(Pack(dir, "a.tar"), "first");
        // Same tree, other compression: the normalised tarball (so the fingerprint) is the same.
        var again = host.Images.Import(Pack(dir, "a.tar.gz", "z"), null);
        Assert.Equal(first.Fingerprint, again.Fingerprint);
        Assert.Equal("first", again.Alias);
        var e = Fails(() => host.Images.Import(Pack(dir, "b.tar"), "second"));
        Assert.Equal("ImageExists", e.ErrorId);
        Assert.Contains(first.Fingerprint, e.Message);
        Assert.Single(host.State.Images());
        Assert.Single(Directory.GetFiles(host.Images.ImagesDirectory));
        Assert.Empty(Directory.GetFileSystemEntries(host.Images.WorkDirectory));
    }

    // ------------------------------------------------------------------ LXD unified tarballs

    [Fact]
    public void Lxd_unified_tarball_takes_properties_from_metadata_yaml()
    {
        var dir = Path.Join(scratch, "lxd");
        Directory.CreateDirectory(dir);
        Sh($"cp -a '{MakeRootfs("src")}' '{dir}/rootfs' && mkdir '{dir}/templates' && echo '{{{{ container.name }}}}' > '{dir}/templates/hostname.tpl'");
        File.WriteAllText(Path.Join(dir, "metadata.yaml"), """
            architecture: x86_64
            creation_date: 1700000000
            properties:
              architecture: x86_64
              description: "Debian bookworm amd64 (20231110_05:24)"   # a comment
              os: Debian
              release: 'bookworm'
              serial: "20231110_05:24"
            templates:
              /etc/hostname:
                when:
                - create
                template: hostname.tpl
            """);
        var image = host.Images.Import(Pack(dir, "lxd.tar.xz", "J"), "deb");

        Assert.Equal("lxd", image.Format);
        Assert.Equal("Debian bookworm amd64 (20231110_05:24)", image.Description);
        Assert.Equal("Debian", image.Properties["os"]);
        Assert.Equal("bookworm", image.Properties["release"]);
        Assert.Equal("x86_64", image.Properties["architecture"]);
        Assert.Equal("20231110_05:24", image.Properties["serial"]);
        Assert.False(image.Properties.ContainsKey("description"));

        host.Storage.CreatePool("p", "dir", null, null);
        var vol = ImageVolume("p", host.Images.EnsureVolume(image, "p"));
        AssertRootfsKept(vol);
        Assert.False(File.Exists(Path.Join(vol, "metadata.yaml")));
        Assert.False(Directory.Exists(Path.Join(vol, "rootfs")));
        Assert.False(Directory.Exists(Path.Join(vol, "templates")));
    }

    [Fact]
    public void Lxd_metadata_reader_handles_the_yaml_subset()
    {
        var m = LxdMetadata.Parse("# head\narchitecture: aarch64\nproperties:\n    os: \"Ubuntu\"\n    release: noble # c\n    nested:\n        deep: x\n    it's: 'a ''b'''\nexpiry_date: 0\n");
        Assert.Equal("aarch64", m.TopLevel["architecture"]);
        Assert.Equal("0", m.TopLevel["expiry_date"]);
        Assert.Equal("Ubuntu", m.Properties["os"]);
        Assert.Equal("noble", m.Properties["release"]);
        Assert.Equal("a 'b'", m.Properties["it's"]);
        Assert.False(m.Properties.ContainsKey("deep"));
        Assert.Throws<FormatException>(() => LxdMetadata.Parse("just text without a colon"));
        Assert.Throws<FormatException>(() => LxdMetadata.Parse("\n# only a comment\n"));
        Assert.Throws<FormatException>(() => LxdMetadata.Parse("architecture: [unclosed\n"));
        Assert.Throws<FormatException>(() => LxdMetadata.Parse("- a list\n- not a mapping\n"));

        // What the old line reader did not take: flow mappings and block scalars (YamlDotNet).
        var flow = LxdMetadata.Parse("properties: {os: Alpine, release: \"3.20\"}\ncreation_date: 1700000000\n");
        Assert.Equal("Alpine", flow.Properties["os"]);
        Assert.Equal("3.20", flow.Properties["release"]);
        var block = LxdMetadata.Parse("properties:\n  description: |\n    two\n    lines\n");
        Assert.Equal("two\nlines\n", block.Properties["description"]);
    }

    [Fact]
    public void Lxd_metadata_with_nested_aliases_is_read_without_expanding_them()
    {
        // A "billion laughs" document: 9 levels of 9 aliases each. Only scalars are read, so nothing is expanded.
        var text = new System.Text.StringBuilder("l0: &l0 [lol, lol, lol, lol, lol, lol, lol, lol, lol]\n");
        for (var i = 1; i < 10; i++)
            text.Append($"l{i}: &l{i} [{string.Join(", ", Enumerable.Repeat($"*l{i - 1}", 9))}]\n");
        text.Append("architecture: x86_64\n");
        var clock = System.Diagnostics.Stopwatch.StartNew();
        var m = LxdMetadata.Parse(text.ToString());
        Assert.Equal("x86_64", m.TopLevel["architecture"]);
        Assert.True(clock.Elapsed < TimeSpan.FromSeconds(5), $"took {clock.Elapsed}");
    }

    // ------------------------------------------------------------------ OCI layouts

    private static string Sha(byte[] b) => Convert.ToHexStringLower(SHA256.HashData(b));

    private string Blob(string layout, byte[] content)
    {
        var digest = Sha(content);
        File.WriteAllBytes(Path.Join(layout, "blobs/sha256", digest), content);
        return "sha256:" + digest;
    }

    /// <summary>
    /// An OCI layout with two layers. Layer 1: a/keep, a/gone, b/old1, b/sub/old2, c/file (owned
    /// 1000:1000, capability). Layer 2 (gzip): whites out a/gone, makes b opaque and adds b/new,
    /// changes c/file's content.
    /// </summary>
    private string MakeOciLayout(bool corruptLayer = false, string layer2Type = "application/vnd.oci.image.layer.v1.tar+gzip")
    {
        var l1 = Path.Join(scratch, "l1");
        var l2 = Path.Join(scratch, "l2");
        Directory.CreateDirectory(l1);
        Directory.CreateDirectory(l2);
        Sh($"""
            cd '{l1}' && mkdir -p a b/sub c && echo keep > a/keep && echo gone > a/gone && echo 1 > b/old1 && echo 2 > b/sub/old2
            echo v1 > c/file && chown 1000:1000 c/file && cp /bin/true c/bind && ln -s keep a/link
            cd '{l2}' && mkdir -p a b c && touch a/.wh.gone b/.wh..wh..opq && echo new > b/new && echo v2 > c/file && chown 1000:1000 c/file
            """);
        SetXattr(Path.Join(l1, "c/bind"), "security.capability", NetBindCapability);
        var layer1 = File.ReadAllBytes(Pack(l1, "l1.tar"));
        var layer2 = File.ReadAllBytes(Pack(l2, "l2.tar.gz", "z"));

        var layout = Path.Join(scratch, "oci");
        Directory.CreateDirectory(Path.Join(layout, "blobs/sha256"));
        File.WriteAllText(Path.Join(layout, "oci-layout"), """{"imageLayoutVersion":"1.0.0"}""");
        var d1 = Blob(layout, layer1);
        var d2 = Blob(layout, layer2);
        var config = Blob(layout, JsonSerializer.SerializeToUtf8Bytes(new
        {
            architecture = "amd64",
            os = "linux",
            config = new { Cmd = new[] { "/bin/sh" } },
            rootfs = new { type = "layers", diff_ids = new[] { d1, "sha256:" + Sha(File.ReadAllBytes(Pack(l2, "l2-plain.tar"))) } },
        }));
        var manifest = Blob(layout, JsonSerializer.SerializeToUtf8Bytes(new Dictionary<string, object>
        {
            ["schemaVersion"] = 2,
            ["mediaType"] = "application/vnd.oci.image.manifest.v1+json",
            ["config"] = new { mediaType = "application/vnd.oci.image.config.v1+json", digest = config, size = 1 },
            ["layers"] = new[]
            {
                new { mediaType = "application/vnd.oci.image.layer.v1.tar", digest = d1, size = layer1.Length },
                new { mediaType = layer2Type, digest = d2, size = layer2.Length },
            },
            ["annotations"] = new Dictionary<string, string> { ["org.opencontainers.image.description"] = "two layers" },
        }));
        var index = new Dictionary<string, object>
        {
            ["schemaVersion"] = 2,
            ["manifests"] = new object[]
            {
                new Dictionary<string, object>
                {
                    ["mediaType"] = "application/vnd.oci.image.manifest.v1+json", ["digest"] = manifest, ["size"] = 1,
                    ["platform"] = new { architecture = "amd64", os = "linux" },
                    ["annotations"] = new Dictionary<string, string> { ["org.opencontainers.image.ref.name"] = "latest" },
                },
            },
        };
        File.WriteAllBytes(Path.Join(layout, "index.json"), JsonSerializer.SerializeToUtf8Bytes(index));
        if (corruptLayer)
            File.AppendAllText(Path.Join(layout, "blobs/sha256", d2["sha256:".Length..]), "x");
        return layout;
    }

    [Fact]
    public void Oci_layout_applies_layers_in_order_with_whiteouts_and_opaque_directories()
    {
        var image = host.Images.Import(MakeOciLayout(), "oci");
        Assert.Equal("oci", image.Format);
        Assert.Equal("linux", image.Properties["os"]);
        Assert.Equal("amd64", image.Properties["architecture"]);
        Assert.Equal("latest", image.Properties["org.opencontainers.image.ref.name"]);
        Assert.Equal("two layers", image.Properties["org.opencontainers.image.description"]);

        host.Storage.CreatePool("p", "dir", null, null);
        var vol = ImageVolume("p", host.Images.EnsureVolume(image, "p"));
        Assert.Equal("keep\n", File.ReadAllText(Path.Join(vol, "a/keep")));
        Assert.Equal("keep", new FileInfo(Path.Join(vol, "a/link")).LinkTarget);
        Assert.False(File.Exists(Path.Join(vol, "a/gone")));
        Assert.Equal(new[] { "new" }, Directory.GetFileSystemEntries(Path.Join(vol, "b")).Select(Path.GetFileName));
        Assert.Equal("v2\n", File.ReadAllText(Path.Join(vol, "c/file")));
        var st = LibC.LStat(Path.Join(vol, "c/file"));
        Assert.Equal((1000u, 1000u), (st.stx_uid, st.stx_gid));
        Assert.Equal(NetBindCapability, GetXattr(Path.Join(vol, "c/bind"), "security.capability"));
        Assert.Empty(Directory.EnumerateFileSystemEntries(vol, ".wh.*", SearchOption.AllDirectories));
    }

    [Fact]
    public void Oci_layout_with_a_corrupt_blob_or_unsupported_layer_is_ImageInvalid_and_leaves_nothing()
    {
        var e = Fails(() => host.Images.Import(MakeOciLayout(corruptLayer: true), "oci"));
        Assert.Equal("ImageInvalid", e.ErrorId);
        Assert.Contains("corrupt", e.Message);
        AssertNoImageLeftovers();

        Sh($"rm -rf '{scratch}'/*");
        e = Fails(() => host.Images.Import(MakeOciLayout(layer2Type: "application/vnd.oci.image.layer.v1.tar+zstd"), "oci"));
        Assert.Equal("ImageInvalid", e.ErrorId);
        Assert.Contains("zstd", e.Message);
        AssertNoImageLeftovers();
    }

    // ------------------------------------------------------------------ busybox

    [Fact]
    public void Busybox_is_built_on_first_use_with_init_inittab_and_stop_signal()
    {
        Assert.Empty(host.Images.List());
        var image = host.Images.Resolve("busybox");
        Assert.Equal("builtin", image.Format);
        Assert.Equal("busybox", image.Alias);
        Assert.Equal("busybox", image.Properties["os"]);
        Assert.Matches(@"^\d+\.\d+", image.Properties["release"]);
        Assert.Equal("x86_64", image.Properties["architecture"]);
        Assert.Equal("SIGUSR2", image.Properties["stop.signal"]);
        Assert.Equal(new[] { "/sbin/init" }, ImageInit.Argv(image));
        Assert.Equal("SIGUSR2", ImageInit.StopSignal(image));
        Assert.Equal(image.Fingerprint, host.Images.Resolve("busybox").Fingerprint); // not rebuilt
        Assert.Single(host.Images.List());

        host.Storage.CreatePool("p", "dir", null, null);
        var vol = ImageVolume("p", host.Images.EnsureVolume(image, "p"));
        Assert.Equal("../bin/busybox", new FileInfo(Path.Join(vol, "sbin/init")).LinkTarget);
        Assert.Equal("busybox", new FileInfo(Path.Join(vol, "bin/ls")).LinkTarget);
        Assert.Equal("../../bin/busybox", new FileInfo(Path.Join(vol, "usr/bin/env")).LinkTarget);
        var inittab = File.ReadAllText(Path.Join(vol, "etc/inittab"));
        Assert.Contains("::sysinit:/etc/init.d/rcS", inittab);
        Assert.Contains("::shutdown:", inittab);
        var entries = inittab.Split('\n').Where(l => l.Length > 0 && !l.StartsWith('#')).ToList();
        Assert.Equal(2, entries.Count);
        Assert.DoesNotContain(entries, l => l.Contains("respawn") || l.Contains("getty") || l.Contains("askfirst"));
        Assert.Contains("root:x:0:0:", File.ReadAllText(Path.Join(vol, "etc/passwd")));
        Assert.Contains("nobody:x:65534:", File.ReadAllText(Path.Join(vol, "etc/group")));
        Assert.Equal(Convert.ToInt32("41777", 8), (int)LibC.LStat(Path.Join(vol, "tmp")).stx_mode);
        foreach (var d in new[] { "proc", "sys", "dev", "run", "var", "root" })
            Assert.True(Directory.Exists(Path.Join(vol, d)), d);
    }

    [Fact]
    public void Busybox_image_is_deterministic()
    {
        var first = host.Images.Build("busybox", null);
        using var other = new TempRoot();
        using var host2 = other.Open();
        Thread.Sleep(1100); // different mtimes on disk must not matter
        var second = host2.Images.Build("busybox", "bb");
        Assert.Equal(first.Fingerprint, second.Fingerprint);
        Assert.Equal("busybox", first.Alias);
        Assert.Equal("bb", second.Alias);
        // Building it again where it exists returns the existing image.
        Assert.Equal(first.Fingerprint, host.Images.Build("busybox", null).Fingerprint);
        Assert.Single(host.State.Images());
    }

    [Fact]
    public void Busybox_init_stays_up_as_pid_1_and_powers_off_on_its_stop_signal()
    {
        var image = host.Images.Resolve("busybox");
        host.Storage.CreatePool("p", "dir", null, null);
        var vol = ImageVolume("p", host.Images.EnsureVolume(image, "p"));

        var psi = new ProcessStartInfo("unshare") { RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (var a in new[] { "--pid", "--fork", "--mount", "--uts", "--mount-proc=" + Path.Join(vol, "proc"), "chroot", vol, "/sbin/init" })
            psi.ArgumentList.Add(a);
        using var unshare = Process.Start(psi)!;
        var output = new StringBuilder();
        unshare.OutputDataReceived += (_, e) => { lock (output) output.AppendLine(e.Data); };
        unshare.ErrorDataReceived += (_, e) => { lock (output) output.AppendLine(e.Data); };
        unshare.BeginOutputReadLine();
        unshare.BeginErrorReadLine();
        try
        {
            var deadline = DateTime.UtcNow.AddSeconds(20);
            while (!output.ToString().Contains("booted") && DateTime.UtcNow < deadline)
                Thread.Sleep(50);
            Assert.Contains("booted", output.ToString());
            Thread.Sleep(1000);
            Assert.False(unshare.HasExited, "busybox init exited without being asked: " + output);
            var init = int.Parse(File.ReadAllText($"/proc/{unshare.Id}/task/{unshare.Id}/children").Trim().Split(' ')[0]);
            Assert.Equal("init", File.ReadAllText($"/proc/{init}/comm").Trim());
            Sh($"kill -{image.Properties["stop.signal"][3..]} {init}");
            Assert.True(unshare.WaitForExit(15_000), "init did not stop on " + image.Properties["stop.signal"]);
            unshare.WaitForExit();
            Assert.Contains("shutting down", output.ToString());
        }
        finally
        {
            if (!unshare.HasExited)
                unshare.Kill(entireProcessTree: true);
        }
    }

    // ------------------------------------------------------------------ bad input

    [Fact]
    public void Bad_inputs_give_their_error_ids_and_leave_nothing()
    {
        var good = Pack(MakeRootfs("src"), "good.tar");
        Assert.Equal("PathNotFound", Fails(() => host.Images.Import(Path.Join(scratch, "missing.tar"), null)).ErrorId);

        var junk = Path.Join(scratch, "junk.tar");
        File.WriteAllBytes(junk, RandomNumberGenerator.GetBytes(20_000));
        Assert.Equal("ImageInvalid", Fails(() => host.Images.Import(junk, "junk")).ErrorId);
        AssertNoImageLeftovers();

        var truncated = Path.Join(scratch, "truncated.tar.gz");
        var gz = File.ReadAllBytes(Pack(MakeRootfs("src2"), "t.tar.gz", "z"));
        File.WriteAllBytes(truncated, gz[..(gz.Length / 2)]);
        Assert.Equal("ImageInvalid", Fails(() => host.Images.Import(truncated, null)).ErrorId);
        AssertNoImageLeftovers();

        var empty = Path.Join(scratch, "empty");
        Directory.CreateDirectory(empty);
        Assert.Equal("ImageInvalid", Fails(() => host.Images.Import(empty, null)).ErrorId); // a directory that is no OCI layout
        Sh($"tar -C '{empty}' -cf '{scratch}/empty.tar' --files-from=/dev/null");
        Assert.Equal("ImageInvalid", Fails(() => host.Images.Import(Path.Join(scratch, "empty.tar"), null)).ErrorId);
        AssertNoImageLeftovers();

        var lxd = Path.Join(scratch, "badlxd");
        Directory.CreateDirectory(Path.Join(lxd, "rootfs/etc"));
        File.WriteAllText(Path.Join(lxd, "metadata.yaml"), "this is not yaml at all\n");
        Assert.Equal("ImageInvalid", Fails(() => host.Images.Import(Pack(lxd, "badlxd.tar"), null)).ErrorId);
        AssertNoImageLeftovers();

        var split = Path.Join(scratch, "split");
        Directory.CreateDirectory(Path.Join(split, "templates"));
        File.WriteAllText(Path.Join(split, "metadata.yaml"), "architecture: x86_64\nproperties:\n  os: Debian\n");
        Assert.Contains("split image", Fails(() => host.Images.Import(Pack(split, "split.tar.xz", "J"), null)).Message);
        AssertNoImageLeftovers();

        Assert.Equal("InvalidName", Fails(() => host.Images.Import(good, "bad/alias")).ErrorId);
        Assert.Equal("InvalidName", Fails(() => host.Images.Import(good, "")).ErrorId);
        AssertNoImageLeftovers();

        host.Images.Import(good, "taken");
        var src3 = MakeRootfs("src3");
        File.AppendAllText(Path.Join(src3, "etc/greeting"), "different\n");
        var other = Pack(src3, "other.tar");
        var e = Fails(() => host.Images.Import(other, "taken"));
        Assert.Equal("ImageExists", e.ErrorId);
        Assert.Single(host.State.Images());
        Assert.Single(Directory.GetFiles(host.Images.ImagesDirectory));
        Assert.Empty(Directory.GetFileSystemEntries(host.Images.WorkDirectory));

        Assert.Equal("InvalidName", Fails(() => host.Images.Build("Bad Dist", null)).ErrorId);
        Assert.Equal("InvalidMirror", Fails(() => host.Images.Build("bookworm", null, "ftp://x y")).ErrorId);
    }

    // ------------------------------------------------------------------ resolve, list, remove

    [Fact]
    public void Resolve_by_alias_full_fingerprint_and_unique_prefix()
    {
        var image = host.Images.Import(Pack(MakeRootfs("src"), "a.tar"), "web");
        Assert.Equal(image.Fingerprint, host.Images.Resolve("web").Fingerprint);
        Assert.Equal(image.Fingerprint, host.Images.Resolve(image.Fingerprint).Fingerprint);
        Assert.Equal(image.Fingerprint, host.Images.Resolve(image.Fingerprint[..12]).Fingerprint);
        Assert.Equal(image.Fingerprint, host.Images.Resolve(image.Fingerprint[..12].ToUpperInvariant()).Fingerprint);
        var e = Fails(() => host.Images.Resolve(image.Fingerprint[..11]));
        Assert.Equal("ImageNotFound", e.ErrorId);
        Assert.Contains("12", e.Message);
        Assert.Equal("ImageNotFound", Fails(() => host.Images.Resolve("nope")).ErrorId);

        // Two fingerprints sharing a 12-digit prefix (forged rows: real SHA-256 collisions of 48 bits are rare).
        var prefix = "abcdefabcdef";
        foreach (var tail in new[] { "1", "2" })
            host.State.Exec("INSERT INTO images(fingerprint, format, created_at, state) VALUES ($f, 'rootfs', '2024-01-01T00:00:00Z', 'ready')",
                ("$f", prefix + new string(tail[0], 52)));
        Assert.Equal("ImageAmbiguous", Fails(() => host.Images.Resolve(prefix)).ErrorId);
        Assert.Equal(prefix + new string('2', 52), host.Images.Resolve(prefix + "2").Fingerprint);
        Assert.Equal(3, host.Images.List().Count);
        Assert.Equal("web", host.Images.List()[0].Alias); // aliased images first
    }

    [Fact]
    public void EnsureVolume_unpacks_once_per_pool_and_Remove_takes_every_volume_tarball_and_row()
    {
        var image = host.Images.Import(Pack(MakeRootfs("src"), "a.tar"), "img");
        host.Storage.CreatePool("p1", "dir", null, null);
        host.Storage.CreatePool("p2", "dir", null, null);
        host.Images.EnsureVolume(image, "p1");
        var marker = Path.Join(ImageVolume("p1", image.Fingerprint), "marker");
        File.WriteAllText(marker, "still here");
        Assert.Equal(image.Fingerprint, host.Images.EnsureVolume(image, "p1")); // already there: not unpacked again
        Assert.True(File.Exists(marker));
        Assert.Equal(1, log.VerboseLines.Count(l => l.StartsWith("Unpacking image", StringComparison.Ordinal)));
        host.Images.EnsureVolume(image, "p2");
        Assert.False(File.Exists(Path.Join(ImageVolume("p2", image.Fingerprint), "marker")));
        Assert.Equal(2, host.Storage.ListVolumes().Count(v => v.Type == "image" && v.Name == image.Fingerprint));
        Assert.Equal("PoolNotFound", Fails(() => host.Images.EnsureVolume(image, "nope")).ErrorId);

        // A container cloned from the image volume is a copy: it outlives the image (as in LXD).
        host.Storage.CloneVolume("p1", VolumeType.Image, image.Fingerprint, "p1", VolumeType.Container, "c1");
        host.State.Exec("INSERT INTO containers(name, uuid, image, pool_id, created_at, state) VALUES ('c1', 'u1', 'img', $p, '2024-01-01T00:00:00Z', 'ready')",
            ("$p", host.State.Pool("p1")!.Id));
        Assert.Equal(new[] { "c1" }, host.Images.Resolve("img").UsedBy);

        host.Images.Remove("img");
        Assert.Empty(host.Images.List());
        Assert.DoesNotContain(host.Storage.ListVolumes(), v => v.Type == "image");
        Assert.False(File.Exists(host.Images.TarballPath(image.Fingerprint)));
        Assert.True(File.Exists(Path.Join(host.Storage.GetVolume("p1", VolumeType.Container, "c1").Path!, "etc/greeting")));
        Assert.Equal("ImageNotFound", Fails(() => host.Images.Remove("img")).ErrorId);
        Assert.Equal("ImageNotFound", Fails(() => host.Images.EnsureVolume(image, "p1")).ErrorId);
    }

    // ------------------------------------------------------------------ repair

    private static readonly ProcessIdentity DeadProcess = new(int.MaxValue, 1);

    private void Orphan(long id) =>
        host.State.Exec("UPDATE images SET op_pid = $p, op_start = $s WHERE id = $id", ("$p", DeadProcess.Pid), ("$s", DeadProcess.StartTime), ("$id", id));

    [Fact]
    public void Repair_rolls_back_an_import_whose_process_died_and_finishes_a_removal()
    {
        // An import killed after it placed its tarball but before it marked the row ready.
        var work = Path.Join(host.Images.WorkDirectory, "deadbeef");
        var id = host.State.Write(() => host.State.InsertImage("half", "rootfs", "", "deadbeef"));
        Directory.CreateDirectory(Path.Join(work, "content/etc"));
        var fp = new string('e', 64);
        host.State.CompleteImage(id, fp, "rootfs", new Dictionary<string, string>(), 10, "");
        File.WriteAllText(host.Images.TarballPath(fp), "partial");
        Orphan(id);
        // An import killed before it computed its fingerprint.
        var id2 = host.State.Write(() => host.State.InsertImage(null, "oci", "", "cafe"));
        Directory.CreateDirectory(Path.Join(host.Images.WorkDirectory, "cafe/rootfs"));
        Orphan(id2);
        // A stray work directory that no row names.
        Directory.CreateDirectory(Path.Join(host.Images.WorkDirectory, "stray/x"));
        // A removal killed after it took the image volume but before it deleted the row.
        var image = host.Images.Import(Pack(MakeRootfs("src"), "a.tar"), "going");
        host.Storage.CreatePool("p", "dir", null, null);
        host.Images.EnsureVolume(image, "p");
        var goingId = host.State.ImageByAlias("going")!.Id;
        Assert.True(host.State.Claim("images", goingId, RowState.Deleting));
        Orphan(goingId);
        // A live owner's import is left alone.
        var live = host.State.Write(() => host.State.InsertImage("live", "rootfs", "", "livework"));
        Directory.CreateDirectory(Path.Join(host.Images.WorkDirectory, "livework"));

        var log2 = new RecordingLog();
        using (var again = root.Open(log2))
        {
            Assert.Contains(log2.Warnings, w => w.Contains("rolled back the unfinished import of image eeeeeeeeeeee ('half')"));
            Assert.Contains(log2.Warnings, w => w.Contains("rolled back the unfinished import of an image"));
            Assert.Contains(log2.Warnings, w => w.Contains("finished the unfinished removal of image"));
            Assert.Empty(again.Images.List());
        }
        Assert.Equal(new[] { "live" }, host.State.Images().Select(r => r.Alias));
        Assert.Equal(new[] { "livework" }, Directory.GetFileSystemEntries(host.Images.WorkDirectory).Select(Path.GetFileName));
        Assert.Empty(Directory.GetFiles(host.Images.ImagesDirectory));
        Assert.Empty(host.Storage.ListVolumes());
        host.State.Write(() => host.State.DeleteImageRow(live));
    }

    // ------------------------------------------------------------------ helpers of the lead's code

    [Fact]
    public void Init_command_lines_split_like_a_shell()
    {
        Assert.Equal(new[] { "/bin/sh", "-c", "trap \"exit 0\" TERM; while :; do sleep 3600 & wait $!; done" }, ImageInit.Split(Debootstrap.ShellInit));
        Assert.Equal(new[] { "a b", "c\"d", "e\\f", "g" }, ImageInit.Split("'a b' \"c\\\"d\" e\\\\f   g"));
        Assert.Throws<FormatException>(() => ImageInit.Split("'open"));
    }

    [Fact]
    public void Default_mirror_is_the_first_debian_archive_apt_uses()
    {
        var apt = Path.Join(scratch, "apt");
        Directory.CreateDirectory(Path.Join(apt, "sources.list.d"));
        File.WriteAllText(Path.Join(apt, "sources.list.d", "a-node.sources"), "Types: deb\nURIs: https://deb.nodesource.com/node_20.x\nSuites: nodistro\nComponents: main\n");
        File.WriteAllText(Path.Join(apt, "sources.list.d", "b-debian.sources"),
            "Types: deb\nURIs: http://deb.debian.org/debian-security\nSuites: bookworm-security\n\nTypes: deb-src deb\nURIs: http://ftp.de.debian.org/debian\nSuites: bookworm bookworm-updates\nComponents: main\n");
        Assert.Equal("http://ftp.de.debian.org/debian", Debootstrap.DefaultMirror(apt));
        File.WriteAllText(Path.Join(apt, "sources.list"), "# comment\ndeb-src http://a.debian.org/debian bookworm main\ndeb [arch=amd64 signed-by=/k.gpg] https://mirror.example/debian/ bookworm main\n");
        Assert.Equal("https://mirror.example/debian/", Debootstrap.DefaultMirror(apt));
        Assert.Null(Debootstrap.DefaultMirror(Path.Join(scratch, "none")));
    }

    // ------------------------------------------------------------------ debootstrap (slow)

    [Fact]
    [Trait("Category", "Slow")]
    public void Debootstrap_builds_a_minbase_debian_image()
    {
        var image = host.Images.Build("bookworm", "bookworm");
        Assert.Equal("debootstrap", image.Format);
        Assert.Equal("debian", image.Properties["os"]);
        Assert.Equal("bookworm", image.Properties["release"]);
        Assert.Equal("amd64", image.Properties["architecture"]);
        Assert.Equal(Debootstrap.ShellInit, image.Properties["init"]); // minbase has no init
        Assert.Equal("SIGTERM", image.Properties["stop.signal"]);
        Assert.True(image.Size > 50L << 20);

        host.Storage.CreatePool("p", "dir", null, null);
        var vol = ImageVolume("p", host.Images.EnsureVolume(image, "p"));
        Assert.Contains("bookworm", File.ReadAllText(Path.Join(vol, "etc/os-release")));
        Assert.True(File.Exists(Path.Join(vol, "usr/bin/apt-get")));
        Assert.Equal("debian\n", File.ReadAllText(Path.Join(vol, "etc/hostname")));
        Assert.Equal("root:x:0:0:root:/root:/bin/bash", File.ReadLines(Path.Join(vol, "etc/passwd")).First());
        Assert.Empty(Directory.EnumerateFiles(Path.Join(vol, "var/cache/apt/archives"), "*.deb"));
        Assert.Empty(Directory.GetFileSystemEntries(host.Images.WorkDirectory));
        // Its init runs in the rootfs as pid 1 and stops on its stop signal.
        var argv = string.Join(' ', ImageInit.Argv(image).Select(a => "'" + a.Replace("'", "'\\''") + "'"));
        Sh($"""
            unshare --pid --fork --mount --mount-proc='{vol}/proc' chroot '{vol}' {argv} & u=$!
            sleep 1; init=$(cat /proc/$u/task/$u/children | cut -d' ' -f1); kill -0 $u
            kill -TERM $init; for i in $(seq 50); do kill -0 $u 2>/dev/null || break; sleep 0.1; done
            ! kill -0 $u 2>/dev/null
            """);
    }

    [Theory]
    [InlineData("I: Retrieving InRelease ", 5)]
    [InlineData("I: Validating Packages ", 15)]
    [InlineData("I: Extracting libc6...", 35)]
    [InlineData("I: Installing core packages...", 50)]
    [InlineData("I: Unpacking the base system...", 65)]
    [InlineData("I: Configuring tzdata...", 80)]
    [InlineData("I: Base system installed successfully.", 100)]
    [InlineData("W: something", null)]
    [InlineData("Get:1 http://deb.debian.org/debian bookworm InRelease", null)]
    public void Debootstrap_stages_are_steps_of_its_progress(string line, int? percent) =>
        Assert.Equal(percent, ContainerPS.Engine.Images.Debootstrap.Stage(line));
}
