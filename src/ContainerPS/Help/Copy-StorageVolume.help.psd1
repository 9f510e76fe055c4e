@{
    Synopsis    = 'Copies a custom storage volume (lxc storage volume copy).'

    Description = @'
Copies a custom storage volume, with its files, keys and description, to a
new custom volume. It is the equivalent of
`lxc storage volume copy POOL/VOLUME TARGETPOOL/NEWNAME` (Incus: incus
storage volume copy).

Give -NewName to copy within the same pool, -TargetPool to copy to another
pool under the same name, or both. The target pool may use another driver
than the source pool.

How the copy is made depends on the drivers of the two pools:
- dir to dir (within a pool or between pools): `cp -a --reflink=auto`.
  Owners, modes, times, hard links, extended attributes (ACLs, file
  capabilities) and special files are kept, and on filesystems with
  reflinks (btrfs, XFS) the copy shares blocks with the source until
  either changes.
- Within one btrfs pool: a writable btrfs snapshot of the source
  subvolume, made in constant time whatever the amount of data; it shares
  all data with the source until either changes.
- btrfs to another btrfs pool: btrfs send of a read-only snapshot of the
  source, btrfs receive into the target pool, and a writable snapshot of
  the received subvolume as the copy (as Incus does). The temporary
  snapshots are removed.
- Within one zfs pool: a clone of a zfs snapshot of the source, made in
  constant time (zfs.clone_copy=true, the default); with
  zfs.clone_copy=false, a full zfs send/receive copy. The snapshot stays
  while the clone exists; a source removed before its clones is kept,
  unmounted and out of the lists, until its last clone is removed, and
  its name cannot be used for a new custom volume until then
  (VolumeExists).
- zfs to another zfs pool: zfs send of a snapshot of the source, zfs
  receive into the target pool; the snapshot is removed afterwards.
- Between different drivers (dir, btrfs, zfs), either way: a new volume
  of the target's driver (a directory, subvolume or dataset) filled with
  `cp -a`, which keeps owners,
  modes, times, hard links, extended attributes, ACLs and file
  capabilities.

A copy that fails leaves nothing behind; if the process is killed half
way, the next ContainerPS command removes the partial copy and writes a
warning.

The source volume is not frozen while it is copied: stop whatever writes to
it first if you need a consistent copy. Nothing is written to the pipeline
unless you use -PassThru.

Error IDs: PoolNotFound (source or target pool), VolumeNotFound,
VolumeTypeNotSupported,
VolumeExists (the target name is taken, or neither -NewName nor -TargetPool
was given), InvalidName, PoolBusy, VolumeBusy, ZfsNotRunning (a zfs pool and no zfs
daemon), ToolFailed (cp, btrfs or zfs failed, for example because the target filesystem is full or the copy is
larger than its enforced size).
'@

    Parameters  = @{
        Pool       = 'The name of the pool that holds the source volume.'
        Name       = 'The name of the custom volume to copy.'
        TargetPool = @'
The pool to copy into, of any driver. When omitted, the copy is made in
the source pool (then -NewName is needed).
'@
        NewName    = @'
The name of the copy. When omitted, the copy gets the source's name
(then -TargetPool is needed).
'@
        Type       = @'
The volume's type, bound from a piped volume object. Only custom volumes
are copied with this cmdlet; container and image volumes give the error
VolumeTypeNotSupported.
'@
        PassThru   = 'Writes the new volume to the pipeline. By default nothing is written.'
    }

    Inputs      = @(
        @{
            Type        = 'ContainerPS.StorageVolume'
            Description = 'A volume from Get-StorageVolume, bound by its Pool and Name properties.'
        }
    )

    Outputs     = @{
        'ContainerPS.StorageVolume' = 'With -PassThru, the new volume. Otherwise nothing.'
    }

    Examples    = @(
        @{
            Title   = 'Copy a volume within its pool'
            Code    = 'Copy-StorageVolume -Pool default -Name data -NewName data-before-upgrade'
            Remarks = 'Like `lxc storage volume copy default/data default/data-before-upgrade`.'
        }
        @{
            Title   = 'Copy a volume to another pool under the same name'
            Code    = 'Get-StorageVolume default data | Copy-StorageVolume -TargetPool backup -PassThru'
            Remarks = @'
Like `lxc storage volume copy default/data backup/data`. Shows the new
volume in pool backup.
'@
        }
        @{
            Title   = 'Move data from a dir pool to a btrfs pool'
            Code    = @'
Copy-StorageVolume default data -TargetPool fast -PassThru
Remove-StorageVolume default data
'@
            Remarks = @'
Like `lxc storage volume copy default/data fast/data` followed by
`lxc storage volume delete default data`, with default a dir pool and
fast a btrfs pool: the copy is a new subvolume filled with cp -a, and its
size key, if it has one, is enforced there.
'@
        }
        @{
            Title   = 'Copy a volume within a zfs pool'
            Code    = 'Copy-StorageVolume zpool1 data -NewName data-test -PassThru'
            Remarks = @'
Like `lxc storage volume copy zpool1/data zpool1/data-test`. The copy is
a zfs clone of a snapshot of data, made in constant time; with
zfs.clone_copy=false on the pool it is a full zfs send/receive copy.
'@
        }
        @{
            Title   = 'Back up every custom volume of a pool'
            Code    = 'Get-StorageVolume -Pool default -Type custom | Copy-StorageVolume -TargetPool backup -WhatIf'
            Remarks = 'Lists the copies that would be made; run it without -WhatIf to make them.'
        }
    )

    Notes       = @'
The copy is an independent volume: removing the source afterwards does
not affect it. Its size key (if any) is copied: enforced when the target
is a btrfs or zfs pool, recorded only on dir. A volume from a dir pool that
holds more than its size cannot be copied to btrfs or zfs until its size is
raised or unset (Set-StorageVolume).
'@

    Links       = @(
        'Get-StorageVolume'
        'Rename-StorageVolume'
        'Add-StorageVolume'
        'about_ContainerPS'
    )
}
