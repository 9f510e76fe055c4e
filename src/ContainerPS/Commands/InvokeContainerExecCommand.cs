using System.Collections;
using System.Management.Automation;
using System.Runtime.InteropServices;
using System.Text;
using ContainerPS.Engine;
using ContainerPS.Engine.Runtime;

namespace ContainerPS.Commands;

[Cmdlet(VerbsLifecycle.Invoke, "ContainerExec", DefaultParameterSetName = "Auto")]
[OutputType(typeof(string), typeof(ExecResult))]
public sealed class InvokeContainerExecCommand : ContainerPSCmdlet
{
    private const int SIGINT = 2, SIGTERM = 15;
    private static readonly TimeSpan Grace = TimeSpan.FromSeconds(5);

    private ExecSession? session;
    private readonly List<PosixSignalRegistration> forwarded = new();
    private System.Diagnostics.Stopwatch clock = new();
    private bool stopping;

    [Parameter(Mandatory = true, Position = 0, ValueFromPipelineByPropertyName = true)]
    [ArgumentCompleter(typeof(ContainerNameCompleter))]
    public string Name { get; set; } = "";

    /// <summary>
    /// The command and its arguments. Typed as objects so that an argument PowerShell parsed as a list
    /// (ps -o pid,ppid) reaches the command as written ("pid,ppid").
    /// </summary>
    [Parameter(Mandatory = true, Position = 1, ValueFromRemainingArguments = true)]
    public object[] Command { get; set; } = Array.Empty<object>();

    private string[] Words => Command.Select(Word).ToArray();

    private static string Word(object? o) => (o is PSObject p ? p.BaseObject : o) switch
    {
        null => "",
        string s => s,
        System.Collections.IEnumerable list => string.Join(",", list.Cast<object?>().Select(Word)),
        IFormattable f => f.ToString(null, System.Globalization.CultureInfo.InvariantCulture),
        var x => x.ToString() ?? "",
    };

    [Parameter]
    public Hashtable? Environment { get; set; }

    [Parameter]
    public string? WorkingDirectory { get; set; }

    [Parameter]
    [ValidateRange(0, int.MaxValue)]
    public int User { get; set; }

    [Parameter]
    [ValidateRange(0, int.MaxValue)]
    public int Group { get; set; }

    [Parameter(ParameterSetName = "Interactive")]
    public SwitchParameter Interactive { get; set; }

    [Parameter(ParameterSetName = "NonInteractive")]
    public SwitchParameter NonInteractive { get; set; }

    /// <summary>Written to the command's stdin (one line per object; byte arrays as they are), then stdin is closed.</summary>
    [Parameter(ValueFromPipeline = true)]
    public PSObject? InputObject { get; set; }

    /// <summary>Stdout as one string, unsplit.</summary>
    [Parameter]
    public SwitchParameter Raw { get; set; }

    /// <summary>Also write a ContainerPS.ExecResult with the exit code when the command ends.</summary>
    [Parameter]
    public SwitchParameter PassThru { get; set; }

    /// <summary>Run as a background job (Stop-Job sends SIGTERM, then kills after a grace period).</summary>
    [Parameter]
    public SwitchParameter AsJob { get; set; }

    private bool UseTerminal =>
        Interactive || (!NonInteractive && !AsJob && !MyInvocation.ExpectingInput
                        && !Console.IsInputRedirected && !Console.IsOutputRedirected && Host.Name == "ConsoleHost");

