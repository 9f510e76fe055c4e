using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using System.Security.Cryptography;
using System.Runtime.InteropServices;
using System.Security.Cryptography.X509Certificates;
using System.Text;

namespace ContainerPS.Engine.Migration;

/// <summary>
/// Post-copy (lazy pages) as CRIU does it: the source dumps everything but memory and serves the
/// pages from its frozen processes (<see cref="LazyDump"/>); the destination restores at once and a
/// daemon fetches each page on first touch, the rest in the background (<see cref="LazyPagesDaemon"/>).
/// CRIU's page server protocol has no authentication of its own, and in lazy mode runc's
/// --page-server address is not even used for binding (CRIU then listens on every address). So
/// ContainerPS hands CRIU a configuration file (runc's org.criu.config annotation, see
/// <see cref="WriteDumpConfig"/>) that binds it to the one address the destination reaches and
/// turns on mutual TLS with a key made for this one move: the destination gets the key through the
/// remoting session (inside the saved state), so the port answers nobody else.
/// </summary>
public static class LazyPages
{
    /// <summary>Files of a post-copy move in the saved state: the page server's address and port, and the move's certificate and key.</summary>
    public const string EndpointFile = "page-server", CertFile = "page-server.crt", KeyFile = "page-server.key";

    /// <summary>
    /// The environment variable that makes cps-criu-compat.so (preloaded into criu) make userfaultfds
    /// through /dev/userfaultfd where the system call is refused in the container's user namespace.
    /// </summary>
    public const string UffdDeviceVariable = "CPS_CRIU_UFFD_DEV";

    /// <summary>Writes a fresh self-signed ECDSA certificate and its key (0600) into <paramref name="dir"/>, with the endpoint.</summary>
    public static void WriteCredentials(string dir, string address, int port)
    {
        using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var request = new CertificateRequest("CN=containerps-move", key, HashAlgorithmName.SHA256);
        using var cert = request.CreateSelfSigned(DateTimeOffset.UtcNow.AddMinutes(-5), DateTimeOffset.UtcNow.AddDays(1));
        Write(Path.Join(dir, CertFile), cert.ExportCertificatePem());
        Write(Path.Join(dir, KeyFile), key.ExportPkcs8PrivateKeyPem());
        Write(Path.Join(dir, EndpointFile), $"{address} {port.ToString(System.Globalization.CultureInfo.InvariantCulture)}");
    }

    /// <summary>The page server's address and port written by <see cref="WriteCredentials"/> in <paramref name="dir"/>; null when the directory holds none (not a post-copy move).</summary>
    public static (IPAddress Address, int Port)? Endpoint(string dir)
    {
        var file = Path.Join(dir, EndpointFile);
        if (!File.Exists(file))
            return null;
        var parts = File.ReadAllText(file).Trim().Split(' ');
        if (parts.Length != 2 || !IPAddress.TryParse(parts[0], out var address) || !int.TryParse(parts[1], out var port) || port is < 1 or > 65535)
            throw new ContainerPSException(Errors.InvalidMigrationPlan, $"The post-copy endpoint in {file} is not 'ADDRESS PORT'.", file);
        return (address, port);
    }

    /// <summary>Moves the move's credentials from the saved state <paramref name="from"/> into the private <paramref name="to"/> (the state is made readable for the restore).</summary>
    public static void TakeCredentials(string from, string to)
    {
        foreach (var f in new[] { EndpointFile, CertFile, KeyFile })
            File.Move(Path.Join(from, f), Path.Join(to, f), overwrite: true);
    }

    /// <summary>
    /// CRIU's configuration for the lazy dump, read through runc's org.criu.config annotation: it
    /// binds the page server to <paramref name="address"/> and asks for TLS with the move's key
    /// (CRIU then requires the same certificate from the client: it is its own CA).
    /// </summary>
    public static void WriteDumpConfig(string configFile, string credentials, string address) =>
        Write(configFile, string.Join('\n', TlsOptions(credentials).Select(o => o.TrimStart('-')).Prepend($"address {address}")) + "\n");

    /// <summary>The TLS options of both ends, as criu command-line words (the config file takes them without dashes).</summary>
    private static IEnumerable<string> TlsOptions(string credentials) => new[]
    {
        "--tls", $"--tls-cacert {Path.Join(credentials, CertFile)}", $"--tls-cert {Path.Join(credentials, CertFile)}",
        $"--tls-key {Path.Join(credentials, KeyFile)}", "--tls-no-cn-verify",
    };

    internal static IEnumerable<string> TlsArguments(string credentials) => TlsOptions(credentials).SelectMany(o => o.Split(' ', 2));

    /// <summary>A free TCP port on <paramref name="address"/> for the page server.</summary>
    public static int FreePort(IPAddress address)
    {
        var l = new TcpListener(address, 0);
        l.Start();
        try { return ((IPEndPoint)l.LocalEndpoint).Port; }
        finally { l.Stop(); }
    }

