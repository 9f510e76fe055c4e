@{
    Synopsis    = 'Mounts a custom storage volume into a container, at once when it runs (lxc storage volume attach).'

    Description = @'
Mounts a custom storage volume (from Add-StorageVolume) into a container
at -Path. It is the equivalent of `lxc storage volume attach POOL VOLUME
CONTAINER PATH` (Incus: incus storage volume attach), which adds a disk
device to the container. Nothing is written to the pipeline unless
-PassThru is given.

The mount is recorded in the container's configuration as a disk device
named -DeviceName (by default the volume's name), shown in the Devices
property of Get-Container and the UsedBy property of Get-StorageVolume.
It persists: every Start-Container mounts the volume again, until
Dismount-StorageVolume removes it. One volume may be mounted into many
containers, and a container may have many volumes, each at its own path.

When the container runs, the volume is mounted at once (hot attach): the
native helper cps-mount joins the container's user and mount namespaces
as the container's root, creates -Path like `mkdir -p` inside the
container (symbolic links resolve inside the container's root, never on
the host) and attaches the mount there. When the container is stopped,
the volume is mounted at its next start: runc bind-mounts it at -Path,
which it also resolves inside the container's root filesystem. A mount
hides what the container had at -Path, as any mount does.

Owners. By default each container gets an idmapped mount of the volume,
made with that container's own id map. The files are stored on disk
with container ids, unshifted (a file of the container's root is owned
by 0 on disk), so they are owned by container root in every container
that mounts the volume, whatever their maps: shared, isolated or with
raw.idmap entries. Nothing is chowned. This is Incus's
security.shifted=true behaviour. Files put into the volume from the host
as root are owned by root in the containers; a host id outside a
container's map (70000, say) shows there as nobody (65534).

Storage that refuses idmapped mounts (overlayfs, and FUSE filesystems
such as zfs-fuse: the kernel answers EINVAL) gets the chown fallback
instead, with LXD's rule: the files are shifted on disk to the
container's map (owners and groups, POSIX access and default ACLs, and
security.capability, rewritten as a v3 capability whose rootid is the
host id of container root, or v2 when unshifted; setuid and setgid bits
that chown cleared are put back), so the volume may be shared only by
containers with identical maps. Mounting it into a container with
another map fails with IdmapsNotIdentical, for example "Idmaps of
container 'c3' (0 1065536 65536) and storage volume 'pool/vol' (0
1000000 65536, the map of c1, c2) are not identical." Give that
container the same map (Set-Container) or dismount the volume from the
others. The volume's config key volatile.idmap.last records the map its
files are in (absent: unshifted); volatile.idmap.shifting is set while
a shift runs, so a shift a crash interrupted is finished by the next
start or mount (with a warning). A shift walks every file of the volume
and shows its progress (Write-Progress); it runs when the volume is
mounted into a running container, else at the container's next start,
and only when the map changes. A privileged container, which has no
map, gets the files unshifted.

-ReadOnly mounts the volume read-only in that container; other
containers may mount it read-write.

CRIU restores the mounts a container started with, so mounting or
dismounting a volume while the container runs makes Checkpoint-Container
and Stop-Container -Stateful refuse it (HotMountNotCheckpointable) until
it restarts. Remove-StorageVolume refuses a mounted volume (VolumeInUse),
Move-Container refuses a container with volumes (VolumesNotMoved), and
Copy-Container gives the copy the same volumes at the same paths.
Remove-Container forgets the container's mounts; the volumes are kept.

Error IDs: InvalidMountPath (-Path is relative, contains '..' or control
characters, or is '/'), MountPathInUse (the container has a volume at
that path), VolumeAlreadyMounted (the volume is already mounted into the
container), DeviceExists (the device name is taken), InvalidName (the
device name), PoolNotFound, VolumeNotFound (no custom volume of that
name in the pool), ContainerNotFound, IdmapsNotIdentical, MountFailed
(cps-mount could not mount it into the running container; the message
has its error), ContainerBusy (another session is changing the
container).
'@

    Parameters  = @{
        Pool       = @'
The pool of the volume. Volumes from Get-StorageVolume bind by their
Pool property.
'@
        Name       = @'
The name of the custom volume (exact, no wildcards). Volumes from
Get-StorageVolume bind by their Name property.
'@
        Container  = 'The container to mount the volume into (exact, no wildcards).'
        Path       = @'
Where the volume appears inside the container: an absolute path, not
'/', without '..' or control characters. It is normalised (//data/ is
/data) and created, with its missing parents, if it does not exist.
'@
        ReadOnly   = 'Mount the volume read-only in this container.'
        DeviceName = @'
The name of the disk device in the container's configuration: 1 to 63
letters, digits, '.', '_' and '-', starting with a letter or digit.
Default: the volume's name.
'@
        PassThru   = 'Write the new device (a ContainerPS.ContainerDevice) to the pipeline.'
    }

    Inputs      = @(
        @{
            Type        = 'ContainerPS.StorageVolume'
            Description = @'
A custom volume from Get-StorageVolume, bound by its Pool and Name
properties. -Container and -Path are given on the command line.
'@
        }
    )

    Outputs     = @{
        'ContainerPS.ContainerDevice' = @'
With -PassThru, the device: Container, Name, Type (disk), Pool,
Volume, Path (normalised) and ReadOnly. Otherwise nothing.
'@
    }

    Examples    = @(
        @{
            Title   = 'Mount a volume into a running container'
            Code    = @'
Add-StorageVolume default data
Mount-StorageVolume default data web1 /srv/data -PassThru
'@
            Remarks = @'
Like `lxc storage volume attach default data web1 /srv/data`. /srv/data
appears in web1 at once, owned by root there, and stays mounted across
restarts:

Container Name Pool    Volume Path      ReadOnly
--------- ---- ----    ------ ----      --------
web1      data default data   /srv/data False
'@
        }
        @{
            Title   = 'Share a volume between containers with different maps'
            Code    = @'
New-Container c1 busybox
New-Container c3 busybox -IsolatedIdmap
Mount-StorageVolume default shared c1 /data
Mount-StorageVolume default shared c3 /data
Start-Container c1, c3
'@
            Remarks = @'
Each container gets an idmapped mount with its own map: a file that c3's
root writes to /data is owned by root in c1 too, and by 0 on disk.
'@
        }
        @{
            Title   = 'A read-only mount under another device name'
            Code    = 'Mount-StorageVolume default site web1 /var/www -ReadOnly -DeviceName www'
            Remarks = @'
Writes in web1 to /var/www fail with "Read-only file system"; the device
is listed as www in (Get-Container web1).Devices.
'@
        }
        @{
            Title   = 'On storage that cannot be idmapped'
            Code    = @'
Mount-StorageVolume ov shared c3 /data
Set-Container c3 -Config @{ 'security.idmap.isolated' = $false }
Mount-StorageVolume ov shared c3 /data
'@
            Remarks = @'
On a pool on overlayfs the volume already mounted into c1 and c2 (shared
map) is refused for the isolated c3 with IdmapsNotIdentical. Once c3 has
the shared map too, the mount succeeds; the files are already in that
map (the volume's volatile.idmap.last), so nothing is shifted.
'@
        }
        @{
            Title   = 'Mount a volume into several containers'
            Code    = 'Get-Container web* | ForEach-Object { Mount-StorageVolume default logs $_.Name "/var/log/shared" }'
            Remarks = 'Running containers get the mount at once, stopped ones at their next start.'
        }
    )

    Links       = @(
        'Dismount-StorageVolume'
        'Add-StorageVolume'
        'Get-StorageVolume'
        'Get-Container'
        'Get-ContainerIdmap'
        'Set-Container'
        'about_ContainerPS'
    )
}
