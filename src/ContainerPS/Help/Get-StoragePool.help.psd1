@{
    Synopsis    = 'Gets storage pools, or one property of them (lxc storage list/show/get).'

    Description = @'
Gets the storage pools of this host as ContainerPS.StoragePool objects. It
covers `lxc storage list`, `lxc storage show POOL`, `lxc storage info POOL`
and, with -Property, `lxc storage get POOL KEY` (Incus: incus storage ...).

Without -Name, all pools are returned. -Name takes pool names and wildcard
patterns; a literal name that does not exist is reported as a PoolNotFound
error, a pattern that matches nothing returns nothing. Literal names are
matched exactly (case-sensitive); patterns ignore case.

A pool object has Name, Driver (dir, btrfs or zfs), Source (the pool's
directory: for a btrfs pool on a loop file or a device, the mount point
of its filesystem; for a zfs pool, the directory below which its
datasets are mounted), Description, Config (the pool's keys, sorted; a
btrfs pool on a loop file or a device has volatile.btrfs.device, the
file or device; a zfs pool has zfs.pool_name, its zpool or dataset, and,
when ContainerPS made the zpool, volatile.zfs.device), Used and Size, CreatedAt (UTC), UsedBy (the pool's
volumes as TYPE/NAME, such as custom/data) and Status (Created, or
Creating or Deleting while an operation on the pool is under way), and
RbdMap: for a ceph pool, how it maps its RBD images on this host from now
on, krbd (the kernel's rbd, /dev/rbdN) or fuse (rbd-fuse + a loop
device), as its ceph.rbd.map says (auto: krbd where the kernel has the
rbd module); empty for other drivers. Used
and Size are the used and total bytes of the filesystem that holds the
pool, as in `lxc storage info`: for a btrfs pool on a loop file or a
device, its own filesystem; for a dir pool, or a btrfs pool on a
directory, the filesystem of that directory, including everything else
on it; for a zfs pool, the used and used plus available bytes of its
dataset (zfs get used,available). The table view shows them in KiB/MiB/GiB and UsedBy as a count.

-Property returns the bare value of one property instead of the object, the
way `lxc storage get` or `zfs get -H -p -o value` does. It is first matched
against the object's properties, ignoring case, '_' and '-' (used, size,
created_at, used_by, source, driver, status...), and the value keeps its
type (Used and Size are bytes as Int64, CreatedAt a DateTime). Otherwise it
is looked up as a config key, matched exactly (volume.size, user.owner), and
returned as a string. A name that is neither fails with PropertyNotFound.

Error IDs: PoolNotFound (a literal -Name that does not exist),
PropertyNotFound (-Property names nothing). If the state root cannot be
opened, the command stops with StateUnavailable.
'@

    Parameters  = @{
        Name     = @'
Names of the pools to get. Wildcards (*, ?, [a-z]) are allowed. When
omitted, all pools are returned.
'@
        Property = @'
Return only this property's bare value: an object property such as
used, size or created_at (case, '_' and '-' ignored), or else a config
key such as volume.size or user.owner (exact).
'@
    }

    Inputs      = @(
        @{
            Type        = 'System.String[]'
            Description = 'Objects with a Name property, bound by property name to -Name.'
        }
    )

    Outputs     = @{
        'ContainerPS.StoragePool' = @'
A pool. With -Property, the bare value of the property instead (for
example an Int64 for used, a String for a config key).
'@
    }

    Examples    = @(
        @{
            Title   = 'List all pools'
            Code    = 'Get-StoragePool'
            Remarks = @'
Like `lxc storage list`: one row per pool with its driver, source, volume
count, usage and status.
'@
        }
        @{
            Title   = 'Show everything about one pool'
            Code    = 'Get-StoragePool -Name default | Format-List *'
            Remarks = 'Like `lxc storage show default` and `lxc storage info default`.'
        }
        @{
            Title   = 'Get one value for a script'
            Code    = @'
$used = Get-StoragePool default -Property used
$size = Get-StoragePool default -Property size
'{0:P0} of the filesystem under pool default is used' -f ($used / $size)
'@
            Remarks = @'
-Property returns bare values: here two Int64 byte counts, so no parsing of
text is needed.
'@
        }
        @{
            Title   = 'Read a config key'
            Code    = 'Get-StoragePool default -Property volume.size'
            Remarks = @'
Like `lxc storage get default volume.size`, it returns the text of the key
(10GiB, say). It fails with PropertyNotFound when the key is not set.
'@
        }
        @{
            Title   = 'Where btrfs pools keep their filesystems'
            Code    = @'
Get-StoragePool | Where-Object Driver -eq btrfs |
    Select-Object Name, Source, @{ n = 'Device'; e = { $_.Config['volatile.btrfs.device'] } }
'@
            Remarks = @'
Lists each btrfs pool with its mount point and its loop file (such as
/var/lib/containerps/disks/fast.img) or block device; Device is empty
for a pool on a btrfs directory. Get-StoragePool fast -Property
volatile.btrfs.device gives the bare value for one pool.
'@
        }
        @{
            Title   = 'Find pools by pattern and list their volumes'
            Code    = 'Get-StoragePool -Name d* | Get-StorageVolume'
            Remarks = @'
A pool object binds to -Pool of Get-StorageVolume by property name (the pool
has a Pool alias of its Name).
'@
        }
    )

    Notes       = @'
Pools in the middle of an operation (Status Creating or Deleting) are
listed too. If a process was killed during such an operation, the next
ContainerPS command repairs it first and writes a warning.
'@

    Links       = @(
        'New-StoragePool'
        'Set-StoragePool'
        'Remove-StoragePool'
        'Get-StorageVolume'
        'about_ContainerPS'
    )
}
