@{
    Synopsis    = 'Gets containers, their state, or one property (lxc list / lxc info / lxc config get).'

    Description = @'
Gets containers as ContainerPS.Container objects: all of them, or those
whose names match -Name. It is the equivalent of `lxc list`, `lxc info
NAME` and, with -Property, `lxc config get NAME KEY` (Incus: incus list,
incus info, incus config get).

The state is read when the command runs, from the files the container's
monitor keeps in the runtime directory (/run/containerps/containers/NAME
for the default state root, else ROOT/run/containers/NAME), checking that
the processes they name are alive:

- Running: the monitor and the container's init are alive. Pid is the
  init's host pid.
- Stopped: the container is not running. StatusReason and LastExitCode
  say how the last run ended, when known: "init exited with code N"
  (LastExitCode N) or "init was killed by signal N" (LastExitCode 128+N,
  137 for SIGKILL). While the monitor is still cleaning up after the init
  ended, StatusReason is "stopping: the init has exited". After
  Checkpoint-Container or Stop-Container -Stateful it is "checkpointed:
  its processes were saved by CRIU and stopped" (no LastExitCode).
- Error: the monitor died without recording an exit (it was killed), or a
  start was interrupted. Start-Container or Stop-Container cleans up.
- Starting: its monitor is starting it (runc has not reported the init
  yet). A start whose launcher died stays Starting; the next
  Start-Container, Stop-Container or Remove-Container -Force ends its
  monitor, runc and hooks by pid.
- Stopping: the init has exited and its monitor is recording the exit.
- Creating, Deleting: another process is creating or removing it.

Properties: Name, State, Pid, Image (as given to New-Container), Pool,
Idmap (the map the next start uses, as CONTAINER HOST COUNT ranges:
"0 1000000 65536", "0 1000000 1000, 1000 1000 1, 1001 1001001 64535"
with raw.idmap both 1000 1000, "uid ...; gid ..." when the two differ,
or "privileged"; Get-ContainerIdmap gives it as objects, with the map
the container runs with), Privileged, CreatedAt and LastStartedAt (UTC), Config (a sorted dictionary of config keys,
image.* and volatile.idmap.current included), Devices (the storage
volumes mounted into it with Mount-StorageVolume, as
ContainerPS.ContainerDevice objects: Container, Name, Type disk, Pool,
Volume, Path and ReadOnly), StatusReason,
LastExitCode, Stateful (True when Stop-Container -Stateful saved the
running state: the next Start-Container restores it instead of booting)
and Network. A Container alias property of Name lets containers be
piped to the snapshot cmdlets.

-Property returns one bare value, like lxc config get: a property of the
object (state, pid, idmap, last_started_at...: case, '_' and '-' are
ignored), else a config key (exact, e.g. limits.memory or image.os). A
config key that is not set writes nothing (as lxc config get prints
nothing); a name that is neither is PropertyNotFound.

Network lists the container's interfaces, one ContainerPS.NetworkAttachment
per connected CNI network (Network, Interface, Attached, Addresses,
MacAddress, Gateways, Routes, Nameservers): `Get-Container c | Select-Object
-ExpandProperty Network`. The table view's Addresses column shows the
attached addresses without their prefix length, like the IPV4 column of
`lxc list`; the same list is the Addresses property (Select-Object
Name, Addresses). Network objects stay objects through remoting.

Error IDs: ContainerNotFound (a name without wildcards that matches no
container; the other names are still returned), PropertyNotFound.
'@

    Parameters  = @{
        Name     = @'
Names of containers to get; wildcards (*, ?, [a-z]) are allowed and
match without regard to case. Without -Name, every container is
returned, sorted by name.
'@
        Property = @'
Return only this property or config key of each container, as a bare
value: a property name (State, Pid, Idmap...) or a config key
(limits.memory, user.role, image.os...).
'@
    }

    Inputs      = @(
        @{
            Type        = 'System.String[]'
            Description = 'Objects with a Name property bind to -Name.'
        }
    )

    Outputs     = @{
        'ContainerPS.Container' = @'
The containers, or with -Property the bare values (strings, numbers,
dates or $null).
'@
    }

    Examples    = @(
        @{
            Title   = 'List the containers'
            Code    = 'Get-Container'
            Remarks = @'
Like `lxc list`: a table of Name, State, Pid, Image, Pool, Idmap and
LastStartedAt.
'@
        }
        @{
            Title   = 'Show one container in full'
            Code    = 'Get-Container web1 | Format-List *'
            Remarks = 'Like `lxc info web1` and `lxc config show web1`.'
        }
        @{
            Title   = 'One value for a script'
            Code    = @'
Get-Container web1 -Property state
Get-Container web1 -Property limits.memory
'@
            Remarks = @'
Prints Running (or Stopped, Error) and the memory limit, e.g. 256MiB,
with no formatting to parse.
'@
        }
        @{
            Title   = 'Running containers whose names start with web'
            Code    = 'Get-Container web* | Where-Object State -eq Running | Select-Object Name, Pid, Idmap'
            Remarks = 'Wildcards select by name; the objects filter like any other.'
        }
        @{
            Title   = 'Containers that will resume their saved running state'
            Code    = 'Get-Container | Where-Object Stateful | Format-List Name, State, Stateful, StatusReason'
            Remarks = @'
The containers stopped with Stop-Container -Stateful whose state has not
been used yet: Start-Container restores them, Start-Container -Stateless
boots them afresh.
'@
        }
        @{
            Title   = 'The volumes mounted into a container'
            Code    = 'Get-Container web1 | Select-Object -ExpandProperty Devices'
            Remarks = @'
Like `lxc config device show web1`, for example:

Container Name Pool    Volume Path      ReadOnly
--------- ---- ----    ------ ----      --------
web1      data default data   /srv/data False
'@
        }
        @{
            Title   = 'Why did it stop?'
            Code    = 'Get-Container web1 | Select-Object State, LastExitCode, StatusReason'
            Remarks = @'
After `kill -9` of the init, for example: Stopped, 137, "init was killed
by signal 9".
'@
        }
    )

    Links       = @(
        'New-Container'
        'Wait-Container'
        'Get-ContainerLog'
        'Get-ContainerSnapshot'
        'Get-ContainerIdmap'
        'Mount-StorageVolume'
        'about_ContainerPS'
    )
}
