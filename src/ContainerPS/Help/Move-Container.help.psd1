@{
    Synopsis    = 'Moves a container, running or not, to another ContainerPS host over PowerShell remoting (lxc move NAME REMOTE:).'

    Description = @'
Moves a container to the ContainerPS host that -Destination, a
PSSession, reaches. It is the equivalent of `lxc move NAME REMOTE:`
(Incus: incus move), which for a running container is LXD's migration
with CRIU. Nothing is written to the pipeline unless -PassThru is given.

A running container moves with its processes, memory, open connections
and addresses, by stop-and-copy:

1. The destination is asked to take the container (through the session;
   ContainerPS must be installed there, or already imported in the
   session). It checks that the name is free (ContainerExists), that
   every CNI network of the container exists there under the same name
   (NetworkNotFound), and that it would give the container the same id
   map (IdmapMismatch: CRIU restores a user namespace as it was dumped,
   so both hosts need the same subordinate ids in /etc/subuid and
   /etc/subgid). It then creates the container, in state Creating, in
   its default storage pool. A refusal leaves both hosts as they were:
   the error keeps the destination's own ID (ContainerExists,
   NetworkNotFound, IdmapMismatch) and message; MoveRefused when the
   destination could not be asked at all.
2. The container is checkpointed with CRIU as Checkpoint-Container
   does, and stops (attached Invoke-ContainerExec sessions are ended
   first, with a warning).
3. Its root filesystem and the checkpoint are sent as zstd-compressed
   tar streams (numeric owners, xattrs, ACLs), with progress in MiB;
   when the container's pool and the destination's default pool are
   both btrfs or both zfs, the root filesystem goes as the driver's own
   stream instead (btrfs send of a read-only snapshot, received and
   snapshotted writable there; zfs send of a snapshot, zfs receive
   there), which keeps everything the filesystem holds (-Verbose says
   which), and the id map that shifted files are stored in (zfs)
   travels with it. The data goes over a direct TCP connection to the
   destination: the destination
   listens on the address the session reached it at (SSH_CONNECTION)
   and every frame is sealed with AES-256-GCM under a fresh key that
   only travels through the session, so nobody else can read or inject
   data. When the destination offers no such link or it cannot be
   reached within 5 s (a firewall), or with -DataThroughSession, the
   data goes through the session itself in 8 MiB chunks (about 30 MB/s
   here, against several hundred for the direct link).
4. The destination unpacks them and restores the container: same pids,
   same memory, same listening and established TCP connections, and CNI
   ADD asks its networks for the same addresses and MAC address. The
   restored container stays frozen there until step 5.
5. When the destination reports the container Running, the source
   records that it commits the move and tells the destination to keep
   it; the destination thaws it. Only then is it removed from the
   source (Remove-Container -Force).

If a step after the checkpoint fails, the destination drops everything
it received and the container is restored on the source from the
checkpoint the move made: it runs there again, with its processes and
addresses. The error is MoveFailed (CheckpointFailed when the dump
itself failed) and its message ends "It runs on the source again (or is
as it was)".

If the session dies while the destination is told to keep the container
(step 5), the source cannot know whether the destination kept it. It then
runs it on neither host by its own doing: the container stays on the
source Stopped, its running state saved as by Stop-Container -Stateful,
with StatusReason "moved to another host, which did not confirm that it
kept it ...", and the error is MoveUnconfirmed. Look on the destination
with Get-Container: if it runs there, remove the source's copy
(Remove-Container); if not (a destination that never got the commit
drops its frozen copy at its first command after that session ended),
Start-Container on the source restores the saved processes.

Ctrl+C (or a session that breaks) ends the wait for the destination at
once: the container runs on the source again (during step 5 it stays
Stopped there, MoveUnconfirmed, as above), and the destination, whose
session is still busy, drops its frozen copy at its first ContainerPS
command after that session ends (Remove-PSSession). A kill -9 of either
side at any step is repaired by that side's next ContainerPS command.

The container is down from the checkpoint until the destination has
restored it, which includes copying its whole filesystem and memory:
about 1 s for an idle busybox container and 3.7 s for one with 256 MB
of memory it keeps dirtying, between two hosts on one machine (13 s for
that one through the session); longer with more data or a slower link. With -PassThru, MoveDowntimeMs and
MoveTotalMs on the returned object give the times measured (the
-Verbose message gives them too).

