@{
    Synopsis    = 'Stops containers: asks the init to shut down, then kills it (lxc stop).'

    Description = @'
Stops running containers. It is the equivalent of `lxc stop NAME`, with
-Force of `lxc stop NAME --force` and with -Stateful of `lxc stop NAME
--stateful` (Incus: incus stop). Nothing is written to the pipeline
unless -PassThru is given.

A clean stop sends the container's init a stop signal and waits up to
-Timeout seconds (default 30) for the init to end and for the monitor to
record the exit and remove the runtime state. The signal is the
container's boot.stop.signal key if set, else the image's stop signal
(image.stop.signal: SIGUSR2 for the built-in busybox image, whose init
powers off on it), else SIGPWR, the signal LXC sends (systemd and
sysvinit halt on it). If the init has not ended by then, a warning is
written and the container is killed with SIGKILL. -Force sends SIGKILL at
once. With -Timeout 0 the signal is sent and the container is killed
without waiting.

After the stop, State is Stopped. A clean stop (the init ended within
-Timeout, of the stop signal or with exit code 0) is LastExitCode 0 and
StatusReason "stopped by Stop-Container (SIGNAL)"; a kill (-Force, or
after the timeout) is 137, "killed by Stop-Container (SIGKILL)". An init
that exited with a code of its own keeps it.

A container in the Error state (its monitor was killed) is cleaned up:
its runc state, rootfs mount and pid files are removed, and no error is
written.

After the init has ended, CNI DEL runs for each attached network, last
interface first, with the cached ADD result: host-local frees the
addresses. Stopping a container whose init already exited by itself frees
its addresses too (and then reports ContainerNotRunning).

-Stateful saves the container's running state with CRIU instead of
shutting it down: its processes, memory, pipes, sockets (listening and
established TCP connections too), zombies and file locks are dumped into
ROOT/checkpoints/UUID/stop, then CRIU ends them. No stop signal is sent,
so the init does not shut down; -Force and -Timeout do not apply. The
container is Stopped with Stateful True and the StatusReason
"checkpointed: its processes were saved by CRIU and stopped"; its
networks are released (DEL). The next Start-Container restores it (same
pids, memory and addresses) instead of booting, once; Start-Container
-Stateless boots afresh and discards the saved state. A later stateful
stop replaces an unused saved state. Attached Invoke-ContainerExec
sessions are ended first, with a warning (their commands go on in the
container and are saved). See Checkpoint-Container for what CRIU saves
and Test-ContainerCheckpoint for whether it works here.

Error IDs: ContainerNotFound, ContainerNotRunning (it is stopped),
ContainerBusy (being changed by another session, or being created or
removed), ContainerStopFailed (still running 15 seconds after SIGKILL),
CriuMissing and CheckpointFailed (with -Stateful; the message has
CRIU's error lines and nothing is saved), HotMountNotCheckpointable
(with -Stateful: a storage volume was mounted into or dismounted from
the container while it runs; it goes on running: restart it, or stop it
without -Stateful).
'@

    Parameters  = @{
        Name     = @'
The names of the containers to stop. Wildcards (web*) match existing
containers, and -WhatIf and -Confirm name each match; a pattern that
matches nothing does nothing, a name that does not exist is
ContainerNotFound. Containers from Get-Container bind by their Name.
'@
        Force    = 'Kill the container with SIGKILL at once (lxc stop --force).'
        Stateful = @'
Save the running state with CRIU and stop (lxc stop --stateful): the
next Start-Container restores the processes instead of booting.
'@
        Timeout  = @'
Seconds to wait for a clean shutdown after the stop signal before
killing the container (0 to 86400). Like lxc stop --timeout.
'@
        PassThru = 'Write each stopped container (State Stopped) to the pipeline.'
    }

    Inputs      = @(
        @{
            Type        = 'ContainerPS.Container'
            Description = 'Containers from Get-Container, bound by their Name property.'
        }
    )

    Outputs     = @{
        'ContainerPS.Container' = 'With -PassThru, each stopped container. Otherwise nothing.'
    }

    Examples    = @(
        @{
            Title   = 'Stop a container cleanly'
            Code    = 'Stop-Container web1'
            Remarks = @'
Like `lxc stop web1`. For a busybox container the console log then ends
with the shutdown messages (see Get-ContainerLog).
'@
        }
        @{
            Title   = 'Kill a container'
            Code    = '(Stop-Container web1 -Force -PassThru).LastExitCode'
            Remarks = 'Like `lxc stop web1 --force`. Prints 137 (killed by SIGKILL).'
        }
        @{
            Title   = 'Stop all running containers, giving each 10 seconds'
            Code    = 'Get-Container | Where-Object State -eq Running | Stop-Container -Timeout 10'
            Remarks = @'
Containers whose init ignores the signal are killed after 10 seconds,
with a warning.
'@
        }
        @{
            Title   = 'Use another stop signal for a container'
            Code    = @'
New-Container sysd busybox -Config @{ 'boot.stop.signal' = 'SIGUSR1' }
'@
            Remarks = @'
boot.stop.signal overrides the image's stop signal (busybox init halts on
SIGUSR1). Set it when the container's init shuts down on another signal.
'@
        }
        @{
            Title   = 'Stop with the running state saved, and resume later'
            Code    = @'
Stop-Container web1 -Stateful
Get-Container web1 | Format-List Name, State, Stateful, StatusReason
Start-Container web1
'@
            Remarks = @'
Like `lxc stop web1 --stateful; lxc start web1`. In between, web1 is
Stopped with Stateful True; the start brings back its processes, with
their memory and addresses, where they were.
'@
        }
    )

    Links       = @(
        'Start-Container'
        'Restart-Container'
        'Wait-Container'
        'Get-Container'
        'Checkpoint-Container'
        'about_ContainerPS'
    )
}
