using ContainerPS.Engine.Runtime;

namespace ContainerPS.Engine.Tests;

/// <summary>
/// Get-ContainerState's readers on sample files: cgroup v1 (separate and combined hierarchies, a
/// mount whose root is not the hierarchy's), cgroup v2 (Documentation/admin-guide/cgroup-v2.rst:
/// memory.current, memory.peak, cpu.stat usage_usec, pids.current), hybrid hosts, /proc/net/dev.
/// The hierarchies are directories of a temporary tree that a sample mountinfo mounts.
/// </summary>
public class ContainerUsageTests : IDisposable
{
    private readonly TempRoot tmp = new();

    public void Dispose() => tmp.Dispose();

    /// <summary>Writes FILE=TEXT pairs under DIR (created) of the temporary tree; returns the tree's path of DIR.</summary>
    private string Files(string dir, params (string File, string Text)[] files)
    {
        var path = Path.Join(tmp.Path, dir);
        Directory.CreateDirectory(path);
        foreach (var (file, text) in files)
            File.WriteAllText(Path.Join(path, file), text);
        return path;
    }

    private string Mount(int id, string root, string dir, string fs, string superOptions) =>
        $"{id} 93 0:{id} {root} {Path.Join(tmp.Path, dir).Replace(" ", "\\040")} rw,relatime - {fs} {fs} {superOptions}\n";

    private const string V1Cgroup =
        "9:name=systemd:/containerps/c1-0a1b2c3d\n8:pids:/containerps/c1-0a1b2c3d\n4:memory:/containerps/c1-0a1b2c3d\n" +
        "2:cpuacct:/containerps/c1-0a1b2c3d\n1:cpu:/containerps/c1-0a1b2c3d\n0::/containerps/c1-0a1b2c3d\n";

    [Fact]
    public void Cgroup_v1_reads_each_controller_from_its_own_hierarchy()
    {
        Files("memory/containerps/c1-0a1b2c3d", ("memory.usage_in_bytes", "52432896\n"), ("memory.max_usage_in_bytes", "54525952\n"));
        Files("cpuacct/containerps/c1-0a1b2c3d", ("cpuacct.usage", "1500000123\n"));
        Files("pids/containerps/c1-0a1b2c3d", ("pids.current", "4\n"));
        Files("unified/containerps/c1-0a1b2c3d", ("memory.current", "999\n"), ("cpu.stat", "usage_usec 7\n"));
        var mountinfo = "93 92 0:28 / /sys/fs/cgroup rw,relatime - tmpfs tmpfs rw,mode=755\n" +
                        Mount(94, "/", "cpu", "cgroup", "rw,cpu") + Mount(95, "/", "cpuacct", "cgroup", "rw,cpuacct") +
                        Mount(97, "/", "memory", "cgroup", "rw,memory") + Mount(101, "/", "pids", "cgroup", "rw,pids") +
                        Mount(103, "/", "unified", "cgroup2", "rw");

        var c = ContainerUsage.ReadCgroup(V1Cgroup, mountinfo);

        // a hybrid host: v1 wins for every controller the process has a v1 hierarchy of
        Assert.Equal(52432896, c.MemoryUsage);
        Assert.Equal(54525952, c.MemoryPeak);
        Assert.Equal(TimeSpan.FromTicks(15000001), c.CpuTime); // nanoseconds, to 100 ns ticks
        Assert.Equal(4, c.Processes);
    }

    [Fact]
    public void Cgroup_v1_combined_hierarchy_and_a_mount_of_a_subtree()
    {
        // cpu,cpuacct mounted together; memory mounted from /containerps (as inside a container, or a bind mount)
        Files("cpu,cpuacct/containerps/c1-0a1b2c3d", ("cpuacct.usage", "2000000000\n"));
        Files("mem sub/c1-0a1b2c3d", ("memory.usage_in_bytes", "1048576\n"));
        var cgroup = "4:memory:/containerps/c1-0a1b2c3d\n2:cpu,cpuacct:/containerps/c1-0a1b2c3d\n";
        var mountinfo = Mount(94, "/", "cpu,cpuacct", "cgroup", "rw,cpu,cpuacct") + Mount(97, "/containerps", "mem sub", "cgroup", "rw,memory");

        var c = ContainerUsage.ReadCgroup(cgroup, mountinfo);

        Assert.Equal(TimeSpan.FromSeconds(2), c.CpuTime);
        Assert.Equal(1048576, c.MemoryUsage);
        Assert.Null(c.MemoryPeak); // file missing
        Assert.Null(c.Processes);  // no pids hierarchy at all
    }