    private static void Write(string file, string text)
    {
        File.Delete(file);
        using var f = new FileStream(file, new FileStreamOptions { Mode = FileMode.CreateNew, Access = FileAccess.Write, UnixCreateMode = UnixFileMode.UserRead | UnixFileMode.UserWrite });
        f.Write(Encoding.UTF8.GetBytes(text));
    }

    /// <summary>Starts <paramref name="program"/> with its stdout and stderr collected (stderr kept for the error message).</summary>
    internal static Process Start(string program, IEnumerable<string> args, IReadOnlyDictionary<string, string?> environment, StringBuilder stderr)
    {
        var psi = new ProcessStartInfo(program) { RedirectStandardError = true, RedirectStandardOutput = true, RedirectStandardInput = true, UseShellExecute = false };
        foreach (var a in args)
            psi.ArgumentList.Add(a);
        foreach (var (k, v) in environment)
            psi.Environment[k] = v;
        var p = Process.Start(psi) ?? throw new ContainerPSException(Errors.ToolFailed, $"{program} did not start.", program);
        p.ErrorDataReceived += (_, e) => { if (e.Data is { } line) lock (stderr) stderr.AppendLine(line); };
        p.OutputDataReceived += (_, _) => { };
        p.BeginErrorReadLine();
        p.BeginOutputReadLine();
        return p;
    }
}

/// <summary>
/// The source of a post-copy move: `runc checkpoint --lazy-pages --page-server ADDR:PORT --status-fd
/// FD` running. CRIU writes a byte to FD when everything but memory is dumped and the page server
/// listens (<see cref="WaitReady"/>); the command ends when the destination has fetched the last
/// page (the processes are then gone), or fails, and then CRIU resumes the processes here.
/// </summary>
public sealed class LazyDump : IDisposable
{
    private readonly Process process;
    private readonly SafeHandle status;
    private readonly StringBuilder stderr;
    private readonly IPEndPoint endpoint;

    private LazyDump(Process process, SafeHandle status, IPEndPoint endpoint, StringBuilder stderr) =>
        (this.process, this.status, this.endpoint, this.stderr) = (process, status, endpoint, stderr);

    /// <summary>The runc process (its pid for the record of the move).</summary>
    public int Pid => process.Id;

    /// <param name="runcArgs">runc's global and checkpoint arguments, without the lazy options and the container id.</param>
    public static LazyDump Start(string runc, IEnumerable<string> runcArgs, string containerId, IPEndPoint endpoint, IReadOnlyDictionary<string, string?> environment)
    {
        var (read, write) = Platform.LibC.InheritablePipe();
        var stderr = new StringBuilder();
        Process p;
        try
        {
            var args = runcArgs.Concat(new[] { "--lazy-pages", "--page-server", $"{endpoint.Address}:{endpoint.Port}", "--status-fd", write.ToString(System.Globalization.CultureInfo.InvariantCulture), containerId });
            p = LazyPages.Start(runc, args, environment, stderr);
        }
        catch
        {
            read.Dispose();
            throw;
        }
        finally
        {
            Platform.LibC.Close(write); // runc and criu hold it now: end of file when both are gone
        }
        return new LazyDump(p, read, endpoint, stderr);
    }

    /// <summary>
    /// Waits for CRIU's "ready" byte: true when the page server listens; false when runc ended
    /// first (the dump failed and the container runs on) or <paramref name="timeout"/> passed.
    /// </summary>
    public bool WaitReady(TimeSpan timeout)
    {
        var read = Task.Run(() =>
        {
            using var f = new FileStream(new Microsoft.Win32.SafeHandles.SafeFileHandle(status.DangerousGetHandle(), ownsHandle: false), FileAccess.Read, 1);
            var b = new byte[1];
            return f.Read(b, 0, 1);
        });
        return read.Wait(timeout) && read.Result == 1;
    }

    /// <summary>
    /// Ends a dump whose pages nobody fetched: a connection that hangs up fails CRIU's TLS handshake,
    /// so the dump fails and CRIU resumes the processes here. Without effect once the destination's
    /// daemon is connected (the server takes one client).
    /// </summary>
    public void Abort() => Abort(endpoint);

    /// <summary><see cref="Abort()"/> of the page server at <paramref name="endpoint"/> (a repair, whose dump's runc is not its child).</summary>
    public static void Abort(IPEndPoint endpoint)
    {
        try
        {
            using var c = new TcpClient();
            if (c.ConnectAsync(endpoint.Address, endpoint.Port).Wait(TimeSpan.FromSeconds(2)))
                c.Client.Shutdown(SocketShutdown.Both);
        }
        catch (Exception e) when (e is SocketException or AggregateException or ObjectDisposedException) { } // nobody listens: the dump is over
    }

    /// <summary>Waits for runc to end (null when it did not within <paramref name="timeout"/>); its exit code and stderr.</summary>
    public (int ExitCode, string Stderr)? WaitExit(TimeSpan timeout)
    {
        if (!process.WaitForExit(timeout))
            return null;
        process.WaitForExit(); // the stderr readers are done
        lock (stderr) return (process.ExitCode, stderr.ToString());
    }

