using System.Diagnostics;
using ContainerPS.Engine.Runtime;

namespace ContainerPS.Engine.Tests;

/// <summary>Real containers: runc, the native monitor, idmapped mounts, the kernel.</summary>
public sealed class ContainerLifecycleTests : HostOnTempRoot
{
    private TempRoot root => Root;
    private RecordingLog log => Log;
    private ContainerHost host => Host;

    private static ContainerPSException Fails(Action a) => Assert.Throws<ContainerPSException>(a);

    private static string Run(string program, params string[] args)
    {
        var (_, stdout, stderr) = TestProcess.Exec(program, null, args);
        return stdout + stderr;
    }

    private string RuntimePath(string name) => Path.Join(root.Path, "run", "containers", name);

    private static IEnumerable<string> MountsUnder(string path) =>
        File.ReadLines("/proc/self/mountinfo").Select(l => l.Split(' ')[4]).Where(m => m.StartsWith(path, StringComparison.Ordinal));

    [Fact]
    public void A_busybox_container_runs_unprivileged_through_an_idmapped_rootfs()
    {
        var c = host.Containers.Create("c1", "busybox", null, null, isolated: false, privileged: false);
        Assert.Equal("Stopped", c.State);
        Assert.Equal("default", c.Pool);
        Assert.Equal("0 1000000 65536", c.Idmap);
        c = host.Containers.Start("c1");
        Assert.Equal("Running", c.State);
        var pid = c.Pid!.Value;

        // The host base of the map, as the container's /proc/1/uid_map shows it.
        Assert.Equal("0 1000000 65536", string.Join(' ', File.ReadAllText($"/proc/{pid}/uid_map").Split(new[] { ' ', '\n' }, StringSplitOptions.RemoveEmptyEntries)));
        Assert.Equal("c1", File.ReadAllText($"/proc/{pid}/root/etc/hostname").Trim());
        // Seen from the host through the container's root, files are owned by the mapped root (container uid 0) ...
        Assert.Equal("1000000", Run("stat", "-c", "%u", $"/proc/{pid}/root/etc/hostname").Trim());
        // ... while on disk they are still owned by 0: nothing was chowned.
        var volume = host.Storage.GetVolume("default", VolumeType.Container, "c1").Path!;
        Assert.Equal("0", Run("stat", "-c", "%u", Path.Join(volume, "etc", "hostname")).Trim());
        // A file created by container root lands on disk owned by 0.
        Run("nsenter", "-t", pid.ToString(), "-U", "-m", "--", "/bin/busybox", "touch", "/root/made-inside");
        Assert.Equal("0:0", Run("stat", "-c", "%u:%g", Path.Join(volume, "root", "made-inside")).Trim());

        c = host.Containers.Stop("c1", force: false, TimeSpan.FromSeconds(20));
        Assert.Equal("Stopped", c.State);
        Assert.Empty(MountsUnder(RuntimePath("c1")));
        Assert.Contains(log.VerboseLines, l => l.Contains("runc") || l.Contains("cps-monitor"));
    }

    [Fact]
    public void Exit_of_the_init_is_reported_and_the_next_start_works()
    {
        host.Containers.Create("c1", "busybox", null, null, false, false);
        var pid = host.Containers.Start("c1").Pid!.Value;
        Process.GetProcessById(pid).Kill();
        var c = host.Containers.Wait("c1", "Stopped", TimeSpan.FromSeconds(20));
        Assert.Equal(137, c.LastExitCode);
        Assert.Empty(MountsUnder(RuntimePath("c1")));
        Assert.Equal("Running", host.Containers.Start("c1").State);
        c = host.Containers.Stop("c1", force: true);
        Assert.Equal("Stopped", c.State);
    }

    [Fact]
    public void A_killed_monitor_is_reported_as_Error_never_Running_and_start_recovers()
    {
        host.Containers.Create("c1", "busybox", null, null, false, false);
        host.Containers.Start("c1");
        var monitor = int.Parse(File.ReadAllText(Path.Join(RuntimePath("c1"), "monitor.pid")).Split(' ')[0]);
        Process.GetProcessById(monitor).Kill();
        Thread.Sleep(200);
        var c = host.Containers.Get("c1");
        Assert.Equal("Error", c.State);
        Assert.Contains("monitor", c.StatusReason);
        Assert.Equal("Running", host.Containers.Start("c1").State);
        host.Containers.Stop("c1", force: true);
    }

