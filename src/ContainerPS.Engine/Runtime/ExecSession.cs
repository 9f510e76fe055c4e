using System.Diagnostics;
using System.Runtime.InteropServices;
using System.Threading.Channels;

namespace ContainerPS.Engine.Runtime;

/// <summary>
/// What a command run in a container asks for. <paramref name="OutputFile"/> (an absolute path): stdout
/// goes into this file (created or overwritten once the container is found running) as its bytes, not
/// to <see cref="ExecSession.Output"/>.
/// </summary>
public sealed record ExecRequest(
    string Container, IReadOnlyList<string> Command, IReadOnlyDictionary<string, string>? Environment = null,
    string? WorkingDirectory = null, int User = 0, int Group = 0, bool Interactive = false, bool Raw = false, bool Bytes = false,
    string? OutputFile = null);

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
    /// <summary>How long a command has after SIGINT or SIGTERM (Ctrl+C, Stop-Job) before it is killed.</summary>
    public static readonly TimeSpan StopGrace = TimeSpan.FromSeconds(5);

    private readonly Process process;
    private readonly Channel<ExecOutput> output;
    private readonly Task pump;

    internal ExecSession(Process process, bool interactive, bool raw, bool bytes = false, Stream? sink = null)
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
        this.sink = sink;
        var stdout = sink is not null ? CopyInto(process.StandardOutput.BaseStream, sink)
            : bytes ? PumpBytes(process.StandardOutput.BaseStream)
            : raw ? PumpChunks(process.StandardOutput, ExecStream.Stdout) : PumpLines(process.StandardOutput, ExecStream.Stdout);
        var stderr = PumpLines(process.StandardError, ExecStream.Stderr);
        pump = Task.WhenAll(stdout, stderr).ContinueWith(t => output.Writer.TryComplete(t.Exception), TaskScheduler.Default);
    }

    private readonly Stream? sink;

    public bool Interactive { get; }
    /// <summary>Why writing stdout into the output file stopped (a full disk), if it did.</summary>
    public Exception? OutputError { get; private set; }

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

    /// <summary>Stdout into a file, 1 MiB at a time; a failed write closes stdout, so the command gets EPIPE as when a reader goes away.</summary>
    private async Task CopyInto(Stream stdout, Stream file)
    {
        try { await stdout.CopyToAsync(file, 1 << 20).ConfigureAwait(false); }
        catch (IOException e)
        {
            OutputError = e;
            stdout.Dispose();
        }
        finally { await file.DisposeAsync().ConfigureAwait(false); }
    }

    /// <summary>Byte mode: stdout's bytes as they are, in chunks of up to 64 KiB (each chunk its own array).</summary>
    private async Task PumpBytes(Stream stdout)
    {
        // cps-exec's pipe holds 1 MiB, so a read usually fills the buffer: then the buffer itself is the
        // chunk (no copy) and the next read gets a new one (not zeroed: every byte handed out was read).
        var buffer = GC.AllocateUninitializedArray<byte>(ChunkSize);
        int n;
        while ((n = await stdout.ReadAsync(buffer).ConfigureAwait(false)) > 0)
        {
            var chunk = n == buffer.Length ? buffer : buffer[..n];
            if (n == buffer.Length)
                buffer = GC.AllocateUninitializedArray<byte>(ChunkSize);
            await output.Writer.WriteAsync(new ExecOutput(ExecStream.Stdout, "", chunk)).ConfigureAwait(false);
        }
    }

    // Under the large-object threshold (85,000 bytes): 1 MiB chunks went to the large-object heap, whose
    // budget set off 16 full collections per 256 MB and made the transfer twice as slow (220-300 ms
    // against 130 ms here, no file written).
    private const int ChunkSize = 1 << 16;

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

    public void Dispose()
    {
        sink?.Dispose();
        process.Dispose();
    }

}
