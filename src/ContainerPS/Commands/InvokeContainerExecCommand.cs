using System.Collections;
using System.Management.Automation;
using System.Runtime.InteropServices;
using System.Text;
using ContainerPS.Engine;
using ContainerPS.Engine.Runtime;

namespace ContainerPS.Commands;

/// <summary>
/// Runs a command in a container, ssh-like: stdout to the pipeline, stderr as errors, $LASTEXITCODE.
/// Two shapes: one named container, with pipeline input as the command's stdin (lines, or bytes
/// for byte arrays); or containers piped in (Get-Container web* | Invoke-ContainerExec -- cmd),
/// where the command runs in each (up to -ThrottleLimit at once) and every output line carries
/// the name of its container.
/// </summary>
[Cmdlet(VerbsLifecycle.Invoke, "ContainerExec", DefaultParameterSetName = "Auto")]
[OutputType(typeof(string), typeof(byte[]), typeof(ExecResult))]
public sealed class InvokeContainerExecCommand : ContainerPSCmdlet
{
    private const int SIGINT = 2, SIGTERM = 15;

    private ExecSession? session;
    private readonly List<PosixSignalRegistration> forwarded = new();
    private System.Diagnostics.Stopwatch clock = new();
    private bool stopping;
    private bool nameFromCommandLine;
    /// <summary>Containers that came down the pipeline: the command runs in each of them.</summary>
    private readonly List<string> fleet = new();
    private readonly List<ExecSession> running = new();
    /// <summary>Piped bytes (a byte array enumerated by the pipeline arrives byte by byte), written in blocks.</summary>
    private readonly MemoryStream pendingBytes = new();

    [Parameter(Mandatory = true, Position = 0, ValueFromPipelineByPropertyName = true)]
    [ArgumentCompleter(typeof(ContainerNameCompleter))]
    public string Name { get; set; } = "";

    /// <summary>
    /// The command and its arguments. Typed as objects so that an argument PowerShell parsed as a list
    /// (ps -o pid,ppid) reaches the command as written ("pid,ppid"). With containers piped in, the
    /// first word after -- is bound to -Name by position; it is taken back as the command's first word.
    /// </summary>
    [Parameter(Position = 1, ValueFromRemainingArguments = true)]
    public object[] Command { get; set; } = Array.Empty<object>();

    private string[] Words => (fleet.Count > 0 && nameFromCommandLine ? new object[] { Name }.Concat(Command) : Command).Select(Word).ToArray();

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

    /// <summary>
    /// Written to the command's stdin, then stdin is closed: a string (or any object) as a line, a
    /// byte array as its bytes (piped byte by byte or given whole with -InputObject). Containers piped
    /// in are not input: the command runs in each of them.
    /// </summary>
    [Parameter(ValueFromPipeline = true)]
    public PSObject? InputObject { get; set; }

    /// <summary>Stdout as one string, unsplit.</summary>
    [Parameter]
    public SwitchParameter Raw { get; set; }

    /// <summary>Stdout as its bytes: byte[] chunks (up to 64 KiB each), for Set-Content -AsByteStream or [IO.File]::WriteAllBytes.</summary>
    [Parameter]
    public SwitchParameter AsByteStream { get; set; }

    /// <summary>
    /// Writes stdout, as its bytes, into this file (created, or overwritten) instead of the pipeline, as
    /// Invoke-WebRequest -OutFile does: the fast way to keep large output (the pipeline hands each chunk
    /// to the next command, and Set-Content -AsByteStream writes byte by byte). One container only.
    /// </summary>
    [Parameter]
    public string? OutFile { get; set; }

    private string? outFilePath;

    /// <summary>With containers piped in: how many run the command at once.</summary>
    [Parameter]
    [ValidateRange(1, 1024)]
    public int ThrottleLimit { get; set; } = 16;

