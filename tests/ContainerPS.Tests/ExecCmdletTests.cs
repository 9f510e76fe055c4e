using System.Diagnostics;
using System.Management.Automation;

namespace ContainerPS.Tests;

/// <summary>A hosted runspace (root mode 0711) with one running busybox container 'c', shared by a test class.</summary>
public sealed class ExecContainerFixture : IDisposable
{
    public ExecContainerFixture()
    {
        Ps = new HostedPowerShell(HostedPowerShell.TraversableRoot);
        try { Ps.Ok("$null = New-Container -Name c -Image busybox -Start"); }
        catch
        {
            Dispose();
            throw;
        }
    }

    public HostedPowerShell Ps { get; }

    public void Dispose()
    {
        try { Ps.Run("Get-Container | Remove-Container -Force -Confirm:$false -WarningAction SilentlyContinue"); }
        finally { Ps.Dispose(); }
    }
}

public sealed class ExecCmdletTests : IClassFixture<ExecContainerFixture>
{
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(30);
    private readonly HostedPowerShell ps;

    public ExecCmdletTests(ExecContainerFixture fixture) => ps = fixture.Ps;

    /// <summary>
    /// Starts Script on its own pipeline and waits until it has written the line 'ready'. The
    /// pipeline's output is in Output, with the time each object arrived in Times.
    /// </summary>
    private sealed class Running : IDisposable
    {
        public readonly PowerShell Shell;
        public readonly PSDataCollection<PSObject> Output = new();
        public readonly List<DateTime> Times = new();
        public readonly IAsyncResult Result;
        private readonly ManualResetEventSlim ready = new();

        public Running(HostedPowerShell host, string script)
        {
            Shell = host.Create();
            Shell.AddScript(script);
            Output.DataAdded += (_, e) =>
            {
                lock (Times)
                    Times.Add(DateTime.UtcNow);
                if (Output[e.Index]?.ToString() == "ready")
                    ready.Set();
            };
            Result = Shell.BeginInvoke<PSObject, PSObject>(null, Output);
        }

        public void WaitReady()
        {
            if (!ready.Wait(Timeout))
                Assert.Fail($"No 'ready' within {Timeout.TotalSeconds} s; state {Shell.InvocationStateInfo.State}, " +
                            $"output [{string.Join(", ", Output)}], errors [{string.Join(", ", Shell.Streams.Error)}]");
        }

        /// <summary>Ends the pipeline; what EndInvoke threw (PipelineStoppedException after a Stop), or null.</summary>
        public Exception? End()
        {
            try
            {
                Shell.EndInvoke(Result);
                return null;
            }
            catch (Exception e) { return e; }
        }

        public void Dispose()
        {
            if (Shell.InvocationStateInfo.State == PSInvocationState.Running)
                Shell.Stop();
            Shell.Dispose();
            Output.Dispose();
            ready.Dispose();
        }
    }

    private string[] Processes() =>
        ps.Ok("Invoke-ContainerExec c -- ps -o args").Select(o => o.ToString()).Skip(1).ToArray();

    [Fact]
    public void Ctrl_C_sends_SIGINT_to_the_command()
    {
        ps.Ok("Invoke-ContainerExec c -- rm -f /tmp/got-int");
        using var run = new Running(ps, "Invoke-ContainerExec c -- sh -c 'trap \"touch /tmp/got-int; echo got INT; exit 3\" INT; echo ready; sleep 100 & wait'");
        run.WaitReady();

        var clock = Stopwatch.StartNew();
        run.Shell.Stop(); // what Ctrl+C does: StopProcessing
        clock.Stop();

        Assert.Equal(PSInvocationState.Stopped, run.Shell.InvocationStateInfo.State);
        Assert.IsType<PipelineStoppedException>(run.End());
        // The command exited on SIGINT: no kill after the 5 s grace period was needed.
        Assert.True(clock.Elapsed < TimeSpan.FromSeconds(4), $"Stop took {clock.Elapsed}");
        var marker = ps.Ok("Invoke-ContainerExec c -- test -f /tmp/got-int; $LASTEXITCODE");
        Assert.Equal(0, marker.Single().BaseObject);
        // The shell is gone (its background sleep ignores SIGINT, as in any non-interactive sh, and stays).
        Assert.DoesNotContain(Processes(), p => p.Contains("got-int", StringComparison.Ordinal));
    }

