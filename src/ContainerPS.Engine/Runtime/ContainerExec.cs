using System.Diagnostics;

namespace ContainerPS.Engine.Runtime;

/// <summary>Invoke-ContainerExec: commands started in a running container by cps-exec.</summary>
public sealed class ContainerExec
{
    private readonly ContainerRecords records;
    private readonly ContainerPaths paths;

    internal ContainerExec(ContainerRecords records, ContainerPaths paths) => (this.records, this.paths) = (records, paths);

    /// <summary>
    /// Starts a command in a running container (cps-exec joins the init's namespaces, cgroups,
    /// seccomp profile and capability set, and makes the command a descendant of the init).
    /// Defaults as in Incus: cwd /root, PATH, LANG=C.UTF-8, HOME and USER for root, TERM when interactive.
    /// </summary>
    public ExecSession Start(ExecRequest request)
    {
        if (request.Command.Count == 0 || string.IsNullOrEmpty(request.Command[0]))
            throw new ContainerPSException(Errors.EmptyCommand, "Give a command to run in the container.", request.Container);
        if (request.OutputFile is { } file && (request.Interactive || request.Raw || !Path.IsPathFullyQualified(file)))
            throw new ContainerPSException(Errors.InvalidExecOutput, "Output into a file (an absolute path) is neither interactive nor raw text.", request.Container);
        var row = records.ReadyRow(Names.Validate(request.Container, "container"));
        var rt = paths.Runtime(row.Name);
        var status = rt.Inspect();
        if (!status.IsRunning || status.Pid is not int pid)
            throw new ContainerPSException(Errors.ContainerNotRunning, $"Container '{row.Name}' is not running.", row.Name);

        var env = new SortedDictionary<string, string>(StringComparer.Ordinal)
        {
            ["PATH"] = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
            ["LANG"] = "C.UTF-8",
        };
        if (request.User == 0)
        {
            env["HOME"] = "/root";
            env["USER"] = "root";
        }
        if (request.Interactive)
            env["TERM"] = Environment.GetEnvironmentVariable("TERM") is { Length: > 0 } term ? term : "xterm";
        foreach (var (k, v) in request.Environment ?? new Dictionary<string, string>())
        {
            if (k.Length == 0 || k.Contains('=') || k.Contains('\0') || v.Contains('\0'))
                throw new ContainerPSException(Errors.InvalidEnvironment, $"Invalid environment variable name '{Names.Printable(k)}'.", k);
            env[k] = v;
        }

        // The sealed copy: the shim's /proc/PID/exe, seen from inside, is never the host's file.
        var psi = new ProcessStartInfo(SealedExecutable.Of(NativePrograms.ExecHelper))
        {
            UseShellExecute = false,
            RedirectStandardInput = !request.Interactive,
            RedirectStandardOutput = !request.Interactive,
            RedirectStandardError = !request.Interactive,
        };
        if (!request.Interactive)
        {
            psi.StandardOutputEncoding = System.Text.Encoding.UTF8;
            psi.StandardErrorEncoding = System.Text.Encoding.UTF8;
        }
        // Nothing of the caller's environment goes along (the command gets exactly --env); the tag
        // names the start it serves, so Remove-Container -Force finds it.
        psi.Environment.Clear();
        psi.Environment[HostProcesses.ExecTagVariable] = rt.RuncId(row.Name);
        var a = psi.ArgumentList;
        a.Add("--pid"); a.Add(pid.ToString(System.Globalization.CultureInfo.InvariantCulture));
        a.Add("--uid"); a.Add(request.User.ToString(System.Globalization.CultureInfo.InvariantCulture));
        a.Add("--gid"); a.Add(request.Group.ToString(System.Globalization.CultureInfo.InvariantCulture));
        if (request.WorkingDirectory is { } cwd) // else cps-exec tries /root, then / (an image without /root)
        {
            a.Add("--cwd"); a.Add(cwd);
        }
        foreach (var (k, v) in env)
        {
            a.Add("--env"); a.Add($"{k}={v}");
        }
        if (request.Interactive)
            a.Add("--pty");
        foreach (var sc in OciSpec.DeniedSyscalls)
        {
            a.Add("--deny-syscall"); a.Add(sc);
        }
        a.Add("--deny-force-umount");
        foreach (var cap in OciSpec.DroppedCapabilityNumbers)
        {
            a.Add("--drop-cap"); a.Add(cap.ToString(System.Globalization.CultureInfo.InvariantCulture));
        }
        a.Add("--");
        foreach (var word in request.Command)
            a.Add(word);
        FileStream? sink = null;
        if (request.OutputFile is { } outputFile)
        {
            try { sink = new FileStream(outputFile, FileMode.Create, FileAccess.Write, FileShare.Read, bufferSize: 0); }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
                throw new ContainerPSException(Errors.OutFileUnavailable, $"Cannot write '{Names.Printable(outputFile)}': {e.Message}", outputFile, e);
            }
        }
        Process process;
        try { process = Process.Start(psi) ?? throw new ContainerPSException(Errors.ExecFailed, "cps-exec did not start.", row.Name); }
        catch
        {
            sink?.Dispose();
            throw;
        }
        return new ExecSession(process, request.Interactive, request.Raw, request.Bytes, sink);
    }
}
