@{
    Synopsis    = 'Creates a custom storage volume in a pool (lxc storage volume create).'

    Description = @'
Creates a custom storage volume in a storage pool and writes it to the
pipeline as a ContainerPS.StorageVolume object. It is the equivalent of
`lxc storage volume create POOL VOLUME [KEY=VALUE...]` (Incus: incus
storage volume create). Container and image volumes are not created with
this cmdlet; they belong to containers and images.

In a dir pool, the volume is the directory POOL-SOURCE/custom/NAME (mode
0755); in a btrfs pool, it is the btrfs subvolume POOL-SOURCE/custom/NAME;
in a zfs pool, it is the dataset DATASET/custom/NAME (DATASET is the pool's
zfs.pool_name), mounted at POOL-SOURCE/custom/NAME; in a ceph pool, it is
the RBD image custom_NAME of the pool's OSD pool, formatted with ext4 (or
xfs) and mounted at POOL-SOURCE/custom/NAME through rbd-fuse and a loop
device. The path is shown in the volume's Path property.

The volume's keys are the pool's volume.* defaults (volume.size on the pool
becomes size on the volume) overridden by -Config and -Size. They are copied
when the volume is created; changing the pool's defaults later does not
change the volume.

Volume keys of dir, btrfs and zfs pools: size and user.* (free-form). size is
a whole number with an optional unit: bytes (no unit or B), kB, MB, GB, TB,
PB, EB (powers of 1000) or KiB, MiB, GiB, TiB, PiB, EiB (powers of 1024),
as in LXD.

On a btrfs pool the size is enforced: it is a btrfs qgroup limit on the
subvolume (quotas are enabled on the pool's filesystem the first time a
size is set), writes past it fail with "Disk quota exceeded" (EDQUOT), and
the volume's SizeEnforced property is True. The limit counts the data the
subvolume refers to, including data it shares with snapshots and copies.

On a ceph pool the size is the size of the RBD image and of its
filesystem (default 10GiB, or the pool's volume.size), so it is enforced:
writes past it fail with "No space left on device". Two more keys can be
set when a ceph volume is created: block.filesystem (ext4, the default, or
xfs) and block.mount_options (mount options of the volume's filesystem,
such as noatime; Set-StorageVolume can change them and remounts).

On a zfs pool the size is enforced too: it is the dataset's refquota,
writes past it fail with "Disk quota exceeded", and SizeEnforced is True.
The refquota counts the data the dataset refers to, not its snapshots.

On a dir pool the size is enforced where the pool's filesystem enforces
project quotas (ext4 mounted with prjquota, on a filesystem made with
-O quota,project; xfs mounted with pquota), as LXD's dir driver does: the
volume's directory tree gets its own project id (the inode number of its
directory, or a free id where that does not fit in 32 bits; inherited by
every file created in it) and the project gets the
size as its block limit. Writes past it fail with "Disk quota exceeded",
and SizeEnforced is True. ext4 does not apply the limit to root (processes
with CAP_SYS_RESOURCE); xfs does. Elsewhere the dir driver records the size
but does not enforce it: the volume's SizeEnforced property is False, the
table view marks the size with '*', and a warning is written. Use a btrfs
or zfs pool, or a dir pool on such a filesystem, when the limit matters.

The operation is crash safe: if it fails, nothing is left behind; if the
process is killed half way, the next ContainerPS command rolls it back and
writes a warning.

Error IDs: PoolNotFound, PoolBusy, VolumeExists (the pool has a custom
volume of that name, or a directory of that name is in the way; on zfs
also when the dataset of a removed volume of that name is kept because
clones of it still exist),
InvalidName, InvalidConfigKey (unknown key, or a key of another driver),
InvalidConfigValue (for example size=10G: write 10GB or 10GiB),
ConfigKeyReadOnly (a volatile.* key), CephNotReachable (ceph pool: the
cluster did not answer), ZfsNotRunning (zfs pool: the zfs daemon
is not running), ToolFailed (btrfs or zfs failed to make the subvolume or
dataset or set its limit; nothing is left behind).
'@

    Parameters  = @{
        Pool        = 'The name of the pool to create the volume in.'
        Name        = @'
The name of the new volume: 1 to 63 letters, digits, '.', '_' and '-',
starting with a letter or digit, without '..'. Unique per pool and type.
'@
        Size        = @'
Shortcut for the size config key, for example 500MiB, 10GiB or 20GB
(a whole number with an optional unit). It overrides a size in -Config
and the pool's volume.size. Enforced on btrfs and zfs (writes past it
fail with EDQUOT); the dir driver records it but does not enforce it.
'@
        Config      = @'
Config keys of the volume as a hashtable, like the KEY=VALUE arguments
of lxc storage volume create: size and user.* (dir, btrfs and zfs).
'@
        Description = 'A free-text description of the volume.'
    }

    Inputs      = @(
        @{
            Type        = 'ContainerPS.StoragePool'
            Description = @'
A pool from Get-StoragePool, bound to -Pool by property name (through
the pool's Pool alias of its Name). -Name is still needed.
'@
        }
    )

    Outputs     = @{
        'ContainerPS.StorageVolume' = 'The new volume.'
    }

    Examples    = @(
        @{
            Title   = 'Create a volume'
            Code    = 'Add-StorageVolume -Pool default -Name data'
            Remarks = 'Like `lxc storage volume create default data`.'
        }
        @{
            Title   = 'Create a volume with a size and a user key'
            Code    = @'
Add-StorageVolume default logs -Size 5GiB -Config @{ 'user.app' = 'nginx' } -Description 'nginx logs'
'@
            Remarks = @'
Like `lxc storage volume create default logs size=5GiB user.app=nginx`. On a
dir pool without project quotas the size is recorded (Size = 5368709120
bytes) but not enforced, so a warning says so and SizeEnforced is False.
'@
        }
        @{
            Title   = 'A volume whose size is enforced'
            Code    = @'
$v = Add-StorageVolume fast scratch -Size 1GiB
$v.SizeEnforced
'@
            Remarks = @'
In the btrfs pool fast (or a zfs pool), prints True: a program that writes more than 1 GiB
into $v.Path gets "Disk quota exceeded". Set-StorageVolume changes the
limit; size = $null removes it.
'@
        }
        @{
            Title   = 'Create a volume in a piped pool and see where it is'
            Code    = '(Get-StoragePool default | Add-StorageVolume -Name cache).Path'
            Remarks = @'
Prints the host directory of the new volume, for example
/var/lib/containerps/storage-pools/default/custom/cache.
'@
        }
    )

    Notes       = @'
To silence the warning about an unenforced size, add -WarningAction
SilentlyContinue. The state root is /var/lib/containerps unless
CONTAINERPS_ROOT says otherwise.
'@

    Links       = @(
        'Get-StorageVolume'
        'Set-StorageVolume'
        'Copy-StorageVolume'
        'Remove-StorageVolume'
        'New-StoragePool'
        'about_ContainerPS'
    )
}