    [Fact]
    public void Ctrl_C_kills_a_command_that_ignores_SIGINT_after_the_grace_period()
    {
        using var run = new Running(ps, "Invoke-ContainerExec c -- sh -c 'trap \"\" INT; echo ready; exec sleep 1235'");
        run.WaitReady();

        var clock = Stopwatch.StartNew();
        run.Shell.Stop();
        clock.Stop();

        Assert.Equal(PSInvocationState.Stopped, run.Shell.InvocationStateInfo.State);
        Assert.True(clock.Elapsed > TimeSpan.FromSeconds(4) && clock.Elapsed < TimeSpan.FromSeconds(10), $"Stop took {clock.Elapsed}");
        var deadline = DateTime.UtcNow.AddSeconds(5);
        while (Processes().Contains("sleep 1235") && DateTime.UtcNow < deadline)
            Thread.Sleep(100);
        Assert.DoesNotContain("sleep 1235", Processes());
    }

    [Fact]
    public void Output_lines_stream_into_the_pipeline_while_the_command_runs()
    {
        using var run = new Running(ps, "Invoke-ContainerExec c -- sh -c 'echo ready; sleep 2; echo b'");
        run.WaitReady();
        Assert.Null(run.End());
        Assert.Equal(new[] { "ready", "b" }, run.Output.Select(o => o.ToString()));
        Assert.True(run.Times[1] - run.Times[0] >= TimeSpan.FromSeconds(1.5), $"the lines came {run.Times[1] - run.Times[0]} apart");
    }

    [Theory]
    [InlineData("true", 0)]
    [InlineData("false", 1)]
    [InlineData("sh -c 'exit 42'", 42)]
    [InlineData("/tmp", 126)]
    [InlineData("no-such-command-here", 127)]
    [InlineData("sh -c 'kill -HUP $$'", 129)]
    [InlineData("sh -c 'kill -KILL $$'", 137)]
    [InlineData("sh -c 'kill -TERM $$'", 143)]
    public void Exit_codes_are_in_LASTEXITCODE_and_on_PassThru(string command, int expected)
    {
        var (output, _, _) = ps.Run($"$global:LASTEXITCODE = -1; Invoke-ContainerExec c -ErrorAction SilentlyContinue -- {command}; $LASTEXITCODE");
        Assert.Equal(expected, output.Single().BaseObject);

        var (results, _, _) = ps.Run($"Invoke-ContainerExec c -PassThru -ErrorAction SilentlyContinue -- {command}");
        var r = results.Single();
        Assert.Equal("ContainerPS.ExecResult", r.TypeNames[0]);
        Assert.Equal(expected, r.Properties["ExitCode"].Value);
        Assert.Equal("c", r.Properties["Container"].Value);
        Assert.IsType<TimeSpan>(r.Properties["Duration"].Value);
    }

    [Fact]
    public void Stderr_lines_are_non_terminating_ContainerExecStderr_errors()
    {
        var (output, errors, _) = ps.Run("Invoke-ContainerExec c -- sh -c 'echo out1; echo err1 >&2; echo out2; echo err2 >&2; exit 5'; \"after $LASTEXITCODE\"");
        Assert.Equal(new[] { "out1", "out2", "after 5" }, output.Select(o => o.ToString()));
        Assert.Equal(2, errors.Count);
        Assert.All(errors, e => Assert.StartsWith("ContainerExecStderr", e.FullyQualifiedErrorId, StringComparison.Ordinal));
        Assert.Equal(new[] { "err1", "err2" }, errors.Select(e => e.Exception.Message));

        var (quiet, none, _) = ps.Run("Invoke-ContainerExec c -ErrorAction SilentlyContinue -- sh -c 'echo err >&2; echo ok'");
        Assert.Equal("ok", quiet.Single().ToString());
        Assert.Empty(none);
    }

    [Fact]
    public void Errors_for_a_missing_container_and_an_empty_command()
    {
        var (_, notFound, _) = ps.Run("Invoke-ContainerExec nosuch -- true");
        Assert.StartsWith("ContainerNotFound,", Assert.Single(notFound).FullyQualifiedErrorId, StringComparison.Ordinal);
        var (_, empty, _) = ps.Run("Invoke-ContainerExec c ''");
        Assert.StartsWith("EmptyCommand,", Assert.Single(empty).FullyQualifiedErrorId, StringComparison.Ordinal);
    }
}
