@{
    Synopsis    = 'Lists container images or gets them by alias or fingerprint (lxc image list).'

    Description = @'
Writes the container images of this host to the pipeline as
ContainerPS.ContainerImage objects, aliased images first (by alias), then
the others (by fingerprint). It is the equivalent of `lxc image list` and
`lxc image show` (Incus: incus image list).

An image has: Fingerprint (the SHA-256 of its stored rootfs tarball, 64 hex
digits), Alias, Format (builtin, rootfs, lxd, oci or debootstrap),
Description, Properties (a sorted dictionary: os, release, architecture,
and where set stop.signal, the signal that stops its init, and init, the
command its containers start as pid 1), Size (bytes of the stored
tarball), CreatedAt (UTC) and UsedBy (the containers created from it).

The table view shows the alias, the first 12 digits of the fingerprint,
the format, the description, the architecture property, the size and the
creation time, like lxc image list.

-Name selects images: a literal name matches an alias exactly or a
fingerprint by prefix (any number of digits); a pattern with wildcards
matches aliases and fingerprints. A literal name that matches nothing is an
error (ImageNotFound); a pattern that matches nothing is not.

The built-in busybox image appears once it is built (by New-Container or
New-ContainerImage busybox).
'@

    Parameters  = @{
        Name = @'
Aliases, fingerprints or fingerprint prefixes of the images to get.
Wildcards are allowed. Images from the pipeline bind by their
Fingerprint property.
'@
    }

    Inputs      = @(
        @{
            Type        = 'ContainerPS.ContainerImage'
            Description = 'Images, bound to -Name by their Fingerprint property.'
        }
    )

    Outputs     = @{
        'ContainerPS.ContainerImage' = 'The matching images.'
    }

    Examples    = @(
        @{
            Title   = 'List images'
            Code    = 'Get-ContainerImage'
            Remarks = @'
Like `lxc image list`:

Alias   Fingerprint  Format  Description               Architecture    Size CreatedAt
-----   -----------  ------  -----------               ------------    ---- ---------
busybox 290e9316a050 builtin BusyBox 1.35.0 (built-in) x86_64       2.04MiB 2026-11-29 11:46Z
'@
        }
        @{
            Title   = 'Get an image by fingerprint prefix and show its properties'
            Code    = '(Get-ContainerImage 290e93).Properties'
            Remarks = 'Like `lxc image show 290e93`: os, release, architecture, stop.signal...'
        }
        @{
            Title   = 'Find images by pattern and property'
            Code    = "Get-ContainerImage 'deb*' | Where-Object { `$_.Properties['release'] -eq 'bookworm' }"
            Remarks = 'Images whose alias (or fingerprint) starts with deb and whose release is bookworm.'
        }
    )

    Links       = @(
        'Import-ContainerImage'
        'New-ContainerImage'
        'Remove-ContainerImage'
        'about_ContainerPS'
    )
}
