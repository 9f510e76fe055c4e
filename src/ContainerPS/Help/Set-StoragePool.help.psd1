@{
    Synopsis    = 'Changes config keys or the description of a pool (lxc storage set).'

    Description = @'
Sets or unsets config keys of a storage pool and changes its description.
It is the equivalent of `lxc storage set POOL KEY=VALUE`,
`lxc storage unset POOL KEY` and the description part of `lxc storage edit`
(Incus: incus storage set/unset/edit).

-Config takes a hashtable of changes that is merged into the pool's keys:
a key with a value is set (added or replaced), a key with the value $null is
unset (removed), and keys not named are left alone. All changes are checked
before any is applied, and applied together.

Keys of a dir pool: user.* (free-form), volume.KEY (the default of the
volume key KEY for volumes created later; for dir, volume.size) and source,
which can be set only when the pool is created (ConfigKeyReadOnly). Changing
volume.size does not change existing volumes: each volume keeps the keys it
got when it was created. Use Set-StorageVolume for those.

Keys of a btrfs pool: the same, and btrfs.mount_options, the mount options
of the pool's filesystem as a comma-separated list (default
user_subvol_rm_allowed). Setting it remounts the pool at once
(mount -o remount,OPTIONS); unsetting it ($null) remounts with the
default. A remount keeps options it does not name that btrfs carries over
(compress, for example) until the pool is next mounted. On a pool made on
an existing btrfs directory, which ContainerPS does not mount, the key is
only recorded. size, the size of the loop file, can be set only when the
pool is created (ConfigKeyReadOnly).

Keys of a zfs pool: the dir keys, and zfs.clone_copy: true (the default)
makes copies within the pool (containers from an image, Copy-Container,
Copy-StorageVolume) clones of a snapshot, made in constant time; false
makes them full zfs send/receive copies that share nothing with their
source. A change applies to copies made later. size and zfs.pool_name
can be set only when the pool is created (ConfigKeyReadOnly).

Keys of a ceph pool that can change: ceph.rbd.clone_copy, ceph.rbd.features
(both for volumes made later) and ceph.rbd.map (auto, krbd or fuse: how
images are mapped from now on; a volume mapped already keeps its mapping
until it is unmapped, by a rollback, a rename or a removal). krbd on a
kernel without the rbd module fails with DriverNotSupported and changes
nothing.

-Description replaces the description; -Description '' clears it. Nothing
is written to the pipeline unless you use -PassThru.

Error IDs: PoolNotFound, PoolBusy (another operation is changing the pool;
try again when it has finished), InvalidConfigKey (unknown key, a key of
another driver such as btrfs.mount_options on a zfs pool, or volume.KEY for an unknown volume
key), InvalidConfigValue (for example a size that is not a size, or mount
options with spaces), ConfigKeyReadOnly (source, size, or a volatile.*
key, which ContainerPS keeps itself; zfs.pool_name on a zfs pool), ToolFailed (the remount failed, for
example an option btrfs does not know; nothing is changed).
'@

    Parameters  = @{
        Name        = 'The name of the pool to change (exact, no wildcards).'
        Config      = @'
The keys to change, as a hashtable: a value sets the key, $null unsets
it. Values are stored as text; numbers and $true/$false become invariant
text.
'@
        Description = 'The new description of the pool. An empty string clears it.'
        PassThru    = 'Writes the changed pool to the pipeline. By default nothing is written.'
    }

    Inputs      = @(
        @{
            Type        = 'ContainerPS.StoragePool'
            Description = 'A pool from Get-StoragePool, bound by its Name property to -Name.'
        }
    )

    Outputs     = @{
        'ContainerPS.StoragePool' = 'With -PassThru, the changed pool. Otherwise nothing.'
    }

    Examples    = @(
        @{
            Title   = 'Set a default size for new volumes'
            Code    = 'Set-StoragePool -Name default -Config @{ ''volume.size'' = ''20GiB'' }'
            Remarks = @'
Like `lxc storage set default volume.size=20GiB`. Volumes created in the
pool from now on get size=20GiB unless Add-StorageVolume gives another size.
'@
        }
        @{
            Title   = 'Set a key, unset another, change the description'
            Code    = @'
Set-StoragePool default -Config @{ 'user.team' = 'storage'; 'volume.size' = $null } -Description 'General purpose pool' -PassThru
'@
            Remarks = @'
Sets user.team, unsets volume.size (like `lxc storage unset default
volume.size`) and shows the changed pool.
'@
        }
        @{
            Title   = 'Compress new data in a btrfs pool'
            Code    = @'
Set-StoragePool fast -Config @{ 'btrfs.mount_options' = 'user_subvol_rm_allowed,compress=zstd' }
'@
            Remarks = @'
Like `lxc storage set fast btrfs.mount_options=...`. The pool's
filesystem is remounted with the new options at once; files written from
now on are compressed. Keep user_subvol_rm_allowed in the list so that
root in a container can delete subvolumes it made.
'@
        }
        @{
            Title   = 'Make full copies in a zfs pool'
            Code    = 'Set-StoragePool zpool1 -Config @{ ''zfs.clone_copy'' = $false }'
            Remarks = @'
Like `lxc storage set zpool1 zfs.clone_copy=false`. Copies made in the
pool from now on are full zfs send/receive copies instead of clones, so
they do not keep their source's snapshot alive. Set it back to $true (or
unset it) for constant-time clones.
'@
        }
        @{
            Title   = 'Map a ceph pool''s images with rbd-fuse'
            Code    = 'Set-StoragePool ceph1 -Config @{ ''ceph.rbd.map'' = ''fuse'' }; (Get-StoragePool ceph1).RbdMap'
            Remarks = @'
Like `lxc storage set ceph1 ceph.rbd.map=fuse` would be. Images mapped
from now on are reached through rbd-fuse and a loop device instead of the
kernel's rbd; RbdMap shows fuse. Volumes mapped already stay on their
/dev/rbdN until they are unmapped.
'@
        }
        @{
            Title   = 'Tag every pool'
            Code    = 'Get-StoragePool | Set-StoragePool -Config @{ ''user.backup'' = ''nightly'' } -WhatIf'
            Remarks = @'
Pools bind to -Name from the pipeline. -WhatIf lists what would be changed;
run it again without -WhatIf to apply.
'@
        }
    )

    Notes       = @'
Set-StoragePool supports -WhatIf and -Confirm. To see the current keys,
use (Get-StoragePool NAME).Config or Get-StoragePool NAME -Property KEY.
'@

    Links       = @(
        'Get-StoragePool'
        'New-StoragePool'
        'Set-StorageVolume'
        'about_ContainerPS'
    )
}