A stopped container moves cold: its filesystem and settings (and what
is listed below); CRIU is not needed and it arrives Stopped.

What moves: the filesystem, the image name, the config keys (limits,
user.*, image.*...), the kind of id map, the network memberships
(network and interface names), and everything the container has:

- its snapshots, with their names and creation times, and the saved
  state of stateful ones (Checkpoint-Container -SnapshotName), so
  Restore-ContainerSnapshot and Restore-Container -Snapshot work on the
  destination. Between btrfs pools or between zfs pools the snapshot
  chain goes as the driver's own streams: the oldest snapshot whole,
  each next one and then the container as the difference from the one
  before (btrfs send -p, zfs send -i), so the destination has real
  btrfs or zfs snapshots sharing their blocks. Otherwise each snapshot
  goes as a tar (ceph and zfs snapshots are read from a temporary clone).
- the custom storage volumes mounted into it (Mount-StorageVolume):
  each is created on the destination in the pool of the same name when
  there is one, else in its default pool, with the same name, size
  limit and content, and mounted at the same path (same device name,
  read-only or not). On the source they are removed with the container,
  only once the destination has kept it. A volume also mounted into
  another container on the source cannot move away from that one: the
  move is refused (VolumesNotMoved, naming the other container), as it
  is for a volume with snapshots of its own (remove them first). A
  volume of that name already on the destination is refused there
  (VolumeExists). Other volume keys are not carried.
- the running state saved by Stop-Container -Stateful: the container
  arrives Stopped with Stateful True, and Start-Container on the
  destination restores its processes (Start-Container -Stateless
  discards the state).

A saved running state (a stateful stop or stateful snapshots) is
restored with the user namespace it was dumped with, so, as for a
running container, both hosts need the same subordinate ids
(IdmapMismatch otherwise).
The container lands in the destination's default storage pool, whatever
its pool was on the source, except on shared Ceph:

Between hosts whose ceph pools use one OSD pool of one cluster (the
second host's pool made with -Source OSDPOOL -Config
@{ 'ceph.osd.shared' = 'true' }), nothing of the container's filesystem
is copied. Its RBD image (with its snapshots, RBD snapshots of it) and
the custom volumes mounted into it from that OSD pool are handed over:
the container lands in the destination's pool on that OSD pool, and
only a running container's checkpoint (and stateful snapshots' saved
states) travels. Each image has an owner record in the cluster, changed
by atomic compare-and-swap: the source stops (or dumps) the container,
unmaps its images and marks them handed to the destination; the
destination takes them and maps them; a host maps, writes and deletes
only the images it owns, so the two hosts never write one image at
once. Until the commit either side puts them back: a failed or killed
move leaves the images with the source, which runs the container on.
If the destination took them and then died, the source keeps the
container Stopped with its running state until the destination's next
command has given them back; Start-Container then restores it.
-Mode PostCopy is refused there (PostCopyNotSupported): the images can
change hands only once the processes on the source are gone, which
post-copy keeps until the last page has gone.

-Mode PostCopy moves a running container by post-copy (CRIU's lazy
pages), for a downtime that does not grow with its memory:

1. CRIU dumps everything of the container but its memory, and its
   processes stay frozen on the source, where a page server serves
   their pages. The page server listens only on the address the
   destination reaches this host at (the session's client address) and
   speaks TLS with a certificate and key made for this one move, which
   the destination gets through the session (inside the saved state):
   anyone else who connects gets no page, and only ends the move (it
   fails, the container runs on here). Then the filesystem and that
   small state go over the data link, as with stop-and-copy.
2. The destination starts CRIU's lazy-pages daemon (it connects to the
   page server with the move's key) and restores the container at once,
   not frozen: it runs there while its memory arrives, each page on its
   first touch and the rest in the background. -PassThru's
   MoveDowntimeMs ends here.
3. When the last page is in, CRIU's dump ends on the source (its
   processes are gone), the move is committed as with stop-and-copy,
   and the container is removed from the source.

