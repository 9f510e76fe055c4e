#Requires -Version 7.4
# Checkpoint and restore with the real CRIU (4.x) through runc, on unprivileged busybox containers.
# The workloads are small shell programs started with Invoke-ContainerExec and checked after the
# restore the way CRIU's ZDTM tests check theirs: a counter whose value and memory continue (env00),
# a pipe with unread data (pipe00), a listening TCP socket (socket_listen), an established TCP
# connection (socket-tcp), a process forking while it is dumped (transition/fork), a zombie
# (zombie00), an attached exec session, unix sockets and a pty with queued data and running timers
# (sockets00, pty00, timers). Plus stateful stop/start, restore after kill -9, and bad input that
# changes nothing. Run in a private mount namespace, as build.ps1 does.

BeforeAll {
    Import-Module (Join-Path $PSScriptRoot 'TestHelpers.psm1') -Force
    Import-Module (Get-ModulePath) -Force

    function Invoke-In([string] $Container, [string[]] $Command) {
        $out = Invoke-ContainerExec -Name $Container -Command $Command
        if ($LASTEXITCODE -ne 0) { throw "'$($Command -join ' ')' in $Container exited with $LASTEXITCODE" }
        $out
    }

    <# pid -> "PPID STAT ARGS" of the processes in a container, from busybox ps. #>
    function Get-ContainerProcess([string] $Container) {
        $map = @{}
        foreach ($line in Invoke-In $Container @('ps', '-o', 'pid,ppid,stat,args') | Select-Object -Skip 1) {
            if ($line -match '^\s*(\d+)\s+(\d+)\s+(\S+)\s+(.*)$') { $map[[int]$Matches[1]] = "$($Matches[2]) $($Matches[3]) $($Matches[4])" }
        }
        $map
    }

    <# The long-lived processes of the workloads (not their short-lived children) and the zombie of zombie00. #>
    function Get-WorkloadProcess([string] $Container) {
        $all = Get-ContainerProcess $Container
        $keep = @{}
        foreach ($p in $all.Keys) {
            $v = $all[$p]
            $parent = $all[[int]($v -split ' ')[0]]
            # A subshell the forker forks for a moment has the forker's command line: not a workload.
            if ($parent -and ($parent -split ' ', 3)[2] -eq ($v -split ' ', 3)[2]) { continue }
            # The command must start the args: busybox ps shows a process whose comm differs from its
            # argv[0] as '{comm} argv...', as the exec loop's child between fork and exec ('{date} sh -c while...').
            if ($v -match '^\d+ \S+ (init|sh /root/\S+|nc .*|sleep 100000|sh -c while :; do date.*)$' -or ($v -match '^\d+ Z' -and $parent -match 'sleep 100000$')) { $keep[$p] = $v }
        }
        $keep
    }

    function Read-In([string] $Container, [string] $File) { Read-ContainerFile -Container $Container -File $File }

    <# A file of a container's filesystem read from the host (for a container that is not running). #>
    function Read-In-Volume([string] $Container, [string] $File = 'tmp/count') {
        (Get-Content -Raw -LiteralPath (Join-Path (Get-StorageVolume -Pool default -Type container -Name $Container).Path $File)).Trim()
    }

    function Get-CheckpointDirs { @(Get-ChildItem -Path (Join-Path $env:CONTAINERPS_ROOT 'checkpoints/*/*') -Directory -ErrorAction SilentlyContinue | ForEach-Object Name) }
}

