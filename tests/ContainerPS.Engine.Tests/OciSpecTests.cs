using System.Text.Json.Nodes;
using ContainerPS.Engine.Idmap;
using ContainerPS.Engine.Runtime;

namespace ContainerPS.Engine.Tests;

public class OciSpecTests
{
    private static JsonObject Spec(IdMapping? map, Dictionary<string, string>? config = null) =>
        OciSpec.Build(new OciSpecInput("c1", "/containerps/u1", map, config ?? new Dictionary<string, string>(), new[] { "/sbin/init" }));

    [Fact]
    public void Unprivileged_spec_has_a_user_namespace_with_the_map()
    {
        var s = Spec(new IdMapping(1000000, 2000000, 65536));
        var ns = s["linux"]!["namespaces"]!.AsArray().Select(n => n!["type"]!.GetValue<string>()).ToArray();
        Assert.Equal(new[] { "pid", "network", "ipc", "uts", "mount", "cgroup", "user" }, ns);
        Assert.Equal(1000000, s["linux"]!["uidMappings"]![0]!["hostID"]!.GetValue<long>());
        Assert.Equal(2000000, s["linux"]!["gidMappings"]![0]!["hostID"]!.GetValue<long>());
        Assert.Equal(65536, s["linux"]!["uidMappings"]![0]!["size"]!.GetValue<long>());
        Assert.Equal("c1", s["hostname"]!.GetValue<string>());
        Assert.Equal("/containerps/u1", s["linux"]!["cgroupsPath"]!.GetValue<string>());
        Assert.Equal("/sbin/init", s["process"]!["args"]![0]!.GetValue<string>());
    }

    [Fact]
    public void A_network_hook_runs_at_createRuntime_with_its_fifos()
    {
        var s = OciSpec.Build(new OciSpecInput("c1", "/x", new IdMapping(1000000, 1000000, 65536), new Dictionary<string, string>(),
            new[] { "/sbin/init" }, CreateRuntimeHook: new[] { "/opt/cps/cps-hook", "/run/c1/hook.request", "/run/c1/hook.reply" }));
        var hook = s["hooks"]!["createRuntime"]![0]!;
        Assert.Equal("/opt/cps/cps-hook", hook["path"]!.GetValue<string>());
        Assert.Equal(new[] { "cps-hook", "/run/c1/hook.request", "/run/c1/hook.reply" }, hook["args"]!.AsArray().Select(a => a!.GetValue<string>()));
        Assert.True(hook["timeout"]!.GetValue<int>() > 0);
        // The namespaces are runc's own: the network namespace is made inside the user namespace.
        Assert.All(s["linux"]!["namespaces"]!.AsArray(), n => Assert.Null(n!["path"]));
        Assert.Null(Spec(null)["hooks"]);
    }

    [Fact]
    public void Privileged_spec_has_no_user_namespace()
    {
        var s = Spec(null);
        Assert.DoesNotContain(s["linux"]!["namespaces"]!.AsArray(), n => n!["type"]!.GetValue<string>() == "user");
        Assert.Null(s["linux"]!["uidMappings"]);
    }

    [Fact]
    public void Capabilities_are_cut_to_the_host_bounding_set()
    {
        var all = OciSpec.Build(new OciSpecInput("c1", "/x", null, new Dictionary<string, string>(), new[] { "/sbin/init" }));
        var caps = all["process"]!["capabilities"]!["bounding"]!.AsArray();
        Assert.Contains(caps, c => c!.GetValue<string>() == "CAP_SYS_RESOURCE");
        Assert.DoesNotContain(caps, c => c!.GetValue<string>() == "CAP_SYS_MODULE");
        var cut = OciSpec.Build(new OciSpecInput("c1", "/x", null, new Dictionary<string, string>(), new[] { "/sbin/init" }, ~(1UL << 24)));
        Assert.DoesNotContain(cut["process"]!["capabilities"]!["effective"]!.AsArray(), c => c!.GetValue<string>() == "CAP_SYS_RESOURCE");
        Assert.Contains(cut["process"]!["capabilities"]!["effective"]!.AsArray(), c => c!.GetValue<string>() == "CAP_SYS_ADMIN");
    }

