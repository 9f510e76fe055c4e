@{
    Synopsis    = 'Changes config keys or the description of a volume (lxc storage volume set).'

    Description = @'
Sets or unsets config keys of a storage volume and changes its description.
It is the equivalent of `lxc storage volume set POOL VOLUME KEY=VALUE`,
`lxc storage volume unset POOL VOLUME KEY` and the description part of
`lxc storage volume edit` (Incus: incus storage volume set/unset/edit).

-Config takes a hashtable of changes that is merged into the volume's keys:
a key with a value is set, a key with the value $null is unset, and keys
not named are left alone. All changes are checked before any is applied.

Volume keys of dir, btrfs and zfs pools: size and user.* (free-form). On a
btrfs pool a new size takes effect at once as the subvolume's qgroup limit
(SizeEnforced is True): writes past it fail with "Disk quota exceeded"
(EDQUOT), and lowering it below what the volume holds refuses further
writes without removing data. Unsetting size removes the limit. On a zfs
pool the size is the dataset's refquota, set at once and enforced the same
way (SizeEnforced is True, "Disk quota exceeded"); unsetting size sets
refquota=none. On a dir
pool whose filesystem enforces project quotas (ext4 prjquota, xfs pquota)
a new size is the limit of the volume's project at once (SizeEnforced is
True, "Disk quota exceeded"; ext4 does not limit root), and unsetting it
removes the limit; on other dir pools a size is recorded but not enforced:
SizeEnforced stays False and a warning is written. On a
ceph pool a size can only grow (VolumeShrinkNotSupported otherwise): the
RBD image is resized and its filesystem grown, xfs online; ext4 online
needs CAP_SYS_RESOURCE, which this host lacks, so ext4 is grown offline
right away when no running container uses the volume, else (with a
warning) when it is next started or mounted while nothing else holds it.

By default the custom volume of that name is changed; -Type container or
-Type image changes a volume of that type (on btrfs and zfs, a size on a
container volume limits the container's root filesystem). Nothing is written to the
pipeline unless you use -PassThru.

Error IDs: PoolNotFound, VolumeNotFound, VolumeBusy (another operation is
changing the volume), InvalidConfigKey (unknown key or a key of another
driver), InvalidConfigValue (for example a size that is not a size),
ConfigKeyReadOnly (a volatile.* key, which ContainerPS keeps itself),
ZfsNotRunning (zfs pool: the zfs daemon is not running), ToolFailed
(btrfs or zfs could not set the limit; the key is not changed).
'@

    Parameters  = @{
        Pool        = 'The name of the pool that holds the volume.'
        Name        = 'The name of the volume to change (exact, no wildcards).'
        Type        = 'The type of the volume: custom (the default), container or image.'
        Config      = @'
The keys to change, as a hashtable: a value sets the key, $null unsets
it (size = $null removes the size). Values are stored as text.
'@
        Description = 'The new description of the volume. An empty string clears it.'
        PassThru    = 'Writes the changed volume to the pipeline. By default, nothing.'
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

    Outputs     = @{
        'ContainerPS.StorageVolume' = 'With -PassThru, the changed volume. Otherwise nothing.'
    }

    Examples    = @(
        @{
            Title   = 'Change the size of a volume'
            Code    = 'Set-StorageVolume -Pool default -Name data -Config @{ size = ''20GiB'' } -PassThru'
            Remarks = @'
Like `lxc storage volume set default data size=20GiB`. On a btrfs or zfs
pool the new limit applies at once; on a dir pool the new size is recorded,
not enforced, and a warning says so.
'@
        }
        @{
            Title   = 'Remove the size and set a user key'
            Code    = 'Set-StorageVolume default data -Config @{ size = $null; ''user.backup'' = ''weekly'' } -Description ''App data'''
            Remarks = @'
Unsets size (like `lxc storage volume unset default data size`; on a
btrfs pool the qgroup limit is removed, on a zfs pool refquota=none is
set), sets user.backup and changes
the description.
'@
        }
        @{
            Title   = 'Change every custom volume of a pool'
            Code    = 'Get-StorageVolume -Pool default -Type custom | Set-StorageVolume -Config @{ ''user.owner'' = ''ops'' }'
            Remarks = 'Volumes bind to -Pool, -Name and -Type from the pipeline.'
        }
    )

    Notes       = @'
Set-StorageVolume supports -WhatIf and -Confirm. To rename a volume, use
Rename-StorageVolume.
'@

    Links       = @(
        'Get-StorageVolume'
        'Add-StorageVolume'
        'Rename-StorageVolume'
        'Set-StoragePool'
        'about_ContainerPS'
    )
}
