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
writes stdout as one string, unsplit. Pipeline input is written to the
command's stdin (one line per object; byte arrays as they are), then
stdin is closed; without pipeline input the command's stdin is at end of
file.

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
ContainerExecStderr (one per stderr line of the command).
'@

    Parameters  = @{
        Name             = 'The running container to run the command in. Containers from Get-Container bind by their Name.'
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
        InputObject      = 'Objects written to the command''s stdin, one line each (byte arrays unchanged); stdin is closed after the last one.'
        Raw              = 'Write the command''s stdout as one string, unsplit, when the command ends.'
        PassThru         = 'Also write a ContainerPS.ExecResult (Container, Command, ExitCode, Duration) when the command ends.'
        AsJob            = 'Run the command as a background job (Receive-Job for its output; Stop-Job sends SIGTERM).'
    }

    Inputs      = @(
        @{
            Type        = 'System.Object'
            Description = 'Anything piped in is written to the command''s stdin.'
        }
    )

    Outputs     = @{
        'System.String'          = 'The command''s stdout lines (or, with -Raw, all of it as one string).'
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
    )

    Notes       = @'
Compared with ssh: no daemon, no login shell start-up, and the command is
in the container's own process tree. Compared with `lxc exec`: the
exec'd processes are descendants of the container's init rather than
session leaders outside its pid namespace, so they survive a CRIU
checkpoint and restore.
'@
}
