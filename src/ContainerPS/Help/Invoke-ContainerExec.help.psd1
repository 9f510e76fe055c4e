@{
    Synopsis    = 'Runs a command in a running container with ssh-like semantics (lxc exec).'

    Description = @'
Runs a command inside a running container, like `lxc exec NAME -- CMD`
(Incus: incus exec) or `ssh host CMD`, and streams its output into the
pipeline as it is produced.

The command joins the container's namespaces (user, mount, pid, network,
ipc, uts, cgroup), its cgroups, its seccomp profile and its capability
bounding set, exactly like a child of the container's init - and it is
one: the helper (cps-exec) hands the command to a small shim that is
reparented to the container's init, so processes started by exec stay in
the container's process tree (CRIU can dump them later) and cannot see
host processes.

Non-interactive (the default when pwsh's stdin or stdout is not a
terminal, or with -NonInteractive): every stdout line is written to the
pipeline when the command prints it; every stderr line becomes a
non-terminating error with the ID ContainerExecStderr (silence them with
-ErrorAction SilentlyContinue, or collect them with -ErrorVariable); -Raw
writes stdout as one string, unsplit; -AsByteStream writes it as its
bytes, in byte[] chunks of up to 64 KiB (for Set-Content -AsByteStream or
[IO.File]::WriteAllBytes); -OutFile writes it, as its bytes, straight into a
file (the fast way to keep large output: 256 MB in about 0.15 s here,
where piping the chunks into Set-Content -AsByteStream, which writes byte
by byte, manages about 7 MB/s). Pipeline input is written to the command's
stdin (a string or other object as one line; a byte array as its bytes,
whether it is piped, enumerated byte by byte, or given whole with
-InputObject), then stdin is closed; without pipeline input the
command's stdin is at end of file.

Containers piped in (Get-Container web* | Invoke-ContainerExec -- CMD,
or any objects with a Name property) are not input: the command runs in
each of them, up to -ThrottleLimit (16) at once, and each output line
carries a Container note property naming where it came from; stderr
errors name their container as TargetObject. $LASTEXITCODE is then the
first non-zero exit code (0 when all succeeded); -PassThru writes one
ExecResult per container; -AsJob starts one job per container. Through
remoting, Invoke-Command -Session $hosts { Get-Container web* |
Invoke-ContainerExec -- uptime } reaches a whole fleet.

Interactive (-Interactive, or automatically when pwsh's stdin and stdout
are a terminal and nothing is piped in): the command gets a pty in the
container; the local terminal is put in raw mode and its window size is
passed on and updated on resize. TERM is passed through.

The command's exit code is in $LASTEXITCODE, and with -PassThru on a
ContainerPS.ExecResult. It follows shell rules: the command's own code;
128+N when it was killed by signal N (SIGHUP 129, SIGKILL 137, SIGTERM
143; 137 also when the container is force-stopped during the exec); 127
when the command was not found; 126 when it is not executable (a
directory, no x bit). A non-zero exit code is not an error.

The exec returns as soon as the foreground command exits: background
processes it left behind (`sh -c 'sleep 1000 &'`) keep running in the
container, and one that keeps writing to the inherited stdout does not
keep the cmdlet waiting; what the foreground command wrote before
exiting is always delivered in full.

Signals: Ctrl+C sends SIGINT to the command and kills it only if it has
not exited 5 seconds later. SIGTERM, SIGHUP, SIGUSR1 and SIGUSR2 sent to
the pwsh process while the command runs are passed on to it. With
-AsJob the command runs as a background job; Stop-Job sends SIGTERM and
kills after 5 seconds.

Defaults, as in Incus: working directory /root (/ if it does not exist);
environment PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin,
LANG=C.UTF-8, and for uid 0 HOME=/root and USER=root. -Environment adds
or overrides variables.