Describe 'CRIU checkpoint and restore' {
    BeforeEach { $script:t = New-ContainerTestRoot }
    AfterEach {
        Get-Job | Remove-Job -Force
        Remove-TestContainers
        Remove-TestNetworks
        Remove-TestRoot
    }

    It 'Test-ContainerCheckpoint reports CRIU 4 or later, criu check, and whether pre-copy is possible here' {
        $r = Test-ContainerCheckpoint
        $r | Should -BeOfType ([ContainerPS.CheckpointSupport])
        $r.Supported | Should -BeTrue
        [version]$r.Version | Should -BeGreaterOrEqual ([version]'4.0')
        $r.Check | Should -Be 'Looks good.'
        $r.CriuPath | Should -Be $(if (Test-Path /usr/local/lib/containerps/criu/sbin/criu) { '/usr/local/lib/containerps/criu/sbin/criu' } else { (Get-Command criu).Source })
        $tracking = -not ((& $r.CriuPath check --feature mem_dirty_track 2>&1) -join ' ' -match 'OFF')
        $r.MemoryTracking | Should -Be $tracking
        Test-ContainerCheckpoint -Quiet | Should -BeTrue
    }

    It 'a stateful snapshot brings back the same processes, memory, pipes, sockets, zombie and address' {
        $null = New-TestBridgeNetwork -Name lan -Subnet 10.204.1.0/24
        $c = New-Container -Name w -Image busybox -Network lan -Start
        $null = New-Container -Name peer -Image busybox -Network lan -Start
        $ip = $c.Network[0].Addresses[0] -replace '/24$'

        # env00/counter: a value only this process's memory knows (its pid and a random word), and a counter.
        Start-ContainerWorkload w counter 'S="$$-$RANDOM$RANDOM"; i=0; while :; do i=$((i+1)); echo "$i $S" > /tmp/count.new; mv /tmp/count.new /tmp/count; sleep 0.05; done'
        # pipe00: data written into a pipe whose reader does not read before the restore.
        Start-ContainerWorkload w pipe 'echo unread-pipe-data | (while [ ! -e /tmp/go-pipe ]; do sleep 0.1; done; cat > /tmp/piped)'
        # socket_listen: a TCP server on every address.
        Start-ContainerWorkload w server 'while :; do echo pong | nc -l -p 7777; done'
        # an established TCP connection between two processes of the container.
        Start-ContainerWorkload w tcp-server 'sleep 100000 | nc -l -p 7778 > /tmp/received'
        Start-Sleep -Milliseconds 300
        Start-ContainerWorkload w tcp-client '(echo before; while [ ! -e /tmp/go-tcp ]; do sleep 0.1; done; echo after; sleep 100000) | nc 127.0.0.1 7778'
        # transition/fork: forks all the time, also while it is dumped.
        Start-ContainerWorkload w forker 'n=0; while :; do (true); n=$((n+1)); echo $n > /tmp/forks; done'
        # zombie00: a child its parent never reaps.
        Start-ContainerWorkload w zombie 'sleep 0.2 & exec sleep 100000'
        # an attached exec session: ended at the checkpoint, its command goes on.
        $job = Invoke-ContainerExec -Name w -AsJob -Command sh, -c, 'while :; do date +%s > /tmp/exec-alive; sleep 0.1; done'
        Wait-Until { (Read-In w /tmp/received) -eq 'before' -and @((Get-WorkloadProcess w).Values -match '^\d+ Z').Count -eq 1 } -TimeoutSeconds 10 -Because 'the workloads to start'
        (Invoke-In peer @('sh', '-c', "echo ping | nc -w 5 $ip 7777")) | Should -Be 'pong'

        $before = Get-WorkloadProcess w
        $before.Count | Should -BeGreaterOrEqual 12
        $count = [int]((Read-In w /tmp/count) -split ' ')[0]
        $secret = ((Read-In w /tmp/count) -split ' ')[1]
        $snap = Checkpoint-Container -Name w -SnapshotName s1 -WarningVariable warned -WarningAction SilentlyContinue
        $snap | Should -BeOfType ([ContainerPS.ContainerSnapshot])
        $snap.Stateful | Should -BeTrue
        "$warned" | Should -Match 'ended 1 attached Invoke-ContainerExec session'
        $stopped = Get-Container w
        $stopped.State | Should -Be 'Stopped'
        $stopped.StatusReason | Should -Match 'checkpointed'
        $dumped = [int]((Read-In-Volume w) -split ' ')[0]
        (Get-ContainerSnapshot -Container w -Name s1).Stateful | Should -BeTrue

        $r = Restore-Container -Name w -Snapshot s1 -PassThru
        $r.State | Should -Be 'Running'
        $r.Network[0].Addresses[0] | Should -Be "$ip/24"
        $r.Network[0].MacAddress | Should -Be $c.Network[0].MacAddress

        # The same processes under the same pids (the exec helper that ran ps differs, of course).
        $after = Get-WorkloadProcess w
        foreach ($p in $before.Keys) {
            # (args: the exec'd command's parent was its session's helper and is the init now; a state letter changes)
            ($after[$p] -split ' ', 3)[2] | Should -Be ($before[$p] -split ' ', 3)[2] -Because "pid $p ($($before[$p])) is restored"
        }
        # Memory: the counter goes on from where it was dumped, with the word only its memory had.
        Wait-Until { [int]((Read-In w /tmp/count) -split ' ')[0] -gt $dumped } -Because 'the counter to go on'
        ((Read-In w /tmp/count) -split ' ')[1] | Should -Be $secret
        $dumped | Should -BeGreaterOrEqual $count
        # The pipe still holds its data.
        Invoke-In w @('touch', '/tmp/go-pipe') | Out-Null
        Wait-Until { (Read-In w /tmp/piped) -eq 'unread-pipe-data' } -Because 'the reader to get the data written before the checkpoint'
        # The listening socket answers, on the same address, from the other container.
        (Invoke-In peer @('sh', '-c', "echo ping | nc -w 5 $ip 7777")) | Should -Be 'pong'
        # The established connection carries on.
        Invoke-In w @('touch', '/tmp/go-tcp') | Out-Null
        Wait-Until { (Read-In w /tmp/received) -eq "before`nafter" } -Because 'the connection made before the checkpoint to deliver after it'
        # The forker forks on; the zombie is still a zombie.
        $forks = [int](Read-In w /tmp/forks)
        Wait-Until { [int](Read-In w /tmp/forks) -gt $forks } -Because 'the forking loop to go on'
        @((Get-WorkloadProcess w).Values -match '^\d+ Z') | Should -HaveCount 1
        # The exec'd command outlived its session.
        $alive = [long](Read-In w /tmp/exec-alive)
        Wait-Until { [long](Read-In w /tmp/exec-alive) -gt $alive } -TimeoutSeconds 5 -Because "the exec'd loop to go on"
    }

    It 'unix stream and datagram sockets and a pty keep their unread data, and timers keep running, across a restore' {
        $bin = Join-Path $script:t.Ext 'queues'
        & gcc -static -O2 -o $bin (Join-Path $PSScriptRoot 'workloads/queues.c')
        $LASTEXITCODE | Should -Be 0
        $null = New-Container -Name q -Image busybox -Start
        Copy-Item $bin (Join-Path (Get-StorageVolume -Pool default -Type container -Name q).Path 'root/queues')
        Invoke-ContainerExec -Name q -Command sh, -c, '/root/queues /tmp/queues /tmp/go-check </dev/null >/dev/null 2>&1 &' | Out-Null
        Wait-Until { (Read-In q /tmp/queues) -match '^waiting \d+' } -Because 'the workload to set up its sockets, pty and timers'

        $null = Checkpoint-Container -Name q -SnapshotName s
        Restore-Container -Name q -Snapshot s
        Invoke-In q @('touch', '/tmp/go-check') | Out-Null
        Wait-Until { (Read-In q /tmp/queues) -match '^(ok|bad)' } -Because 'the workload to check what it queued'
        Read-In q /tmp/queues | Should -Match '^ok unix=unix-queued dgram=dgram-queued pty=pty-queued timerfd=[1-9]\d* alarms=[1-9]\d*$'
    }

    It 'Stop-Container -Stateful saves the running state, Start-Container restores it once, -Stateless discards it' {
        $null = New-Container -Name st -Image busybox -Start
        Start-ContainerWorkload st counter 'S="$$-$RANDOM"; i=0; while :; do i=$((i+1)); echo "$i $S" > /tmp/count.new; mv /tmp/count.new /tmp/count; sleep 0.05; done'
        Wait-Until { (Read-In st /tmp/count) -match '^\d+ ' } -Because 'the counter'
        $secret = ((Read-In st /tmp/count) -split ' ')[1]

        Wait-Until { (Get-ContainerLog -Name st) -contains 'booted' } -Because 'the boot to be logged' | Out-Null
        Stop-Container -Name st -Stateful
        $c = Get-Container st
        $c.State | Should -Be 'Stopped'
        $c.Stateful | Should -BeTrue
        Get-ContainerSnapshot -Container st | Should -BeNullOrEmpty   # a stop state is not a snapshot

        Start-Container -Name st
        (Get-Container st).Stateful | Should -BeFalse
        Get-ContainerLog -Name st | Should -Contain 'booted' -Because 'the restored processes go on with the console log they had (a loop waiting for booted ends)'
        ((Read-In st /tmp/count) -split ' ')[1] | Should -Be $secret
        # The restored init's stdout is the monitor's again: what it prints at shutdown lands in the console log.
        Stop-Container -Name st
        (Get-ContainerLog -Name st) -join "`n" | Should -Match 'The system is going down'
        Start-Container -Name st

        Stop-Container -Name st -Stateful
        Start-Container -Name st -Stateless
        (Get-Container st).Stateful | Should -BeFalse
        Start-Sleep -Milliseconds 200
        (Invoke-ContainerExec -Name st -Command sh, -c, 'ps -o args | grep -c "[c]ounter.sh"') | Should -Be '0'
        Get-CheckpointDirs | Should -HaveCount 0

        # A saved state whose dump did not finish (CRIU's dump.log has no success line: the command
        # was killed mid-dump) is never restored from: discarded with a warning, and the container boots.
        Stop-Container -Name st -Stateful
        $log = @(Get-ChildItem (Join-Path $script:t.Root 'checkpoints/*/stop/dump.log'))[0].FullName
        Set-Content $log ((Get-Content $log) -notmatch 'Dumping finished successfully')
        Start-Container -Name st -WarningVariable w -WarningAction SilentlyContinue
        "$w" | Should -BeLike '*incomplete*discarded*boots normally*'
        (Get-Container st).State | Should -Be 'Running'
        (Get-Container st).Stateful | Should -BeFalse
        Get-CheckpointDirs | Should -HaveCount 0
    }

    It 'a checkpoint taken with -LeaveRunning restores the container after kill -9 of its whole process tree' {
        $c = New-Container -Name crash -Image busybox -Start
        # While /tmp/hold exists the counter holds no file open: a checkpoint that caught it writing
        # /tmp/count.new would need that file at the restore, and the loop renames it away (CRIU:
        # "Can't open file tmp/count.new on restore"; seen once in the slow lane).
        Start-ContainerWorkload crash counter 'i=0; while :; do if [ -e /tmp/hold ]; then [ -e /tmp/held ] || : > /tmp/held; sleep 0.05; continue; fi; i=$((i+1)); echo $i > /tmp/count.new; mv /tmp/count.new /tmp/count; sleep 0.05; done'
        Wait-Until { [int](Read-In crash /tmp/count) -gt 5 } -Because 'the counter'
        Invoke-In crash @('touch', '/tmp/hold') | Out-Null
        Wait-Until { (Invoke-In crash @('sh', '-c', 'test -e /tmp/held && echo yes || true')) -eq 'yes' } -Because 'the counter to hold'
        Start-Sleep -Milliseconds 300
        $dir = Join-Path $script:t.Ext 'ckpt'
        Checkpoint-Container -Name crash -Path $dir -LeaveRunning | Should -BeNullOrEmpty
        (Get-Container crash).State | Should -Be 'Running'
        Test-Path (Join-Path $dir 'inventory.img') | Should -BeTrue
        $atCheckpoint = [int](Read-In-Volume crash)
        Invoke-In crash @('rm', '/tmp/hold') | Out-Null
        Wait-Until { [int](Read-In crash /tmp/count) -gt $atCheckpoint + 20 } -Because 'the counter to move past the checkpoint'

        # The crash: the monitor and every process of the container killed.
        & kill -KILL (Get-MonitorPid crash) $c.Pid
        Wait-Until { (Get-Container crash).State -eq 'Error' -or (Get-Container crash).State -eq 'Stopped' } -Because 'the container to be down'
        $atCrash = [int](Read-In-Volume crash)

        Restore-Container -Name crash -Path $dir
        (Get-Container crash).State | Should -Be 'Running'
        # Memory came back from the checkpoint: the counter restarts from its value then, not from the file.
        Wait-Until { $v = [int](Read-In crash /tmp/count); $v -gt $atCheckpoint -and $v -lt $atCrash } -Because 'the counter to go on from the checkpointed value'
    }

    It 'bad input gives clear errors and changes nothing' {
        $null = New-Container -Name idle -Image busybox
        $null = New-Container -Name run -Image busybox -Start
        $null = New-ContainerSnapshot -Container run -Name plain
        $full = Join-Path $script:t.Ext 'full'
        $null = New-Item -ItemType Directory -Path $full
        Set-Content (Join-Path $full 'x') 'x'
        $notCheckpoint = Join-Path $script:t.Ext 'empty'
        $null = New-Item -ItemType Directory -Path $notCheckpoint
        $before = Get-ContainerStateSnapshot -IgnoreLocks

        (Get-CommandError { Checkpoint-Container -Name idle }).FullyQualifiedErrorId | Should -BeLike 'ContainerNotRunning,*'
        (Get-CommandError { Checkpoint-Container -Name nope }).FullyQualifiedErrorId | Should -BeLike 'ContainerNotFound,*'
        $e = Get-CommandError { Checkpoint-Container -Name run -Path $full }
        $e.FullyQualifiedErrorId | Should -BeLike 'CheckpointPathNotEmpty,*'
        (Get-CommandError { Checkpoint-Container -Name run -Path (Join-Path $script:t.Ext 'no/such/dir') }).FullyQualifiedErrorId | Should -BeLike 'CheckpointPathNotFound,*'
        (Get-CommandError { Checkpoint-Container -Name run -SnapshotName 'bad/name' }).FullyQualifiedErrorId | Should -BeLike 'InvalidName,*'
        (Get-CommandError { Checkpoint-Container -Name run -SnapshotName plain }).FullyQualifiedErrorId | Should -BeLike 'SnapshotExists,*'
        (Get-CommandError { Restore-Container -Name run -Snapshot plain }).FullyQualifiedErrorId | Should -BeLike 'ContainerRunning,*'
        (Get-CommandError { Restore-Container -Name idle -Path $notCheckpoint }).FullyQualifiedErrorId | Should -BeLike 'CheckpointNotFound,*'
        $e = Get-CommandError { Restore-Container -Name idle -Snapshot nope }
        $e.FullyQualifiedErrorId | Should -BeLike 'SnapshotNotFound,*'
        (Get-CommandError { Stop-Container -Name idle -Stateful }).FullyQualifiedErrorId | Should -BeLike 'ContainerNotRunning,*'

        Get-ContainerStateSnapshot -IgnoreLocks | Should -Be $before
        (Get-Container run).State | Should -Be 'Running'
        Get-ChildItem $full -Name | Should -Be 'x'

        # A checkpoint of another container is not restored onto this one's filesystem.
        $other = Join-Path $script:t.Ext 'other'
        Checkpoint-Container -Name run -Path $other -LeaveRunning
        $null = New-Container -Name twin -Image busybox
        $e = Get-CommandError { Restore-Container -Name twin -Path $other }
        $e.FullyQualifiedErrorId | Should -BeLike 'CheckpointOfAnotherContainer,*'
        (Get-Container twin).State | Should -Be 'Stopped'

        # A checkpoint directory whose dump did not finish (a Checkpoint-Container -Path that was
        # killed) is refused, never half restored.
        $log = Join-Path $other 'dump.log'
        Set-Content $log ((Get-Content $log) -notmatch 'Dumping finished successfully')
        $e = Get-CommandError { Restore-Container -Name twin -Path $other }
        $e.FullyQualifiedErrorId | Should -BeLike 'InvalidCheckpoint,*'
        "$e" | Should -BeLike '*did not finish*'

        # A snapshot of the filesystem only cannot bring processes back.
        Stop-Container -Name run -Force
        $e = Get-CommandError { Restore-Container -Name run -Snapshot plain }
        $e.FullyQualifiedErrorId | Should -BeLike 'SnapshotNotStateful,*'
        $e.Exception.Message | Should -Match 'Restore-ContainerSnapshot'

        # Restore-ContainerSnapshot replaces the filesystem, so a state saved with -Stateful is dropped.
        Start-Container -Name run
        Stop-Container -Name run -Stateful
        (Get-Container run).Stateful | Should -BeTrue
        Restore-ContainerSnapshot -Container run -Name plain -Confirm:$false
        (Get-Container run).Stateful | Should -BeFalse
    }

    It 'removing a stateful snapshot or the container removes the saved state' {
        $null = New-Container -Name rm -Image busybox -Start
        $null = Checkpoint-Container -Name rm -LeaveRunning
        $null = Checkpoint-Container -Name rm -SnapshotName s2 -LeaveRunning
        @(Get-ContainerSnapshot -Container rm).Name | Should -Be @('snap0', 's2')
        Get-CheckpointDirs | Should -Be @('snapshot-s2', 'snapshot-snap0')
        Remove-ContainerSnapshot -Container rm -Name snap0
        Get-CheckpointDirs | Should -Be 'snapshot-s2'
        Remove-Container -Name rm -Force
        Get-ChildItem (Join-Path $env:CONTAINERPS_ROOT 'checkpoints') -ErrorAction SilentlyContinue | Should -BeNullOrEmpty
    }
}
