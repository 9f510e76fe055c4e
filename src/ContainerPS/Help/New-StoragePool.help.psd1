@{
    Synopsis    = 'Creates a storage pool (lxc storage create).'

    Description = @'
Creates a storage pool, the place where ContainerPS keeps storage volumes,
and writes it to the pipeline as a ContainerPS.StoragePool object. It is the
equivalent of `lxc storage create POOL DRIVER [source=PATH] [KEY=VALUE...]`
in LXD and `incus storage create` in Incus.

Drivers: dir, btrfs, zfs, ceph and lvm. lvm is refused with
DriverNotSupported on a kernel without device-mapper (no /dev/mapper/control,
no dm_mod). Any other driver name fails with UnknownDriver.

A dir pool is a plain directory with the sub-directories custom/,
containers/, images/ and containers-snapshots/; each volume is a directory
below them (custom/NAME for custom volumes). Copies and snapshots are made
with cp -a --reflink=auto, and volume sizes are recorded but not enforced.

A btrfs pool is a btrfs filesystem, as in Incus. Each volume is a btrfs
subvolume: MOUNT/custom/NAME, MOUNT/containers/NAME, MOUNT/images/NAME or
MOUNT/containers-snapshots/NAME, where MOUNT is the pool's Source.
Container snapshots are read-only snapshots; containers made from an image,
Copy-Container and Copy-StorageVolume within the pool are writable
snapshots, made in constant time whatever the amount of data. A volume's
size is a btrfs qgroup limit, and it is enforced: writes past it fail with
"Disk quota exceeded" (EDQUOT). Copies to another btrfs pool use btrfs
send/receive; copies between a dir and a btrfs pool use cp -a. The btrfs
driver needs btrfs-progs (btrfs, mkfs.btrfs), blkid and mount.

A zfs pool is a zpool or a dataset in one, as in Incus. Each volume is a
dataset DATASET/custom/NAME, DATASET/containers/NAME or DATASET/images/NAME
(DATASET is the zfs.pool_name key), mounted at
$CONTAINERPS_ROOT/storage-pools/NAME/{custom,containers,images}/NAME.
Container snapshots are zfs snapshots CONTAINER@SNAPSHOT; they cannot be
browsed (zfs-fuse has no .zfs directory), and Restore-ContainerSnapshot
(zfs rollback) works only with a container's latest snapshot
(SnapshotNotLatest otherwise). Within the pool, containers made from an
image, Copy-Container and Copy-StorageVolume are clones of a snapshot, made
in constant time (zfs.clone_copy=true, the default); with
zfs.clone_copy=false they are full zfs send/receive copies. Copies to
another zfs pool use zfs send/receive; copies to and from other drivers use
cp -a. A volume's size is its refquota, and it is enforced ("Disk quota
exceeded"). A dataset that clones still depend on (an image's after
Remove-ContainerImage, a volume copied by clone) leaves the lists at once
but is kept unmounted (user property containerps:deleted=true) and
destroyed with its last clone; importing the same image again takes it
back, and a custom volume created under the name of a kept one fails with
VolumeExists. zfs-fuse refuses idmapped mounts, so containers and volumes
on zfs get the chown fallback: their files are shifted on disk to the
container's map, and a volume is shared only by containers with identical
maps (see Mount-StorageVolume). Renaming a volume unmounts, renames and
remounts its dataset. The zfs driver needs zfs and zpool and a running zfs
daemon (here zfs-fuse, started with `zfs-fuse --pidfile FILE`); otherwise
it fails with ZfsNotRunning. A zpool made on a file that a restarted
daemon does not have is imported again (zpool import -d DIR) when the pool
is first used.

