@{
    Synopsis    = 'Starts the containers with boot.autostart, as a host does at boot (LXD''s daemon start).'

    Description = @'
Starts every stopped container whose boot.autostart key is true, in the
order LXD uses: boot.autostart.priority first (higher starts earlier;
default 0), then the name. After starting a container whose
boot.autostart.delay is N, it waits N seconds before it starts the next
one (not after the last). Containers already running are left alone.
Each started container is written to the pipeline.

A container that cannot start gets a non-terminating error (with the
error ID Start-Container would give it, such as ContainerStartFailed)
and the next one still starts. Running it again starts what is not
running yet.

This is what the boot unit runs: Initialize-ContainerHost -BootUnit
installs containerps.service, whose ExecStart is
`pwsh -Command "Import-Module ...; Start-ContainerHost"` and whose
ExecStop is Stop-ContainerHost. On a host without systemd, run it from
the host's own boot scripts.

After a reboot nothing needs repairing by hand: the runtime directory
(/run/containerps) is gone with the old boot, the database says which
containers exist, and the first command of the new boot cleans up what
the old one left (network attachments, stale pid files).

Error IDs: those of Start-Container, one error per container that failed.
'@

    Parameters  = @{}

    Outputs     = @{
        'ContainerPS.Container' = 'Each container it started, in the order it started them.'
    }

    Examples    = @(
        @{
            Title   = 'Start a database before the web server that needs it, 5 seconds apart'
            Code    = @'
Set-Container db -Config @{ 'boot.autostart' = $true; 'boot.autostart.priority' = 10; 'boot.autostart.delay' = 5 }
Set-Container web -Config @{ 'boot.autostart' = $true }
Start-ContainerHost | Select-Object Name, State, LastStartedAt
'@
            Remarks = 'db starts first, then 5 seconds later web (priority 0). At boot the unit does the same.'
        }
        @{
            Title   = 'See what a boot would start, and in which order'
            Code    = 'Get-Container | Where-Object { $_.Config[''boot.autostart''] -eq ''true'' } | Sort-Object { [int]$_.Config[''boot.autostart.priority''] } -Descending | Select-Object Name, State'
            Remarks = 'The containers with boot.autostart, highest priority first.'
        }
    )

    Links       = @(
        'Stop-ContainerHost'
        'Initialize-ContainerHost'
        'Start-Container'
        'Set-Container'
        'about_ContainerPS'
    )
}
