@{
    Synopsis    = 'Stops every running container, as a host does at shutdown.'

    Description = @'
Stops every running container of the state root: each is asked to shut
down with its stop signal (boot.stop.signal, else the image's) and
killed if it has not stopped within -Timeout seconds, as Stop-Container
does. Containers without boot.autostart stop first, then the autostart
ones in the reverse of their start order (the highest priority last).
Each stopped container is written to the pipeline; one that fails to
stop gets a non-terminating error and the others are still stopped.

The boot unit that Initialize-ContainerHost -BootUnit installs runs it
as its ExecStop, so a host shutdown stops the containers cleanly before
systemd ends the remaining processes. The containers' monitors do not
live in the unit's cgroup (on cgroup v2 they live in
/sys/fs/cgroup/containerps.monitor), so stopping or restarting the unit
by hand does nothing else to them.

Error IDs: those of Stop-Container, one error per container that failed.
'@

    Parameters  = @{
        Timeout = 'Seconds each container gets to shut down cleanly before it is killed (default 30).'
        Force   = 'Kill the containers at once (SIGKILL), like Stop-Container -Force.'
    }

    Outputs     = @{
        'ContainerPS.Container' = 'Each container it stopped.'
    }

    Examples    = @(
        @{
            Title   = 'Stop everything before maintenance, then bring the autostart containers back'
            Code    = @'
Stop-ContainerHost -Timeout 60 | Select-Object Name, State, LastExitCode
Start-ContainerHost
'@
            Remarks = 'Stops all running containers, waiting up to 60 s for each; then starts those with boot.autostart.'
        }
    )

    Links       = @(
        'Start-ContainerHost'
        'Initialize-ContainerHost'
        'Stop-Container'
        'about_ContainerPS'
    )
}
