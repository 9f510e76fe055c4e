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
        var line = program + " " + string.Join(' ', args.Select(Quote));
        log.Verbose("run: " + line);
        using var cts = CancellationTokenSource.CreateLinkedTokenSource(cancel);
        cts.CancelAfter(timeout ?? DefaultTimeout);
        BufferedCommandResult result;
        try
        {
            result = Cli.Wrap(program)
                .WithArguments(args)
                .WithValidation(CommandResultValidation.None)
                .ExecuteBufferedAsync(Encoding.UTF8, Encoding.UTF8, cts.Token)
                .GetAwaiter().GetResult();
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
        if (result.ExitCode != 0)
        {
            var err = result.StandardError.Trim();
            throw new ContainerPSException(ErrorKind.OperationFailed, "ToolFailed",
                $"'{line}' failed with exit code {result.ExitCode}: {(err.Length > 0 ? err : result.StandardOutput.Trim())}", program);
        }
        return result.StandardOutput;
    }

    private static string Quote(string a) =>
        a.Length > 0 && a.All(c => char.IsAsciiLetterOrDigit(c) || "-_./=:,@+%".Contains(c)) ? a : "'" + a.Replace("'", "'\\''") + "'";
}
