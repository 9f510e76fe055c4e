@{
    Synopsis    = 'Gets the snapshots of a container (lxc info / incus snapshot list).'

    Description = @'
Gets the snapshots of a container as ContainerPS.ContainerSnapshot
objects, in the order they were taken: all of them, or those whose names
match -Name. It is the snapshots section of `lxc info CONTAINER` (Incus:
incus snapshot list CONTAINER).

Properties: Container, Name, Stateful and CreatedAt (UTC). Stateful is
False for a snapshot of the filesystem (New-ContainerSnapshot) and True
for one that also holds the running processes (Checkpoint-Container);
Restore-Container -Snapshot restores those, filesystem and processes.
The snapshot's files are the storage volume CONTAINER@SNAPSHOT of type
snapshot: (Get-StorageVolume -Pool POOL -Type snapshot -Name
web1@snap0).Path; the CRIU images of a stateful snapshot are in
ROOT/checkpoints/UUID/snapshot-NAME (UUID is the container's).
Remove-ContainerSnapshot removes both. The running state saved by
Stop-Container -Stateful is not a snapshot and is not listed here (see
the container's Stateful property).

Error IDs: ContainerNotFound, SnapshotNotFound (a name without wildcards
that matches no snapshot).
'@

    Parameters  = @{
        Container = @'
The container whose snapshots to get. Containers from Get-Container bind
by their Container alias property (their Name).
'@
        Name      = @'
Names of snapshots; wildcards are allowed and match without regard to
case. Without -Name, every snapshot of the container is returned.
'@
    }

    Inputs      = @(
        @{
            Type        = 'ContainerPS.Container'
            Description = 'A container from Get-Container, bound to -Container.'
        }
    )

    Outputs     = @{
        'ContainerPS.ContainerSnapshot' = 'The snapshots.'
    }

    Examples    = @(
        @{
            Title   = 'List the snapshots of a container'
            Code    = 'Get-ContainerSnapshot web1'
            Remarks = 'A table of Container, Name, Stateful and CreatedAt.'
        }
        @{
            Title   = 'The stateful snapshots of a container'
            Code    = 'Get-ContainerSnapshot web1 | Where-Object Stateful'
            Remarks = @'
The snapshots Restore-Container -Snapshot can bring back with their
processes.
'@
        }
        @{
            Title   = 'Snapshots of every container'
            Code    = 'Get-Container | Get-ContainerSnapshot'
            Remarks = 'Each container binds to -Container.'
        }
        @{
            Title   = 'Remove daily snapshots older than a week'
            Code    = @'
Get-ContainerSnapshot db1 daily-* | Where-Object CreatedAt -lt (Get-Date).ToUniversalTime().AddDays(-7) | Remove-ContainerSnapshot
'@
            Remarks = 'Snapshots pipe to Remove-ContainerSnapshot by their Container and Name.'
        }
    )

    Links       = @(
        'New-ContainerSnapshot'
        'Restore-ContainerSnapshot'
        'Remove-ContainerSnapshot'
        'Checkpoint-Container'
        'Restore-Container'
        'about_ContainerPS'
    )
}
