@{
    Synopsis    = 'Takes a snapshot of a custom storage volume (lxc storage volume snapshot).'

    Description = @'
Takes a snapshot of a custom volume and writes it to the pipeline as a
ContainerPS.StorageVolumeSnapshot object. It is the equivalent of
`lxc storage volume snapshot POOL VOLUME SNAPSHOT` in LXD (Incus: incus
storage volume snapshot create).

A snapshot is a read-only copy of the volume's files as they are now,
made the way the pool's driver makes copies:
- dir: a copy with cp -a --reflink=auto at
  SOURCE/custom-snapshots/VOLUME@SNAPSHOT (owners, modes, ACLs, xattrs and
  file capabilities kept); it takes time in proportion to the data.
- btrfs: a read-only btrfs snapshot, in constant time.
- zfs: a zfs snapshot DATASET/custom/VOLUME@SNAPSHOT, in constant time.
- ceph: an RBD snapshot custom_VOLUME@snapshot_SNAPSHOT, in constant time;
  a mounted filesystem is frozen (fsfreeze) for the moment it takes, so
  the snapshot is consistent.

Snapshots are listed by Get-StorageVolumeSnapshot and in the Snapshots
property of the volume (Get-StorageVolume). They are not custom volumes:
they cannot be mounted into containers, copied or renamed; renaming the
volume renames its snapshots with it, and removing the volume removes
them. Restore-StorageVolumeSnapshot puts the volume back to one.

Error IDs: PoolNotFound, VolumeNotFound (no such custom volume),
SnapshotExists, InvalidName (the snapshot name is not 1 to 63 letters,
digits, '.', '_' or '-', or contains '..' or '/'), PoolBusy, VolumeBusy,
ToolFailed (cp, btrfs, zfs or rbd failed), ZfsNotRunning,
CephNotReachable.
'@

    Parameters  = @{
        Pool   = @'
The pool of the volume. Volumes from Get-StorageVolume bind by their Pool
property.
'@
        Volume = @'
The custom volume to snapshot. Volumes from Get-StorageVolume bind by
their Name (through the Volume alias property).
'@
        Name   = @'
The name of the new snapshot: 1 to 63 letters, digits, '.', '_' and '-',
starting with a letter or digit, without '..'.
'@
    }

    Inputs      = @(
        @{
            Type        = 'ContainerPS.StorageVolume'
            Description = @'
A custom volume from Get-StorageVolume, bound by its Pool and Volume
(= Name) properties; give -Name for the snapshot.
'@
        }
    )

    Outputs     = @{
        'ContainerPS.StorageVolumeSnapshot' = 'The new snapshot: Pool, Volume, Name, Used and CreatedAt.'
    }

    Examples    = @(
        @{
            Title   = 'Snapshot a volume before changing it'
            Code    = 'New-StorageVolumeSnapshot -Pool default -Volume data -Name before-upgrade'
            Remarks = 'Like `lxc storage volume snapshot default data before-upgrade`.'
        }
        @{
            Title   = 'Snapshot every custom volume of a pool'
            Code    = @'
$stamp = Get-Date -Format 'yyyyMMdd-HHmm'
Get-StorageVolume fast -Type custom | New-StorageVolumeSnapshot -Name "daily-$stamp"
'@
            Remarks = 'Each piped volume binds by Pool and Volume; one snapshot per volume is written out.'
        }
    )

    Links       = @(
        'Get-StorageVolumeSnapshot'
        'Restore-StorageVolumeSnapshot'
        'Remove-StorageVolumeSnapshot'
        'Get-StorageVolume'
        'about_ContainerPS'
    )
}
