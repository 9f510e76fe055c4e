@{
    Synopsis    = 'Waits until containers reach a state (Stopped by default) and returns them.'

    Description = @'
Waits until each named container is in the given state (Stopped,
Running or Error) and writes it to the pipeline as a
ContainerPS.Container. lxc has no single command for this (scripts poll
`lxc info`); it is what `docker wait` and `podman wait` do for
application containers.

The state is checked every 20 milliseconds, as Get-Container reads it.
A container already in the state is returned at once. Containers are
waited for one after another; the -Timeout applies to each. When the
time is up, the error WaitTimeout is written (the message says the
state the container is in) and the cmdlet goes on with the next name.
Ctrl+C stops the wait.

Waiting for Stopped returns when the init has ended, for whatever reason:
Stop-Container from another session, a shutdown inside the container, the
init crashing or being killed (kill -9 gives LastExitCode 137).
LastExitCode and StatusReason hold how it ended once the monitor has
recorded it. Waiting for Error catches a killed monitor.

Error IDs: ContainerNotFound, WaitTimeout.
'@

    Parameters  = @{
        Name    = @'
The names of the containers to wait for (exact, no wildcards).
Containers from Get-Container bind by their Name.
'@
        State   = 'The state to wait for: Stopped (the default), Running or Error.'
        Timeout = @'
Seconds to wait for each container (0 to 86400) before writing
WaitTimeout. 0 checks once.
'@
    }

    Inputs      = @(
        @{
            Type        = 'ContainerPS.Container'
            Description = 'Containers from Get-Container, bound by their Name property.'
        }
    )

    Outputs     = @{
        'ContainerPS.Container' = 'Each container once it is in the state.'
    }

    Examples    = @(
        @{
            Title   = 'Wait for a container to stop and see how it ended'
            Code    = 'Wait-Container web1 -Timeout 300 | Select-Object Name, State, LastExitCode, StatusReason'
            Remarks = @'
Returns when web1's init has ended, for example after a poweroff inside
the container or Stop-Container in another session.
'@
        }
        @{
            Title   = 'Fail a script when a container does not come up'
            Code    = @'
Start-Container web1
Wait-Container web1 -State Running -Timeout 10 -ErrorAction Stop | Out-Null
'@
            Remarks = 'Throws WaitTimeout if web1 is not Running within 10 seconds.'
        }
        @{
            Title   = 'Wait for all containers of a group to stop'
            Code    = 'Get-Container batch-* | Wait-Container -Timeout 600'
            Remarks = 'Returns each container as it is (or becomes) Stopped.'
        }
    )

    Links       = @(
        'Get-Container'
        'Stop-Container'
        'Start-Container'
        'about_ContainerPS'
    )
}
