@{
    Synopsis    = 'Removes a snapshot of a container (lxc delete CONTAINER/SNAPSHOT).'

    Description = @'
Removes one snapshot of a container: its storage volume
(CONTAINER@SNAPSHOT, type snapshot) and its entry in the state. It is the
equivalent of `lxc delete CONTAINER/SNAPSHOT` (Incus: incus snapshot
delete). The container and its other snapshots are not changed; the
container may be running.

Containers made from the snapshot with Copy-Container -Snapshot are
independent copies and are kept.

Error IDs: ContainerNotFound, SnapshotNotFound, ContainerBusy,
VolumeBusy.
'@

    Parameters  = @{
        Container = @'
The container whose snapshot to remove. Snapshots from
Get-ContainerSnapshot bind by their Container property.
'@
        Name      = @'
The name of the snapshot (exact, no wildcards). Snapshots from
Get-ContainerSnapshot bind by their Name.
'@
    }

    Inputs      = @(
        @{
            Type        = 'ContainerPS.ContainerSnapshot'
            Description = @'
Snapshots from Get-ContainerSnapshot, bound by their Container and Name
properties.
'@
        }
    )

    Outputs     = @{
        'None' = 'Nothing is written to the pipeline.'
    }

    Examples    = @(
        @{
            Title   = 'Remove a snapshot'
            Code    = 'Remove-ContainerSnapshot web1 before-upgrade'
            Remarks = 'Like `lxc delete web1/before-upgrade`.'
        }
        @{
            Title   = 'Remove all snapshots of a container'
            Code    = 'Get-ContainerSnapshot web1 | Remove-ContainerSnapshot -WhatIf'
            Remarks = 'Shows what would be removed; run it without -WhatIf to remove them.'
        }
    )

    Links       = @(
        'New-ContainerSnapshot'
        'Get-ContainerSnapshot'
        'Remove-Container'
        'about_ContainerPS'
    )
}
