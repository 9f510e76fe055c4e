using System.Text;
using CliWrap;
using CliWrap.Buffered;

namespace ContainerPS.Engine.Platform;

/// <summary>
/// The one way the engine runs an external program (CliWrap): logs the command line, applies a
/// timeout, and turns a non-zero exit into a <see cref="ContainerPSException"/> carrying stderr;
/// pipes between programs and streams out of them go through CliWrap's pipes too. Three processes
/// are started with Process, for reasons of their own: <see cref="Helper"/> (killed by pid the
/// moment it has served), cps-monitor (its daemon keeps the pipes the engine reads its first status
/// line from) and cps-exec (its stdio is the exec session's, relayed as it comes).
/// </summary>
public sealed class ExternalTool
{
    private readonly IEngineLog log;

    public ExternalTool(IEngineLog log) => this.log = log;

    /// <summary>Where the tool's users (drivers) send their diagnostics too.</summary>
    public IEngineLog Log => log;

    public static readonly TimeSpan DefaultTimeout = TimeSpan.FromMinutes(10);

    public string Run(string program, IEnumerable<string> arguments, TimeSpan? timeout = null, CancellationToken cancel = default)
    {
        var args = arguments.ToArray();
        var result = Execute(program, args, null, null, timeout, cancel);
        if (result.ExitCode != 0)
            throw Failed(CommandLine(program, args), program, result.ExitCode, result.StandardError, result.StandardOutput);
        return result.StandardOutput;
    }

    /// <summary>
    /// <see cref="Run"/> for long programs that show progress: each line the program writes (stdout
    /// or stderr) goes to <paramref name="onLine"/> (true: a progress line, left out of the output and of an error message), and <paramref name="tick"/> runs about twice a
    /// second, both on the calling thread (where the cmdlet may write progress) while it runs.
    /// </summary>
    public string RunWatched(string program, IReadOnlyList<string> args, Func<string, bool>? onLine, Action? tick, TimeSpan? timeout = null)
    {
        var line = CommandLine(program, args);
        log.Verbose("run: " + line);
        using var lines = new System.Collections.Concurrent.BlockingCollection<string>();
        var stdout = new StringBuilder();
        var stderr = new StringBuilder();
        var command = Cli.Wrap(program).WithArguments(args).WithValidation(CommandResultValidation.None)
            .WithStandardOutputPipe(PipeTarget.ToDelegate(l => lines.Add("1" + l)))
            .WithStandardErrorPipe(PipeTarget.ToDelegate(l => lines.Add("2" + l)));
        var result = Await(cancel => command.ExecuteAsync(cancel).Task, line, program, timeout, default, () =>
        {
            while (!lines.IsCompleted)
            {
                if (lines.TryTake(out var l, 500))
                {
                    if (onLine?.Invoke(l[1..]) == true)
                        continue;
                    (l[0] == '1' ? stdout : stderr).AppendLine(l[1..]);
                }
                else
                    tick?.Invoke();
            }
        }, lines.CompleteAdding);
        if (result.ExitCode != 0)
            throw Failed(line, program, result.ExitCode, stderr.ToString(), stdout.ToString());
        return stdout.ToString();
    }

    /// <summary>
    /// Runs <c>first | second</c> (send | receive, zstd -dc | receive: CliWrap pipes the one's stdout
    /// into the other's stdin, each argv passed as it is) and throws ToolFailed with both programs'
    /// stderr when either fails.
    /// </summary>
    public void RunPipe(IReadOnlyList<string> first, IReadOnlyList<string> second, TimeSpan? timeout = null)
    {
        var line = $"{CommandLine(first[0], first.Skip(1))} | {CommandLine(second[0], second.Skip(1))}";
        log.Verbose("run: " + line);
        var firstErr = new StringBuilder();
        var secondErr = new StringBuilder();
        // The first keeps CliWrap's validation: its failure fails the pipe (as bash's pipefail would).
        var source = Cli.Wrap(first[0]).WithArguments(first.Skip(1)).WithStandardErrorPipe(PipeTarget.ToStringBuilder(firstErr));
        var sink = Cli.Wrap(second[0]).WithArguments(second.Skip(1)).WithValidation(CommandResultValidation.None)
            .WithStandardErrorPipe(PipeTarget.ToStringBuilder(secondErr));
        int exitCode;
        try { exitCode = Await(cancel => (source | sink).ExecuteAsync(cancel).Task, line, first[0], timeout).ExitCode; }
        catch (CliWrap.Exceptions.CommandExecutionException e) { exitCode = e.ExitCode; }
        if (exitCode != 0)
            throw Failed(line, first[0], exitCode, secondErr + " " + firstErr, "");
    }