    /// <summary>Also write a ContainerPS.ExecResult with the exit code when the command ends (one per container).</summary>
    [Parameter]
    public SwitchParameter PassThru { get; set; }

    /// <summary>Run as a background job (Stop-Job sends SIGTERM, then kills after a grace period).</summary>
    [Parameter]
    public SwitchParameter AsJob { get; set; }

    private bool UseTerminal =>
        Interactive || (!NonInteractive && !AsJob && !AsByteStream && OutFile is null && !MyInvocation.ExpectingInput
                        && !Console.IsInputRedirected && !Console.IsOutputRedirected && Host.Name == "ConsoleHost");

    private ExecRequest Request(string container, bool interactive)
    {
        var env = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var (k, v) in ConfigFrom(Environment))
            env[k] = v ?? "";
        return new ExecRequest(container, Words, env, WorkingDirectory, User, Group, interactive, Raw, AsByteStream, outFilePath);
    }

    private ExecResult Result(string container, int code, TimeSpan duration) =>
        new() { Container = container, Command = Words, ExitCode = code, Duration = duration };

    protected override void BeginProcessing()
    {
        nameFromCommandLine = MyInvocation.BoundParameters.ContainsKey(nameof(Name));
        if (Raw && AsByteStream)
        {
            ThrowTerminatingError(Record(new ArgumentException("-Raw and -AsByteStream exclude each other: -Raw gives stdout as one string, -AsByteStream as bytes."),
                Errors.InvalidExecOutput, null));
        }
        if (OutFile is not null)
        {
            if (Raw || AsByteStream || Interactive || AsJob)
            {
                ThrowTerminatingError(Record(new ArgumentException("-OutFile writes stdout into a file: not with -Raw, -AsByteStream, -Interactive or -AsJob."),
                    Errors.InvalidExecOutput, OutFile));
            }
            outFilePath = GetUnresolvedProviderPathFromPSPath(OutFile); // relative to the current location, like Out-File
        }
        // With pipeline input the first object decides: containers to run in, or stdin.
        if (!AsJob && !MyInvocation.ExpectingInput)
            StartSingle();
    }

    /// <summary>The one-container shape: the session starts (stdin open for what is piped).</summary>
    private void StartSingle()
    {
        Try(() =>
        {
            session = Engine.Exec.Start(Request(Name, UseTerminal));
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
        inputStarted = true;
    }

    private bool inputStarted;

    /// <summary>A container object (live or deserialized from a remoting session) names a target, not input.</summary>
    private static bool IsContainer(PSObject o) =>
        o.BaseObject is Container || o.TypeNames.Any(t => t is "ContainerPS.Container" or "Deserialized.ContainerPS.Container");

    protected override void ProcessRecord()
    {
        if (InputObject is null)
            return;
        if (!inputStarted && (IsContainer(InputObject) || !nameFromCommandLine))
        {
            // A target: piped containers, or objects whose Name property named one.
            fleet.Add(IsContainer(InputObject) && InputObject.Properties["Name"]?.Value is string n ? n : Name);
            return;
        }
        if (fleet.Count > 0)
        {
            WriteError(Record(new ArgumentException("Pipeline input mixes containers and stdin input."), Errors.InvalidExecInput, InputObject));
            return;
        }
        if (!inputStarted && !AsJob)
            StartSingle();
        var bytes = InputObject.BaseObject switch
        {
            byte b => new[] { b },
            byte[] raw => raw,
            object[] list when list.Length > 0 && list.All(x => (x is PSObject p ? p.BaseObject : x) is byte) => // Get-Content -AsByteStream -ReadCount N
                list.Select(x => (byte)(x is PSObject p ? p.BaseObject : x)).ToArray(),
            _ => null,
        };
        if (bytes is not null)
        {
            pendingBytes.Write(bytes);
            if (pendingBytes.Length >= 1 << 16)
                FlushInput();
            return;
        }
        FlushInput();
        Send(Encoding.UTF8.GetBytes(InputObject.ToString() + "\n"));
    }

    private void FlushInput()
    {
        if (pendingBytes.Length == 0)
            return;
        var bytes = pendingBytes.ToArray();
        pendingBytes.SetLength(0);
        Send(bytes);
    }

    private void Send(byte[] bytes)
    {
        inputStarted = true;
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
        if (fleet.Count > 0)
        {
            if (AsJob)
                foreach (var name in fleet)
                    StartJob(name);
            else
                RunFleet();
            return;
        }
        FlushInput();
        if (AsJob)
        {
            StartJob(Name);
            return;
        }
        if (!inputStarted)
            StartSingle(); // pipeline input was expected and none came
        if (session is null)
            return;
        try { session.CloseInput(); }
        catch (IOException) { }
        Drain(block: true);
        var code = session.WaitForExit();
        FlushHelperLines(code, Name);
        WriteOutputError(session);
        SessionState.PSVariable.Set("global:LASTEXITCODE", code);
        if (PassThru)
            WriteObject(Result(Name, code, clock.Elapsed));
    }

    private void StartJob(string container)
    {
        var request = Request(container, false);
        // The job outlives this command (and its engine): it opens a host of its own.
        var job = new ContainerExecJob($"exec {container}: {string.Join(' ', Words)}", MyInvocation.Line, () =>
        {
            using var host = ContainerHost.Open();
            return host.Exec.Start(request);
        }, Raw, jobInput.ToArray(), PassThru ? (code, duration) => Result(container, code, duration) : null);
        JobRepository.Add(job);
        WriteObject(job);
        job.Start();
    }

    /// <summary>
    /// The command in every piped container, up to -ThrottleLimit at once; output is written as it
    /// comes, each line tagged with its container (a Container note property). $LASTEXITCODE is the
    /// first non-zero exit code, else 0.
    /// </summary>
    private void RunFleet()
    {
        if (outFilePath is not null && fleet.Count > 1)
        {
            WriteError(Record(new ArgumentException("-OutFile takes the output of one container; here came several."), Errors.InvalidExecOutput, OutFile));
            return;
        }
        var pending = new Queue<string>(fleet);
        var active = new List<(string Name, ExecSession Session, System.Diagnostics.Stopwatch Clock, ExecStderr Stderr)>();
        var worst = 0;
        while ((pending.Count > 0 || active.Count > 0) && !stopping)
        {
            while (active.Count < ThrottleLimit && pending.Count > 0)
            {
                var name = pending.Dequeue();
                ExecSession? s = null;
                if (!Try(() => s = Engine.Exec.Start(Request(name, false))))
                {
                    worst = worst == 0 ? 255 : worst;
                    continue;
                }
                try { s!.CloseInput(); }
                catch (IOException) { }
                lock (running)
                    running.Add(s!);
                active.Add((name, s!, System.Diagnostics.Stopwatch.StartNew(), new ExecStderr()));
            }
            var progressed = false;
            var waits = new List<Task<bool>>();
            foreach (var a in active.ToList())
            {
                while (a.Session.Output.TryRead(out var item))
                {
                    Emit(item, a.Name, a.Stderr);
                    progressed = true;
                }
                // More output, or the wait for it; false (or a failed output) once the channel is done and empty.
                var more = a.Session.Output.WaitToReadAsync().AsTask();
                if (!more.IsCompleted || more.IsCompletedSuccessfully && more.Result)
                {
                    waits.Add(more);
                    continue;
                }
                var code = a.Session.WaitForExit();
                WriteOutputError(a.Session);
                FlushHelperLines(code, a.Name, a.Stderr);
                if (code != 0 && worst == 0)
                    worst = code;
                if (PassThru)
                    WriteObject(Result(a.Name, code, a.Clock.Elapsed));
                lock (running)
                    running.Remove(a.Session);
                a.Session.Dispose();
                active.Remove(a);
                progressed = true;
            }
            if (!progressed && waits.Count > 0)
                Task.WaitAny(waits.ToArray(), 200);
        }
        SessionState.PSVariable.Set("global:LASTEXITCODE", worst);
    }

    /// <summary>-OutFile: writing the file failed part way (a full disk).</summary>
    private void WriteOutputError(ExecSession s)
    {
        if (s.OutputError is { } e)
            WriteError(Record(e, Errors.OutFileWriteFailed, outFilePath));
    }

    private readonly StringBuilder rawOutput = new();

    /// <summary>Writes what the command produced so far (or, blocking, until it has exited and its output is drained).</summary>
    private void Drain(bool block)
    {
        var reader = session!.Output;
        while (true)
        {
            while (reader.TryRead(out var item))
                Emit(item, null, stderr);
            if (!block)
                break;
            // WaitToReadAsync answers false once the channel is done and empty: its answer, not
            // Completion, ends the loop (Completion was seen pending for good after the last item, and
            // a loop on it spun at 100 % CPU).
            try
            {
                if (!reader.WaitToReadAsync().AsTask().Result)
                    break;
            }
            catch (AggregateException) { break; }
        }
        if (block && Raw && rawOutput.Length > 0)
            WriteObject(rawOutput.ToString());
    }

    /// <param name="container">Set for a piped container: its lines carry its name.</param>
    private void Emit(ExecOutput item, string? container, ExecStderr held)
    {
        if (item.Stream == ExecStream.Stdout)
        {
            if (item.Bytes is { } bytes)
                WriteObject(bytes);
            else if (Raw && container is null)
                rawOutput.Append(item.Text);
            else if (container is null)
                WriteObject(item.Text);
            else
            {
                var line = new PSObject(item.Text);
                line.Properties.Add(new PSNoteProperty("Container", container));
                WriteObject(line);
            }
        }
        else if (!held.Hold(item.Text)) // a helper line waits for the exit code
        {
            WriteStderr(item.Text, container ?? Name);
        }
    }

    private readonly ExecStderr stderr = new();

    private void WriteStderr(string line, string container) =>
        WriteError(StderrRecord(line, container));

    /// <summary>A line the command wrote to stderr, as an error record (as remoting reports a remote command's).</summary>
    internal static ErrorRecord StderrRecord(string line, string? container) =>
        Record(new RemoteException(line), Errors.ContainerExecStderr, container);

    /// <summary>The held helper lines once the exit code is known: the helper's failure (ExecFailed) or the command's stderr.</summary>
    private void FlushHelperLines(int code, string container, ExecStderr? held = null)
    {
        foreach (var (line, helperFailed) in (held ?? stderr).Release(code))
        {
            if (helperFailed)
                WriteError(ExecFailed(line, container));
            else
                WriteStderr(line, container);
        }
    }

    /// <summary>cps-exec could not run the command in the container (its own error line).</summary>
    internal static ErrorRecord ExecFailed(string line, string? container) =>
        Record(new InvalidOperationException(line), Errors.ExecFailed, container);

    /// <summary>Ctrl+C: SIGINT to the command(s) first; killed only if not exited after a grace period.</summary>
    protected override void StopProcessing()
    {
        if (stopping)
            return;
        stopping = true;
        List<ExecSession> all;
        lock (running)
            all = running.ToList();
        if (session is not null)
            all.Add(session);
        foreach (var s in all)
        {
            s.Signal(SIGINT);
            Task.Run(() =>
            {
                if (!s.WaitForExit(ExecSession.StopGrace))
                    s.Kill();
            });
        }
    }

    protected override void Dispose(bool disposing)
    {
        foreach (var r in forwarded)
            r.Dispose();
        forwarded.Clear();
        session?.Dispose();
        session = null;
        lock (running)
        {
            foreach (var s in running)
                s.Dispose();
            running.Clear();
        }
        base.Dispose(disposing);
    }

    internal const int StopSignal = SIGTERM;
}