    [Fact]
    public void Copies_snapshots_and_restores()
    {
        host.Containers.Create("c1", "busybox", null, null, false, false);
        var volume = host.Storage.GetVolume("default", VolumeType.Container, "c1").Path!;
        File.WriteAllText(Path.Join(volume, "root", "v"), "one");
        host.Snapshots.Create("c1", "s1");
        File.WriteAllText(Path.Join(volume, "root", "v"), "two");
        Assert.Equal("SnapshotExists", Fails(() => host.Snapshots.Create("c1", "s1")).ErrorId);
        Assert.Equal(new[] { "s1" }, host.Snapshots.List("c1").Select(s => s.Name));

        var copy = host.Copies.Copy("c1", "s1", "c2", null);
        var copyVolume = host.Storage.GetVolume("default", VolumeType.Container, "c2").Path!;
        Assert.Equal("one", File.ReadAllText(Path.Join(copyVolume, "root", "v")));
        Assert.Equal("c2", File.ReadAllText(Path.Join(copyVolume, "etc", "hostname")).Trim());
        Assert.Equal("Running", host.Containers.Start("c2").State);

        host.Snapshots.Restore("c1", "s1");
        Assert.Equal("one", File.ReadAllText(Path.Join(volume, "root", "v")));
        host.Snapshots.Remove("c1", "s1");
        Assert.Empty(host.Snapshots.List("c1"));

        var plain = host.Copies.Copy("c1", null, "c3", null);
        Assert.Equal("Stopped", plain.State);
        host.Containers.Stop("c2", force: true);
    }

    [Fact]
    public void A_privileged_container_runs_without_a_user_namespace_and_warns()
    {
        var c = host.Containers.Create("p1", "busybox", null, null, isolated: false, privileged: true);
        Assert.Equal("privileged", c.Idmap);
        c = host.Containers.Start("p1");
        Assert.Equal("Running", c.State);
        Assert.Contains(log.Warnings, w => w.Contains("privileged"));
        Assert.Equal(new FileInfo("/proc/self/ns/user").LinkTarget, new FileInfo($"/proc/{c.Pid}/ns/user").LinkTarget); // the host's
        host.Containers.Stop("p1", force: true);
    }

    [Fact]
    public void Isolated_maps_are_unique_and_released()
    {
        var a = host.Containers.Create("a", "busybox", null, null, isolated: true, privileged: false);
        var b = host.Containers.Create("b", "busybox", null, null, isolated: true, privileged: false);
        Assert.Equal("0 1065536 65536", a.Idmap);
        Assert.Equal("0 1131072 65536", b.Idmap);
        host.Containers.Remove("a", force: false);
        Assert.Equal("0 1065536 65536", host.Containers.Create("c", "busybox", null, null, true, false).Idmap);
        var copy = host.Copies.Copy("b", null, "d", null);
        Assert.Equal("0 1196608 65536", copy.Idmap);
    }

    [Fact]
    public void Remove_leaves_no_mount_runtime_file_volume_or_cgroup()
    {
        host.Containers.Create("c1", "busybox", null, new Dictionary<string, string?> { ["limits.memory"] = "256MiB", ["limits.processes"] = "100" }, false, false);
        var c = host.Containers.Start("c1");
        var cgroup = File.ReadAllLines($"/proc/{c.Pid}/cgroup").Single(l => l.Contains(":memory:")).Split(':', 3)[2];
        var memoryDir = "/sys/fs/cgroup/memory" + cgroup;
        Assert.Equal((256L << 20).ToString(), File.ReadAllText(Path.Join(memoryDir, "memory.limit_in_bytes")).Trim());
        Assert.Equal("ContainerRunning", Fails(() => host.Containers.Remove("c1", force: false)).ErrorId);
        host.Containers.Remove("c1", force: true);
        Assert.False(Directory.Exists(memoryDir));
        Assert.False(Directory.Exists(RuntimePath("c1")));
        Assert.Empty(MountsUnder(root.Path));
        Assert.DoesNotContain(host.State.Volumes(), v => v.Type == VolumeType.Container);
        Assert.Empty(Run("runc", "--root", Path.Join(root.Path, "run", "runc"), "list", "-q").Trim());
    }

