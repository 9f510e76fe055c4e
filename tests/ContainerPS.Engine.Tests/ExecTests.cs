using System.Diagnostics;
using ContainerPS.Engine.Runtime;

namespace ContainerPS.Engine.Tests;

/// <summary>One running busybox container shared by the exec tests of a class.</summary>
public sealed class RunningContainer : HostOnTempRoot
{
    public RunningContainer()
    {
        Host.Containers.Create("x1", "busybox", null, null, false, false);
        InitPid = Host.Containers.Start("x1").Pid!.Value;
    }

    public int InitPid { get; }
}

public sealed class ExecTests : IClassFixture<RunningContainer>
{
    private readonly RunningContainer fixture;

    public ExecTests(RunningContainer fixture) => this.fixture = fixture;

    private ContainerExec Exec => fixture.Host.Exec;

    private (int Code, List<string> Out, List<string> Err) Run(ExecRequest request, string? input = null)
    {
        using var s = Exec.Start(request);
        if (input is not null)
            s.Input.Write(System.Text.Encoding.UTF8.GetBytes(input));
        s.CloseInput();
        var (o, e) = (new List<string>(), new List<string>());
        var code = s.WaitForExit();
        while (s.Output.TryRead(out var item))
            (item.Stream == ExecStream.Stdout ? o : e).Add(item.Text);
        return (code, o, e);
    }

    private (int Code, List<string> Out, List<string> Err) Sh(string script, string? input = null) =>
        Run(new ExecRequest("x1", new[] { "sh", "-c", script }), input);

    [Theory]
    [InlineData("true", 0)]
    [InlineData("exit 1", 1)]
    [InlineData("/tmp", 126)]
    [InlineData("no-such-command-here", 127)]
    [InlineData("kill -HUP $$", 129)]
    [InlineData("kill -KILL $$", 137)]
    [InlineData("kill -TERM $$", 143)]
    public void Exit_codes_follow_shell_rules(string script, int expected)
    {
        var code = script.StartsWith('/') || script.StartsWith("no-such", StringComparison.Ordinal)
            ? Run(new ExecRequest("x1", new[] { script })).Code
            : Sh(script).Code;
        Assert.Equal(expected, code);
    }

    [Fact]
    public void User_group_and_working_directory_apply()
    {
        var r = Run(new ExecRequest("x1", new[] { "sh", "-c", "id -u; id -g; pwd" }, null, "/tmp", 1234, 5678));
        Assert.Equal(new[] { "1234", "5678", "/tmp" }, r.Out);
    }

    [Fact]
    public void Environment_has_Incus_defaults_and_additions()
    {
        var r = Run(new ExecRequest("x1", new[] { "env" }, new Dictionary<string, string> { ["FOO"] = "bar", ["LANG"] = "C" }));
        Assert.Contains("FOO=bar", r.Out);
        Assert.Contains("LANG=C", r.Out);
        Assert.Contains("HOME=/root", r.Out);
        Assert.Contains("USER=root", r.Out);
        Assert.Contains(r.Out, l => l.StartsWith("PATH=/usr/local/sbin:", StringComparison.Ordinal));
        Assert.Equal("/root", Run(new ExecRequest("x1", new[] { "pwd" })).Out.Single());
    }

    [Fact]
    public void Twenty_five_round_trips_through_cat_sequentially_and_concurrently()
    {
        for (var i = 0; i < 25; i++)
            Assert.Equal($"abc{i}", Run(new ExecRequest("x1", new[] { "cat" }), $"abc{i}\n").Out.Single());
        var results = new string[25];
        Parallel.For(0, 25, new ParallelOptions { MaxDegreeOfParallelism = 8 },
            i => results[i] = Run(new ExecRequest("x1", new[] { "cat" }), $"abc{i}\n").Out.Single());
        Assert.Equal(Enumerable.Range(0, 25).Select(i => $"abc{i}"), results);
    }

    [Fact]
    public void Output_is_never_truncated()
    {
        var r = Run(new ExecRequest("x1", new[] { "seq", "1", "200000" }));
        Assert.Equal(0, r.Code);
        Assert.Equal(200000, r.Out.Count);
        Assert.Equal("200000", r.Out[^1]);
    }

