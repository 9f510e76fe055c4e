@{
    Synopsis    = 'Removes a snapshot of a custom storage volume (lxc storage volume delete POOL VOLUME/SNAPSHOT).'

    Description = @'
Removes one snapshot of a custom volume. It is the equivalent of
`lxc storage volume delete POOL VOLUME/SNAPSHOT` (Incus: incus storage
volume snapshot delete). The volume and its other snapshots are not
changed.

On dir and btrfs pools the snapshot's copy or subvolume is deleted; on
zfs the zfs snapshot is destroyed; on ceph the RBD snapshot is removed
(an RBD snapshot that clones still depend on is renamed zombie_* and
removed with its last clone). Removing the volume itself
(Remove-StorageVolume) removes all its snapshots.

Error IDs: PoolNotFound, VolumeNotFound, SnapshotNotFound, VolumeBusy,
ToolFailed, ZfsNotRunning, CephNotReachable.
'@

    Parameters  = @{
        Pool   = 'The pool of the volume. Snapshots from Get-StorageVolumeSnapshot bind by their Pool.'
        Volume = 'The custom volume. Snapshots from Get-StorageVolumeSnapshot bind by their Volume.'
        Name   = 'The snapshot to remove. Snapshots from Get-StorageVolumeSnapshot bind by their Name.'
    }

    Inputs      = @(
        @{
            Type        = 'ContainerPS.StorageVolumeSnapshot'
            Description = 'A snapshot from Get-StorageVolumeSnapshot, bound by its Pool, Volume and Name properties.'
        }
    )

    Outputs     = @{
        'None' = 'Nothing is written to the pipeline.'
    }

    Examples    = @(
        @{
            Title   = 'Remove one snapshot'
            Code    = 'Remove-StorageVolumeSnapshot default data before-upgrade'
            Remarks = 'Like `lxc storage volume delete default data/before-upgrade`.'
        }
        @{
            Title   = 'Remove all snapshots of a volume'
            Code    = 'Get-StorageVolumeSnapshot default data | Remove-StorageVolumeSnapshot'
            Remarks = 'Each piped snapshot binds by Pool, Volume and Name.'
        }
    )

    Links       = @(
        'New-StorageVolumeSnapshot'
        'Get-StorageVolumeSnapshot'
        'Remove-StorageVolume'
        'about_ContainerPS'
    )
}
