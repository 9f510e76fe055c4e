@{
    Synopsis    = 'Removes storage pools (lxc storage delete).'

    Description = @'
Removes storage pools and what ContainerPS created on disk for them. It is
the equivalent of `lxc storage delete POOL` (Incus: incus storage delete).

A pool that still has volumes is not removed: the error PoolInUse lists the
first of them. With -Force, the pool's custom and image volumes, with all
their files, are removed first and then the pool. LXD has no such option.
A pool that holds containers (container or snapshot volumes) is refused
with PoolInUse even with -Force: remove the containers first.

For a dir pool, the sub-directories custom/, containers/, images/ and
containers-snapshots/ are removed. The pool directory itself is removed
too when ContainerPS created it (the default location, or a -Source that
did not exist); a -Source directory that existed before is left in
place, empty. Removal never crosses into other filesystems mounted below
the pool.

For a btrfs pool, the subvolumes of its volumes are deleted, together
with any subvolumes made inside them, and then what the pool was made
on is torn down:
- a loop file (no -Source at creation): the filesystem is unmounted, the
  file $CONTAINERPS_ROOT/disks/NAME.img is deleted and the mount point
  $CONTAINERPS_ROOT/storage-pools/NAME removed;
- a block device: the filesystem is unmounted and the mount point
  removed; the device is kept, with its now empty btrfs filesystem;
- a btrfs directory: nothing is unmounted; the directory is left in
  place, empty.
A loop file or device pool that is not mounted in this process's mount
namespace is mounted first, so that its volumes can be deleted.

For a zfs pool, what is removed depends on what the pool was made on:
- a zpool ContainerPS created (on a sparse file or a block device): the
  zpool is destroyed with all its datasets, but only when its root
  dataset carries the user property containerps:pool=NAME (a zpool of
  that name that is not this pool's is left alone); the file
  $CONTAINERPS_ROOT/disks/NAME.img is deleted, a block device is kept. A
  zpool made on a file that the running zfs daemon does not have is
  imported first (zpool import -d DIR);
- an existing zpool or dataset (-Source tank/containerps): only the
  datasets ContainerPS made below it are destroyed; the dataset is kept.
The directories below $CONTAINERPS_ROOT/storage-pools/NAME are removed.

The cmdlet has a high confirm impact, so it asks before removing each pool
unless you add -Confirm:$false (or lower $ConfirmPreference). -WhatIf shows
what would be removed.

The removal is crash safe: if the process is killed half way, the next
ContainerPS command finishes the removal and writes a warning.

Error IDs: PoolNotFound, PoolInUse (the pool has volumes; use -Force; or
it holds containers), PoolBusy (another operation is changing the pool),
VolumeBusy (with -Force, a volume is being changed by another operation),
VolumeInUse (with -Force, a custom volume is mounted into a container),
ZfsNotRunning (zfs pool: the zfs daemon is not running),
ToolFailed (btrfs, zfs, zpool or umount failed, for example because a process still
uses the pool's filesystem).
'@

    Parameters  = @{
        Name  = 'The names of the pools to remove (exact names, no wildcards).'
        Force = @'
Also removes the pool's custom and image volumes, with their files,
instead of failing with PoolInUse. Container and snapshot volumes are
not removed: remove their containers first. It does not suppress the
confirmation prompt; use -Confirm:$false for that.
'@
    }

    Inputs      = @(
        @{
            Type        = 'ContainerPS.StoragePool'
            Description = 'Pools from Get-StoragePool, bound by their Name property to -Name.'
        }
    )

    Examples    = @(
        @{
            Title   = 'Remove an empty pool'
            Code    = 'Remove-StoragePool -Name test -Confirm:$false'
            Remarks = @'
Like `lxc storage delete test`. Fails with PoolInUse if the pool still has
volumes.
'@
        }
        @{
            Title   = 'Remove a pool together with its volumes'
            Code    = 'Remove-StoragePool scratch -Force'
            Remarks = @'
Asks for confirmation, then removes every custom and image volume of
scratch and the pool. If scratch is a btrfs pool on a loop file, its
filesystem is unmounted and the loop file deleted, which frees the
space it took. If it is a zfs pool on a sparse file, its zpool is
destroyed and the file deleted.
'@
        }
        @{
            Title   = 'See which pools would go'
            Code    = 'Get-StoragePool -Name tmp-* | Remove-StoragePool -Force -WhatIf'
            Remarks = @'
Remove-StoragePool takes no wildcards itself; select the pools with
Get-StoragePool and pipe them.
'@
        }
    )

    Notes       = @'
Removing a pool with -Force deletes data irrecoverably. There is no
undo. Removing a btrfs pool on a loop file deletes the file and all that
was in it; removing a zfs pool ContainerPS made destroys its zpool.
'@

    Links       = @(
        'New-StoragePool'
        'Get-StoragePool'
        'Remove-StorageVolume'
        'about_ContainerPS'
    )
}
