@{
    Synopsis    = 'Dismounts a custom storage volume from a container, at once when it runs (lxc storage volume detach).'

    Description = @'
Removes the mount of a custom storage volume from a container: the disk
device that Mount-StorageVolume recorded is forgotten, so the next
Start-Container does not mount the volume. It is the equivalent of
`lxc storage volume detach POOL VOLUME CONTAINER` (Incus: incus storage
volume detach).

When the container runs, the volume is unmounted at once: the native
helper cps-mount joins the container's user and mount namespaces and
unmounts the path lazily (MNT_DETACH), so the mount disappears from the
container's view at once and processes that still have files open on it
keep them until they close them. The directory the mount was on stays
in the container. A stopped container only loses the device.

The volume and its files are not changed: they stay in the pool, and
on storage that cannot be idmapped they stay in the map they were
shifted to (volatile.idmap.last). Other containers keep their mounts of
the volume. Once no container mounts it, Remove-StorageVolume can
remove it.

Dismounting from a running container makes Checkpoint-Container and
Stop-Container -Stateful refuse it (HotMountNotCheckpointable) until it
restarts.

Error IDs: VolumeNotMounted (the volume is not mounted into the
container), PoolNotFound, VolumeNotFound, ContainerNotFound, MountFailed
(cps-mount could not unmount it from the running container; the device
is kept), ContainerBusy (another session is changing the container).
'@

    Parameters  = @{
        Pool      = @'
The pool of the volume. Volumes from Get-StorageVolume bind by their
Pool property.
'@
        Name      = @'
The name of the custom volume (exact, no wildcards). Volumes from
Get-StorageVolume bind by their Name property.
'@
        Container = 'The container to dismount the volume from (exact, no wildcards).'
    }

    Inputs      = @(
        @{
            Type        = 'ContainerPS.StorageVolume'
            Description = @'
A custom volume from Get-StorageVolume, bound by its Pool and Name
properties. -Container is given on the command line.
'@
        }
    )

    Outputs     = @{
        'None' = 'Nothing is written to the pipeline.'
    }

    Examples    = @(
        @{
            Title   = 'Dismount a volume'
            Code    = 'Dismount-StorageVolume default data web1'
            Remarks = @'
Like `lxc storage volume detach default data web1`. If web1 runs, the
volume is gone from its /srv/data at once.
'@
        }
        @{
            Title   = 'Dismount a volume from every container, then remove it'
            Code    = @'
$v = Get-StorageVolume default data
$v.UsedBy | ForEach-Object { Dismount-StorageVolume default data $_ }
Remove-StorageVolume default data
'@
            Remarks = @'
UsedBy lists the containers the volume is mounted into; once it is
empty, Remove-StorageVolume no longer fails with VolumeInUse.
'@
        }
        @{
            Title   = 'Dismount all volumes of a container'
            Code    = @'
(Get-Container web1).Devices | ForEach-Object { Dismount-StorageVolume $_.Pool $_.Volume web1 }
'@
            Remarks = 'Devices lists the volumes mounted into web1, with their pool and volume names.'
        }
    )

    Links       = @(
        'Mount-StorageVolume'
        'Get-StorageVolume'
        'Remove-StorageVolume'
        'Get-Container'
        'about_ContainerPS'
    )
}
