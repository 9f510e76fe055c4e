@{
    Synopsis    = 'Gets storage volumes or a property of them (lxc storage volume list/get).'

    Description = @'
Gets storage volumes as ContainerPS.StorageVolume objects. It covers
`lxc storage volume list POOL`, `lxc storage volume show POOL VOLUME`,
`lxc storage volume info` and, with -Property,
`lxc storage volume get POOL VOLUME KEY` (Incus: incus storage volume ...).

Without parameters, all volumes of all pools are returned. -Pool and -Name
take names and wildcard patterns, and -Type limits the result to custom,
container or image volumes. A literal name that does not exist is reported
as an error (PoolNotFound for -Pool; VolumeNotFound for -Name when none
of the selected pools has it); a pattern that matches nothing returns
nothing. Literal names are matched exactly; patterns ignore case.

A volume object has Pool, Name, Type, Description, Config (the volume's own
keys, sorted), Used (bytes its files occupy on disk, counted like du -s),
Size (the size key in bytes, or $null when the volume has none),
SizeEnforced (whether the storage enforces Size: True on btrfs for a
volume with a size, where it is a qgroup limit, and on zfs, where it is
the dataset's refquota; on dir, True only where the pool's filesystem
enforces project quotas, ext4 prjquota or xfs pquota, else sizes are
recorded only), Path (the volume's directory on the host; a btrfs subvolume on
btrfs, the mount point of the volume's dataset on zfs),
CreatedAt (UTC), UsedBy (the names of the containers the volume is
mounted into with Mount-StorageVolume, running or not), Snapshots (for a
container's volume, the names of the container's snapshots, whose volumes
are CONTAINER@NAME of type snapshot; for a custom volume, the names of its
snapshots, volumes VOLUME@NAME of type custom-snapshot, see
Get-StorageVolumeSnapshot) and Status (Created, or Creating,
Deleting or Renaming while an operation on it is under way).
The table view groups volumes by pool and marks a size that is not
enforced with '*'.

-Property returns the bare value of one property instead of the object. It
is first matched against the object's properties, ignoring case, '_' and
'-' (used, size, size_enforced, path, created_at, snapshots...), and keeps the type
(Used and Size are Int64 bytes). Otherwise it is looked up as a config key,
matched exactly (user.app), and returned as a string. So -Property size
returns bytes; the text of the size key is in .Config['size']. A name that
is neither fails with PropertyNotFound.

Error IDs: PoolNotFound, VolumeNotFound, PropertyNotFound.
'@

    Parameters  = @{
        Pool     = @'
Names of the pools to search. Wildcards are allowed. When omitted, all
pools are searched.
'@
        Name     = @'
Names of the volumes to get. Wildcards are allowed. When omitted, all
volumes of the selected pools (and type) are returned.
'@
        Type     = @'
Only volumes of this type: custom (created with Add-StorageVolume),
container or image. When omitted, volumes of all types are returned.
'@
        Property = @'
Return only this property's bare value: an object property such as
used, size, path or created_at (case, '_' and '-' ignored), or else a
config key such as user.app (exact).
'@
    }

    Inputs      = @(
        @{
            Type        = 'ContainerPS.StoragePool'
            Description = @'
Pools from Get-StoragePool bind to -Pool by property name (through the
pool's Pool alias of its Name), so Get-StoragePool p | Get-StorageVolume
lists the volumes of p.
'@
        }
    )

    Outputs     = @{
        'ContainerPS.StorageVolume' = @'
A volume. With -Property, the bare value of the property instead (for
example an Int64 for used, a String for a config key).
'@
    }

    Examples    = @(
        @{
            Title   = 'List all volumes'
            Code    = 'Get-StorageVolume'
            Remarks = 'One table per pool, like `lxc storage volume list` for every pool.'
        }
        @{
            Title   = 'List the volumes of a pool'
            Code    = 'Get-StoragePool default | Get-StorageVolume'
            Remarks = 'The same as Get-StorageVolume -Pool default.'
        }
        @{
            Title   = 'Show one volume in full'
            Code    = 'Get-StorageVolume default data | Format-List *'
            Remarks = @'
Like `lxc storage volume show default data`; -Pool and -Name are the first
two positions.
'@
        }
        @{
            Title   = 'Get bare values for a script'
            Code    = @'
$bytes = Get-StorageVolume default data -Property used
$dir = Get-StorageVolume default data -Property path
"$dir uses $bytes bytes"
'@
            Remarks = 'Like `lxc storage volume get`, but values keep their types (Int64).'
        }
        @{
            Title   = 'Which containers use a volume'
            Code    = 'Get-StorageVolume default data -Property usedby'
            Remarks = 'The containers it is mounted into, for example web1 and web2.'
        }
        @{
            Title   = 'Find large custom volumes anywhere'
            Code    = 'Get-StorageVolume -Type custom | Where-Object Used -gt 1GB | Sort-Object Used -Descending'
            Remarks = 'Volumes are objects, so filtering and sorting need no text parsing.'
        }
    )

    Notes       = @'
Used is computed by walking the volume's directory, so it takes longer
for volumes with many files. It counts hard-linked files once and does
not enter other filesystems mounted below the volume. Like du, it counts
data a btrfs volume shares with snapshots and copies in full, so a
container made from an image or a fresh copy shows the Used of its
source although it occupies almost no new space. Subvolumes made inside
a btrfs volume (by a program in a container) have device numbers of
their own and are not counted. On a zfs pool, Used is the dataset's
zfs used property instead (for a container snapshot, its referenced
property), read without walking the files. Datasets of removed volumes
that are kept for their clones (containerps:deleted=true) are not
listed.
'@

    Links       = @(
        'Add-StorageVolume'
        'Set-StorageVolume'
        'Mount-StorageVolume'
        'Get-StoragePool'
        'about_ContainerPS'
    )
}
