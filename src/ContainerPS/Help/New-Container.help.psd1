@{
    Synopsis    = 'Creates a container from an image, and optionally starts it (lxc init / lxc launch).'

    Description = @'
Creates a system container from an image and writes it to the pipeline as
a ContainerPS.Container object. Without -Start it is the equivalent of
`lxc init IMAGE NAME` (the container is created Stopped); with -Start it
is `lxc launch IMAGE NAME`. Incus: incus init, incus launch.

Image: an alias or fingerprint of an image from Import-ContainerImage or
New-ContainerImage (a fingerprint may be shortened to a unique prefix of
at least 12 hex digits). The alias busybox always works: the first time it
is used, ContainerPS builds that image from the host's static busybox
(Debian package busybox-static): busybox init, an rcS that prints
'booted', an inittab whose shutdown action prints 'shutting down', and
the image property stop.signal=SIGUSR2 (busybox init powers off on
SIGUSR2).

Storage: the container's root filesystem is a storage volume of type
container named after the container, in -StoragePool or else in the host's
default pool. When the host has no default pool yet, a dir pool named
default is created under the state root and recorded (see
Initialize-ContainerHost). The first container made from an image in a pool
unpacks the image into an image volume there, which is kept as the pool's
cache of the image; each container is then a copy of that volume. On a dir
pool the copy is made with cp -a --reflink=auto. On a btrfs pool the image
volume is a subvolume and each container a writable btrfs snapshot of it,
made in constant time whatever the size of the image. On a zfs pool the
image volume is a dataset and each container a clone of a snapshot of it,
also made in constant time (zfs.clone_copy=false makes full copies);
zfs-fuse refuses idmapped mounts, so the container's files are shifted on
disk to its map instead (see Mount-StorageVolume). ContainerPS writes
the container's name into its /etc/hostname. The volume's host path is
(Get-StorageVolume -Pool POOL -Type container -Name NAME).Path.

Id mapping: containers are unprivileged by default. Root in the container
is an unprivileged host id from root's subordinate ids in /etc/subuid and
/etc/subgid (when root has none, root:1000000:1000000000 is added there,
as LXD does). By default every container shares the first 65536 of them
(Idmap "0 1000000 65536" with the usual entry). -IsolatedIdmap (or
security.idmap.isolated=true) gives the container a range of its own that
no other isolated container uses, of security.idmap.size ids (default
65536); IdmapExhausted when no free range is left. security.idmap.base
puts the range at a given host id instead, and raw.idmap maps host ids
straight through to container ids (lines such as "both 1000 1000", see
Set-Container). These keys can be changed later with Set-Container;
Get-ContainerIdmap shows the map. The files are not chowned: on disk
they keep the image's owners (root is 0), and Start-Container shows the
rootfs to the container through an idmapped mount, so creating and
starting take the same time whatever the number of files. (On storage
that refuses idmapped mounts, such as a pool on overlayfs, the files are
shifted to the container's map once, at its first start.)
-Privileged (security.privileged=true) runs the container without a user
namespace: root in the container is root on the host. Avoid it.

Config keys (-Config, like the -c KEY=VALUE options of lxc init):
limits.memory (a size such as 512MiB or 1GiB, at least 6MiB),
limits.processes (a positive whole number), limits.cpu (a count of CPUs,
2, or a cpuset, 0-1 or 0,2; checked against this host's online CPUs), security.idmap.isolated (true or false), security.idmap.size (a
positive whole number), security.idmap.base (the first host id of the
range, in root's subordinate ids), raw.idmap (host ids mapped through,
one "uid|gid|both HOST CONTAINER" entry a line; root must be delegated
them in /etc/subuid and /etc/subgid), security.idmap.unsafe (true: raw.idmap
may map host ids root was not delegated; the container is then
root-equivalent and reported as Privileged), security.privileged
(true or false; only when the container is created), boot.stop.signal
(the signal Stop-Container sends, e.g. SIGPWR or SIGUSR2) and user.*
(free-form). All but security.privileged can be changed later with
Set-Container. The image's properties are copied into
the container as read-only image.* keys (image.os, image.release,
image.architecture, image.stop.signal...). Limits are applied by the
container's cgroups at each start.

Networks: -Network connects the container to CNI networks made with
New-ContainerNetwork, one interface per network, named eth0, eth1, ...
in the order given (Connect-ContainerNetwork adds more later). Nothing
runs at creation. At every start, once the container's namespaces exist
and before its init starts, CNI ADD runs for each network, in interface
order, into the container's network namespace, so the init starts with
its interfaces configured. That namespace belongs to the container's user
namespace: root in an unprivileged container administers its own
interfaces.
Plugins come from CNI_PATH (default: /usr/lib/cni:/opt/cni/bin). When a
CNI result names DNS nameservers, /etc/resolv.conf is written from the
first such result. Stop-Container and Remove-Container run CNI DEL,
which removes the interfaces and frees the addresses. An attachment left
behind by a crash (a killed monitor, a reboot) is deleted by the next
Start-Container, Stop-Container or Remove-Container before anything else,
so host-local never leaks addresses. If an ADD fails, the start is undone
(DEL for what was added) and fails with the plugin's error
(CniPluginError); the container stays Stopped. The addresses are in the
Addresses column of Get-Container and in Get-ContainerNetworkAttachment.
Without -Network a container has a loopback interface only.

If -Start fails to start the container, the container stays created
(Stopped) and the error is ContainerStartFailed. A creation that fails
otherwise, or whose process is killed, leaves nothing behind (the next
ContainerPS command repairs a killed one and writes a warning).

Custom storage volumes are mounted into the container with
Mount-StorageVolume, before or after it starts. Not in this version:
profiles, and devices other than volumes.

Error IDs: InvalidName, ContainerExists, ImageNotFound, ImageAmbiguous (a
fingerprint prefix matches several images), ImageBusy, PoolNotFound,
InvalidConfigKey, InvalidConfigValue, ConfigKeyReadOnly (image.* or
volatile.* keys), InvalidIdmap (-Privileged with -IsolatedIdmap or
another id map key, a security.idmap.base outside root's subordinate
ids, raw.idmap host ids inside the base range), IdmapNotDelegated
(raw.idmap host ids that /etc/subuid and /etc/subgid do not delegate to
root), IdmapExhausted, PoolSpaceInsufficient (the image's files, sparse
ones counted in full, are larger than the pool's free space; checked
before the image is first unpacked into a pool), RuntimeDirNotTraversable (with -Start: a directory
above the runtime directory that the container's root cannot search,
named with its mode), ToolMissing (busybox-static, runc or cps-monitor
missing), ContainerStartFailed (with -Start), NetworkNotFound (a -Network
that does not exist; the container is not created), DuplicateNetwork (a
network named twice), CniPluginNotFound and CniPluginError (with -Start,
a network's ADD failed).
'@

    Parameters  = @{
        Name          = @'
The name of the new container (or several: New-Container web1, web2
-Image busybox makes one each), also its hostname: 1 to 63 letters,
digits, '.', '_' and '-', starting with a letter or digit, without '..'.
'@
        Image         = @'
The image: an alias, a fingerprint or a unique fingerprint prefix of at
least 12 hex digits. busybox is the built-in image, built on first use.
'@
        StoragePool   = @'
The pool for the container's volume, dir, btrfs or zfs. Default: the host's
default pool (recorded by Initialize-ContainerHost, else a dir pool
named default, created on first use).
'@
        Config        = @'
Config keys as a hashtable: limits.memory, limits.processes, limits.cpu,
security.idmap.isolated, security.idmap.size, security.idmap.base,
raw.idmap, security.privileged, boot.stop.signal and user.*. Values are
stored as text ($true becomes true). image.* and volatile.* keys cannot
be set.
'@
        Start         = @'
Start the container after creating it (lxc launch) and return it
Running.
'@
        IsolatedIdmap = @'
Give the container an id range of its own instead of the shared one
(the same as security.idmap.isolated=true).
'@
        Privileged    = @'
Run the container without a user namespace (security.privileged=true):
root in the container is root on the host. Not recommended.
'@
        Network       = @'
CNI networks (from New-ContainerNetwork) to connect the container to,
in interface order: the first is eth0, the second eth1, and so on. CNI
ADD runs for them at every start, DEL at every stop. Each must exist.
'@
    }

    Inputs      = @(
        @{
            Type        = 'System.String'
            Description = @'
Objects with Name, Image or StoragePool properties bind by property name,
for example rows from Import-Csv.
'@
        }
    )

    Outputs     = @{
        'ContainerPS.Container' = 'The new container (Running with -Start).'
    }

    Examples    = @(
        @{
            Title   = 'Create and start a container'
            Code    = 'New-Container -Name web1 -Image busybox -Start'
            Remarks = @'
Like `lxc launch busybox web1`. The output shows State Running, the init's
host Pid and the Idmap, for example 0 1000000 65536.
'@
        }
        @{
            Title   = 'Create a container with limits, without starting it'
            Code    = @'
New-Container db1 busybox -Config @{ 'limits.memory' = '256MiB'; 'limits.processes' = 200; 'limits.cpu' = 1; 'user.role' = 'db' }
'@
            Remarks = @'
Like `lxc init busybox db1 -c limits.memory=256MiB -c limits.processes=200
-c limits.cpu=1 -c user.role=db`. The limits apply when it starts.
'@
        }
        @{
            Title   = 'A container on a btrfs pool'
            Code    = @'
New-StoragePool fast -Driver btrfs -Config @{ size = '20GiB' }
New-Container web1 busybox -StoragePool fast -Start
'@
            Remarks = @'
Like `lxc launch busybox web1 --storage fast`. The image is unpacked once
into fast; web1 and every later container from busybox in fast are
writable btrfs snapshots of it, made in constant time.
'@
        }
        @{
            Title   = 'An isolated id map'
            Code    = '(New-Container iso1 busybox -IsolatedIdmap).Idmap'
            Remarks = @'
Prints the container's own range, for example 0 1065536 65536, which no
other isolated container shares.
'@
        }
        @{
            Title   = 'A host user mapped into the container'
            Code    = @'
'root:1000:1' | Add-Content /etc/subuid, /etc/subgid   # once: delegate host id 1000 to root
New-Container dev1 busybox -Config @{ 'raw.idmap' = 'both 1000 1000' } -Start
Get-ContainerIdmap dev1
'@
            Remarks = @'
Like `lxc launch busybox dev1 -c raw.idmap="both 1000 1000"`, and as
in LXD root must be delegated the host ids first (else
IdmapNotDelegated). Container
uid and gid 1000 are host uid and gid 1000; Get-ContainerIdmap shows the
shared range split around them (0-999, 1000 raw, 1001-65535).
'@
        }
        @{
            Title   = 'A container on two networks'
            Code    = @'
New-Container app1 busybox -Network front, back -Start | Select-Object -ExpandProperty Network
'@
            Remarks = @'
app1 starts with eth0 on front and eth1 on back, each with an address
from its network's IPAM, for example:

Container Network Interface Attached Addresses    MacAddress
--------- ------- --------- -------- ---------    ----------
app1      front   eth0      True     10.77.0.2/24 46:34:bf:8b:88:5b
app1      back    eth1      True     10.77.1.2/24 0e:51:c2:7a:90:1d
'@
        }
        @{
            Title   = 'Create several containers from a list'
            Code    = @'
'app1', 'app2', 'app3' | ForEach-Object { New-Container -Name $_ -Image busybox -Start } | Format-Table Name, State, Pid
'@
            Remarks = 'Creates and starts three containers.'
        }
    )

    Notes       = @'
The container's files are on the host under its volume's Path and can be
edited while it is stopped (they are owned by 0, the container's root;
on storage that refuses idmapped mounts, by the host ids of its map once
it has started: see the volume's volatile.idmap.last key).
'@

    Links       = @(
        'Start-Container'
        'Get-Container'
        'Set-Container'
        'Get-ContainerIdmap'
        'Mount-StorageVolume'
        'Remove-Container'
        'Initialize-ContainerHost'
        'Get-ContainerImage'
        'New-ContainerNetwork'
        'Connect-ContainerNetwork'
        'about_ContainerPS'
    )
}
