@{
    Synopsis    = 'Sets or unsets config keys of containers, their id map included (lxc config set / unset).'

    Description = @'
Changes the config keys of containers. It is the equivalent of
`lxc config set NAME KEY=VALUE` and `lxc config unset NAME KEY` (Incus:
incus config set/unset). Nothing is written to the pipeline unless
-PassThru is given.

-Config takes a hashtable of changes that is merged into the container's
keys: a key with a value is set, a key with the value $null is unset,
and keys not named are left alone. Values are stored as text ($true
becomes true). All changes are checked before any is applied; a refused
change changes nothing. The container may be running.

Keys:

- limits.memory (a size such as 512MiB or 1GiB, at least 6MiB),
  limits.processes (a positive whole number), limits.cpu (a count of
  CPUs, 2, or a cpuset, 0-1 or 0,2): applied to the container's cgroups
  when it next starts. They are checked against this host when set: a
  count above its online CPUs, or a cpuset naming CPUs that are not
  online, is InvalidConfigValue.
- boot.stop.signal: the signal the next Stop-Container sends: a name
  with or without SIG (SIGPWR, TERM), SIGRTMIN+N, SIGRTMAX-N, or a
  number from 1 to 64.
- user.*: free-form keys for your own use, one line of text each (no
  newlines or other control characters).
- security.idmap.isolated (true or false): a range of subordinate ids of
  the container's own, or the shared map.
- security.idmap.size: the number of ids of an isolated range or of one
  at security.idmap.base (default 65536; the shared map is always
  65536).
- security.idmap.base: the first host id of the container's range,
  instead of an allocated one. The range must lie in root's subordinate
  ids (/etc/subuid and /etc/subgid), else InvalidIdmap.
- raw.idmap: host ids mapped straight through to container ids, one
  entry a line, in LXD's format KIND HOST CONTAINER: "both 1000 1000"
  (host uid and gid 1000 are 1000 in the container), "uid 50-60
  500-510", "gid 50 500" (HOST and CONTAINER are an id or an inclusive
  range of the same length; blank lines and lines starting with # are
  ignored). The container ids an entry maps leave the base range, which
  is split around them (Get-ContainerIdmap shows the pieces). The host
  ids must not be in the container's base range (InvalidIdmap), and, as
  in LXD, root must be delegated them: a "root:FIRST:COUNT" line in both
  /etc/subuid and /etc/subgid covers them, else IdmapNotDelegated.
- security.idmap.unsafe: true lets raw.idmap map host ids root was not
  delegated (host root itself included). Such a container's root owns
  those host ids: it is root-equivalent, Get-Container reports it as
  Privileged, and every start warns. /proc/sys stays read-only in it.

security.privileged can only be given when the container is created
(ConfigKeyReadOnly); image.* and volatile.* keys are kept by ContainerPS
(ConfigKeyReadOnly). A privileged container has no id map to change
(InvalidIdmap).

Id map changes. A change of an id map key computes the new map at once:
an isolated container gets the first free range that fits
(IdmapExhausted when none is left; an isolated container keeps its
range when only raw.idmap changes), so the range is reserved for it. The
new map takes effect when the container next starts: a running
container goes on with its old map, whose range also stays reserved,
and a warning says so ("Container 'NAME' runs with its old id map; the
new one takes effect when it restarts."). Get-ContainerIdmap shows both
maps, with Current and Next. The container's files need no chown: its
root filesystem and volumes are shown to it through idmapped mounts made
with the new map. On storage that refuses idmapped mounts (overlayfs,
zfs-fuse) they are shifted on disk to the new map at that start instead,
and a start whose new map differs from that of other containers sharing
one of its volumes fails with IdmapsNotIdentical (see
Mount-StorageVolume).

Error IDs: ContainerNotFound, InvalidConfigKey (unknown key),
InvalidConfigValue (for example a size that is not a size, or a
malformed raw.idmap line), ConfigKeyReadOnly, InvalidIdmap (a base
outside root's subordinate ids, raw.idmap host ids in the base range,
more than 340 ranges, or a privileged container), IdmapNotDelegated
(raw.idmap host ids outside root's /etc/subuid and /etc/subgid ranges,
without security.idmap.unsafe), IdmapExhausted,
ContainerBusy (another session is changing the container).
'@

    Parameters  = @{
        Name     = @'
The names of the containers to change (exact, no wildcards). Containers
from Get-Container bind by their Name.
'@
        Config   = @'
The changes, as a hashtable of key = value: limits.memory,
limits.processes, limits.cpu, boot.stop.signal, user.*,
security.idmap.isolated, security.idmap.size, security.idmap.base and
raw.idmap. A $null value unsets the key.
'@
        PassThru = 'Write each changed container (a ContainerPS.Container) to the pipeline.'
    }

    Inputs      = @(
        @{
            Type        = 'ContainerPS.Container'
            Description = 'Containers from Get-Container, bound by their Name property.'
        }
    )

    Outputs     = @{
        'ContainerPS.Container' = 'With -PassThru, each container as it is after the change. Otherwise nothing.'
    }

    Examples    = @(
        @{
            Title   = 'Change a limit'
            Code    = @'
Set-Container web1 -Config @{ 'limits.memory' = '512MiB' }
Restart-Container web1
'@
            Remarks = @'
Like `lxc config set web1 limits.memory=512MiB`. The limit applies from
the restart on.
'@
        }
        @{
            Title   = 'Unset a key'
            Code    = 'Set-Container web1 -Config @{ ''limits.memory'' = $null; ''user.note'' = $null }'
            Remarks = 'Like `lxc config unset web1 limits.memory` and `lxc config unset web1 user.note`.'
        }
        @{
            Title   = 'Give a container an isolated id map'
            Code    = @'
Set-Container a1 -Config @{ 'security.idmap.isolated' = $true }
Restart-Container a1
Get-ContainerIdmap a1
'@
            Remarks = @'
The range is allocated by Set-Container (for example 0 1131072 65536)
and used from the restart on; its files are not chowned.
'@
        }
        @{
            Title   = 'Map a host user into a container'
            Code    = @'
'root:1000:1' | Add-Content /etc/subuid, /etc/subgid   # once: delegate host id 1000 to root
Set-Container dev1 -Config @{ 'raw.idmap' = 'both 1000 1000' }
Restart-Container dev1
Invoke-ContainerExec dev1 -- cat /proc/self/uid_map
'@
            Remarks = @'
Container uid and gid 1000 are host uid and gid 1000; the base range is
split around them. uid_map has three lines (container id, host id,
count): 0 1000000 1000, 1000 1000 1 and 1001 1001001 64535.
'@
        }
        @{
            Title   = 'Several raw.idmap entries'
            Code    = @'
Set-Container dev1 -Config @{ 'raw.idmap' = "uid 50-60 500-510`ngid 50-60 500-510" }
'@
            Remarks = @'
One entry a line: host uids and gids 50 to 60 are container ids 500 to
510.
'@
        }
        @{
            Title   = 'Tag several containers'
            Code    = @'
Get-Container web* | Set-Container -Config @{ 'user.role' = 'web' }
Get-Container web* -Property user.role
'@
            Remarks = 'user.* keys take any text; Get-Container -Property reads one back.'
        }
    )

    Links       = @(
        'Get-ContainerIdmap'
        'New-Container'
        'Get-Container'
        'Restart-Container'
        'Mount-StorageVolume'
        'about_ContainerPS'
        @{ Text = 'LXD instance options'; Uri = 'https://documentation.ubuntu.com/lxd/en/latest/reference/instance_options/' }
    )
}