Post-copy changes who owns the container once, at step 2. Before it,
any failure is like stop-and-copy's: the page server is ended, CRIU
resumes the processes on the source and the destination drops its part.
From the moment the destination runs the container, it owns it: its
processes never run on the source again. If the pages then stop coming
(the source host or the link dies), the destination's daemon fails and
the container is killed there at once, before a page that never came
could be read (it would read as zeros): cps-lazy-watch traces the daemon
and ends the container while the missing pages still wait. The
container is then stopped on both hosts with its filesystem as it was
at the move (Error on the destination; Start-Container boots it afresh):
its running state is lost. That is post-copy's inherent risk, the price
of its short downtime; stop-and-copy never loses the running state.
A source killed after step 2 does not stop the move: CRIU serves on by
itself, the destination keeps the container once every page is in, and
the source's next command removes its copy.

Post-copy needs userfaultfd (Test-ContainerCheckpoint: LazyPages) and a
direct connection from the destination to this host (not
-DataThroughSession: PostCopyNotSupported). In a user namespace the
restored processes cannot open a userfaultfd themselves while
vm.unprivileged_userfaultfd is 0 (criu issue 964); ContainerPS does not
turn that host-wide switch on: its cps-criu-compat.so makes CRIU's
userfaultfds through /dev/userfaultfd (Linux 6.1+), opened by runc as
root before CRIU enters the container's cgroup (whose device rules
refuse it), and closed in each restored task before any of the
container's code runs. A stopped container moves
cold with any -Mode. Post-copy is tested on this host's kernel (6.18)
and on Debian 12's kernel 6.1 (the stock-kernel lane).

Here, for the 256 MB dirtying workload between two hosts on one
machine, post-copy's downtime was 0.9-1.5 s against 2.3-7.1 s for
stop-and-copy (build.ps1 -Task Bench prints both, in the same run).
What remains is CRIU's dump and restore of the non-memory state (about
0.3 s each here), the filesystem and the session's round trip.

-Live (or -Mode PreCopy) moves a running container by pre-copy: its
memory is copied in rounds while it runs, so the final freeze has only
what changed since the last round to dump and send:

1. Round 1 is a CRIU pre-dump (runc checkpoint --pre-dump) of all of
   the container's memory; the container runs on, and the kernel's
   soft-dirty bits start tracking the pages it writes. The round goes
   to the destination at once, over the data link.
2. Each next round is a pre-dump of the pages written since the round
   before (runc --parent-path, CRIU --track-mem), sent the same way.
   The rounds end after -Iterations rounds (default 3), or as soon as
   the dirty set stops shrinking: a round that is not at least a tenth
   smaller than the one before means the container writes memory about
   as fast as it is copied, and more rounds would not shorten the
   downtime.
3. Then the move is stop-and-copy's, with a smaller dump: CRIU's final
   dump holds only the pages written since the last round (its images
   refer to the rounds for the rest), the filesystem and that dump go
   over, and the destination restores from the final dump and the
   rounds together. MoveDowntimeMs counts from this final dump.

Until the final dump the container runs here, untouched. If anything
fails before it (a pre-dump, the destination, the link), the move ends
with the container running here as it was, the rounds' images removed
here and the destination's part dropped (at once, or at the
destination's next command when its session died). If Move-Container is
killed during the rounds, the next ContainerPS command here repairs it
the same way (the container was never stopped). From the final dump
on, stop-and-copy's failure handling and repairs apply unchanged (a
source killed after the final dump runs the container here again from
that dump and its rounds).

-PassThru adds MoveRounds (the rounds made) and MoveRoundBytes (the
bytes of memory each round held: the first is all of it, the next ones
what was written meanwhile) to the Move* properties.

Pre-copy needs the kernel to track dirty memory (CONFIG_MEM_SOFT_DIRTY;
Test-ContainerCheckpoint: MemoryTracking). Debian's stock kernels have
it; on a kernel built without it (`criu check --feature
mem_dirty_track` says "Dirty tracking is OFF") -Live fails at once with
PreCopyNotSupported and nothing changes: move without -Live
(stop-and-copy) or with -Mode PostCopy. A container on a ceph OSD pool
the destination shares is refused too (PreCopyNotSupported): its
images change hands only once its processes are stopped; move it with
-Mode StopAndCopy, whose downtime there is the checkpoint alone.
Pre-copy is tested on Debian 12's kernel 6.1 (the stock-kernel lane).