    [Fact]
    public void Seccomp_blocks_what_LXC_blocks()
    {
        var seccomp = Spec(null)["linux"]!["seccomp"]!;
        Assert.Equal("SCMP_ACT_ALLOW", seccomp["defaultAction"]!.GetValue<string>());
        var denied = seccomp["syscalls"]!.AsArray().SelectMany(r => r!["names"]!.AsArray().Select(n => n!.GetValue<string>())).ToHashSet();
        foreach (var sc in new[] { "kexec_load", "open_by_handle_at", "init_module", "finit_module", "delete_module", "umount2", "keyctl", "add_key", "request_key" })
            Assert.Contains(sc, denied);
        var umount = seccomp["syscalls"]!.AsArray().Single(r => r!["names"]![0]!.GetValue<string>() == "umount2")!;
        Assert.Equal("SCMP_CMP_MASKED_EQ", umount["args"]![0]!["op"]!.GetValue<string>()); // only MNT_FORCE
    }

    [Fact]
    public void Proc_sys_is_read_only_but_net()
    {
        var ro = Spec(null)["linux"]!["readonlyPaths"]!.AsArray().Select(p => p!.GetValue<string>()).ToArray();
        foreach (var d in Directory.GetDirectories("/proc/sys"))
            if (Path.GetFileName(d) == "net")
                Assert.DoesNotContain(d, ro);
            else
                Assert.Contains(d, ro);
    }

    [Fact]
    public void Limits_map_to_OCI_resources()
    {
        var r = Spec(null, new() { ["limits.memory"] = "512MiB", ["limits.processes"] = "200", ["limits.cpu"] = "2" })["linux"]!["resources"]!;
        Assert.Equal(512L << 20, r["memory"]!["limit"]!.GetValue<long>());
        Assert.Equal(200, r["pids"]!["limit"]!.GetValue<long>());
        Assert.Equal("0-1", r["cpu"]!["cpus"]!.GetValue<string>());
        Assert.Equal("0", OciSpec.CpuSet("1"));
        Assert.Equal("0,2", OciSpec.CpuSet("0,2"));
    }

    [Fact]
    public void System_container_mounts_are_present()
    {
        var dest = Spec(null)["mounts"]!.AsArray().Select(m => m!["destination"]!.GetValue<string>()).ToArray();
        Assert.Equal(new[] { "/proc", "/dev", "/dev/pts", "/dev/shm", "/dev/mqueue", "/sys", "/sys/fs/cgroup" }, dest);
    }
}

public class IdmapAllocatorTests
{
    private static readonly (long, long) Range = (1_000_000, 1_000_000_000);

    [Fact]
    public void Shared_map_is_the_first_block()
    {
        Assert.Equal(new IdMapping(1_000_000, 1_000_000, 65536), IdmapAllocator.Shared(Range, Range));
    }

    [Fact]
    public void Isolated_maps_are_first_fit_after_the_shared_block()
    {
        var a = IdmapAllocator.Isolated(Range, Range, 65536, Array.Empty<(long, long)>());
        Assert.Equal(1_065_536, a.UidBase);
        var b = IdmapAllocator.Isolated(Range, Range, 65536, new[] { (a.UidBase, a.Size) });
        Assert.Equal(1_131_072, b.UidBase);
        var gap = IdmapAllocator.Isolated(Range, Range, 65536, new[] { (1_131_072L, 65536L) });
        Assert.Equal(1_065_536, gap.UidBase);
        var differentGids = IdmapAllocator.Isolated(Range, (5_000_000, 1_000_000_000), 65536, Array.Empty<(long, long)>());
        Assert.Equal(5_065_536, differentGids.GidBase);
    }

    [Fact]
    public void Exhaustion_is_a_clear_error()
    {
        var small = (1_000_000L, 131072L);
        var taken = new[] { (1_065_536L, 65536L) };
        var e = Assert.Throws<ContainerPSException>(() => IdmapAllocator.Isolated(small, small, 65536, taken));
        Assert.Equal("IdmapExhausted", e.ErrorId);
    }

    [Fact]
    public void SubIds_adds_root_range_when_missing_and_reads_existing()
    {
        using var root = new TempRoot();
        var file = Path.Join(root.Path, "subuid");
        File.WriteAllText(file, "alice:100000:65536");
        Assert.Equal((1_000_000L, 1_000_000_000L), SubIds.Root(file));
        Assert.Equal("alice:100000:65536\nroot:1000000:1000000000\n", File.ReadAllText(file));
        File.WriteAllText(file, "root:200000:131072\n");
        Assert.Equal((200_000L, 131_072L), SubIds.Root(file));
    }
}