    /// <summary>
    /// Runs <paramref name="command"/> (a CliWrap command, pipes included) and hands its stdout to
    /// <paramref name="consume"/> in chunks of up to <paramref name="chunkSize"/> bytes as they come
    /// (a move streams an archive to the other host), on the calling thread (where a cmdlet may write
    /// progress); at most two chunks wait, so a slow consumer slows the program. A non-zero exit
    /// throws ToolFailed with stderr; when <paramref name="consume"/> throws, the program is killed
    /// and that exception goes on.
    /// </summary>
    public void RunInto(Command command, string line, int chunkSize, Action<ReadOnlyMemory<byte>> consume, TimeSpan? timeout = null)
    {
        log.Verbose("run: " + line);
        var program = command.TargetFilePath;
        var stderr = new StringBuilder();
        using var chunks = new System.Collections.Concurrent.BlockingCollection<(byte[] Buffer, int Count)>(boundedCapacity: 2);
        using var stop = new CancellationTokenSource();
        var target = PipeTarget.Create(async (stream, cancel) =>
        {
            try
            {
                while (true)
                {
                    var buffer = System.Buffers.ArrayPool<byte>.Shared.Rent(chunkSize);
                    var n = await stream.ReadAtLeastAsync(buffer.AsMemory(0, chunkSize), chunkSize, throwOnEndOfStream: false, cancel);
                    if (n == 0)
                    {
                        System.Buffers.ArrayPool<byte>.Shared.Return(buffer);
                        break;
                    }
                    chunks.Add((buffer, n), cancel);
                }
            }
            finally { chunks.CompleteAdding(); }
        });
        var run = command.WithValidation(CommandResultValidation.None).WithStandardOutputPipe(target).WithStandardErrorPipe(PipeTarget.ToStringBuilder(stderr));
        Task<CommandResult>? started = null;
        var result = Await(cancel => started = run.ExecuteAsync(cancel).Task, line, program, timeout, stop.Token, () =>
        {
            try
            {
                foreach (var (buffer, n) in chunks.GetConsumingEnumerable())
                {
                    try { consume(buffer.AsMemory(0, n)); }
                    finally { System.Buffers.ArrayPool<byte>.Shared.Return(buffer); }
                }
            }
            catch
            {
                stop.Cancel(); // kills the program, which may be blocked writing to a pipe nobody reads now
                try { started?.Wait(); }
                catch (AggregateException) { }
                throw;
            }
        });
        if (result.ExitCode != 0)
            throw Failed(line, program, result.ExitCode, stderr.ToString(), "");
    }

    /// <summary>
    /// A helper program that runs until disposed (it is killed then), for what needs a live process of
    /// its own: a user namespace held open by <c>unshare --user sleep</c>. Its pid is known at once.
    /// (A plain Process: CliWrap's cancellation kills the whole process tree, which scans /proc, and
    /// this runs for every idmapped mount, so twice per container start.)
    /// </summary>
    public sealed class Helper : IDisposable
    {
        private readonly System.Diagnostics.Process process;

        public Helper(string program, IReadOnlyList<string> args)
        {
            var psi = new System.Diagnostics.ProcessStartInfo(program) { RedirectStandardInput = true, RedirectStandardOutput = true, RedirectStandardError = true };
            foreach (var a in args)
                psi.ArgumentList.Add(a);
            try { process = System.Diagnostics.Process.Start(psi) ?? throw new System.ComponentModel.Win32Exception("not started"); }
            catch (System.ComponentModel.Win32Exception e) { throw Missing(program, e); }
        }

