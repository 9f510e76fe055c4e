@{
    Synopsis    = 'Puts a custom storage volume back to one of its snapshots (lxc storage volume restore).'

    Description = @'
Replaces the files of a custom volume with those of one of its
snapshots. It is the equivalent of
`lxc storage volume restore POOL VOLUME SNAPSHOT` (Incus: incus storage
volume snapshot restore).

Everything written to the volume since the snapshot is lost; the snapshot
itself and the volume's other snapshots are kept. How it is done, by the
pool's driver:
- dir: the snapshot is copied beside the volume (cp -a --reflink=auto)
  and swapped in, so the volume is never half restored.
- btrfs: a writable snapshot of the snapshot is swapped in, in constant
  time; the volume's size limit applies to it.
- zfs: zfs rollback, in constant time; as zfs rolls back only to a
  dataset's latest snapshot, restoring an older one fails with
  SnapshotNotLatest (the message names the later snapshots: remove them
  first).
- ceph: rbd snap rollback, with the volume unmapped first (no mount or
  cache may hold the old blocks) and mounted again afterwards; any
  snapshot, not only the latest.

The volume must not be mounted into a container (VolumeInUse: use
Dismount-StorageVolume first). The cmdlet has a high confirm impact: it
asks for confirmation unless -Confirm:$false is given.

Error IDs: PoolNotFound, VolumeNotFound, SnapshotNotFound, VolumeInUse,
VolumeBusy, SnapshotNotLatest (zfs), ToolFailed, ZfsNotRunning,
CephNotReachable.
'@

    Parameters  = @{
        Pool   = 'The pool of the volume. Snapshots from Get-StorageVolumeSnapshot bind by their Pool.'
        Volume = 'The custom volume to restore. Snapshots from Get-StorageVolumeSnapshot bind by their Volume.'
        Name   = 'The snapshot to restore. Snapshots from Get-StorageVolumeSnapshot bind by their Name.'
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
            Title   = 'Undo changes to a volume'
            Code    = @'
Dismount-StorageVolume default data web1
Restore-StorageVolumeSnapshot default data before-upgrade -Confirm:$false
Mount-StorageVolume default data web1 /srv/data
'@
            Remarks = 'Like `lxc storage volume restore default data before-upgrade`, with the volume detached from web1 around it.'
        }
        @{
            Title   = 'Restore the newest snapshot'
            Code    = 'Get-StorageVolumeSnapshot default data | Sort-Object CreatedAt | Select-Object -Last 1 | Restore-StorageVolumeSnapshot'
            Remarks = 'Asks for confirmation first.'
        }
    )

    Links       = @(
        'New-StorageVolumeSnapshot'
        'Get-StorageVolumeSnapshot'
        'Dismount-StorageVolume'
        'about_ContainerPS'
    )
}
