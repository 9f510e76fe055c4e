@{
    Synopsis    = 'Lists the snapshots of a custom storage volume (lxc storage volume snapshot list).'

    Description = @'
Writes the snapshots of a custom volume to the pipeline as
ContainerPS.StorageVolumeSnapshot objects, oldest name first (ordinal
order of names). It is the equivalent of the snapshot list of
`lxc storage volume show POOL VOLUME` (Incus: incus storage volume
snapshot list POOL VOLUME).

Each object has Pool, Volume, Name, Used (bytes the snapshot holds, where
the driver can tell: its files on dir and btrfs, referenced on zfs, rbd
du on ceph) and CreatedAt. Objects survive remoting and format as a
table (Deserialized.ContainerPS.StorageVolumeSnapshot).

-Name takes wildcards. A name without wildcards that matches no snapshot
writes a SnapshotNotFound error; a pattern that matches none writes
nothing.

Error IDs: PoolNotFound, VolumeNotFound, SnapshotNotFound.
'@

    Parameters  = @{
        Pool   = @'
The pool of the volume. Volumes from Get-StorageVolume bind by their Pool
property.
'@
        Volume = @'
The custom volume whose snapshots to list. Volumes from Get-StorageVolume
bind by their Name (through the Volume alias property).
'@
        Name   = @'
Snapshot names to return; wildcards are allowed. Not bound from the
pipeline, so a piped volume lists all of its snapshots.
'@
    }

    Inputs      = @(
        @{
            Type        = 'ContainerPS.StorageVolume'
            Description = 'A custom volume from Get-StorageVolume, bound by its Pool and Volume (= Name) properties.'
        }
    )

    Outputs     = @{
        'ContainerPS.StorageVolumeSnapshot' = 'One object per snapshot.'
    }

    Examples    = @(
        @{
            Title   = 'List the snapshots of a volume'
            Code    = 'Get-StorageVolumeSnapshot default data'
            Remarks = 'A table of Pool, Volume, Name, Used and CreatedAt.'
        }
        @{
            Title   = 'Remove the snapshots older than a week'
            Code    = @'
Get-StorageVolume default -Type custom | Get-StorageVolumeSnapshot |
    Where-Object CreatedAt -lt (Get-Date).AddDays(-7) | Remove-StorageVolumeSnapshot
'@
            Remarks = 'Snapshot objects bind to Remove-StorageVolumeSnapshot by Pool, Volume and Name.'
        }
    )

    Links       = @(
        'New-StorageVolumeSnapshot'
        'Restore-StorageVolumeSnapshot'
        'Remove-StorageVolumeSnapshot'
        'about_ContainerPS'
    )
}
