@{
    Synopsis    = 'Starts containers (lxc start).'

    Description = @'
Starts stopped containers. It is the equivalent of `lxc start NAME`
(Incus: incus start). Nothing is written to the pipeline unless
-PassThru is given. A container stopped with Stop-Container -Stateful
is restored from its saved state instead of booting (see below).

How a container starts: ContainerPS mounts the container's volume at
RUNTIME/containers/NAME/rootfs through an idmapped mount (a plain bind
mount for a privileged container), writes the OCI config.json there, and
runs cps-monitor, a small native monitor that starts the container with
`runc run --detach` and reports back. The cmdlet returns when the
container's init is running. RUNTIME is /run/containerps for the default
state root, else ROOT/run (or $env:CONTAINERPS_RUNTIME_DIR).

Id map and volumes. The container starts with the map its
configuration gives now (a Set-Container change takes effect here), and
that map is recorded as the one it runs with (volatile.idmap.current;
see Get-ContainerIdmap). Storage volumes mounted with
Mount-StorageVolume are mounted too, each through an idmapped mount with
the container's map, and runc bind-mounts them at their paths (resolved
inside the container's root filesystem). On storage that refuses
idmapped mounts (overlayfs, zfs-fuse) the root filesystem and the
volumes are instead shifted on disk to the container's map when it
differs from the map their files are in (with Write-Progress; once per
map change, not at every start), and a volume shared with containers
whose maps differ fails the start with IdmapsNotIdentical. A shift that
a crash interrupted is finished first, with a warning.

The monitor stays behind, one per running container, as the init's
subreaper: it keeps the console log (see Get-ContainerLog), records how the
init ended, and on exit removes the runc state, the rootfs mount and its
pid files. So a container keeps running when the pwsh session that
started it exits, and any other session can stop it. There is no daemon.

The init is /sbin/init, or the image's init property (image.init, run by
/bin/sh -c). It runs as root of the container (an unprivileged host id,
see the container's Idmap) in its own pid, mount, uts (hostname = the
container's name), ipc, network, cgroup and user namespaces, with the
capabilities LXC keeps (no CAP_SYS_MODULE, CAP_SYS_TIME, CAP_SYS_RAWIO,
CAP_MAC_ADMIN, CAP_MAC_OVERRIDE) and a seccomp filter that refuses what
LXC's default policy refuses (module loading, kexec, open_by_handle_at,
forced umount). Without CNI networks the network namespace has a
loopback interface only. limits.memory, limits.processes
and limits.cpu are set in the container's cgroups
(/containerps/NAME-ID below each controller on cgroup v1; one cgroup
/sys/fs/cgroup/containerps/NAME-ID on v2, where the monitor itself moves
to /sys/fs/cgroup/containerps.monitor so that the end of the login session
that started the container does not kill it).

A container in the Error state (its monitor was killed) is cleaned up
first and then started. Each start begins a new console log.

Two sessions starting the same container at once are serialised by a lock:
one starts it, the other fails with ContainerRunning (or, after waiting 60
seconds for the lock, ContainerBusy).

A container with CNI networks gets its interfaces before its init runs:
runc makes the namespaces (the network namespace inside the container's
user namespace), runs the cps-hook createRuntime hook, and the engine runs
CNI ADD for each network (eth0, eth1, ... in order) into the new network
namespace. /etc/resolv.conf follows the first result that carries DNS
servers. If an ADD fails, DEL runs for what was added, the start is rolled
back and the plugin's error is written (CniPluginError). Attachments left
by a crash (a killed monitor, a reboot) are deleted (CNI DEL) first, so
host-local never leaks addresses.

A saved running state. When the container's Stateful property is True
(Stop-Container -Stateful saved it), Start-Container does not boot the
init: cps-monitor runs `runc restore` and CRIU brings back the processes
saved at the stop, with their pids, memory, pipes, sockets, zombies and
file locks. The container gets a new network namespace: the
createRuntime hook runs CNI ADD for its networks asking for the
addresses and MAC addresses it had, and brings the loopback up, before
the processes and their sockets (listening and established TCP
connections too) come back. The saved state is used once: after a
successful restore it is deleted and Stateful is False. If the restore
fails (RestoreFailed, with the error lines of CRIU's restore.log), the
container stays Stopped and the saved state is kept; -Stateless starts
it normally and deletes the saved state. Restore-Container restores a
stateful snapshot or a checkpoint directory instead.

Error IDs: ContainerNotFound, ContainerRunning (already running),
ContainerBusy (being changed by another session, or being created or
removed), ContainerStartFailed (runc or the init failed; the message has
the reason and the start of the console output), ToolMissing (runc or
cps-monitor not found), CniPluginError (a network's ADD failed),
RestoreFailed and CriuMissing (restoring a saved state),
CheckpointNotFound or InvalidCheckpoint (the saved state is damaged:
start with -Stateless), IdmapsNotIdentical (a mounted volume on storage
that cannot be idmapped is shared with containers of another map).
'@

    Parameters  = @{
        Name     = @'
The names of the containers to start. Wildcards (web*) match existing
containers, and -WhatIf and -Confirm name each match; a pattern that
matches nothing does nothing, a name that does not exist is
ContainerNotFound. Containers from Get-Container bind by their Name.
'@
        PassThru = 'Write each started container (State Running) to the pipeline.'
        Stateless = @'
Boot normally even if Stop-Container -Stateful saved a running state,
and delete that state (lxc start --stateless).
'@
    }

    Inputs      = @(
        @{
            Type        = 'ContainerPS.Container'
            Description = 'Containers from Get-Container, bound by their Name property.'
        }
    )

    Outputs     = @{
        'ContainerPS.Container' = 'With -PassThru, each started container. Otherwise nothing.'
    }

    Examples    = @(
        @{
            Title   = 'Start a container'
            Code    = 'Start-Container web1'
            Remarks = 'Like `lxc start web1`.'
        }
        @{
            Title   = 'Start every stopped container whose name starts with app'
            Code    = 'Get-Container app* | Where-Object State -ne Running | Start-Container -PassThru'
            Remarks = 'Returns the started containers with their new Pid.'
        }
        @{
            Title   = 'Start from a script and keep running after it ends'
            Code    = @'
Start-Job { Import-Module ContainerPS; Start-Container web1 } | Receive-Job -Wait -AutoRemoveJob
Get-Container web1 | Select-Object State, Pid
'@
            Remarks = @'
The background job's pwsh process starts the container and exits; the
container is still Running, because its monitor, not the session,
keeps it.
'@
        }
        @{
            Title   = 'Resume a container stopped with its running state'
            Code    = @'
Stop-Container web1 -Stateful
(Get-Container web1).Stateful
Start-Container web1
'@
            Remarks = @'
Prints True between the two; the start restores the processes saved by
the stop (same pids, memory and addresses) instead of booting.
'@
        }
        @{
            Title   = 'Boot afresh, discarding a saved running state'
            Code    = 'Start-Container web1 -Stateless'
            Remarks = 'Like `lxc start web1 --stateless`. Stateful is False afterwards.'
        }
    )

    Notes       = @'
Not in this version: an interactive console (lxc console), attached
volumes and devices.
'@

    Links       = @(
        'Stop-Container'
        'Restart-Container'
        'Wait-Container'
        'Get-ContainerLog'
        'New-Container'
        'Restore-Container'
        'about_ContainerPS'
    )
}
