@{
    Synopsis    = 'Renames a stopped container (lxc move / lxc rename).'

    Description = @'
Gives a stopped container a new name. It is the equivalent of
`lxc move OLD NEW` (also `lxc rename OLD NEW`; Incus: incus rename).
Nothing is written to the pipeline unless -PassThru is given.

What is renamed: the container, its container volume (containers/NEW in
the pool), its snapshots' volumes (NEW@SNAPSHOT), and the hostname: the
new name is written to its /etc/hostname (unless that file is a symbolic
link) and is the hostname the next start sets. The container's runtime
directory of the last run (console log, exit status) is removed. The
container keeps its config, id map and snapshots.

A running container is not renamed: stop it first (ContainerRunning).

Error IDs: ContainerNotFound, ContainerRunning, ContainerExists (a
container of the new name exists), InvalidName (the new name),
ContainerBusy.
'@

    Parameters  = @{
        Name     = @'
The container to rename. A container from Get-Container binds by its
Name.
'@
        NewName  = @'
The new name: 1 to 63 letters, digits, '.', '_' and '-', starting with
a letter or digit, without '..'.
'@
        PassThru = 'Write the renamed container to the pipeline.'
    }

    Inputs      = @(
        @{
            Type        = 'ContainerPS.Container'
            Description = 'A container from Get-Container, bound by its Name property.'
        }
    )

    Outputs     = @{
        'ContainerPS.Container' = 'With -PassThru, the renamed container. Otherwise nothing.'
    }

    Examples    = @(
        @{
            Title   = 'Rename a container'
            Code    = @'
Stop-Container web1
Rename-Container web1 web-old
'@
            Remarks = 'Like `lxc stop web1; lxc move web1 web-old`.'
        }
        @{
            Title   = 'Rename and start under the new name'
            Code    = 'Rename-Container -Name db1 -NewName db-primary -PassThru | Start-Container -PassThru'
            Remarks = 'The renamed container is piped to Start-Container, which binds its Name.'
        }
    )

    Links       = @(
        'Copy-Container'
        'Get-Container'
        'Stop-Container'
        'about_ContainerPS'
    )
}
