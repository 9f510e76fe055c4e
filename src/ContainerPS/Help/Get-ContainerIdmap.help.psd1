@{
    Synopsis    = 'Gets the id maps of containers, or how the host''s subordinate ids are used (lxc config get NAME volatile.idmap.*).'

    Description = @'
Gets the user and group id maps of unprivileged containers as
ContainerPS.Idmap objects, one per range: container ids ContainerStart
to ContainerStart+Count-1 are host ids HostStart to HostStart+Count-1.
It shows what LXD keeps in the volatile.idmap.current and
volatile.idmap.next keys of an instance (`lxc config get NAME
volatile.idmap.next`; Incus: incus config get), as objects.

A container's map is its base allocation from root's subordinate ids
(/etc/subuid and /etc/subgid): the shared map, the first 65536 ids,
which all non-isolated containers use; a range of its own with
security.idmap.isolated (first fit, security.idmap.size ids); or the
range at security.idmap.base. Each raw.idmap entry maps host ids
straight through to container ids, and those container ids leave the
base range, which is then split around them (see Set-Container).

Kind is both when the uid and gid ranges are the same, else uid or gid.
Isolated is True for the ranges of the container's own isolated
allocation. Raw is True for raw.idmap entries (and for any range of host
ids outside root's subordinate ids).

Current and Next. A change of the map (Set-Container) takes effect at
the next start, so a container can have two maps. Current is True for
the ranges of the map the container runs with, or ran with last (kept
in its volatile.idmap.current key at each start); Next for the ranges of
the map its next start uses. A range in both has both True; a container
that has never run has Current False everywhere. Privileged containers
have no map and return nothing.

-Host gets root's subordinate ranges instead, as ContainerPS.HostIdmap
objects, uid ranges first, then gid: each part of /etc/subuid and
/etc/subgid with its Use: Shared (the shared map at the start of the
range), Isolated (the range of an isolated container or one at
security.idmap.base) or Free (not used; isolated maps are allocated from
here), and the Containers that use it, in the map they run with or the
one their next start uses. raw.idmap entries are not listed there.

Error IDs: ContainerNotFound (a name without wildcards that matches no
container; the other names are still returned).
'@

    Parameters  = @{
        Name = @'
Names of containers whose maps to get; wildcards (*, ?, [a-z]) are
allowed. Without -Name, the maps of all containers are returned,
sorted by container name. Containers from Get-Container bind by their
Name.
'@
        Host = @'
Get the host's subordinate id ranges (root's in /etc/subuid and
/etc/subgid) and what uses them, instead of the containers' maps.
'@
    }

    Inputs      = @(
        @{
            Type        = 'ContainerPS.Container'
            Description = 'Containers from Get-Container, bound by their Name property.'
        }
    )

    Outputs     = @{
        'ContainerPS.Idmap'     = @'
One range of a container's map: Container, Kind (uid, gid or both),
ContainerStart, HostStart, Count, Isolated, Raw, Current and Next.
'@
        'ContainerPS.HostIdmap' = @'
With -Host, one range of root's subordinate ids: Kind (uid or gid),
HostStart, Count, Use (Shared, Isolated or Free) and Containers.
'@
    }

    Examples    = @(
        @{
            Title   = 'The maps of all containers'
            Code    = 'Get-ContainerIdmap'
            Remarks = @'
a1 has the shared map, a2 an isolated one; both run with the map their
next start uses:

Container Kind ContainerStart HostStart Count Isolated Raw   Current Next
--------- ---- -------------- --------- ----- -------- ---   ------- ----
a1        both 0              1000000   65536 False    False True    True
a2        both 0              1065536   65536 True     False True    True
'@
        }
        @{
            Title   = 'How the host''s subordinate ids are used'
            Code    = 'Get-ContainerIdmap -Host'
            Remarks = @'
The shared map, one isolated range and the free rest, for uids and gids:

Kind HostStart Count     Use      Containers
---- --------- -----     ---      ----------
uid  1000000   65536     Shared   a1
uid  1065536   65536     Isolated a2
uid  1131072   999868928 Free
gid  1000000   65536     Shared   a1
gid  1065536   65536     Isolated a2
gid  1131072   999868928 Free
'@
        }
        @{
            Title   = 'A raw.idmap entry, before and after the restart'
            Code    = @'
Set-Container a2 -Config @{ 'raw.idmap' = 'both 1000 1000' }
Get-ContainerIdmap a2
'@
            Remarks = @'
a2 runs, so Set-Container warns "Container 'a2' runs with its old id
map; the new one takes effect when it restarts." The next map (Next
True) maps container id 1000 to host id 1000 and splits the base range
around it; the map a2 runs with is still one range (Current True):

Container Kind ContainerStart HostStart Count Isolated Raw   Current Next
--------- ---- -------------- --------- ----- -------- ---   ------- ----
a2        both 0              1065536   1000  True     False False   True
a2        both 1000           1000      1     False    True  False   True
a2        both 1001           1066537   64535 True     False False   True
a2        both 0              1065536   65536 True     False True    False

After Restart-Container a2 the three new ranges have Current True and
the old one is gone.
'@
        }
        @{
            Title   = 'Containers whose map changes at their next start'
            Code    = @'
Get-ContainerIdmap | Where-Object { $_.Current -ne $_.Next } | Select-Object -ExpandProperty Container -Unique
'@
            Remarks = 'The containers to restart for a Set-Container change of their map to take effect.'
        }
        @{
            Title   = 'Free subordinate ids'
            Code    = '(Get-ContainerIdmap -Host | Where-Object { $_.Kind -eq ''uid'' -and $_.Use -eq ''Free'' } | Measure-Object Count -Sum).Sum'
            Remarks = 'The number of uids left for isolated maps.'
        }
    )

    Links       = @(
        'Set-Container'
        'New-Container'
        'Get-Container'
        'Mount-StorageVolume'
        'about_ContainerPS'
    )
}
