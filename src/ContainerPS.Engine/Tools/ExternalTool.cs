using System.Text;
using CliWrap;
using CliWrap.Buffered;

namespace ContainerPS.Engine.Tools;

/// <summary>
/// The one way the engine runs an external program: logs the command line, applies a timeout,
/// and turns a non-zero exit into a <see cref="ContainerPSException"/> carrying stderr.
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
        {
            var err = result.StandardError.Trim();
            throw new ContainerPSException(ErrorKind.OperationFailed, "ToolFailed",
                $"'{CommandLine(program, args)}' failed with exit code {result.ExitCode}: {(err.Length > 0 ? err : result.StandardOutput.Trim())}", program);
        }
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
        using var cts = new CancellationTokenSource(timeout ?? DefaultTimeout);
        Task<CommandResult> run;
        try
        {
            run = Cli.Wrap(program).WithArguments(args).WithValidation(CommandResultValidation.None)
                .WithStandardOutputPipe(PipeTarget.ToDelegate(l => lines.Add("1" + l)))
                .WithStandardErrorPipe(PipeTarget.ToDelegate(l => lines.Add("2" + l)))
                .ExecuteAsync(cts.Token).Task;
        }
        catch (System.ComponentModel.Win32Exception e)
        {
            throw new ContainerPSException(ErrorKind.NotSupported, "ToolMissing",
                $"Cannot run '{program}': {e.Message}. Run 'build.ps1 -Task Bootstrap' to install what the host lacks.", program, e);
        }
        _ = run.ContinueWith(_ => lines.CompleteAdding(), TaskScheduler.Default);
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
        CommandResult result;
        try { result = run.GetAwaiter().GetResult(); }
        catch (OperationCanceledException)
        {
            throw new ContainerPSException(ErrorKind.OperationFailed, "ToolTimedOut",
                $"'{line}' did not finish within {(timeout ?? DefaultTimeout).TotalSeconds:0} s and was stopped.", program);
        }
        catch (System.ComponentModel.Win32Exception e)
        {
            throw new ContainerPSException(ErrorKind.NotSupported, "ToolMissing",
                $"Cannot run '{program}': {e.Message}. Run 'build.ps1 -Task Bootstrap' to install what the host lacks.", program, e);
        }
        if (result.ExitCode != 0)
        {
            var err = stderr.ToString().Trim();
            throw new ContainerPSException(ErrorKind.OperationFailed, "ToolFailed",
                $"'{line}' failed with exit code {result.ExitCode}: {(err.Length > 0 ? err : stdout.ToString().Trim())}", program);
        }
        return stdout.ToString();
    }

    /// <summary>
    /// Runs <c>first | second</c> (bash with pipefail, each argv passed as it is, never through a shell
    /// string: send | receive, zstd -dc | receive) and throws ToolFailed with stderr when either fails.
    /// </summary>
    public void RunPipe(IReadOnlyList<string> first, IReadOnlyList<string> second, TimeSpan? timeout = null)
    {
        var args = new List<string> { "-o", "pipefail", "-c", "n=$1; shift; \"${@:1:n}\" | \"${@:n+1}\"", "pipe", first.Count.ToString(System.Globalization.CultureInfo.InvariantCulture) };
        args.AddRange(first);
        args.AddRange(second);
        var result = Execute("bash", args, null, null, timeout);
        if (result.ExitCode != 0)
            throw new ContainerPSException(ErrorKind.OperationFailed, "ToolFailed",
                $"'{CommandLine(first[0], first.Skip(1))} | {CommandLine(second[0], second.Skip(1))}' failed with exit code {result.ExitCode}: {result.StandardError.Trim()}", first[0]);
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
        using var cts = CancellationTokenSource.CreateLinkedTokenSource(cancel);
        cts.CancelAfter(timeout ?? DefaultTimeout);
        var command = Cli.Wrap(program).WithArguments(args).WithValidation(CommandResultValidation.None);
        if (stdin is not null)
            command = command.WithStandardInputPipe(PipeSource.FromString(stdin, Encoding.UTF8));
        if (environment is not null)
            command = command.WithEnvironmentVariables(environment);
        try
        {
            return command.ExecuteBufferedAsync(Encoding.UTF8, Encoding.UTF8, cts.Token).GetAwaiter().GetResult();
        }
        catch (OperationCanceledException) when (!cancel.IsCancellationRequested)
        {
            throw new ContainerPSException(ErrorKind.OperationFailed, "ToolTimedOut",
                $"'{line}' did not finish within {(timeout ?? DefaultTimeout).TotalSeconds:0} s and was stopped.", program);
        }
        catch (System.ComponentModel.Win32Exception e)
        {
            throw new ContainerPSException(ErrorKind.NotSupported, "ToolMissing",
                $"Cannot run '{program}': {e.Message}. Run 'build.ps1 -Task Bootstrap' to install what the host lacks.", program, e);
        }
    }

    private static string CommandLine(string program, IEnumerable<string> args) => program + " " + string.Join(' ', args.Select(Quote));

    private static string Quote(string a) =>
        a.Length > 0 && a.All(c => char.IsAsciiLetterOrDigit(c) || "-_./=:,@+%".Contains(c)) ? a : "'" + a.Replace("'", "'\\''") + "'";
}
