@{
    Synopsis    = 'Removes storage pools (lxc storage delete).'

    Description = @'
Removes storage pools and what ContainerPS created on disk for them. It is
the equivalent of `lxc storage delete POOL` (Incus: incus storage delete).

A pool that still has volumes is not removed: the error PoolInUse lists the
first of them. With -Force, the pool's volumes (custom, container and image
volumes, with all their files) are removed first and then the pool. LXD has
no such option.

For a dir pool, the sub-directories custom/, containers/ and images/ are
removed. The pool directory itself is removed too when ContainerPS created
it (the default location, or a -Source that did not exist); a -Source
directory that existed before is left in place, empty. Removal never
crosses into other filesystems mounted below the pool.

The cmdlet has a high confirm impact, so it asks before removing each pool
unless you add -Confirm:$false (or lower $ConfirmPreference). -WhatIf shows
what would be removed.

The removal is crash safe: if the process is killed half way, the next
ContainerPS command finishes the removal and writes a warning.

Error IDs: PoolNotFound, PoolInUse (the pool has volumes; use -Force),
PoolBusy (another operation is changing the pool), VolumeBusy (with -Force,
a volume is being changed by another operation).
'@

    Parameters  = @{
        Name  = 'The names of the pools to remove (exact names, no wildcards).'
        Force = @'
Also removes all volumes of the pool, with their files, instead of
failing with PoolInUse. It does not suppress the confirmation prompt;
use -Confirm:$false for that.
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
            Remarks = 'Asks for confirmation, then removes every volume of scratch and the pool.'
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
undo.
'@

    Links       = @(
        'New-StoragePool'
        'Get-StoragePool'
        'Remove-StorageVolume'
        'about_ContainerPS'
    )
}
