@{
    Synopsis    = 'Renames a custom storage volume (lxc storage volume rename).'

    Description = @'
Renames a custom storage volume within its pool, on disk and in the state.
It is the equivalent of `lxc storage volume rename POOL OLD NEW` (Incus:
incus storage volume rename). The volume keeps its keys, description and
files; its directory (on btrfs, its subvolume) is renamed, so its Path
changes. On a zfs pool its dataset is unmounted, renamed and mounted at
the new path (zfs-fuse cannot rename a mounted dataset); a name held by
the kept dataset of a removed volume that clones still depend on gives
VolumeExists. On a ceph pool the volume is unmapped, its RBD image renamed
and mounted again at the new path. The volume's snapshots
(New-StorageVolumeSnapshot) follow it to the new name.

Only custom volumes can be renamed. Renaming a volume to its own name does
nothing. Nothing is written to the pipeline unless you use -PassThru.

The operation is crash safe: if the process is killed half way, the next
ContainerPS command completes or reverts the rename, according to what is
on disk, and writes a warning.

Error IDs: PoolNotFound, VolumeNotFound, VolumeTypeNotSupported, VolumeExists (the new name is
taken), InvalidName (the new name is not valid), PoolBusy, VolumeBusy,
ZfsNotRunning (zfs pool: the zfs daemon is not running), ToolFailed (zfs
failed, for example because the dataset is busy).
'@

    Parameters  = @{
        Pool     = 'The name of the pool that holds the volume.'
        Name     = 'The current name of the custom volume.'
        NewName  = @'
The new name: 1 to 63 letters, digits, '.', '_' and '-', starting with a
letter or digit, without '..'.
'@
        Type     = @'
The volume's type, bound from a piped volume object. Only custom volumes
are renamed with this cmdlet; container and image volumes give the error
VolumeTypeNotSupported.
'@
        PassThru = 'Writes the renamed volume to the pipeline. By default, nothing.'
    }

    Inputs      = @(
        @{
            Type        = 'ContainerPS.StorageVolume'
            Description = @'
A volume from Get-StorageVolume, bound by its Pool and Name properties.
-NewName is still needed.
'@
        }
    )

    Outputs     = @{
        'ContainerPS.StorageVolume' = 'With -PassThru, the renamed volume. Otherwise nothing.'
    }

    Examples    = @(
        @{
            Title   = 'Rename a volume'
            Code    = 'Rename-StorageVolume -Pool default -Name data -NewName appdata'
            Remarks = 'Like `lxc storage volume rename default data appdata`.'
        }
        @{
            Title   = 'Rename a piped volume and show its new directory'
            Code    = '(Get-StorageVolume default appdata | Rename-StorageVolume -NewName app-data -PassThru).Path'
            Remarks = 'The positional form is Rename-StorageVolume default appdata app-data.'
        }
    )

    Notes       = @'
Anything that refers to the volume by its path (bind mounts, scripts)
must be updated after a rename.
'@

    Links       = @(
        'Get-StorageVolume'
        'Copy-StorageVolume'
        'Set-StorageVolume'
        'about_ContainerPS'
    )
}