        public int ProcessId => process.Id;
        public bool HasExited => process.HasExited;

        /// <summary>What it wrote to stderr, once it has exited.</summary>
        public string StandardError => HasExited ? process.StandardError.ReadToEnd() : "";

        public void Dispose()
        {
            try { process.Kill(); }
            catch (InvalidOperationException) { } // it has exited
            process.WaitForExit();
            process.Dispose();
        }
    }

    /// <summary>
    /// Runs a program with optional standard input and extra environment variables and returns its exit
    /// code and output whatever they are (for protocols that answer errors on stdout, such as CNI).
    /// </summary>
    public BufferedCommandResult Execute(string program, IReadOnlyList<string> args, string? stdin, IReadOnlyDictionary<string, string?>? environment,
        TimeSpan? timeout = null, CancellationToken cancel = default)
    {
        var line = CommandLine(program, args);
        log.Verbose("run: " + (environment is null ? "" : string.Join(' ', environment.Where(e => e.Key.StartsWith("CNI_", StringComparison.Ordinal)).Select(e => $"{e.Key}={Quote(e.Value ?? "")}")) + " ") + line);
        var command = Cli.Wrap(program).WithArguments(args).WithValidation(CommandResultValidation.None);
        if (stdin is not null)
            command = command.WithStandardInputPipe(PipeSource.FromString(stdin, Encoding.UTF8));
        if (environment is not null)
            command = command.WithEnvironmentVariables(environment);
        return Await(c => command.ExecuteBufferedAsync(Encoding.UTF8, Encoding.UTF8, c).Task, line, program, timeout, cancel);
    }

    /// <summary>
    /// Starts a command and waits for it (doing <paramref name="whileRunning"/> on this thread
    /// meanwhile, <paramref name="ended"/> once it has ended): a timeout becomes ToolTimedOut, a
    /// program that cannot be started ToolMissing; the caller's own cancellation goes on as it is.
    /// </summary>
    private static T Await<T>(Func<CancellationToken, Task<T>> start, string line, string program, TimeSpan? timeout,
        CancellationToken cancel = default, Action? whileRunning = null, Action? ended = null)
    {
        using var cts = CancellationTokenSource.CreateLinkedTokenSource(cancel);
        cts.CancelAfter(timeout ?? DefaultTimeout);
        try
        {
            var task = start(cts.Token);
            if (ended is not null)
                _ = task.ContinueWith(_ => ended(), TaskScheduler.Default);
            whileRunning?.Invoke();
            return task.GetAwaiter().GetResult();
        }
        catch (OperationCanceledException) when (!cancel.IsCancellationRequested)
        {
            throw new ContainerPSException(Errors.ToolTimedOut,
                $"'{line}' did not finish within {(timeout ?? DefaultTimeout).TotalSeconds:0} s and was stopped.", program);
        }
        catch (System.ComponentModel.Win32Exception e)
        {
            throw Missing(program, e);
        }
    }

    private static ContainerPSException Missing(string program, Exception e) =>
        new(Errors.ToolMissing, $"Cannot run '{program}': {e.Message}. Run 'build.ps1 -Task Bootstrap' to install what the host lacks.", program, e);

    private static ContainerPSException Failed(string line, string program, int exitCode, string stderr, string stdout)
    {
        var err = stderr.Trim();
        return new(Errors.ToolFailed, $"'{line}' failed with exit code {exitCode}: {(err.Length > 0 ? err : stdout.Trim())}", program);
    }

    private static string CommandLine(string program, IEnumerable<string> args) => program + " " + string.Join(' ', args.Select(Quote));

    private static string Quote(string a) =>
        a.Length > 0 && a.All(c => char.IsAsciiLetterOrDigit(c) || "-_./=:,@+%".Contains(c)) ? a : "'" + a.Replace("'", "'\\''") + "'";
}