    public void Dispose()
    {
        status.Dispose();
        process.Dispose();
    }
}

/// <summary>
/// The destination of a post-copy move: `criu lazy-pages` connected to the source's page server
/// (mutual TLS with the move's key) and serving the restored processes' page faults through the
/// work directory's socket, fetching the rest in the background. It ends with exit code 0 when the
/// last page is in. It runs under cps-lazy-watch (native/src), which outlives the caller (the
/// remoting session may end first), holds duplicates of the daemon's userfaultfds so that a page
/// that never came can never read as zeros, SIGKILLs the container's init when the daemon fails,
/// and records the daemon's exit code.
/// </summary>
public sealed class LazyPagesDaemon : IDisposable
{
    /// <summary>In the move's private directory: the daemon's output, and its exit code once it ended.</summary>
    public const string ErrorFile = "lazy-pages.err", DoneFile = "pages-done";

    /// <summary>The watcher's comm, for a repair that finds it by pid.</summary>
    public const string WatcherName = "cps-lazy-watch";

    private readonly Process process;
    private readonly string privateDir;

    private LazyPagesDaemon(Process process, string privateDir) => (this.process, this.privateDir) = (process, privateDir);

    /// <summary>The watcher's pid.</summary>
    public int Pid => process.Id;

    /// <param name="dir">The restore's image (and work) directory: CRIU's restore finds the daemon's socket there.</param>
    /// <param name="privateDir">The move's private directory: the certificate and key, and the watcher's files.</param>
    /// <param name="initPidFile">The container's init pid file (written by its monitor once restored).</param>
    public static LazyPagesDaemon Start(string criu, string dir, IPAddress address, int port, string privateDir, string initPidFile)
    {
        var psi = new ProcessStartInfo(NativePrograms.LazyWatch) { UseShellExecute = false, RedirectStandardInput = true, RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (var a in new[] { "--done", Path.Join(privateDir, DoneFile), "--err", Path.Join(privateDir, ErrorFile), "--init", initPidFile, "--",
                     criu, "lazy-pages", "--page-server", "--address", address.ToString(), "--port", port.ToString(System.Globalization.CultureInfo.InvariantCulture),
                     "-D", dir, "-W", dir, "-o", "lazy-pages.log", "-v2" }.Concat(LazyPages.TlsArguments(privateDir)))
            psi.ArgumentList.Add(a);
        foreach (var (k, v) in Criu.Environment) // cps-criu-compat.so, for its pipe sizes
            psi.Environment[k] = v;
        File.Delete(Path.Join(privateDir, DoneFile));
        var p = Process.Start(psi) ?? throw new ContainerPSException(Errors.ToolFailed, $"{NativePrograms.LazyWatch} did not start.", criu);
        var daemon = new LazyPagesDaemon(p, privateDir);
        // Its socket must exist before the restore connects to it.
        var clock = Stopwatch.StartNew();
        var socket = Path.Join(dir, "lazy-pages.socket");
        while (!File.Exists(socket) && !p.HasExited && clock.Elapsed < TimeSpan.FromSeconds(10))
            Thread.Sleep(2);
        if (p.HasExited || !File.Exists(socket))
        {
            daemon.Kill();
            throw new ContainerPSException(Errors.MigrationDataFailed,
                $"CRIU's lazy-pages daemon could not reach the source's page server at {address}:{port}: {daemon.Failure(dir)}", dir);
        }
        return daemon;
    }

    /// <summary>The daemon's exit code as its watcher recorded it in <paramref name="privateDir"/>; null while it runs (or when its watcher was killed).</summary>
    public static int? ExitCode(string privateDir)
    {
        var done = Path.Join(privateDir, DoneFile);
        return File.Exists(done) && int.TryParse(File.ReadAllText(done).Trim(), out var code) ? code : null;
    }

    /// <summary>True when the daemon ended with every page in (exit 0) within <paramref name="timeout"/>.</summary>
    public bool WaitFinished(TimeSpan timeout) => process.WaitForExit(timeout) && ExitCode(privateDir) == 0;

    /// <summary>Why the daemon failed: its stderr and the error lines of its log in <paramref name="dir"/>.</summary>
    public string Failure(string dir)
    {
        var err = Path.Join(privateDir, ErrorFile);
        var text = File.Exists(err) ? File.ReadAllText(err).Trim() : "";
        var code = ExitCode(privateDir);
        return (text.Length > 0 ? text : code is int c ? $"it exited with code {c}" : "it did not answer") + Criu.LogErrors(dir, "lazy-pages.log");
    }

    /// <summary>Ends the daemon through its watcher (SIGTERM), which then ends the container too: it is being dropped.</summary>
    public void Kill()
    {
        if (!process.HasExited)
            Platform.LibC.Kill(process.Id, 15);
        if (!process.WaitForExit(10000))
        {
            try { process.Kill(entireProcessTree: true); }
            catch (InvalidOperationException) { }
        }
    }

    public void Dispose() => process.Dispose();
}
