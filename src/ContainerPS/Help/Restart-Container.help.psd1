@{
    Synopsis    = 'Stops and starts containers again (lxc restart).'

    Description = @'
Restarts containers: a running container is stopped as Stop-Container
stops it (the stop signal, then SIGKILL after -Timeout seconds, or SIGKILL
at once with -Force) and then started as Start-Container starts it, with
a new init, a new Pid and a new console log. A container that is not
running (Stopped or Error) is just started. It is the equivalent of
`lxc restart NAME` (with -Force, `lxc restart NAME --force`; Incus:
incus restart). Nothing is written to the pipeline unless -PassThru is
given.

The stop and the start take the container's lock separately, so another
session can act on the container in between (for example start it, which
makes this start fail with ContainerRunning).

Error IDs: those of Stop-Container and Start-Container: ContainerNotFound,
ContainerBusy, ContainerStopFailed, ContainerRunning, ContainerStartFailed,
ToolMissing.
'@

    Parameters  = @{
        Name     = @'
The names of the containers to restart. Wildcards (web*) match existing
containers, and -WhatIf and -Confirm name each match; a pattern that
matches nothing does nothing, a name that does not exist is
ContainerNotFound. Containers from Get-Container bind by their Name.
'@
        Force    = 'Kill a running container (SIGKILL) instead of asking its init to stop.'
        Timeout  = @'
Seconds to wait for a clean shutdown before killing (0 to 86400), as
for Stop-Container.
'@
        PassThru = 'Write each restarted container (State Running) to the pipeline.'
    }

    Inputs      = @(
        @{
            Type        = 'ContainerPS.Container'
            Description = 'Containers from Get-Container, bound by their Name property.'
        }
    )

    Outputs     = @{
        'ContainerPS.Container' = 'With -PassThru, each restarted container. Otherwise nothing.'
    }

    Examples    = @(
        @{
            Title   = 'Restart a container'
            Code    = 'Restart-Container web1'
            Remarks = 'Like `lxc restart web1`: a clean stop, then a start.'
        }
        @{
            Title   = 'Restart quickly and see the new init'
            Code    = 'Restart-Container web1 -Force -PassThru | Select-Object Name, State, Pid, LastStartedAt'
            Remarks = 'Kills the old init, starts a new one and shows its pid.'
        }
        @{
            Title   = 'Restart every container of a group'
            Code    = 'Get-Container app* | Restart-Container -Timeout 5'
            Remarks = 'Stopped containers among them are started.'
        }
    )

    Links       = @(
        'Start-Container'
        'Stop-Container'
        'Get-Container'
        'about_ContainerPS'
    )
}