    [Fact]
    public void Background_processes_do_not_keep_exec_waiting()
    {
        var clock = Stopwatch.StartNew();
        Assert.Equal(0, Sh("sleep 1000 &").Code);
        var r = Sh("(while true; do echo bg; sleep 0.1; done) & yes > /dev/null & echo fg");
        Assert.Equal(0, r.Code);
        Assert.Contains("fg", r.Out);
        Assert.True(clock.Elapsed < TimeSpan.FromSeconds(10), $"took {clock.Elapsed}");
        Sh("kill $(pidof yes) $(pidof sleep) 2>/dev/null; true");
    }

    [Fact]
    public void Stderr_is_kept_apart()
    {
        var r = Sh("echo out; echo err >&2; exit 4");
        Assert.Equal(4, r.Code);
        Assert.Equal(new[] { "out" }, r.Out);
        Assert.Equal(new[] { "err" }, r.Err);
    }

    [Fact]
    public async Task SIGINT_reaches_the_command()
    {
        using var s = Exec.Start(new ExecRequest("x1", new[] { "sh", "-c", "trap 'echo got INT; exit 3' INT; echo ready; sleep 100 & wait" }));
        s.CloseInput();
        Assert.Equal("ready", (await s.Output.ReadAsync().AsTask().WaitAsync(TimeSpan.FromSeconds(10))).Text);
        s.Signal(2);
        Assert.Equal(3, s.WaitForExit());
        var rest = new List<string>();
        while (s.Output.TryRead(out var item))
            rest.Add(item.Text);
        Assert.Contains("got INT", rest);
    }

    [Fact]
    public void Exec_runs_inside_the_container_namespaces_cgroup_and_seccomp_as_a_child_of_its_init()
    {
        var hostPidNs = new FileInfo("/proc/self/ns/pid").LinkTarget;
        var initCgroup = File.ReadAllLines($"/proc/{fixture.InitPid}/cgroup").Single(l => l.Contains(":memory:"));
        var r = Sh("readlink /proc/self/ns/pid; grep Seccomp: /proc/self/status; grep PPid: /proc/$PPID/status; ps -o args | grep -c [d]otnet; cat /proc/self/cgroup | grep :memory:");
        Assert.NotEqual(hostPidNs, r.Out[0]);
        Assert.Equal($"pid:[{new FileInfo($"/proc/{fixture.InitPid}/ns/pid").LinkTarget!.Split('[')[1]}", r.Out[0]);
        Assert.Matches(@"^Seccomp:\s+2$", r.Out[1]);
        Assert.Matches(@"^PPid:\s+1$", r.Out[2]); // the shim was reparented to the container's init
        Assert.Equal("0", r.Out[3]); // the host's processes (this test host) are not visible
        Assert.EndsWith(":/", r.Out[4]); // cgroup namespace root = the container's cgroup
        Assert.NotNull(initCgroup);
    }

    [Fact]
    public void Bad_requests_run_nothing()
    {
        Assert.Equal("EmptyCommand", Assert.Throws<ContainerPSException>(() => Exec.Start(new ExecRequest("x1", Array.Empty<string>()))).ErrorId);
        Assert.Equal("ContainerNotFound", Assert.Throws<ContainerPSException>(() => Exec.Start(new ExecRequest("nope", new[] { "true" }))).ErrorId);
        Assert.Equal("InvalidName", Assert.Throws<ContainerPSException>(() => Exec.Start(new ExecRequest("a/b", new[] { "true" }))).ErrorId);
    }
}

public sealed class ExecStopTests : HostOnTempRoot
{
    private ContainerHost host => Host;

    [Fact]
    public void An_exec_in_a_container_that_is_force_stopped_reports_137_and_a_stopped_container_refuses_exec()
    {
        host.Containers.Create("x2", "busybox", null, null, false, false);
        host.Containers.Start("x2");
        using var s = host.Exec.Start(new ExecRequest("x2", new[] { "sleep", "100" }));
        s.CloseInput();
        Thread.Sleep(300);
        host.Containers.Stop("x2", force: true);
        Assert.Equal(137, s.WaitForExit());
        var e = Assert.Throws<ContainerPSException>(() => host.Exec.Start(new ExecRequest("x2", new[] { "true" })));
        Assert.Equal("ContainerNotRunning", e.ErrorId);
    }
}
