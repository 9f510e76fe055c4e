@{
    Synopsis    = 'Replaces a stopped container''s filesystem with one of its snapshots (lxc restore).'

    Description = @'
Restores a container to a snapshot: the container's root filesystem is
replaced by a copy of the snapshot's. It is the equivalent of
`lxc restore CONTAINER SNAPSHOT` (Incus: incus snapshot restore).

Everything written to the container's filesystem since the snapshot is
lost. The snapshot itself is kept, and so are the container's other
snapshots, older and newer (on a zfs pool there are no newer ones: see
below). The container's config is not changed.

The snapshot is copied beside the container's volume and then swapped in,
so the volume is never half restored. On a dir pool the copy is made with
cp -a --reflink=auto; on a btrfs pool it is a writable btrfs snapshot of
the snapshot, made in constant time. A size on the container's volume
applies to the restored one.

On a zfs pool the restore is `zfs rollback` of the container's dataset,
in constant time, and it works only with the container's latest
snapshot, as in Incus: restoring an older one fails with
SnapshotNotLatest, whose message names the later snapshots. Remove them
first (Remove-ContainerSnapshot), then restore.

The container must be stopped (ContainerRunning otherwise). The cmdlet
has a high confirm impact: it asks for confirmation unless
-Confirm:$false is given.

Error IDs: ContainerNotFound, SnapshotNotFound, ContainerRunning,
ContainerBusy, VolumeBusy, SnapshotNotLatest (zfs pool: a later snapshot
exists), ZfsNotRunning (zfs pool: the zfs daemon is not running),
ToolFailed (zfs rollback failed).
'@

    Parameters  = @{
        Container = @'
The container to restore. Snapshots from Get-ContainerSnapshot bind by
their Container property.
'@
        Name      = @'
The name of the snapshot to restore. Snapshots from
Get-ContainerSnapshot bind by their Name.
'@
    }

    Inputs      = @(
        @{
            Type        = 'ContainerPS.ContainerSnapshot'
            Description = @'
A snapshot from Get-ContainerSnapshot, bound by its Container and Name
properties.
'@
        }
    )

    Outputs     = @{
        'None' = 'Nothing is written to the pipeline.'
    }

    Examples    = @(
        @{
            Title   = 'Go back to a snapshot'
            Code    = @'
Stop-Container web1
Restore-ContainerSnapshot web1 before-upgrade -Confirm:$false
Start-Container web1
'@
            Remarks = 'Like `lxc stop web1; lxc restore web1 before-upgrade; lxc start web1`.'
        }
        @{
            Title   = 'Restore the newest snapshot'
            Code    = 'Get-ContainerSnapshot web1 | Select-Object -Last 1 | Restore-ContainerSnapshot'
            Remarks = 'Asks for confirmation first; the piped snapshot binds by Container and Name.'
        }
        @{
            Title   = 'Restore an older snapshot on a zfs pool'
            Code    = @'
$s = Get-ContainerSnapshot web1 daily1
Get-ContainerSnapshot web1 | Where-Object CreatedAt -gt $s.CreatedAt | Remove-ContainerSnapshot
Restore-ContainerSnapshot web1 daily1 -Confirm:$false
'@
            Remarks = @'
On a zfs pool, Restore-ContainerSnapshot web1 daily1 fails with
SnapshotNotLatest while web1 has snapshots taken after daily1 (the error
names them). Removing them first makes daily1 the latest, and the
restore is a zfs rollback.
'@
        }
    )

    Links       = @(
        'New-ContainerSnapshot'
        'Get-ContainerSnapshot'
        'Copy-Container'
        'about_ContainerPS'
    )
}