    [Fact]
    public void A_failed_start_undoes_everything()
    {
        host.Containers.Create("c1", "busybox", null, null, false, false);
        var volume = host.Storage.GetVolume("default", VolumeType.Container, "c1").Path!;
        File.Delete(Path.Join(volume, "sbin", "init"));
        var e = Fails(() => host.Containers.Start("c1"));
        Assert.Equal("ContainerStartFailed", e.ErrorId);
        Assert.Empty(MountsUnder(root.Path));
        Assert.Empty(Run("runc", "--root", Path.Join(root.Path, "run", "runc"), "list", "-q").Trim());
        Assert.NotEqual("Running", host.Containers.Get("c1").State);
    }

    [Fact]
    public void Bad_input_changes_nothing()
    {
        host.Containers.Create("c1", "busybox", null, null, false, false);
        Assert.Equal("InvalidName", Fails(() => host.Containers.Create("a/b", "busybox", null, null, false, false)).ErrorId);
        Assert.Equal("ContainerExists", Fails(() => host.Containers.Create("c1", "busybox", null, null, false, false)).ErrorId);
        Assert.Equal("ImageNotFound", Fails(() => host.Containers.Create("c2", "no-such-image", null, null, false, false)).ErrorId);
        Assert.Equal("PoolNotFound", Fails(() => host.Containers.Create("c2", "busybox", "nope", null, false, false)).ErrorId);
        Assert.Equal("InvalidConfigKey", Fails(() => host.Containers.Create("c2", "busybox", null, new Dictionary<string, string?> { ["limits.nope"] = "1" }, false, false)).ErrorId);
        Assert.Equal("InvalidConfigValue", Fails(() => host.Containers.Create("c2", "busybox", null, new Dictionary<string, string?> { ["limits.memory"] = "lots" }, false, false)).ErrorId);
        Assert.Equal("ContainerNotFound", Fails(() => host.Containers.Start("c2")).ErrorId);
        Assert.Equal("ContainerNotRunning", Fails(() => host.Containers.Stop("c1", false)).ErrorId);
        host.Containers.Start("c1");
        Assert.Equal("ContainerRunning", Fails(() => host.Containers.Start("c1")).ErrorId);
        Assert.Equal(new[] { "c1" }, host.Containers.List().Select(c => c.Name));
        Assert.Equal(new[] { "c1" }, host.State.Volumes().Where(v => v.Type == VolumeType.Container).Select(v => v.Name));
        host.Containers.Stop("c1", force: true);
    }

    [Fact]
    public void Two_sessions_starting_one_container_do_not_both_start_it()
    {
        host.Containers.Create("c1", "busybox", null, null, false, false);
        var results = new string[2];
        var threads = Enumerable.Range(0, 2).Select(i => new Thread(() =>
        {
            using var h = root.Open();
            try { results[i] = h.Containers.Start("c1").State; }
            catch (ContainerPSException e) { results[i] = e.ErrorId; }
        })).ToList();
        threads.ForEach(t => t.Start());
        threads.ForEach(t => t.Join());
        Assert.Equal(new[] { "ContainerRunning", "Running" }, results.Order());
        host.Containers.Stop("c1", force: true);
    }
}

public sealed class ContainerPoolTests : HostOnTempRoot
{
    private ContainerHost host => Host;

    [Fact]
    public void A_pool_holding_containers_is_not_removed_even_with_Force()
    {
        host.Config.InitializeHost("dir", null, "main");
        var c = host.Containers.Create("c1", "busybox", null, null, false, false);
        Assert.Equal("main", c.Pool);
        var e = Assert.Throws<ContainerPSException>(() => host.Storage.RemovePool("main", force: true));
        Assert.Equal("PoolInUse", e.ErrorId);
        Assert.Contains("c1", e.Message);
        Assert.True(host.Storage.HasVolume("main", VolumeType.Container, "c1"));
        host.Containers.Remove("c1", force: false);
        host.Storage.RemovePool("main", force: true); // only the cached image volume is left: -Force drops it
        Assert.Empty(host.Storage.ListPools());
    }
}
