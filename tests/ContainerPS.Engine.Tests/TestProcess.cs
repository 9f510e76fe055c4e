using System.Diagnostics;

namespace ContainerPS.Engine.Tests;

/// <summary>Runs host tools for the tests (mkfs, mount, stat, getfacl...): one place for the process plumbing.</summary>
public static class TestProcess
{
    /// <summary>Runs a program to its end; its exit code and both outputs, whatever they are.</summary>
    public static (int ExitCode, string Stdout, string Stderr) Exec(string program, string? workingDirectory, params string[] args)
    {
        var psi = new ProcessStartInfo(program) { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        if (workingDirectory is not null)
            psi.WorkingDirectory = workingDirectory;
        foreach (var a in args)
            psi.ArgumentList.Add(a);
        using var p = Process.Start(psi)!;
        var stderr = p.StandardError.ReadToEndAsync();
        var stdout = p.StandardOutput.ReadToEnd();
        p.WaitForExit();
        return (p.ExitCode, stdout, stderr.Result);
    }

    /// <summary>Runs a program and returns its stdout; throws with its output when it fails.</summary>
    public static string Run(string program, params string[] args) => RunIn(null, program, args);

    public static string RunIn(string? workingDirectory, string program, params string[] args)
    {
        var (code, stdout, stderr) = Exec(program, workingDirectory, args);
        if (code != 0)
            throw new InvalidOperationException($"{program} {string.Join(' ', args)} exited with {code}: {stderr}{stdout}");
        return stdout;
    }

    /// <summary>Runs a bash script with -e; its stdout.</summary>
    public static string Bash(string script) => Run("/bin/bash", "-ec", script);
}