A ceph pool is an OSD pool of a Ceph cluster, as in Incus. Each volume
is an RBD image (custom_NAME, container_NAME, image_FINGERPRINT) holding
an ext4 filesystem (or xfs: block.filesystem), mounted at
$CONTAINERPS_ROOT/storage-pools/NAME/{custom,containers,images}/NAME.
An image is mapped as LXD maps it, with the kernel's rbd (rbd map,
/dev/rbdN), where the kernel has the rbd module; elsewhere (this VM's
kernel has neither rbd nor nbd) as rbd-fuse of that one image (never of
the whole OSD pool) and a loop device on its file; then its filesystem
is mounted. ceph.rbd.map chooses: auto (the default: krbd where
/sys/bus/rbd exists or modprobe rbd works, else fuse), krbd or fuse; the
pool's RbdMap property says which one it uses on this host. ContainerPS
maps a volume when it is created or first used (after a reboot: when a
command needs its files) and unmaps it (umount, then rbd unmap, or
losetup -d and umount of the fuse) before a rollback, a rename and a
removal. A kernel mapping outlives a killed command: the next command
finds it (/sys/bus/rbd/devices) instead of mapping the image twice, and
a device that something other than the pool mapped is never used or
unmapped (VolumeBusy). Container and volume snapshots are RBD snapshots, taken with
the mounted filesystem frozen (fsfreeze) so they are consistent. Within
the pool, containers made from an image (from its protected `readonly`
snapshot), Copy-Container and Copy-StorageVolume are RBD clones of a
protected snapshot, made in constant time (ceph.rbd.clone_copy=true, the
default); with ceph.rbd.clone_copy=false they are full `rbd cp` copies.
Copies to other drivers use cp -a. A volume's size is the size of its
image and filesystem (writes past it fail with "No space left on
device"); it can grow (Set-StorageVolume) but not shrink. An image that
clones still depend on (an image's after Remove-ContainerImage, a
container another was copied from) leaves the lists at once and is
renamed zombie_*; it is removed with its last clone, and importing the
same image again takes it back. Restore-ContainerSnapshot is `rbd snap
rollback` and works with any snapshot, not only the latest. ext4 on a
loop device takes idmapped mounts, so nothing is shifted. The cluster is
found as the ceph tools find it: the config file $CEPH_CONF, else
/etc/ceph/CLUSTER.conf (ceph.cluster_name, default ceph), as the user
client.ceph.user.name (default admin) with the keyring that config
names. Image and snapshot operations go through librbd and librados
(one cluster connection per command); the driver also runs rbd, rados
and ceph (pool setup, usage, full copies, locks), rbd-fuse (Debian 13's
is started with the preloaded cps-rbd-fuse-compat.so, see
native/README.md), losetup, mkfs.ext4/mkfs.xfs, fsfreeze and mount.

An lvm pool is an LVM volume group, as in LXD. Each volume is a logical
volume holding an ext4 filesystem (or xfs: block.filesystem) of the
volume's size (default 10GiB), mounted at
$CONTAINERPS_ROOT/storage-pools/NAME/{custom,containers,images}/NAME. With
lvm.use_thinpool=true (the default) the volumes are thin LVs of the thin
pool lvm.thinpool_name (default ContainerPSThinPool): containers made from
an image, Copy-Container and Copy-StorageVolume within the pool are thin
snapshots (constant time), container and volume snapshots are thin
snapshots activated read-only (their files can be read at their path), and
a restore swaps in a thin snapshot of the snapshot. With
lvm.use_thinpool=false the volumes are plain LVs, snapshots are classic
snapshots of the origin's size, copies are cp -a and a restore copies the
snapshot's files back. LV names are TYPE-NAME (custom-NAME,
containers-NAME, images-FINGERPRINT, a snapshot custom-VOLUME+aSNAPSHOT);
'_' in a name is written +u, since LVM reserves names with _tmeta, _tdata
and the like. A volume grows online (lvextend, then resize2fs or
xfs_growfs) and never shrinks (VolumeShrinkNotSupported). Every LV the
pool makes carries the tags containerps and containerps_HASH (HASH: the
pool's own), and the pool changes or removes only LVs with its tag.
Copies to and from other drivers use cp -a; Move-Container to and from an
lvm pool carries the filesystem as a tar. ext4 and xfs take idmapped
mounts, so nothing is shifted. The lvm driver needs lvm2
(pvcreate, vgcreate, lvcreate, lvs...), thin-provisioning-tools for thin
pools, losetup, mkfs.ext4/mkfs.xfs, resize2fs/xfs_growfs and mount.

Location of an lvm pool, by -Source:
- No -Source: a sparse loop file $CONTAINERPS_ROOT/disks/NAME.img of the
  size key (default 20% of the free space, 5-30 GiB) becomes the physical
  volume of a new VG named by lvm.vg_name (default: the pool's name;
  SourceInUse when a VG of that name exists). Removing the pool removes
  the VG, the PV, the loop device and the file. A loop device a reboot
  detached is attached again when the pool is first used.
- A block device (/dev/...): it must hold no partition table and no
  filesystem, and becomes the PV of a new VG as above; removing the pool
  removes the VG and the PV signature.
- An existing VG with no LVs (SourceNotEmpty otherwise), recorded as
  lvm.vg_name: the thin pool is made in it; removing the pool removes the
  LVs it made and keeps the VG and any LV it did not make.

Location of a dir pool: without -Source, the pool is created at
$CONTAINERPS_ROOT/storage-pools/NAME (the state root defaults to
/var/lib/containerps), and that directory is removed with the pool. With
-Source, give an absolute path outside the state root to an empty directory
or to a new directory whose parent exists. A directory that existed before
is left in place when the pool is removed; only what ContainerPS created in
it is removed.

Location of a btrfs pool, by -Source:
- No -Source: a sparse loop file $CONTAINERPS_ROOT/disks/NAME.img is made,
  of the size key (default: 20% of the free space there, in whole GiB, at
  least 5 GiB and at most 30 GiB), formatted with mkfs.btrfs and mounted
  with `mount -o loop` at $CONTAINERPS_ROOT/storage-pools/NAME. Removing
  the pool unmounts it and deletes the file.
- A block device (/dev/...): formatted with mkfs.btrfs when it holds no
  filesystem, used as it is when it holds btrfs, refused (InvalidSource)
  when it holds another filesystem or a partition table (give a
  partition), and refused (SourceInUse) when it is mounted already;
  mounted at $CONTAINERPS_ROOT/storage-pools/NAME. Removing the pool
  removes its volumes and unmounts it; the device is kept. Nothing asks
  before a blank device is formatted.
- An existing empty directory on a btrfs filesystem, outside the state
  root: used as it is, nothing is mounted (InvalidSource when it is not on
  btrfs, SourceNotEmpty when it is not empty). Removing the pool removes
  its volumes and leaves the directory.

Location of a zfs pool, by -Source:
- No -Source: a sparse file $CONTAINERPS_ROOT/disks/NAME.img of the size
  key (default: 20% of the free space there, at least 5 GiB and at most
  30 GiB) and a zpool on it, made with `zpool create -o cachefile=none -m
  none`. The zpool is named by zfs.pool_name (default: the pool's name); a
  zpool of that name that exists already gives SourceInUse. Its root
  dataset gets the user property containerps:pool=NAME, and only such a
  zpool is ever destroyed: Remove-StoragePool destroys it and deletes the
  file.
- A block device (/dev/...): a new zpool is made on it, as above; refused
  (InvalidSource) when it holds a partition table or another filesystem,
  and (SourceInUse) when it is mounted. Removing the pool destroys the
  zpool; the device is kept.
- An existing zpool or dataset, such as tank or tank/containerps: used as
  it is and recorded as zfs.pool_name; it must have no datasets below it
  (SourceNotEmpty). Removing the pool destroys only the datasets ContainerPS
  made below it and keeps the dataset.

Location of a ceph pool, by -Source:
- No -Source: a new OSD pool named by ceph.osd.pool_name (default: the
  pool's name) with ceph.osd.pg_num placement groups (default 32), made
  with `ceph osd pool create` and `rbd pool init`. Removing the pool
  removes its images and deletes the OSD pool (the monitors must allow
  that: mon_allow_pool_delete=true; otherwise the pool is emptied and a
  warning says so).
- An existing OSD pool: used when it holds no RBD images (SourceNotEmpty
  otherwise) and no other ContainerPS pool uses it (SourceInUse), and
  recorded as ceph.osd.pool_name; an OSD pool of that name that does not
  exist yet is created as above. Removing the pool removes its images and
  keeps an OSD pool that existed before.
- An OSD pool a ContainerPS pool on another host uses, with
  ceph.osd.shared=true: joined, so that both hosts see its RBD images
  (SourceInUse without that key). Each image has an owner record in the
  cluster, changed by atomic compare-and-swap; a host maps, writes and
  removes only the images it owns (VolumeBusy otherwise), and
  Move-Container between the two hands containers and their volumes
  over instead of copying them. Image volumes are common: a host takes
  one the other has unpacked as it is (containers are clones of it), and
  removing an image forgets its RBD image instead of deleting it while
  the OSD pool is shared. Removing a joined pool keeps the OSD pool and
  the other host's images; the pool that made or claimed the OSD pool
  cannot be removed while others have joined (SourceInUse).
The rados object containerps.pool in the OSD pool names the ContainerPS
pool that uses it. The pool's Source is the directory its volumes are
mounted in, $CONTAINERPS_ROOT/storage-pools/NAME.

With a loop file or a device, the pool's Source (and source key) is the
mount point, and the key volatile.btrfs.device records the file or
device. ContainerPS does not write /etc/fstab: a process whose mount
namespace does not have the pool mounted yet (after a reboot, say) mounts
it again, with btrfs.mount_options, when it first uses the pool.

Config keys of a dir pool: source (the same as -Source; it can be set only
when the pool is created), volume.size (the default size of new volumes in
the pool) and user.* (free-form keys for your own use).

Config keys of a btrfs pool: source (the same as -Source; only at creation,
and afterwards the mount point when ContainerPS mounts the pool), size (the
size of the loop file made without -Source, such as 20GiB; only at
creation, ignored with -Source), btrfs.mount_options (the mount options of
the pool's filesystem, a comma-separated list; default
user_subvol_rm_allowed, which lets root in a container delete subvolumes it
made; Set-StoragePool can change it and remounts the pool), volume.size and
user.*.

Config keys of a zfs pool: source (the same as -Source; only at creation),
size (the size of the file made without -Source; only at creation),
zfs.pool_name (the zpool or dataset that holds the volumes; default the
pool's name; only at creation), zfs.clone_copy (true, the default: copies
within the pool are clones of a snapshot, made in constant time; false:
full zfs send/receive copies; Set-StoragePool can change it),
volume.size and user.*. volatile.zfs.device records the file or device of
a zpool ContainerPS made.

Config keys of a ceph pool: source (the OSD pool, as -Source; only at
creation), ceph.cluster_name (default ceph), ceph.user.name (default
admin), ceph.osd.pool_name (default the pool's name), ceph.osd.pg_num
(default 32), ceph.osd.shared (true: join an OSD pool another host's
ContainerPS pool uses, as above), all five only at creation; ceph.rbd.clone_copy (true, the
default, or false, as above), ceph.rbd.features (the RBD features of
new images, a comma-separated list that includes layering; default the
cluster's) and ceph.rbd.map (auto, krbd or fuse, as above; a volume
mapped already keeps its mapping until it is unmapped, and the new way
applies at its next mapping), which Set-StoragePool can change; volume.size (default size
of new volumes: 10GiB unless set), volume.block.filesystem (ext4 or xfs),
volume.block.mount_options, and user.*.

Config keys of an lvm pool: source (a block device or a VG, as -Source),
size (of the loop file made without -Source), lvm.vg_name,
lvm.thinpool_name (default ContainerPSThinPool), lvm.use_thinpool (true or
false), lvm.thinpool_metadata_size (the thin pool's metadata LV, such as
64MiB; default LVM's choice), all only at creation; volume.size (default
10GiB), volume.block.filesystem (ext4 or xfs), volume.block.mount_options,
and user.*. volatile.lvm.device records the loop file or device of a VG
ContainerPS made.

A pool key volume.KEY sets the default of the volume key KEY for volumes
created later. Keys are checked: an unknown key fails with InvalidConfigKey
(the message says when the key belongs to another driver, such as
zfs.pool_name on a btrfs pool, or btrfs.mount_options on a dir pool), a bad value with
InvalidConfigValue and a volatile.* key with ConfigKeyReadOnly. Values are
stored as text; numbers and $true/$false are converted to invariant text
(5, true, false).

The operation is crash safe: if creation fails, what was done is undone; if
the process is killed half way, the next ContainerPS command rolls the
creation back and writes a warning.

Errors are non-terminating and carry these error IDs (FullyQualifiedErrorId
starts with the ID):
- PoolExists: a pool of that name exists.
- InvalidName: the name is not 1 to 63 letters, digits, '.', '_' or '-'
  starting with a letter or digit, or it contains '..'.
- UnknownDriver: no driver of that name.
- DriverNotSupported: the driver cannot work on this host (lvm without
  device-mapper in the kernel).
- InvalidSource: -Source is not an absolute path, is a file, its parent does
  not exist, or it disagrees with the source config key. For btrfs: it is
  neither a block device nor an existing directory, the device holds
  another filesystem, or the directory is not on btrfs. For lvm: it is
  neither a block device nor the name of an existing VG. For zfs: it is
  neither a block device nor an existing zpool or dataset, or the device
  holds a partition table or another filesystem.
- SourceInsideRoot: -Source is inside the ContainerPS state root.
- SourceNotEmpty: -Source (or the default location, or the mount point of
  a btrfs pool) is a directory that is not empty, for example the source
  of another pool, or the loop file of a btrfs pool already exists; for
  zfs, the dataset given as -Source has datasets below it.
- SourceInUse: another pool already uses that source, the device is
  mounted, (zfs) a zpool of that name exists already, (lvm) a VG named
  lvm.vg_name exists already, or (ceph) another
  ContainerPS pool uses the OSD pool.
- ZfsNotRunning: the zfs daemon (zfs-fuse) is not running.
- CephConfigNotFound: the ceph config file ($CEPH_CONF, else
  /etc/ceph/CLUSTER.conf) does not exist.
- CephNotReachable: the cluster's monitors did not answer, or refused the
  user (no keyring for client.USER, wrong key); the message carries what
  the ceph tool said.
- InvalidConfigKey, InvalidConfigValue, ConfigKeyReadOnly: see above.
- ToolMissing, ToolFailed: a program the driver runs (mkfs.btrfs, mount,
  btrfs, blkid, zfs, zpool, ceph, rbd, rados, rbd-fuse) is missing or
  failed.
- DriverNotSupported: ceph.rbd.map=krbd on a kernel without the rbd
  module (nothing is created or changed).
'@

    Parameters  = @{
        Name        = @'
The name of the new pool: 1 to 63 letters, digits, '.', '_' and '-',
starting with a letter or digit, without '..'. Names are case-sensitive.
'@
        Driver      = @'
The storage driver: dir, btrfs, zfs, ceph or lvm (lvm only where the
kernel has device-mapper). Tab completion offers the drivers.
'@
        Source      = @'
Where the pool lives. For dir, an absolute path to an empty or new
directory outside the state root (its parent must exist); when omitted,
the pool is created at $CONTAINERPS_ROOT/storage-pools/NAME. For btrfs,
a block device (/dev/...; formatted when it has no filesystem) or an
existing empty directory on a btrfs filesystem; when omitted, a loop
file $CONTAINERPS_ROOT/disks/NAME.img is made for the pool. For zfs, a
block device (a new zpool is made on it) or an existing zpool or dataset
with no datasets below it (tank/containerps); when omitted, a zpool on
the sparse file $CONTAINERPS_ROOT/disks/NAME.img. For ceph, the name of
an OSD pool (used when it exists and holds no RBD images, else created);
when omitted, the OSD pool ceph.osd.pool_name (default: the pool's name)
is created. For lvm, a block device (a new VG is made on it) or the name
of an existing VG with no LVs; when omitted, a VG on the sparse file
$CONTAINERPS_ROOT/disks/NAME.img. The same as the source config key.
'@
        Config      = @'
Config keys of the pool as a hashtable, like the KEY=VALUE arguments of
lxc storage create: for dir, source, volume.size and user.*; for btrfs
also size (of the loop file) and btrfs.mount_options; for zfs source,
size, zfs.pool_name and zfs.clone_copy; for ceph source,
ceph.cluster_name, ceph.user.name, ceph.osd.pool_name, ceph.osd.pg_num,
ceph.osd.shared, ceph.rbd.clone_copy, ceph.rbd.features and
ceph.rbd.map; for lvm source, size, lvm.vg_name, lvm.thinpool_name,
lvm.use_thinpool and lvm.thinpool_metadata_size. volume.KEY sets
the default of KEY for new volumes. Keys with a $null value are
ignored.
'@
        Description = 'A free-text description of the pool.'
    }

    Inputs      = @(
        @{
            Type        = 'System.String'
            Description = @'
Objects with Name, Driver, Source or Description properties, bound by
property name (for example rows imported with Import-Csv).
'@
        }
        @{
            Type        = 'System.Collections.Hashtable'
            Description = 'A Config property, bound by property name to -Config.'
        }
    )

    Outputs     = @{
        'ContainerPS.StoragePool' = 'The new pool.'
    }

    Examples    = @(
        @{
            Title   = 'Create a dir pool in the default location'
            Code    = 'New-StoragePool -Name default -Driver dir -Description ''Default pool'''
            Remarks = @'
Creates the pool default in $CONTAINERPS_ROOT/storage-pools/default, like
`lxc storage create default dir`.
'@
        }
        @{
            Title   = 'Create a pool in a given directory with defaults'
            Code    = @'
New-StoragePool fast -Driver dir -Source /srv/containerps-fast -Config @{ 'volume.size' = '10GiB'; 'user.owner' = 'ops' }
'@
            Remarks = @'
Like `lxc storage create fast dir source=/srv/containerps-fast
volume.size=10GiB user.owner=ops`. Volumes created later in the pool get
size=10GiB unless they give their own size. The dir driver records that size
but does not enforce it.
'@
        }
        @{
            Title   = 'Create a btrfs pool on a loop file'
            Code    = 'New-StoragePool fast -Driver btrfs -Config @{ size = ''20GiB'' }'
            Remarks = @'
Like `lxc storage create fast btrfs size=20GiB`. Makes the sparse file
$CONTAINERPS_ROOT/disks/fast.img of 20 GiB, formats it with btrfs and
mounts it at $CONTAINERPS_ROOT/storage-pools/fast (the pool's Source);
Config['volatile.btrfs.device'] names the file. Its volumes are
subvolumes whose sizes are enforced, and snapshots and copies of
containers in it take constant time.
'@
        }
        @{
            Title   = 'Create a btrfs pool on a block device'
            Code    = @'
New-StoragePool ssd -Driver btrfs -Source /dev/sdb -Config @{ 'btrfs.mount_options' = 'user_subvol_rm_allowed,compress=zstd' }
'@
            Remarks = @'
Like `lxc storage create ssd btrfs source=/dev/sdb
btrfs.mount_options=user_subvol_rm_allowed,compress=zstd`. /dev/sdb is
formatted with btrfs if it holds no filesystem (it is used as it is if it
holds btrfs, refused if it holds another filesystem) and mounted at
$CONTAINERPS_ROOT/storage-pools/ssd with those options. Removing the pool
unmounts it and leaves the device.
'@
        }
        @{
            Title   = 'Create a zfs pool on a sparse file'
            Code    = 'New-StoragePool zpool1 -Driver zfs -Config @{ size = ''20GiB'' }'
            Remarks = @'
Like `lxc storage create zpool1 zfs size=20GiB`. Makes the sparse file
$CONTAINERPS_ROOT/disks/zpool1.img of 20 GiB and the zpool zpool1 on it;
its volumes are datasets mounted below
$CONTAINERPS_ROOT/storage-pools/zpool1, their sizes are refquotas, and
copies within the pool are clones, made in constant time. The zfs daemon
must run (zfs-fuse --pidfile /run/zfs-fuse.pid), else ZfsNotRunning.
'@
        }
        @{
            Title   = 'Create a zfs pool in an existing dataset'
            Code    = 'New-StoragePool tank -Driver zfs -Source tank/containerps'
            Remarks = @'
Like `lxc storage create tank zfs source=tank/containerps`. The dataset
must have no datasets below it; it is recorded as zfs.pool_name.
Removing the pool destroys only the datasets ContainerPS made below it.
'@
        }
        @{
            Title   = 'Create a ceph pool'
            Code    = @'
$env:CEPH_CONF = '/etc/ceph/ceph.conf'
New-StoragePool remote -Driver ceph -Config @{ 'ceph.osd.pool_name' = 'containers'; 'ceph.osd.pg_num' = 64; 'volume.size' = '20GiB' }
'@
            Remarks = @'
Like `lxc storage create remote ceph ceph.osd.pool_name=containers
ceph.osd.pg_num=64 volume.size=20GiB`. Creates the OSD pool containers
with 64 placement groups (or uses it when it exists and is empty); its
volumes are RBD images of 20 GiB with ext4, and copies within the pool
are RBD clones. Without a reachable cluster it fails with
CephNotReachable, and nothing is created.
'@
        }
        @{
            Title   = 'Create an lvm pool with a thin pool on a loop file'
            Code    = 'New-StoragePool thin1 -Driver lvm -Config @{ size = ''20GiB''; ''volume.block.filesystem'' = ''xfs'' }'
            Remarks = @'
Like `lxc storage create thin1 lvm size=20GiB volume.block.filesystem=xfs`.
Makes the sparse file $CONTAINERPS_ROOT/disks/thin1.img, a VG thin1 on
it and the thin pool ContainerPSThinPool; its volumes are thin LVs with
xfs, and containers are thin snapshots of their image. On a kernel
without device-mapper it fails with DriverNotSupported and creates
nothing.
'@
        }
        @{
            Title   = 'Create an lvm pool in an existing volume group'
            Code    = 'New-StoragePool vg0 -Driver lvm -Source vg0 -Config @{ ''lvm.use_thinpool'' = ''false'' }'
            Remarks = @'
Like `lxc storage create vg0 lvm source=vg0 lvm.use_thinpool=false`. The
VG must hold no LVs; volumes are plain LVs with classic snapshots.
Removing the pool removes only the LVs it made and keeps the VG.
'@
        }
        @{
            Title   = 'Check what would be created'
            Code    = 'New-StoragePool -Name test -Driver dir -WhatIf'
            Remarks = 'Shows the pool that would be created, and creates nothing.'
        }
        @{
            Title   = 'Handle an error by its ID'
            Code    = @'
try {
    New-StoragePool -Name default -Driver dir -ErrorAction Stop
} catch {
    if ($_.FullyQualifiedErrorId -notlike 'PoolExists,*') { throw }
    Get-StoragePool -Name default
}
'@
            Remarks = @'
Errors are non-terminating; -ErrorAction Stop makes them catchable. The
error ID (PoolExists here) is the part of FullyQualifiedErrorId before the
comma.
'@
        }
    )

    Notes       = @'
The state root is /var/lib/containerps unless the CONTAINERPS_ROOT
environment variable names another absolute path. See about_ContainerPS.
'@

    Links       = @(
        'Get-StoragePool'
        'Set-StoragePool'
        'Remove-StoragePool'
        'Add-StorageVolume'
        'about_ContainerPS'
    )
}
