using System.Text;

namespace ContainerPS.Engine.Runtime;

/// <summary>
/// The engine's end of cps-hook (the createRuntime hook of containers with networks): two FIFOs in
/// the runtime directory. The hook writes the starting init's host pid on the request FIFO; the
/// engine runs CNI ADD into /proc/PID/ns/net and answers "ok" or "error MESSAGE" on the reply FIFO.
/// Both are held open read-write here, so neither side ever blocks opening them.
/// </summary>
internal sealed class NetworkHook : IDisposable
{
    private readonly RuntimeDirectory rt;
    private readonly FileStream request, reply;
    private readonly StreamReader reader;
    private Task<string?>? pending;

    private NetworkHook(RuntimeDirectory rt, FileStream request, FileStream reply)
    {
        this.rt = rt;
        this.request = request;
        this.reply = reply;
        reader = new StreamReader(request, Encoding.ASCII);
    }

    public static NetworkHook Create(RuntimeDirectory rt)
    {
        foreach (var f in new[] { rt.HookRequest, rt.HookReply })
        {
            File.Delete(f);
            Platform.LibC.MakeFifo(f);
        }
        FileStream? req = null;
        try
        {
            req = Open(rt.HookRequest);
            return new NetworkHook(rt, req, Open(rt.HookReply));
        }
        catch
        {
            req?.Dispose();
            File.Delete(rt.HookRequest);
            File.Delete(rt.HookReply);
            throw;
        }
    }

    private static FileStream Open(string fifo) =>
        new(File.OpenHandle(fifo, FileMode.Open, FileAccess.ReadWrite, FileShare.ReadWrite), FileAccess.ReadWrite, 0);

    /// <summary>The hook as runc runs it: path and arguments.</summary>
    public string[] Command => new[] { NativePrograms.Hook, rt.HookRequest, rt.HookReply };

    /// <summary>The next pid the hook sends (null when the hook is disposed).</summary>
    public Task<string?> NextRequest() => pending ??= reader.ReadLineAsync();

    /// <summary>Answers the request <see cref="NextRequest"/> returned and makes way for the next one.</summary>
    public void Reply(string? error)
    {
        pending = null;
        var line = error is null ? "ok\n" : "error " + error.ReplaceLineEndings(" ") + "\n";
        reply.Write(Encoding.UTF8.GetBytes(line));
        reply.Flush();
    }

    public void Dispose()
    {
        if (pending is { IsCompleted: false })
        {
            // A read blocked in the thread pool ends only with data: give it an empty line.
            request.Write("\n"u8);
            request.Flush();
            pending.Wait(TimeSpan.FromSeconds(5));
        }
        reader.Dispose();
        reply.Dispose();
        File.Delete(rt.HookRequest);
        File.Delete(rt.HookReply);
    }
}