    private ExecRequest Request(bool interactive)
    {
        var env = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var (k, v) in ConfigFrom(Environment))
            env[k] = v ?? "";
        return new ExecRequest(Name, Words, env, WorkingDirectory, User, Group, interactive, Raw);
    }

    protected override void BeginProcessing()
    {
        if (AsJob)
            return; // started in EndProcessing, once its pipeline input is collected
        Try(() =>
        {
            session = Engine.Containers.Exec(Request(UseTerminal));
            clock = System.Diagnostics.Stopwatch.StartNew();
            // Signals sent to pwsh while the command runs reach the command too.
            foreach (var sig in new[] { PosixSignal.SIGTERM, PosixSignal.SIGHUP, (PosixSignal)10 /* SIGUSR1 */, (PosixSignal)12 /* SIGUSR2 */ })
            {
                var number = sig switch { PosixSignal.SIGTERM => 15, PosixSignal.SIGHUP => 1, _ => (int)sig };
                forwarded.Add(PosixSignalRegistration.Create(sig, ctx =>
                {
                    ctx.Cancel = true;
                    session?.Signal(number);
                }));
            }
        });
    }

    protected override void ProcessRecord()
    {
        if (InputObject is null)
            return;
        var bytes = InputObject.BaseObject is byte[] raw ? raw : Encoding.UTF8.GetBytes(InputObject.ToString() + "\n");
        if (AsJob)
        {
            jobInput.Write(bytes);
            return;
        }
        if (session is null || session.Interactive)
            return;
        try
        {
            session.Input.Write(bytes);
            session.Input.Flush();
        }
        catch (IOException) { /* the command closed its stdin or exited: the rest of the input is dropped */ }
        Drain(block: false);
    }

    private readonly MemoryStream jobInput = new();

    protected override void EndProcessing()
    {
        if (AsJob)
        {
            var request = Request(false);
            // The job outlives this command (and its engine): it opens a host of its own.
            var job = new ContainerExecJob($"exec {Name}: {string.Join(' ', Words)}", MyInvocation.Line, () =>
            {
                using var host = ContainerHost.Open();
                return host.Containers.Exec(request);
            }, Raw, jobInput.ToArray());
            JobRepository.Add(job);
            WriteObject(job);
            job.Start();
            return;
        }
        if (session is null)
            return;
        try { session.CloseInput(); }
        catch (IOException) { }
        Drain(block: true);
        var code = session.WaitForExit();
        FlushHelperLines(code);
        SessionState.PSVariable.Set("global:LASTEXITCODE", code);
        if (PassThru)
            WriteObject(new ExecResult { Container = Name, Command = Words, ExitCode = code, Duration = clock.Elapsed });
    }

    private readonly StringBuilder rawOutput = new();

    /// <summary>Writes what the command produced so far (or, blocking, until it has exited and its output is drained).</summary>
    private void Drain(bool block)
    {
        var reader = session!.Output;
        while (true)
        {
            while (reader.TryRead(out var item))
                Emit(item);
            if (!block || reader.Completion.IsCompleted)
                break;
            try { reader.WaitToReadAsync().AsTask().Wait(); }
            catch (AggregateException) { break; }
        }
        if (block && Raw && rawOutput.Length > 0)
            WriteObject(rawOutput.ToString());
    }

    private void Emit(ExecOutput item)
    {
        if (item.Stream == ExecStream.Stdout)
        {
            if (Raw)
                rawOutput.Append(item.Text);
            else
                WriteObject(item.Text);
        }
        else if (item.Text.StartsWith("cps-exec: ", StringComparison.Ordinal))
        {
            // Maybe the helper's own setup error (then it exits 255), maybe the command's output:
            // decided when the exit code is known.
            helperLines.Add(item.Text);
        }
        else
        {
            WriteStderr(item.Text);
        }
    }

    private readonly List<string> helperLines = new();

    private void WriteStderr(string line) =>
        WriteError(new ErrorRecord(new RemoteException(line), "ContainerExecStderr", ErrorCategory.NotSpecified, Name));

    /// <summary>Exit code 255 with a 'cps-exec: ' line is the helper failing to enter the container.</summary>
    private void FlushHelperLines(int code)
    {
        foreach (var line in helperLines)
        {
            if (code == 255)
                WriteError(new ErrorRecord(new InvalidOperationException(line), "ExecFailed", ErrorCategory.OperationStopped, Name));
            else
                WriteStderr(line);
        }
        helperLines.Clear();
    }

    /// <summary>Ctrl+C: SIGINT to the command first; killed only if it has not exited after a grace period.</summary>
    protected override void StopProcessing()
    {
        if (session is null || stopping)
            return;
        stopping = true;
        session.Signal(SIGINT);
        var s = session;
        Task.Run(() =>
        {
            if (!s.WaitForExit(Grace))
                s.Kill();
        });
    }

    protected override void Dispose(bool disposing)
    {
        foreach (var r in forwarded)
            r.Dispose();
        forwarded.Clear();
        session?.Dispose();
        session = null;
        base.Dispose(disposing);
    }

    internal const int StopSignal = SIGTERM;
}
