@{
    Synopsis    = 'Removes a custom storage volume and its files (lxc storage volume delete).'

    Description = @'
Removes a custom storage volume: its files on disk and its entry in the
state. It is the equivalent of `lxc storage volume delete POOL VOLUME`
(Incus: incus storage volume delete).

Only custom volumes are removed with this cmdlet. Container and image
volumes belong to their container or image and fail with
VolumeTypeNotRemovable; remove the container or image instead (or the
whole pool with Remove-StoragePool -Force).

A volume that is mounted into containers (its UsedBy property) is not
removed (VolumeInUse): dismount it from them first with
Dismount-StorageVolume.

On a dir pool the volume's directory is removed recursively, without
crossing into other filesystems mounted below it. On a btrfs pool the
volume's subvolume is deleted, together with any subvolumes made inside
it. On a zfs pool the volume's dataset is destroyed; if clones still
depend on it (copies made with Copy-StorageVolume within the pool), it
leaves the lists at once but is kept, unmounted (user property
containerps:deleted=true), and destroyed with its last clone. Until then
a new custom volume of that name fails with VolumeExists. On a ceph pool
the volume is unmapped and its RBD image removed; an image that clones
still depend on is renamed zombie_custom_NAME_* and removed with its last
clone (the name is free again at once).

The volume's snapshots (New-StorageVolumeSnapshot) are removed with it.

The cmdlet has a medium confirm impact: it does not ask by default; use
-Confirm to be asked, or -WhatIf to see what would be removed.

The removal is crash safe: if the process is killed half way, the next
ContainerPS command finishes it and writes a warning.

Error IDs: PoolNotFound, VolumeNotFound, VolumeTypeNotRemovable,
VolumeInUse (the volume is mounted into containers; the message names
them), VolumeBusy (another operation is changing the volume).
'@

    Parameters  = @{
        Pool = 'The name of the pool that holds the volume.'
        Name = 'The name of the volume to remove (exact, no wildcards).'
        Type = @'
The type of the volume: custom (the default). container and image are
accepted so that volumes can be piped from Get-StorageVolume, but such
volumes are not removed (VolumeTypeNotRemovable).
'@
    }

    Inputs      = @(
        @{
            Type        = 'ContainerPS.StorageVolume'
            Description = @'
Volumes from Get-StorageVolume, bound by their Pool, Name and Type
properties.
'@
        }
    )

    Examples    = @(
        @{
            Title   = 'Remove a volume'
            Code    = 'Remove-StorageVolume -Pool default -Name data'
            Remarks = 'Like `lxc storage volume delete default data`.'
        }
        @{
            Title   = 'Remove all custom volumes of a pool'
            Code    = 'Get-StorageVolume -Pool scratch -Type custom | Remove-StorageVolume -Confirm'
            Remarks = @'
Asks before each volume. -Type custom keeps container and image volumes out
of the pipeline, which would otherwise fail with VolumeTypeNotRemovable.
'@
        }
        @{
            Title   = 'Remove volumes by pattern, checking first'
            Code    = 'Get-StorageVolume default tmp-* | Remove-StorageVolume -WhatIf'
            Remarks = @'
Remove-StorageVolume takes no wildcards itself; select the volumes with
Get-StorageVolume and pipe them.
'@
        }
    )

    Notes       = @'
The files are deleted irrecoverably. Copy-StorageVolume makes a copy
first if you may need them.
'@

    Links       = @(
        'Get-StorageVolume'
        'Add-StorageVolume'
        'Dismount-StorageVolume'
        'Remove-StoragePool'
        'about_ContainerPS'
    )
}
