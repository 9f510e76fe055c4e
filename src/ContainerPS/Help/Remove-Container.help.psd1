@{
    Synopsis    = 'Removes containers with their snapshots and files (lxc delete).'

    Description = @'
Removes containers: the container's volume (its root filesystem), its
snapshots and their volumes, its runtime directory (console log, exit
status) and its entry in the state. It is the equivalent of
`lxc delete NAME`, and with -Force of `lxc delete NAME --force` (Incus:
incus delete). The image and its image volume are kept.

A running container is refused with ContainerRunning unless -Force is
given; with -Force it is killed with SIGKILL first (no clean shutdown),
and once removed nothing of it is left: no process, no rootfs mount, no
runc state, no runtime directory. To shut it down cleanly first, use
Stop-Container.

The cmdlet has a medium confirm impact: it does not ask by default; use
-Confirm to be asked, or -WhatIf to see what would be removed.

A removal whose process is killed half way is finished by the next
ContainerPS command, which writes a warning.

The container's network connections go with it: CNI DEL runs for any
attachment still recorded, and the container no longer counts as a user
of its networks.

Storage volumes mounted into the container (Mount-StorageVolume) are
dismounted and kept, with their files; the container no longer counts in
their UsedBy.

Error IDs: ContainerNotFound, ContainerRunning, ContainerBusy.
'@

    Parameters  = @{
        Name     = @'
The names of the containers to remove. Wildcards (web*) match existing
containers, and -WhatIf and -Confirm name each match; a pattern that
matches nothing does nothing, a name that does not exist is
ContainerNotFound. Containers from Get-Container bind by their Name.
'@
        Force    = 'Kill a running container (SIGKILL) and remove it (lxc delete --force).'
        PassThru = @'
Write each removed container as it was just before its removal (its
last state, config and addresses), for a log or to re-create it.
'@
    }

    Inputs      = @(
        @{
            Type        = 'ContainerPS.Container'
            Description = 'Containers from Get-Container, bound by their Name property.'
        }
    )

    Outputs     = @{
        'None' = 'Nothing is written to the pipeline.'
    }

    Examples    = @(
        @{
            Title   = 'Remove a stopped container'
            Code    = 'Remove-Container web2'
            Remarks = 'Like `lxc delete web2`.'
        }
        @{
            Title   = 'Remove a running container'
            Code    = 'Remove-Container web1 -Force'
            Remarks = 'Like `lxc delete web1 --force`: killed, then removed.'
        }
        @{
            Title   = 'Remove containers by pattern, checking first'
            Code    = @'
Get-Container test-* | Remove-Container -Force -WhatIf
Get-Container test-* | Remove-Container -Force
'@
            Remarks = @'
Remove-Container takes no wildcards itself; select the containers with
Get-Container and pipe them.
'@
        }
    )

    Notes       = @'
The container's files and snapshots are deleted irrecoverably.
Copy-Container makes a copy first if you may need them.
'@

    Links       = @(
        'Stop-Container'
        'Get-Container'
        'Copy-Container'
        'about_ContainerPS'
    )
}
