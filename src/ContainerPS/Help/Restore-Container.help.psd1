@{
    Synopsis    = 'Brings a stopped container back to a saved running state: a stateful snapshot or a checkpoint directory (lxc restore --stateful).'

    Description = @'
Restores a stopped container's processes from a checkpoint made by
Checkpoint-Container, with CRIU (through `runc restore`, run by the
container's cps-monitor). It is the equivalent of `lxc restore NAME
SNAPSHOT --stateful` (Incus: incus snapshot restore --stateful), and with
-Path of `runc restore --image-path` or `criu restore -D DIR`. Nothing is
written to the pipeline unless -PassThru is given.

-Snapshot names a stateful snapshot (Stateful True in
Get-ContainerSnapshot): the container's filesystem is first replaced by
the snapshot's, as Restore-ContainerSnapshot does (everything written
since is lost; the snapshot is kept), then its processes are restored.
-Path names a directory made by Checkpoint-Container -Path: only the
processes are restored, on the container's filesystem as it is.

The restored processes keep their pids, memory, open files, pipes with
unread data, zombies, file locks, and listening and established TCP
connections. The container gets a new network namespace: the
createRuntime hook runs CNI ADD for each of its networks, asking for the
addresses and the MAC address it had when it was saved, and brings the
loopback up, before CRIU restores the sockets that are bound to them.
The container is then Running under a new cps-monitor, exactly as after
Start-Container, and its other processes and sessions can be used as
before (attached Invoke-ContainerExec sessions were ended at the
checkpoint; their commands still run).

A saved stop state (Stop-Container -Stateful) is discarded: it is older
than what now runs. A checkpoint is not used up: a -Path directory or a
stateful snapshot can be restored again (after a crash, say).

If the restore fails, the container stays Stopped and the error
(RestoreFailed) has runc's message and the error lines of CRIU's
restore.log, which is kept in the checkpoint directory. With -Snapshot
the filesystem has already been replaced by then.

Error IDs: ContainerNotFound, ContainerRunning (stop it first; the
running processes would be lost), ContainerBusy, SnapshotNotFound,
SnapshotNotStateful (a snapshot of the filesystem only: use
Restore-ContainerSnapshot, then Start-Container), CheckpointNotFound (the
directory has no CRIU inventory.img and containerps-checkpoint.json),
InvalidCheckpoint (containerps-checkpoint.json cannot be read),
CriuMissing, RestoreFailed, CniPluginError (a network's ADD failed).
'@

    Parameters  = @{
        Name     = @'
The stopped container to restore (exact, no wildcards). Containers from
Get-Container bind by their Name (or Container) property.
'@
        Snapshot = @'
The name of a stateful snapshot of the container, made by
Checkpoint-Container. Its filesystem and its processes are restored.
'@
        Path     = @'
A checkpoint directory made by Checkpoint-Container -Path (a relative
path is resolved against the current location). Only the processes are
restored.
'@
        PassThru = 'Write the restored container (State Running) to the pipeline.'
    }

    Inputs      = @(
        @{
            Type        = 'ContainerPS.Container'
            Description = @'
Containers from Get-Container, bound by their Name property. Give
-Snapshot or -Path as well.
'@
        }
    )

    Outputs     = @{
        'ContainerPS.Container' = 'With -PassThru, the restored container. Otherwise nothing.'
    }

    Examples    = @(
        @{
            Title   = 'Go back to a stateful snapshot'
            Code    = @'
Checkpoint-Container web -SnapshotName before
Restore-Container web before -PassThru
'@
            Remarks = @'
Like `lxc restore web before --stateful`. The snapshot name is the
second positional parameter. The container runs again with the same
processes, pids and addresses.
'@
        }
        @{
            Title   = 'Restore the processes saved in a directory'
            Code    = @'
Checkpoint-Container web -Path /srv/ckpt/web -LeaveRunning
Stop-Container web -Force
Restore-Container web -Path /srv/ckpt/web
'@
            Remarks = @'
The restore takes the processes back to the time of the checkpoint; the
files they wrote after it keep their newer contents.
'@
        }
        @{
            Title   = 'Undo a failed upgrade, processes and all'
            Code    = @'
Checkpoint-Container app -SnapshotName pre-upgrade -LeaveRunning
Invoke-ContainerExec app -- /opt/app/upgrade.sh
if ($LASTEXITCODE -ne 0) {
    Stop-Container app -Force
    Restore-Container app pre-upgrade
}
'@
            Remarks = @'
The stateful snapshot saves files and processes at the same moment; the
restore brings both back.
'@
        }
        @{
            Title   = 'The latest stateful snapshot'
            Code    = @'
$s = Get-ContainerSnapshot web | Where-Object Stateful | Select-Object -Last 1
Restore-Container web -Snapshot $s.Name
'@
            Remarks = 'Snapshots are listed in the order they were taken.'
        }
    )

    Links       = @(
        'Checkpoint-Container'
        'Stop-Container'
        'Start-Container'
        'Restore-ContainerSnapshot'
        'Test-ContainerCheckpoint'
        'about_ContainerPS'
    )
}
