@{
    Synopsis    = 'Imports a container image from a tarball or an OCI layout (lxc image import).'

    Description = @'
Imports an image that containers can be created from, and writes it to the
pipeline as a ContainerPS.ContainerImage object. It is the equivalent of
`lxc image import FILE --alias NAME` (Incus: incus image import).

The format is detected:

- A directory holding oci-layout and index.json is an OCI image layout
  (as written by skopeo copy ... oci:DIR, buildah push or umoci). The first
  linux/amd64 manifest of index.json is used (else the first manifest;
  nested image indexes are followed), and its layers are applied in order:
  a layer's whiteouts first (.wh.NAME removes NAME of the lower layers,
  .wh..wh..opq empties its directory of lower content), then its other
  entries. Layers may be tar or tar+gzip (OCI and Docker media types); zstd
  layers are refused. Every blob is checked against its sha256 digest.
  Format oci; properties os and architecture from the image config, plus
  the annotations of the index entry and the manifest.
- A tarball holding metadata.yaml and rootfs/ at its top is an LXD/Incus
  unified image. Its rootfs/ becomes the image; the properties: section of
  metadata.yaml (os, release, architecture, description, serial...) become
  the image's properties, and its description the image's description.
  Templates are not applied. Format lxd.
- Any other tarball is a rootfs tarball: its content is the container's
  root directory. Properties os, release and description come from its
  etc/os-release, architecture from its binaries. Format rootfs.

Tarballs may be plain (.tar) or compressed with gzip (.tar.gz, .tgz), xz
(.tar.xz) or bzip2; the compression is detected from the content, not the
name.

The content is extracted as root with numeric owners, modes (setuid bits
too), hard links, symlinks, device nodes, extended attributes (file
capabilities in security.capability) and POSIX ACLs, and stored as a
normalised tarball STATE-ROOT/images/FINGERPRINT.tar, where FINGERPRINT is
the SHA-256 of that tarball. The first container created from the image in
a storage pool unpacks it into an image volume of that pool (type image,
named by the fingerprint); later containers are copies of that volume.

Importing content that is already an image: without -Alias the existing
image is returned (nothing is stored twice); with -Alias the import fails
with ImageExists, naming the existing fingerprint. To give an existing
image another alias, remove and re-import it with the alias.

Device nodes in the image (block or character devices) are never created
on the host: they are skipped with a warning naming them (the container
gets its /dev from the runtime). Sparse files stay sparse in the stored
tarball and in the containers made from it.

The import is crash safe and leaves nothing behind when it fails: no
tarball, no work directory (under STATE-ROOT/images/tmp), no entry. If the
process is killed half way, the next ContainerPS command rolls it back and
writes a warning.

Error IDs: PathNotFound (no such file or directory), ImageInvalid (not a
tar archive, a corrupt or truncated one, an empty one, a directory that is
not an OCI layout, an unreadable metadata.yaml, a bad OCI blob or an
unsupported layer type), ImageUnsafe (a member that would land outside
the rootfs: a name with '..', a path through a symbolic link the archive
made, a hard link to a file outside it; says which), ImageExists (the
alias is taken, or the content is
already imported and -Alias was given), InvalidName (a bad alias).
'@

    Parameters  = @{
        Path        = @'
The tarball file or the OCI layout directory to import. Relative paths
are resolved against the current location; no wildcards. Files from
Get-ChildItem bind by their FullName.
'@
        Alias       = @'
A name for the image, used instead of the fingerprint by New-Container
and the other image cmdlets: 1 to 63 letters, digits, '.', '_' and '-',
starting with a letter or digit. Unique among images.
'@
        Description = @'
A free-text description. Without it, an LXD image gets the description
property of its metadata.yaml and a rootfs tarball the PRETTY_NAME of
its etc/os-release; an OCI image keeps its annotations as properties.
'@
    }

    Inputs      = @(
        @{
            Type        = 'System.IO.FileInfo'
            Description = @'
Files from Get-ChildItem, bound to -Path by their FullName property.
'@
        }
    )

    Outputs     = @{
        'ContainerPS.ContainerImage' = 'The imported image (or the existing one with the same content).'
    }

    Examples    = @(
        @{
            Title   = 'Import a rootfs tarball with an alias'
            Code    = 'Import-ContainerImage ./alpine-rootfs.tar.gz -Alias alpine'
            Remarks = 'Like `lxc image import alpine-rootfs.tar.gz --alias alpine`.'
        }
        @{
            Title   = 'Import an LXD image downloaded from an image server'
            Code    = "Import-ContainerImage /srv/images/debian-bookworm.tar.xz -Alias bookworm"
            Remarks = @'
A unified LXD tarball (metadata.yaml and rootfs/): the image gets the
os, release and architecture properties of its metadata.yaml.
'@
        }
        @{
            Title   = 'Import an OCI image fetched with skopeo'
            Code    = @'
skopeo copy docker://docker.io/library/debian:bookworm oci:/tmp/debian-oci:bookworm
Import-ContainerImage /tmp/debian-oci -Alias debian-oci
'@
            Remarks = 'The OCI layout directory is detected; its layers are flattened into one rootfs.'
        }
        @{
            Title   = 'Import every tarball of a directory'
            Code    = 'Get-ChildItem /srv/images/*.tar.xz | Import-ContainerImage -WhatIf'
            Remarks = 'Shows what would be imported; drop -WhatIf to import them (without aliases).'
        }
    )

    Notes       = @'
Imports of large images take a while: the content is extracted, packed
again and hashed. Use -Verbose to follow the steps. The built-in busybox
image needs no import: it is built on first use (New-ContainerImage
busybox builds it now).
'@

    Links       = @(
        'Get-ContainerImage'
        'New-ContainerImage'
        'Remove-ContainerImage'
        'about_ContainerPS'
    )
}