    [Fact]
    public void Cgroup_v2_reads_the_unified_files()
    {
        Files("cg2/containerps/c1-0a1b2c3d",
            ("memory.current", "52690944\n"), ("memory.peak", "60000256\n"), ("pids.current", "3\n"),
            ("cpu.stat", "usage_usec 2500000\nuser_usec 2000000\nsystem_usec 500000\nnr_periods 0\nnr_throttled 0\nthrottled_usec 0\n"));
        var mountinfo = Mount(30, "/", "cg2", "cgroup2", "rw,nsdelegate,memory_recursiveprot");

        var c = ContainerUsage.ReadCgroup("0::/containerps/c1-0a1b2c3d\n", mountinfo);

        Assert.Equal(52690944, c.MemoryUsage);
        Assert.Equal(60000256, c.MemoryPeak);
        Assert.Equal(TimeSpan.FromSeconds(2.5), c.CpuTime);
        Assert.Equal(3, c.Processes);
    }

    [Fact]
    public void Cgroup_v2_without_memory_peak_or_controllers_gives_nulls()
    {
        // Linux before 5.19 has no memory.peak; a cgroup without the memory and pids controllers
        // enabled has none of their files; cpu.stat is always there.
        Files("cg2/containerps/c2", ("cpu.stat", "usage_usec 10\nuser_usec 6\nsystem_usec 4\n"));
        var c = ContainerUsage.ReadCgroup("0::/containerps/c2\n", Mount(30, "/", "cg2", "cgroup2", "rw"));

        Assert.Equal(TimeSpan.FromMicroseconds(10), c.CpuTime);
        Assert.Null(c.MemoryUsage);
        Assert.Null(c.MemoryPeak);
        Assert.Null(c.Processes);
    }

    [Fact]
    public void No_cgroup_mount_or_a_gone_process_gives_nulls()
    {
        var c = ContainerUsage.ReadCgroup(V1Cgroup, "");
        Assert.Equal(new CgroupCounters(null, null, null, null), c);
        Assert.Null(ContainerUsage.ReadCgroup(int.MaxValue));
        Assert.Null(ContainerUsage.ReadNetwork(int.MaxValue));
    }

    [Fact]
    public void This_process_has_a_cgroup_with_cpu_time()
    {
        var c = ContainerUsage.ReadCgroup(Environment.ProcessId);
        Assert.NotNull(c);
        Assert.True(c!.CpuTime > TimeSpan.Zero, "the cgroup of the test run has used CPU time");
    }

    [Theory]
    [InlineData("usage_usec 42\nuser_usec 40\n", 42L)]
    [InlineData("user_usec 40\nusage_usec 43", 43L)]
    [InlineData("user_usec 40\n", null)]
    [InlineData("", null)]
    public void Parses_cpu_stat(string text, long? expected) => Assert.Equal(expected, ContainerUsage.ParseCpuStatUsec(text));

    [Theory]
    [InlineData("123\n", 123L)]
    [InlineData("max\n", null)]
    [InlineData("", null)]
    [InlineData("-1", null)]
    public void Parses_single_numbers(string text, long? expected) => Assert.Equal(expected, ContainerUsage.ParseLong(text));

    [Fact]
    public void Parses_proc_net_dev_with_loopback_marked()
    {
        const string text =
            "Inter-|   Receive                                                |  Transmit\n" +
            " face |bytes    packets errs drop fifo frame compressed multicast|bytes    packets errs drop fifo colls carrier compressed\n" +
            "    lo:     840      10    0    0    0     0          0         0      840      10    0    0    0     0       0          0\n" +
            "  eth0:    5066      41    0    0    0     0          0         0     3204      27    0    0    0     0       0          0\n" +
            "veth-long:12345678901234     9876543    0    0    0     0          0         0 98765432109      1234    0    0    0     0       0          0\n";

        var ifs = ContainerUsage.ParseNetDev(text);

        Assert.Equal(new[] { "lo", "eth0", "veth-long" }, ifs.Select(i => i.Name));
        Assert.True(ifs[0].Loopback);
        Assert.False(ifs[1].Loopback);
        Assert.Equal(new InterfaceCounters { Name = "eth0", RxBytes = 5066, RxPackets = 41, TxBytes = 3204, TxPackets = 27 }, ifs[1]);
        Assert.Equal(12345678901234, ifs[2].RxBytes);
        Assert.Equal(9876543, ifs[2].RxPackets);
        Assert.Equal(98765432109, ifs[2].TxBytes);
        Assert.Equal(1234, ifs[2].TxPackets);
    }

    [Fact]
    public void Parses_an_empty_or_broken_net_dev()
    {
        Assert.Empty(ContainerUsage.ParseNetDev(""));
        Assert.Empty(ContainerUsage.ParseNetDev("Inter-|   Receive\n face |bytes\n  eth0: 1 2 3\n"));
    }

    [Fact]
    public void Reads_this_process_network_namespace()
    {
        var ifs = ContainerUsage.ReadNetwork(Environment.ProcessId);
        Assert.NotNull(ifs);
        Assert.Contains(ifs!, i => i.Name == "lo" && i.Loopback);
    }
}
