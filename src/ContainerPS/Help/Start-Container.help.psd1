@{
    Synopsis    = 'Starts containers (lxc start).'

    Description = @'
Starts stopped containers. It is the equivalent of `lxc start NAME`
(Incus: incus start). Nothing is written to the pipeline unless
-PassThru is given.

How a container starts: ContainerPS mounts the container's volume at
RUNTIME/containers/NAME/rootfs through an idmapped mount (a plain bind
mount for a privileged container), writes the OCI config.json there, and
runs cps-monitor, a small native monitor that starts the container with
`runc run --detach` and reports back. The cmdlet returns when the
container's init is running. RUNTIME is /run/containerps for the default
state root, else ROOT/run (or $env:CONTAINERPS_RUNTIME_DIR).

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
forced umount). The network namespace has a loopback interface only:
networks are not part of this version. limits.memory, limits.processes
and limits.cpu are set in the container's cgroups
(/containerps/UUID below each controller).

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

Error IDs: ContainerNotFound, ContainerRunning (already running),
ContainerBusy (being changed by another session, or being created or
removed), ContainerStartFailed (runc or the init failed; the message has
the reason and the start of the console output), ToolMissing (runc or
cps-monitor not found).
'@

    Parameters  = @{
        Name     = @'
The names of the containers to start (exact, no wildcards). Containers
from Get-Container bind by their Name.
'@
        PassThru = 'Write each started container (State Running) to the pipeline.'
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
    )

    Notes       = @'
Not in this version: exec into a running container (lxc exec), an
interactive console (lxc console), networks, attached volumes and
devices, and stateful start from a checkpoint.
'@

    Links       = @(
        'Stop-Container'
        'Restart-Container'
        'Wait-Container'
        'Get-ContainerLog'
        'New-Container'
        'about_ContainerPS'
    )
}