Error IDs: ContainerNotFound, ContainerNotRunning (the container is
stopped: nothing is run), EmptyCommand, InvalidName, InvalidEnvironment,
ContainerBusy, ExecFailed (the helper could not enter the container),
ContainerExecStderr (one per stderr line of the command), InvalidExecOutput
(-Raw with -AsByteStream; -OutFile with -Raw, -AsByteStream, -Interactive
or -AsJob, or with several containers), OutFileUnavailable (the file
cannot be created: nothing is run), OutFileWriteFailed (writing it failed
part way, a full disk: the command gets EPIPE as when a reader goes away).
'@

    Parameters  = @{
        Name             = 'The running container to run the command in. Containers piped in (from Get-Container) are each a target: the command runs in every one of them.'
        Command          = @'
The command and its arguments. Everything after the container name is
taken as the command; put `--` before it when an argument starts with a
dash (Invoke-ContainerExec web1 -- ls -la /).
'@
        Environment      = 'Variables to add to or override in the command''s environment (@{ FOO = ''bar'' }).'
        WorkingDirectory = 'The command''s working directory inside the container. Without it: /root, or / when the image has no /root. A directory given here that does not exist is an error.'
        User             = 'The uid, inside the container, to run the command as (default 0).'
        Group            = 'The gid, inside the container, to run the command as (default 0).'
        Interactive      = 'Run the command on a pty in the container, attached to this terminal (lxc exec -t).'
        NonInteractive   = 'Never use a pty, even when pwsh is attached to a terminal (lxc exec -T).'
        InputObject      = 'Objects written to the command''s stdin, one line each (byte arrays and piped bytes as bytes); stdin is closed after the last one. Containers piped in are targets, not input.'
        Raw              = 'Write the command''s stdout as one string, unsplit, when the command ends.'
        AsByteStream     = 'Write the command''s stdout as its bytes: byte[] chunks of up to 64 KiB, as they arrive. Not with -Raw.'
        OutFile          = 'Write the command''s stdout, as its bytes, into this file (created, or overwritten; a relative path is relative to the current location) instead of the pipeline, like Invoke-WebRequest -OutFile. Stderr and the exit code as usual. One container only; not with -Raw, -AsByteStream, -Interactive or -AsJob.'
        ThrottleLimit    = 'With containers piped in: how many run the command at once (default 16).'
        PassThru         = 'Also write a ContainerPS.ExecResult (Container, Command, ExitCode, Duration) when the command ends.'
        AsJob            = 'Run the command as a background job (Receive-Job for its output; Stop-Job sends SIGTERM).'
    }

    Inputs      = @(
        @{
            Type        = 'System.Object'
            Description = 'Anything piped in is written to the command''s stdin (byte arrays as bytes), except containers: the command runs in each of those.'
        }
    )

    Outputs     = @{
        'System.String'          = 'The command''s stdout lines (or, with -Raw, all of it as one string); with containers piped in, each line has a Container note property.'
        'System.Byte[]'          = 'With -AsByteStream, stdout in chunks of up to 64 KiB.'
        'ContainerPS.ExecResult' = 'With -PassThru, how the command ended.'
    }

    Examples    = @(
        @{
            Title   = 'Run a command and use its output as objects'
            Code    = 'Invoke-ContainerExec web1 -- ls /etc | Where-Object { $_ -like "host*" }'
            Remarks = 'Like `lxc exec web1 -- ls /etc`. The lines arrive while ls runs.'
        }
        @{
            Title   = 'Check the exit code'
            Code    = "Invoke-ContainerExec web1 -- sh -c 'exit 3'; `$LASTEXITCODE"
            Remarks = 'Prints 3. With -PassThru an ExecResult carries it too.'
        }
        @{
            Title   = 'Feed the command from the pipeline'
            Code    = "'one','two' | Invoke-ContainerExec web1 -- sort -r"
            Remarks = 'Writes two, one. The command''s stdin is closed after the last object.'
        }
        @{
            Title   = 'Run as another user in another directory with extra variables'
            Code    = 'Invoke-ContainerExec web1 -User 1234 -Group 5678 -WorkingDirectory /tmp -Environment @{ MODE = ''test'' } -- sh -c ''id -u; pwd; echo $MODE'''
            Remarks = 'Writes 1234, /tmp and test.'
        }
        @{
            Title   = 'A long job in the background'
            Code    = '$j = Invoke-ContainerExec web1 -AsJob -- sh -c ''sleep 30; echo done''; Stop-Job $j'
            Remarks = 'Stop-Job sends SIGTERM to the command (and kills it if it has not ended 5 seconds later).'
        }
        @{
            Title   = 'Run a command in a fleet of containers'
            Code    = 'Get-Container web* | Invoke-ContainerExec -- cat /etc/hostname | Select-Object Container, @{ n = ''Line''; e = { $_ } }'
            Remarks = 'Runs in every container whose name starts with web (up to 16 at once); each line says which container wrote it.'
        }
        @{
            Title   = 'Copy binary data in and out'
            Code    = "[IO.File]::ReadAllBytes('/bin/ls') | Invoke-ContainerExec web1 -- sh -c 'cat > /tmp/ls'; Invoke-ContainerExec web1 -AsByteStream -- cat /tmp/ls | Set-Content -AsByteStream /tmp/ls.copy"
            Remarks = 'The bytes go in and come back unchanged (Copy-ContainerFile does this for files, with modes and owners).'
        }
        @{
            Title   = 'Keep large output in a file'
            Code    = 'Invoke-ContainerExec web1 -OutFile ./etc.tar -- tar -C / -cf - etc; (Get-Item ./etc.tar).Length'
            Remarks = 'The archive goes as bytes straight into etc.tar in the current directory (256 MB take about 0.15 s here).'
        }
    )

    Notes       = @'
Compared with ssh: no daemon, no login shell start-up, and the command is
in the container's own process tree. Compared with `lxc exec`: the
exec'd processes are descendants of the container's init rather than
session leaders outside its pid namespace, so they survive a CRIU
checkpoint and restore.
'@
}
