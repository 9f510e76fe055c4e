@{
    Synopsis    = 'Copies a custom storage volume (lxc storage volume copy).'

    Description = @'
Copies a custom storage volume, with its files, keys and description, to a
new custom volume. It is the equivalent of
`lxc storage volume copy POOL/VOLUME TARGETPOOL/NEWNAME` (Incus: incus
storage volume copy).

Give -NewName to copy within the same pool, -TargetPool to copy to another
pool under the same name, or both. Both pools must use the same driver
(CrossDriverCopy otherwise).

On dir pools the files are copied with `cp -a --reflink=auto`: owners,
modes, times, hard links, extended attributes (ACLs, file capabilities) and
special files are kept, and on filesystems with reflinks (btrfs, XFS) the
copy shares blocks with the source until either changes. The copy is made
in a temporary directory and renamed into place when complete, so a failed
copy leaves nothing behind; if the process is killed half way, the next
ContainerPS command removes the partial copy and writes a warning.

The source volume is not frozen while it is copied: stop whatever writes to
it first if you need a consistent copy. Nothing is written to the pipeline
unless you use -PassThru.

Error IDs: PoolNotFound (source or target pool), VolumeNotFound,
VolumeTypeNotSupported,
VolumeExists (the target name is taken, or neither -NewName nor -TargetPool
was given), InvalidName, PoolBusy, VolumeBusy, CrossDriverCopy, ToolFailed
(cp failed, for example because the target filesystem is full).
'@

    Parameters  = @{
        Pool       = 'The name of the pool that holds the source volume.'
        Name       = 'The name of the custom volume to copy.'
        TargetPool = @'
The pool to copy into. When omitted, the copy is made in the source pool
(then -NewName is needed).
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
            Title   = 'Back up every custom volume of a pool'
            Code    = 'Get-StorageVolume -Pool default -Type custom | Copy-StorageVolume -TargetPool backup -WhatIf'
            Remarks = 'Lists the copies that would be made; run it without -WhatIf to make them.'
        }
    )

    Notes       = @'
The copy is a full, independent volume: removing the source afterwards
does not affect it. Its size key (if any) is copied, and on dir it is
still not enforced.
'@

    Links       = @(
        'Get-StorageVolume'
        'Rename-StorageVolume'
        'Add-StorageVolume'
        'about_ContainerPS'
    )
}
