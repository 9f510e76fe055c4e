@{
    Synopsis    = 'Removes container images (lxc image delete).'

    Description = @'
Removes container images: the stored tarball, the image volume unpacked in
every storage pool, and the image's entry. It is the equivalent of
`lxc image delete` (Incus: incus image delete).

As in LXD, an image may be removed while containers created from it exist:
a container is a copy of the image (on btrfs, a snapshot of its subvolume;
on zfs, a clone of a snapshot of its dataset),
not a layer on top of it, so it keeps working. New containers cannot be
created from the image any more (except busybox, which is rebuilt on first
use).

On a zfs pool, the containers made from an image are clones of a
snapshot of the image's dataset, so the dataset cannot be destroyed
while they exist: the image volume disappears from the lists at once,
but its dataset is kept, unmounted (user property
containerps:deleted=true), and destroyed with its last clone. Importing
the same image again takes the kept dataset back.

-Name takes an alias, a full fingerprint or a unique prefix of at least 12
hex digits; no wildcards. Select images with Get-ContainerImage and pipe
them to remove several.

The cmdlet has a medium confirm impact: it does not ask by default; use
-Confirm to be asked, or -WhatIf to see what would be removed.

The removal is crash safe: if the process is killed half way, the next
ContainerPS command finishes it and writes a warning.

Error IDs: ImageNotFound, ImageAmbiguous (a prefix that matches several
images), ImageBusy (the image is being imported or removed by another
command), VolumeBusy (an image volume is in use by another operation).
'@

    Parameters  = @{
        Name = @'
The alias, fingerprint or fingerprint prefix (at least 12 digits) of
each image to remove. Images from Get-ContainerImage bind by their
Fingerprint property (Alias is an alias of this parameter too).
'@
    }

    Inputs      = @(
        @{
            Type        = 'ContainerPS.ContainerImage'
            Description = 'Images from Get-ContainerImage, bound by their Fingerprint property.'
        }
    )

    Examples    = @(
        @{
            Title   = 'Remove an image by alias'
            Code    = 'Remove-ContainerImage bookworm'
            Remarks = 'Like `lxc image delete bookworm`.'
        }
        @{
            Title   = 'Remove all images without an alias, asking first'
            Code    = 'Get-ContainerImage | Where-Object { -not $_.Alias } | Remove-ContainerImage -Confirm'
            Remarks = 'Asks before each image.'
        }
        @{
            Title   = 'See what would be removed'
            Code    = "Get-ContainerImage 'test-*' | Remove-ContainerImage -WhatIf"
            Remarks = 'Lists the images the pattern selects without removing them.'
        }
    )

    Notes       = @'
Removing an image frees the space of its tarball and of its image
volumes; containers created from it are not affected.
'@

    Links       = @(
        'Get-ContainerImage'
        'Import-ContainerImage'
        'New-ContainerImage'
        'about_ContainerPS'
    )
}
