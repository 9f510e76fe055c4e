using System.Management.Automation;
using System.Text;
using ContainerPS.Engine.Runtime;

namespace ContainerPS.Commands;

/// <summary>
/// Invoke-ContainerExec -AsJob: the exec runs on a thread of its own; stdout lines go to the job's
/// output, stderr lines to its errors; the pipeline input collected by the cmdlet is its stdin.
/// Stop-Job sends SIGTERM, then kills after a grace period, and returns once the job has ended.
/// </summary>
public sealed class ContainerExecJob : Job
{
    private readonly Func<ExecSession> start;
    private readonly bool raw;
    private readonly byte[] input;
    private readonly Func<int, TimeSpan, object>? passThru;
    private readonly object gate = new();
    private readonly ManualResetEventSlim finished = new();
    private ExecSession? session;
    private bool stopping;

    /// <param name="passThru">Makes the job's last output (an ExecResult) from the exit code and the duration, with -PassThru.</param>
    public ContainerExecJob(string name, string command, Func<ExecSession> start, bool raw, byte[] input, Func<int, TimeSpan, object>? passThru = null) : base(command, name)
    {
        this.passThru = passThru;
        this.start = start;
        this.raw = raw;
        this.input = input;
        PSJobTypeName = "ContainerExecJob";
    }

    /// <summary>The command's exit code once the job has finished.</summary>
    public int? ExitCode { get; private set; }

    public override bool HasMoreData => Output.Count > 0 || Error.Count > 0;
    public override string Location => "localhost";
    public override string StatusMessage => ExitCode is int c ? $"exit {c}" : "";

    internal void Start()
    {
        SetJobState(JobState.Running);
        new Thread(Run) { IsBackground = true, Name = Name }.Start();
    }

    private void Run()
    {
        try
        {
            var clock = System.Diagnostics.Stopwatch.StartNew();
            var s = start();
            lock (gate)
            {
                session = s;
                if (stopping)
                    s.Signal(InvokeContainerExecCommand.StopSignal);
            }
            using (s)
            {
                try
                {
                    if (input.Length > 0)
                        s.Input.Write(input);
                    s.CloseInput();
                }
                catch (IOException) { /* the command does not read its stdin */ }
                var text = new StringBuilder();
                var held = new ExecStderr();
                var reader = s.Output;
                while (reader.WaitToReadAsync().AsTask().GetAwaiter().GetResult())
                {
                    while (reader.TryRead(out var item))
                    {
                        if (item.Stream == ExecStream.Stderr)
                        {
                            if (!held.Hold(item.Text)) // a helper line waits for the exit code
                                Error.Add(InvokeContainerExecCommand.StderrRecord(item.Text, null));
                        }
                        else if (item.Bytes is { } bytes)
                            Output.Add(PSObject.AsPSObject(bytes));
                        else if (raw)
                            text.Append(item.Text);
                        else
                            Output.Add(PSObject.AsPSObject(item.Text));
                    }
                }
                if (raw)
                    Output.Add(PSObject.AsPSObject(text.ToString()));
                ExitCode = s.WaitForExit();
                foreach (var (line, helperFailed) in held.Release(ExitCode.Value))
                    Error.Add(helperFailed ? InvokeContainerExecCommand.ExecFailed(line, null) : InvokeContainerExecCommand.StderrRecord(line, null));
                if (passThru is not null)
                    Output.Add(PSObject.AsPSObject(passThru(ExitCode.Value, clock.Elapsed)));
            }
            SetJobState(stopping ? JobState.Stopped : ExitCode == 0 ? JobState.Completed : JobState.Failed);
        }
        catch (Exception e)
        {
            Error.Add(ContainerPSCmdlet.Record(e, e is Engine.ContainerPSException ce ? ce.Code : Engine.Errors.ExecFailed, null));
            SetJobState(stopping ? JobState.Stopped : JobState.Failed);
        }
        finally
        {
            finished.Set();
        }
    }

    public override void StopJob()
    {
        ExecSession? s;
        lock (gate)
        {
            stopping = true;
            s = session;
        }
        s?.Signal(InvokeContainerExecCommand.StopSignal);
        if (!finished.Wait(ExecSession.StopGrace))
        {
            lock (gate)
                session?.Kill();
            finished.Wait(ExecSession.StopGrace);
        }
    }

    protected override void Dispose(bool disposing)
    {
        if (disposing)
            finished.Dispose();
        base.Dispose(disposing);
    }
}
