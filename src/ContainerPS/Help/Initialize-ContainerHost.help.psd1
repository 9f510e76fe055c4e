@{
    Synopsis    = 'Creates and records the default storage pool (lxd init --auto) and, with -BootUnit, installs the boot unit.'

    Description = @'
Prepares a host for containers: creates the storage pool that new
containers go to when New-Container is given no -StoragePool, records it
as the host's default pool, and writes the pool to the pipeline as a
ContainerPS.StoragePool object. It is the storage part of
`lxd init --auto --storage-backend dir|btrfs|zfs` (Incus: incus admin init
--auto).

Running it is optional. Without it, the first New-Container creates a dir
pool named default under the state root and records it, as LXD's auto
init does. Run it when the default pool should have another name, another
driver or config keys (for example a source directory), or to set the
pool up before the first container.

If a pool named -StoragePool already exists with the same driver, it is
adopted as it is: it is recorded as the default and returned, and
-StoragePoolConfig is not applied to it. So the cmdlet can be run again
safely. If the pool exists with another driver, the cmdlet fails with
PoolExists and records nothing.

The default pool is kept in the state database (setting default.pool). A
second run with another -StoragePool makes that pool the default for
containers created afterwards; existing containers stay where they are.

Drivers are those of New-StoragePool: dir, btrfs, zfs, ceph and lvm; lvm
is refused with DriverNotSupported where the kernel has no device-mapper,
other names with UnknownDriver. A btrfs
default pool (-StorageDriver btrfs) without a source key is a loop file
$CONTAINERPS_ROOT/disks/NAME.img of the size key (default: 20% of the
free space, 5 to 30 GiB), mounted at $CONTAINERPS_ROOT/storage-pools/NAME;
with source, a block device or an empty directory on btrfs. Containers in
it are btrfs snapshots of the pool's image volumes, and volume sizes are
enforced. A zfs default pool (-StorageDriver zfs) without a source key is
a zpool on a sparse file $CONTAINERPS_ROOT/disks/NAME.img of the size key
(same default), named by zfs.pool_name (default: the pool's name); with
source, a block device or an existing zpool or dataset with no datasets
below it. Containers in it are clones of snapshots of the pool's image
datasets, volume sizes are refquotas, and the zfs daemon (zfs-fuse) must
run (ZfsNotRunning otherwise).

With -BootUnit it also installs the boot unit: the systemd unit
containerps.service in /etc/systemd/system (or -UnitDirectory), whose
ExecStart runs Start-ContainerHost (start the containers with
boot.autostart, by boot.autostart.priority, waiting boot.autostart.delay
after each) and whose ExecStop runs Stop-ContainerHost (stop every
running container). The unit runs this same pwsh (or dotnet and
pwsh.dll for pwsh as a dotnet tool) with this module's manifest, on the
state root of this session (CONTAINERPS_ROOT is written into it). Where
systemd is the init and the directory is /etc/systemd/system, it
reloads systemd and enables the unit, so it runs at the next boot; run
again, it rewrites the unit only if it changed (Changed on the
ContainerPS.ContainerHostBoot object). Without systemd it writes the file
with a warning: run Start-ContainerHost from the host's init instead. The
monitors of the containers it starts leave the unit's cgroup (on cgroup
v2, /sys/fs/cgroup/containerps.monitor), as they leave a login session's.

Error IDs: PoolExists (a pool of that name exists with another driver),
InvalidName, UnknownDriver, DriverNotSupported, InvalidConfigKey,
InvalidConfigValue, ConfigKeyReadOnly, InvalidSource, SourceInsideRoot,
SourceNotEmpty, SourceInUse, ZfsNotRunning, ToolMissing, ToolFailed (see
New-StoragePool).
'@

    Parameters  = @{
        StorageDriver     = @'
The driver of the pool to create: dir (the default), btrfs or zfs. Tab
completion offers the available drivers.
'@
        StoragePoolConfig = @'
Config keys for the new pool as a hashtable, as for New-StoragePool
-Config: for dir, source (an absolute path outside the state root),
volume.size and user.*; for btrfs also size (of the loop file made
without source) and btrfs.mount_options, and source is a block device
or an empty directory on btrfs; for zfs size, zfs.pool_name and
zfs.clone_copy, and source is a block device or an existing zpool or
dataset. Ignored when the pool already exists.
'@
        StoragePool       = @'
The name of the pool to create (or adopt) and record as the default:
default unless given.
'@
        BootUnit          = @'
Also install (or update) the systemd boot unit containerps.service and
enable it, so the containers with boot.autostart start at boot.
'@
        UnitDirectory     = @'
With -BootUnit: the directory the unit is written to. The default,
/etc/systemd/system, is the only one where the unit is also enabled.
'@
    }

    Outputs     = @{
        'ContainerPS.StoragePool' = 'The default pool, new or adopted.'
        'ContainerPS.ContainerHostBoot' = 'With -BootUnit, after the pool: the unit (Unit, Path, Changed, Systemd, Enabled).'
    }

    Examples    = @(
        @{
            Title   = 'Set up the host with the default dir pool'
            Code    = 'Initialize-ContainerHost'
            Remarks = @'
Creates the dir pool default in $CONTAINERPS_ROOT/storage-pools/default
(unless it exists) and records it as the default pool, like
`lxd init --auto`. Running it again returns the same pool.
'@
        }
        @{
            Title   = 'Keep containers in a pool of their own on another disk'
            Code    = @'
Initialize-ContainerHost -StoragePool containers -StoragePoolConfig @{ source = '/srv/containers'; 'user.owner' = 'ops' }
New-Container web1 busybox | Select-Object Name, Pool
'@
            Remarks = @'
Creates the dir pool containers in /srv/containers (an empty or new
directory outside the state root) and makes it the default: web1 is
created in it.
'@
        }
        @{
            Title   = 'A btrfs default pool'
            Code    = 'Initialize-ContainerHost -StorageDriver btrfs -StoragePoolConfig @{ size = ''30GiB'' }'
            Remarks = @'
Like `lxd init --auto --storage-backend btrfs --storage-create-loop 30`:
creates the btrfs pool default on a 30 GiB sparse loop file and records
it as the default pool. Containers created afterwards without
-StoragePool are snapshots of the image cached in it, made in constant
time.
'@
        }
        @{
            Title   = 'Start containers at boot'
            Code    = @'
Initialize-ContainerHost -BootUnit
Set-Container web1 -Config @{ 'boot.autostart' = $true }
'@
            Remarks = @'
Installs and enables containerps.service (systemctl is-enabled
containerps says enabled); after the next reboot web1 is running. Like
LXD's boot.autostart.
'@
        }
        @{
            Title   = 'See what would be done'
            Code    = 'Initialize-ContainerHost -WhatIf'
            Remarks = 'Shows the pool that would be created and recorded; changes nothing.'
        }
    )

    Notes       = @'
The networks and profiles that lxd init also sets up are not part of this
version: containers have a loopback interface only.
'@

    Links       = @(
        'New-Container'
        'New-StoragePool'
        'Get-StoragePool'
        'Start-ContainerHost'
        'about_ContainerPS'
    )
}
