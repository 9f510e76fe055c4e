@{
    Synopsis    = 'Saves the running state of a container with CRIU: a stateful snapshot, or a checkpoint directory (lxc snapshot --stateful).'

    Description = @'
Dumps a running container's processes - their memory, open files, pipes,
sockets, zombies, file locks and pids - with CRIU (through
`runc checkpoint`), so that Restore-Container can bring them back later
exactly where they were. It is the equivalent of `lxc snapshot NAME
SNAPSHOT --stateful` (Incus: incus snapshot create --stateful), and with
-Path of `runc checkpoint --image-path` or `criu dump -D DIR`.

Two kinds of target:

- A stateful snapshot (the default, -SnapshotName): the container's
  filesystem is copied into a snapshot, like New-ContainerSnapshot, and
  the CRIU images are kept next to it in
  ROOT/checkpoints/UUID/snapshot-NAME (UUID is the container's, so a
  rename does not break it). Without -SnapshotName the snapshot is named
  snap0, snap1, ... (the first free one). The snapshot is written to the
  pipeline; its Stateful property is True. Restore-Container -Snapshot
  restores both the filesystem and the processes.
- A directory (-Path): only the CRIU images (and ContainerPS's record of
  the container, containerps-checkpoint.json) are written to a new or
  empty directory; the filesystem is not saved. Nothing is written to
  the pipeline. Restore-Container -Path brings the processes back on the
  container's filesystem as it is then.

The container stops (CRIU ends its processes after saving them), unless
-LeaveRunning is given. A stopped container is Stopped with the
StatusReason "checkpointed: its processes were saved by CRIU and
stopped"; its CNI networks are released (DEL), and a restore asks for the
same addresses again. With -LeaveRunning the container goes on running;
its processes are frozen only while they are saved. For a stateful
snapshot the whole container is paused (runc pause) while both the
processes and the filesystem are saved, so the two match.

What is saved: every process of the container (Invoke-ContainerExec
commands too: they are descendants of the container's init), anonymous
and file-backed memory, pipes with unread data, Unix sockets, TCP
sockets that are listening or established (--tcp-established), file
locks (--file-locks), zombies, and the container's namespaces but one:
the network namespace is not saved (--empty-ns
network): a restore gets a new one, which CNI ADD configures with the
addresses and MAC address the container had (they are recorded with the
images), and its loopback is brought up, before the processes and their
sockets come back.

Invoke-ContainerExec sessions attached to the container are ended before
the dump, with a warning: their helper is a host program that cannot be
dumped. Their commands go on inside the container (adopted by its init)
and are saved like any other process; only the session's pipes to the
caller are gone, as an ssh session is after its host restarts.

The images belong to root. Before an unprivileged container is
restored from them, their directory is made searchable but not listable
(0711) and the files readable (0644): CRIU opens some of them
(timens-N.img first) from the restored task before its uid map is
written, when only "other" permissions count. Stateful snapshots and
saved stop states sit below ROOT/checkpoints/UUID (0711, random UUID),
out of sight; keep a -Path directory inside a directory that only root
can enter, since the images hold the processes' memory. CRIU's own log
(dump.log) stays in the directory.

On this host CRIU is 4.1.1 (Debian 13) and the kernel is Linux 6.18.
CRIU 4.1.1 cannot dump a TCP or UDP socket on Linux 6.16 and later
(getsockopt SO_PASSCRED/SO_PASSSEC fail with EOPNOTSUPP there; criu issue
2705): ContainerPS preloads cps-criu-compat.so into runc and CRIU, which
answers "off" for exactly those two options. Check what CRIU can do here
with Test-ContainerCheckpoint.

Storage volumes. Volumes mounted into the container when it started
(Mount-StorageVolume) are part of its configuration and are mounted
again for a restore. A volume mounted into or dismounted from the
container while it runs is a mount CRIU cannot restore (CRIU restores
the mounts the container started with): such a container is refused
with HotMountNotCheckpointable until it restarts.

Error IDs: ContainerNotFound, ContainerNotRunning (nothing to save),
HotMountNotCheckpointable (a volume was mounted or dismounted while it
runs: restart it first), ContainerBusy, InvalidName (the snapshot name), SnapshotExists,
InvalidPath, CheckpointPathNotEmpty (-Path exists and is not an empty
directory), CheckpointPathNotFound (the parent of -Path does not exist),
CriuMissing, CheckpointFailed (runc or CRIU failed; the message has
CRIU's error lines; nothing half-written is kept), RuncFailed (pause or
resume with -LeaveRunning).
'@

    Parameters  = @{
        Name         = @'
The running container to checkpoint (exact, no wildcards). Containers
from Get-Container bind by their Name.
'@
        SnapshotName = @'
The name of the stateful snapshot: 1 to 63 letters, digits, '.', '_'
and '-', starting with a letter or digit. Unique among the container's
snapshots (stateful or not). Default: the first free name of snap0,
snap1, ...
'@
        Path         = @'
A directory for the CRIU images instead of a snapshot: a new directory
(its parent must exist) or an empty one. A relative path is resolved
against the current location. Only the processes are saved there, not
the filesystem.
'@
        LeaveRunning = @'
Keep the container running after the dump (runc checkpoint
--leave-running). Without it the container is stopped.
'@
    }

    Inputs      = @(
        @{
            Type        = 'ContainerPS.Container'
            Description = 'Containers from Get-Container, bound by their Name property.'
        }
    )

    Outputs     = @{
        'ContainerPS.ContainerSnapshot' = @'
The new stateful snapshot (Stateful True). With -Path, nothing.
'@
    }

    Examples    = @(
        @{
            Title   = 'Save a container''s running state as a snapshot, and go back to it'
            Code    = @'
Checkpoint-Container web -SnapshotName before
Restore-Container web before
'@
            Remarks = @'
Like `lxc snapshot web before --stateful; lxc restore web before
--stateful`. The checkpoint stops web; the restore brings back its
filesystem and its processes, with the same pids and memory, and its
addresses.
'@
        }
        @{
            Title   = 'A stateful snapshot of a container that keeps running'
            Code    = 'Checkpoint-Container web -LeaveRunning'
            Remarks = @'
Writes the snapshot (snap0 the first time). The container is paused only
while its processes and its filesystem are saved; they match each
other, so this is also the way to snapshot a busy container's files
consistently.
'@
        }
        @{
            Title   = 'Checkpoint into a directory, and recover after a crash'
            Code    = @'
Checkpoint-Container db -Path /srv/ckpt/db-0200 -LeaveRunning
# ... later the host's processes are killed, or the container is
Restore-Container db -Path /srv/ckpt/db-0200
'@
            Remarks = @'
The directory holds the CRIU images and containerps-checkpoint.json;
the restore brings back the processes as they were at 02:00 on the
filesystem as it is now. The directory can be used again.
'@
        }
        @{
            Title   = 'Check what was saved'
            Code    = 'Get-ContainerSnapshot web | Where-Object Stateful'
            Remarks = 'The stateful snapshots of web.'
        }
    )

    Notes       = @'
Not possible here: pre-copy (iterative) dumps, which need memory dirty
tracking (CONFIG_MEM_SOFT_DIRTY), missing from this kernel; see
Test-ContainerCheckpoint and Move-Container -Live. A checkpoint is
restored on the host that made it or, through Move-Container, on one
with the same kernel features, CRIU and subordinate ids.

If this command is killed (SIGKILL, a lost session), the next ContainerPS
command repairs, with a warning "Repaired an interrupted operation": a
dump CRIU finished is kept (the container is stopped, as the checkpoint
leaves it; Restore-Container -Path runs it again); an unfinished one is
removed and the container runs on, thawed if it was left frozen. When
the unfinished dump took the processes with it, the container is Error
with that reason until Start-Container boots it afresh.
'@

    Links       = @(
        'Restore-Container'
        'Test-ContainerCheckpoint'
        'Stop-Container'
        'Move-Container'
        'Get-ContainerSnapshot'
        'about_ContainerPS'
        @{ Text = 'CRIU'; Uri = 'https://criu.org/' }
    )
}
