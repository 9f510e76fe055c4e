using System.Diagnostics;
using System.Runtime.InteropServices;
using System.Text;
using System.Threading.Channels;

namespace ContainerPS.Engine.Runtime;

/// <summary>What a command run in a container asks for.</summary>
public sealed record ExecRequest(
    string Container, IReadOnlyList<string> Command, IReadOnlyDictionary<string, string>? Environment = null,
    string? WorkingDirectory = null, int User = 0, int Group = 0, bool Interactive = false, bool Raw = false, bool Bytes = false);

public enum ExecStream { Stdout, Stderr }

/// <summary>One piece of output: a line (without its newline), in raw mode a chunk of stdout, in byte mode a chunk of stdout's bytes (Text empty).</summary>
public readonly record struct ExecOutput(ExecStream Stream, string Text, byte[]? Bytes = null);

/// <summary>
/// A command running in a container through cps-exec. Output arrives on <see cref="Output"/> as it is
/// produced; the reader completes when the command has exited and what it wrote before exiting has
/// been drained (background processes that keep writing never hold it open).
/// </summary>
public sealed partial class ExecSession : IDisposable
{
    private readonly Process process;
    private readonly Channel<ExecOutput> output;
    private readonly Task pump;

    internal ExecSession(Process process, bool interactive, bool raw, bool bytes = false)
    {
        this.process = process;
        // Bytes are held back when the reader is slower (at most 32 MiB waiting); lines and text are not.
        output = bytes ? Channel.CreateBounded<ExecOutput>(new BoundedChannelOptions(32) { SingleReader = true, FullMode = BoundedChannelFullMode.Wait })
            : Channel.CreateUnbounded<ExecOutput>(new UnboundedChannelOptions { SingleReader = true });
        Interactive = interactive;
        if (interactive)
        {
            pump = Task.CompletedTask;
            output.Writer.Complete();
            return;
        }
        var stdout = bytes ? PumpBytes(process.StandardOutput.BaseStream)
            : raw ? PumpChunks(process.StandardOutput, ExecStream.Stdout) : PumpLines(process.StandardOutput, ExecStream.Stdout);
        var stderr = PumpLines(process.StandardError, ExecStream.Stderr);
        pump = Task.WhenAll(stdout, stderr).ContinueWith(t => output.Writer.TryComplete(t.Exception), TaskScheduler.Default);
    }

    public bool Interactive { get; }
    public int ProcessId => process.Id;
    public ChannelReader<ExecOutput> Output => output.Reader;

    /// <summary>The command's stdin (not in interactive mode, where the terminal is).</summary>
    public Stream Input => process.StandardInput.BaseStream;

    public void CloseInput()
    {
        if (!Interactive)
            process.StandardInput.Close();
    }

    private async Task PumpLines(StreamReader reader, ExecStream stream)
    {
        while (await reader.ReadLineAsync().ConfigureAwait(false) is { } line)
            await output.Writer.WriteAsync(new ExecOutput(stream, line)).ConfigureAwait(false);
    }

    /// <summary>Raw mode: stdout in chunks as they arrive (the reader's decoder keeps characters split across reads whole).</summary>
    private async Task PumpChunks(StreamReader reader, ExecStream stream)
    {
        var buffer = new char[256 * 1024];
        int n;
        while ((n = await reader.ReadAsync(buffer).ConfigureAwait(false)) > 0)
            await output.Writer.WriteAsync(new ExecOutput(stream, new string(buffer, 0, n))).ConfigureAwait(false);
    }

    /// <summary>Byte mode: stdout's bytes as they are, in chunks of up to 1 MiB (each chunk its own array).</summary>
    private async Task PumpBytes(Stream stdout)
    {
        var buffer = new byte[1 << 20];
        int n;
        while ((n = await stdout.ReadAsync(buffer).ConfigureAwait(false)) > 0)
            await output.Writer.WriteAsync(new ExecOutput(ExecStream.Stdout, "", buffer[..n])).ConfigureAwait(false);
    }

    [LibraryImport("libc", EntryPoint = "kill", SetLastError = true)]
    private static partial int kill_(int pid, int sig);

    /// <summary>Sends a signal to the command (cps-exec forwards it into the container).</summary>
    public void Signal(int signal)
    {
        if (!process.HasExited)
            kill_(process.Id, signal);
    }

    /// <summary>Ends the exec at once: cps-exec is killed, and its shim kills the command.</summary>
    public void Kill()
    {
        try { process.Kill(); }
        catch (InvalidOperationException) { }
    }

    /// <summary>Waits for the command's exit status (after its output has been drained).</summary>
    public int WaitForExit()
    {
        process.WaitForExit();
        pump.Wait();
        return process.ExitCode;
    }

    public bool WaitForExit(TimeSpan timeout) => process.WaitForExit(timeout);

    public void Dispose() => process.Dispose();

}