Both hosts need root, CRIU 4 (for a running container) and the same
kernel features; their bridges must reach each other for the moved
container to stay reachable at its addresses.

Error IDs: ContainerNotFound, ContainerBusy, PreCopyNotSupported (-Live
on a kernel without memory dirty tracking, or on a shared ceph pool),
InvalidIterations (-Iterations not 1 to 64),
PostCopyNotSupported (-Mode PostCopy without lazy pages here, or with
-DataThroughSession),
CriuMissing, VolumesNotMoved (a mounted storage volume is also mounted
into another container, or has snapshots), CarryNotSupported (the
container has snapshots, volumes or a saved state, and the destination
runs an older ContainerPS that would drop them); from the
destination: ContainerExists, NetworkNotFound, IdmapMismatch,
VolumeExists (a carried volume's name is taken there),
MigrationFormatNotSupported (the stream format changed on the destination
between the two calls);
MoveRefused (the destination could not be asked, e.g. ContainerPS is
not installed there), MoveFailed (a step after the checkpoint failed;
the container was put back on the source), MoveUnconfirmed (the destination did not
answer the commit: the container stays Stopped on the source, see above), MigrationDataFailed (the
data link broke or carried a frame that does not open), CheckpointFailed.
'@

    Parameters  = @{
        Name        = @'
The container to move (exact, no wildcards). Containers from
Get-Container bind by their Name.
'@
        Destination = @'
An open PSSession to the destination host, as root (New-PSSession
-HostName HOST -UserName root for PowerShell remoting over SSH). The
session's pwsh uses its own ContainerPS state root (CONTAINERPS_ROOT
there, else /var/lib/containerps). ContainerPS is imported in it if it
is not already.
'@
        Mode        = @'
How a running container moves: StopAndCopy (the default: dumped whole,
copied, restored), PostCopy (dumped without its memory, restored at
once, memory fetched from the source as it is touched; see above), or
PreCopy (the same as -Live). A stopped container moves cold whatever
the mode.
'@
        Live        = @'
Pre-copy live migration (-Mode PreCopy): the memory is copied in rounds
while the container runs, then a final dump holds only what changed
since the last round (see above). Needs the kernel's memory dirty
tracking (Test-ContainerCheckpoint: MemoryTracking); PreCopyNotSupported
without it, and nothing changes.
'@
        Iterations  = @'
The most pre-copy rounds with -Live (1 to 64, default 3); fewer are
made when a round is not at least a tenth smaller than the one before.
Another value fails with InvalidIterations before anything changes.
Unused without -Live.
'@
        DataThroughSession = @'
Send the filesystem and checkpoint through the remoting session instead
of a direct TCP connection to the destination: for destinations whose
ports cannot be reached from here. Slower (about 30 MB/s here).
'@
        PassThru    = @'
Write the container as the destination reports it
(Deserialized.ContainerPS.Container) with note properties
MoveDowntimeMs, MoveTotalMs, MoveBytesSent (compressed bytes on the
data link; post-copy's pages travel on their own link), MoveMode,
MoveRounds (pre-copy's rounds; 0 otherwise) and MoveRoundBytes (the
bytes of memory each pre-copy round held).
'@
    }

    Inputs      = @(
        @{
            Type        = 'ContainerPS.Container'
            Description = 'Containers from Get-Container, bound by their Name property.'
        }
    )

    Outputs     = @{
        'System.Management.Automation.PSObject' = @'
With -PassThru, the moved container as a
Deserialized.ContainerPS.Container (the destination's view: State,
Pid, Pool, Network...), with MoveDowntimeMs (how long it ran nowhere),
MoveTotalMs, MoveBytesSent, MoveMode, MoveRounds and MoveRoundBytes.
Otherwise nothing.
'@
    }

    Examples    = @(
        @{
            Title   = 'Move a running container to another host'
            Code    = @'
$s = New-PSSession -HostName host2 -UserName root
Move-Container web -Destination $s -PassThru
Invoke-Command $s { Get-Container web }
'@
            Remarks = @'
Like `lxc move web host2:`. web runs on host2 with the same processes
and addresses, and is gone from this host. The returned object has
MoveDowntimeMs and MoveTotalMs.
'@
        }
        @{
            Title   = 'Move a busy container with a short downtime (post-copy)'
            Code    = @'
$m = Move-Container db -Destination $s -Mode PostCopy -PassThru
$m | Select-Object Name, State, MoveDowntimeMs, MoveTotalMs
'@
            Remarks = @'
db runs on the destination after the non-memory part of its state has
moved; its memory follows while it runs. MoveTotalMs includes that tail.
'@
        }
        @{
            Title   = 'Move between hosts that share a Ceph OSD pool (nothing copied)'
            Code    = @'
# this host: New-StoragePool rbd -Driver ceph -Config @{ 'ceph.osd.pool_name' = 'containers' }
Invoke-Command $s {
    New-StoragePool rbd -Driver ceph -Source containers -Config @{ 'ceph.osd.shared' = 'true' }
}
Move-Container web -Destination $s -PassThru | Select-Object Name, Pool, MoveBytesSent, MoveDowntimeMs
'@
            Remarks = @'
Both pools use OSD pool "containers" of the same cluster, so web's RBD
image, its snapshots and its volumes there are handed over, not copied:
MoveBytesSent is the checkpoint alone (0 for a stopped container), and
web is in the destination's pool rbd.
'@
        }
        @{
            Title   = 'Prepare the destination, then move'
            Code    = @'
Invoke-Command $s {
    New-ContainerNetwork lan -Config @{ cniVersion = '1.0.0'; plugins = @(@{
        type = 'bridge'; bridge = 'br-lan'; ipMasq = $false
        ipam = @{ type = 'host-local'; subnet = '10.40.0.0/24' } }) }
}
Invoke-Command $s { Test-ContainerCheckpoint -Quiet }
Move-Container web $s
'@
            Remarks = @'
The destination needs the container's networks under the same names
(NetworkNotFound otherwise) and a working CRIU.
'@
        }
        @{
            Title   = 'Empty a host before maintenance'
            Code    = @'
Get-Container | Where-Object State -eq Running | Move-Container -Destination $s -PassThru |
    Select-Object Name, State, MoveDowntimeMs
'@
            Remarks = @'
Each container is moved in turn; one that fails to move stays here
(running) and the others go on.
'@
        }
        @{
            Title   = 'Run commands in the moved container'
            Code    = @'
Invoke-Command $s { Invoke-ContainerExec web -Command cat, /tmp/count }
'@
            Remarks = @'
Inside Invoke-Command, give the command with -Command: PowerShell
remoting rejects the `--` separator of `Invoke-ContainerExec web -- cat`
("the parameter name '' is ambiguous").
'@
        }
        @{
            Title   = 'Move a running container by pre-copy (-Live)'
            Code    = @'
$m = Move-Container web -Destination $s -Live -Iterations 5 -PassThru
$m | Select-Object Name, State, MoveDowntimeMs, MoveTotalMs, MoveRounds
$m.MoveRoundBytes | ForEach-Object { '{0:N1} MiB' -f ($_ / 1MB) }
'@
            Remarks = @'
web's memory goes over in up to 5 rounds while it runs (fewer when the
memory it writes between rounds stops shrinking); the final freeze
dumps and sends only what changed since the last one. On a kernel
without memory dirty tracking this fails with PreCopyNotSupported and
changes nothing: move without -Live there.
'@
        }
    )

    Notes       = @'
The destination side is reached only through the session: one call per
step ([ContainerPS.Commands.MoveTarget]), with what arrives
kept in ROOT/incoming/TOKEN there. If the session dies during a move,
the source container is restored from its checkpoint, and an incoming
container the destination had not finished (state Creating) is rolled
back by the next ContainerPS command there.

If Move-Container itself is killed, the next command on the source
repairs: before the destination confirmed the container, it runs here
again from the move's checkpoint (the destination drops its part at its
next command); after, the move is finished (the copy here is removed).
A destination killed after its restore and before it answered drops its
copy at its next command; until then both hosts run the container, with
the same addresses: run any ContainerPS command there (Get-Container) to
end it.
'@

    Links       = @(
        'Checkpoint-Container'
        'Restore-Container'
        'Test-ContainerCheckpoint'
        'New-PSSession'
        'about_ContainerPS'
    )
}
