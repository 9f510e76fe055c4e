#Requires -Version 7.4
# Crash repair of container snapshots and checkpoints: a child pwsh is SIGKILLed at a fault point
# of New-ContainerSnapshot or Checkpoint-Container -SnapshotName, and the next command (in this
# process) repairs: the snapshot is gone without a trace (volume, saved state, row), a new one of
# the same name works, and the container runs as it did (thawed, or restored from the finished dump).
# Run it in a private mount namespace (unshare --mount --propagation private), as build.ps1 does.

BeforeAll {
    Import-Module (Join-Path $PSScriptRoot 'TestHelpers.psm1') -Force
    Import-Module (Get-ModulePath) -Force
}

Describe 'Repair of snapshots and checkpoints after a SIGKILL' {
    BeforeEach { $script:t = New-ContainerTestRoot }
    AfterEach { Stop-ChildPwsh; Remove-TestContainers; Remove-TestRoot }

    It '<Point>: <Command>' -ForEach @(
        @{ Point = 'snapshot.create.after-row'; Command = 'New-ContainerSnapshot c s1'; Stateful = $false; Running = 'Running' }
        @{ Point = 'snapshot.create.after-disk'; Command = 'New-ContainerSnapshot c s1'; Stateful = $false; Running = 'Running' }
        @{ Point = 'checkpoint.snapshot.after-pause'; Command = 'Checkpoint-Container c -SnapshotName s1 -LeaveRunning'; Stateful = $true; Running = 'Running' }
        @{ Point = 'checkpoint.snapshot.after-dump'; Command = 'Checkpoint-Container c -SnapshotName s1'; Stateful = $true; Running = 'Running' }
    ) {
        $null = New-Container c -Image busybox -Start
        Start-ContainerWorkload c counter 'i=0; while :; do i=$((i+1)); echo $i > /tmp/count.new; mv /tmp/count.new /tmp/count; sleep 0.05; done'
        Wait-Until { [int](Read-ContainerFile c /tmp/count) -gt 2 } -Because 'the counter to run' | Out-Null
        $signal = Join-Path $t.Base 'fault-signal'
        Invoke-KilledAtFault -Point $Point -Command $Command -SignalFile $signal -WhileAlive {
            $null = Get-Container -WarningVariable alive -WarningAction SilentlyContinue
            $alive | Should -BeNullOrEmpty -Because 'nothing is repaired while the owner lives'
        }

        # The next command repairs, says so, once.
        $null = Get-Container -WarningVariable w -WarningAction SilentlyContinue
        "$w" | Should -BeLike "*Repaired an interrupted operation: rolled back the unfinished*snapshot 's1' of container 'c'*"
        $null = Get-Container -WarningVariable w2 -WarningAction SilentlyContinue
        $w2 | Should -BeNullOrEmpty

        Get-ContainerSnapshot c | Should -BeNullOrEmpty
        Invoke-DbQuery "select count(*) from snapshots" | Should -Be '0'
        Invoke-DbQuery "select count(*) from volumes where state <> 'ready' or name like 'c@%'" | Should -Be '0'
        @(Get-ChildItem (Join-Path $t.Root 'checkpoints/*/snapshot-s1') -ErrorAction SilentlyContinue) | Should -BeNullOrEmpty

        # The container runs on, with the same processes (thawed, or restored from the dump).
        (Get-Container c).State | Should -Be $Running
        (Get-Container c).Pid | Should -Not -BeNullOrEmpty
        $a = [int](Read-ContainerFile c /tmp/count)
        Wait-Until { [int](Read-ContainerFile c /tmp/count) -gt $a } -Because 'the counter to go on' | Out-Null

        # A snapshot of that name works now.
        if ($Stateful) {
            (Checkpoint-Container c -SnapshotName s1 -LeaveRunning).Stateful | Should -BeTrue
        } else {
            (New-ContainerSnapshot c s1).Name | Should -Be 's1'
        }
        (Get-ContainerSnapshot c).Name | Should -Be 's1'
    }
}

Describe 'Repair of a copy of a running container after a SIGKILL' {
    BeforeEach { $script:t = New-ContainerTestRoot }
    AfterEach { Stop-ChildPwsh; Remove-TestContainers; Remove-TestRoot }

    It '<Point>: <Command>' -ForEach @(
        @{ Point = 'container.copy.after-pause'; Command = 'Copy-Container c d'; Stateful = $false; Frozen = $true }
        @{ Point = 'container.copy.after-dump'; Command = 'Copy-Container c d -Stateful'; Stateful = $true; Frozen = $true }
        @{ Point = 'container.copy.before-release'; Command = 'Copy-Container c d -Stateful'; Stateful = $true; Frozen = $false }
    ) {
        $null = New-Container c -Image busybox -Start
        Start-ContainerWorkload c counter 'i=0; while :; do i=$((i+1)); echo $i > /tmp/count.new; mv /tmp/count.new /tmp/count; sleep 0.05; done'
        Wait-Until { [int](Read-ContainerFile c /tmp/count) -gt 2 } -Because 'the counter to run' | Out-Null
        $initPid = (Get-Container c).Pid
        $runc = { (& runc --root (Join-Path $t.Run 'runc') state (Get-RuncId c) | ConvertFrom-Json).status }
        $signal = Join-Path $t.Base 'fault-signal'
        Invoke-KilledAtFault -Point $Point -Command $Command -SignalFile $signal -WhileAlive {
            $null = Get-Container -WarningVariable alive -WarningAction SilentlyContinue
            $alive | Should -BeNullOrEmpty -Because 'nothing is repaired while the owner lives'
            & $runc | Should -Be ($Frozen ? 'paused' : 'running')
            (Get-Container d).State | Should -Be 'Creating'
        }

        # The next command repairs, says so, once: the source thawed, the half-made copy gone.
        $null = Get-Container -WarningVariable w -WarningAction SilentlyContinue
        if ($Frozen) {
            "$w" | Should -BeLike "*Repaired an interrupted operation: rolled back the unfinished copy of container 'c' to 'd'; the container, left frozen, runs again*"
        }
        "$w" | Should -BeLike "*Repaired an interrupted operation: rolled back the unfinished creation of container 'd'*"
        $null = Get-Container -WarningVariable w2 -WarningAction SilentlyContinue
        $w2 | Should -BeNullOrEmpty

        Get-Container d -ErrorAction SilentlyContinue | Should -BeNullOrEmpty
        Invoke-DbQuery "select count(*) from containers where state <> 'ready' or op_pid is not null" | Should -Be '0'
        @(Get-StorageVolume default -Type container).Name | Should -Be 'c'
        $uuid = Invoke-DbQuery "select uuid from containers where name = 'c'"
        @(Get-ChildItem (Join-Path $t.Root 'checkpoints') -ErrorAction SilentlyContinue).Name | Where-Object { $_ -ne $uuid } | Should -BeNullOrEmpty
        @(Get-ChildItem (Join-Path $t.Root "checkpoints/$uuid") -ErrorAction SilentlyContinue) | Should -BeNullOrEmpty

        # The source runs on with the same processes, not frozen.
        & $runc | Should -Be 'running'
        (Get-Container c).Pid | Should -Be $initPid
        $a = [int](Read-ContainerFile c /tmp/count)
        Wait-Until { [int](Read-ContainerFile c /tmp/count) -gt $a } -Because 'the counter to go on' | Out-Null

        # A copy of that name works now.
        $d = if ($Stateful) { Copy-Container c d -Stateful -PassThru } else { Copy-Container c d -PassThru }
        $d.State | Should -Be 'Stopped'
        $d.Stateful | Should -Be $Stateful
    }
}

Describe 'Repair of removals and renames after a SIGKILL' {
    BeforeEach { $script:t = New-ContainerTestRoot }
    AfterEach { Stop-ChildPwsh; Remove-TestContainers; Remove-TestRoot }

    It '<Point>: <Command>' -ForEach @(
        @{ Point = 'snapshot.delete.after-disk'; Command = 'Remove-ContainerSnapshot c s1'; Says = "*finished the unfinished removal of snapshot 's1' of container 'c'*" }
        @{ Point = 'container.rename.after-volume'; Command = 'Rename-Container c d'; Says = "*finished the unfinished rename to 'd' of container 'c'*" }
    ) {
        $null = New-Container c -Image busybox
        $null = New-ContainerSnapshot c s1
        $signal = Join-Path $t.Base 'fault-signal'
        Invoke-KilledAtFault -Point $Point -Command $Command -SignalFile $signal -WhileAlive {
            $null = Get-Container -WarningVariable alive -WarningAction SilentlyContinue
            $alive | Should -BeNullOrEmpty
        }
        $null = Get-Container -WarningVariable w -WarningAction SilentlyContinue
        "$w" | Should -BeLike "*Repaired an interrupted operation: $Says"
        Invoke-DbQuery "select count(*) from containers where state <> 'ready'" | Should -Be '0'
        Invoke-DbQuery "select count(*) from snapshots where state <> 'ready'" | Should -Be '0'
        Invoke-DbQuery "select count(*) from volumes where state <> 'ready'" | Should -Be '0'
        if ($Point -like 'snapshot.*') {
            Get-ContainerSnapshot c | Should -BeNullOrEmpty
            @(Get-StorageVolume default -Type snapshot) | Should -BeNullOrEmpty
            (New-ContainerSnapshot c s1).Name | Should -Be 's1'
        } else {
            Get-Container c -ErrorAction SilentlyContinue | Should -BeNullOrEmpty
            (Get-ContainerSnapshot d).Name | Should -Be 's1'
            @(Get-StorageVolume default -Type container).Name | Should -Be 'd'
            @(Get-StorageVolume default -Type snapshot).Name | Should -Be 'd@s1'
            $null = Start-Container d
            Invoke-In d 'hostname' | Should -Be 'd'
            Stop-Container d -Force | Out-Null
            Restore-ContainerSnapshot d s1 -Confirm:$false
        }
    }
}

Describe 'Repair of container and image operations after a SIGKILL' {
    BeforeEach { $script:t = New-ContainerTestRoot; $null = New-Container base -Image busybox }
    AfterEach { Stop-ChildPwsh; Remove-TestContainers; Remove-TestRoot }

    It '<Point>: <Command>' -ForEach @(
        @{ Point = 'container.create.after-disk'; Command = 'New-Container c -Image busybox'; Setup = {}
            Check = { Get-Container c -ErrorAction SilentlyContinue | Should -BeNullOrEmpty; (New-Container c -Image busybox).Name | Should -Be 'c' } }
        @{ Point = 'container.delete.after-disk'; Command = 'Remove-Container c'; Setup = { $null = New-Container c -Image busybox }
            Check = { Get-Container c -ErrorAction SilentlyContinue | Should -BeNullOrEmpty; @(Get-StorageVolume default -Type container).Name | Should -Be 'base' } }
        @{ Point = 'container.start.before-monitor'; Command = 'Start-Container base'; Setup = {}
            Check = { (Get-Container base).State | Should -Be 'Error'; $null = Start-Container base; (Get-Container base).State | Should -Be 'Running' } }
        @{ Point = 'image.create.after-rootfs'; Command = 'New-ContainerImage busybox -Alias bb2'; Setup = { Remove-Container base; Remove-ContainerImage busybox }
            Check = { Get-ContainerImage -ErrorAction SilentlyContinue | Should -BeNullOrEmpty; @(Get-ChildItem (Join-Path $t.Root 'images/tmp')) | Should -BeNullOrEmpty } }
        @{ Point = 'image.create.after-tarball'; Command = "Import-ContainerImage '{EXT}/imp.tar' -Alias imp"
            Setup = {
                & tar -C (Get-StorageVolume default -Type image | Select-Object -First 1).Path -cf (Join-Path $t.Ext 'imp.tar') --numeric-owner .
                Set-Content (Join-Path $t.Ext 'marker') 'another image'
                & tar -C $t.Ext -rf (Join-Path $t.Ext 'imp.tar') marker # not busybox's content: a new fingerprint
            }
            Check = {
                Get-ContainerImage imp -ErrorAction SilentlyContinue | Should -BeNullOrEmpty
                @(Get-ContainerImage).Count | Should -Be 1 -Because 'busybox stays, the import is gone'
                @(Get-ChildItem (Join-Path $t.Root 'images/tmp') -ErrorAction SilentlyContinue) | Should -BeNullOrEmpty
                (Import-ContainerImage (Join-Path $t.Ext 'imp.tar') -Alias imp).Alias | Should -Be 'imp'
            } }
        @{ Point = 'image.delete.after-disk'; Command = 'Remove-ContainerImage busybox'; Setup = { Remove-Container base }
            Check = { Get-ContainerImage -ErrorAction SilentlyContinue | Should -BeNullOrEmpty; @(Get-ChildItem (Join-Path $t.Root 'images') -File) | Should -BeNullOrEmpty } }
    ) {
        & $Setup
        $signal = Join-Path $t.Base 'fault-signal'
        Invoke-KilledAtFault -Point $Point -Command ($Command -replace "\{EXT\}", $t.Ext) -SignalFile $signal
        $null = Get-Container -WarningAction SilentlyContinue   # the next command repairs
        foreach ($table in 'containers', 'snapshots', 'images', 'volumes', 'pools') {
            Invoke-DbQuery "select count(*) from $table where state <> 'ready'" | Should -Be '0' -Because "no $table row stays mid-operation"
        }
        & $Check
    }

    It 'every fault point of the engine is killed at by a test (the crash matrix)' {
        $src = Join-Path (Get-RepoRoot) 'src'
        $points = @(Get-ChildItem $src -Recurse -Filter *.cs | Select-String -Pattern '(?:FaultPoints\.Hit\(|, )"((?:container|image|volume|pool|snapshot|checkpoint|idmap|network|move|ceph)\.[a-z-]+\.[a-z-]+)"' -AllMatches |
                ForEach-Object { $_.Matches } | ForEach-Object { $_.Groups[1].Value } | Sort-Object -Unique)
        $tests = Get-ChildItem $PSScriptRoot -Filter *.Tests.ps1 | Get-Content -Raw
        $untested = @($points | Where-Object { $p = $_; -not ($tests | Where-Object { $_.Contains("'$p'") }) })
        Write-Host "crash matrix: $($points.Count) fault points, $($points.Count - $untested.Count) of them killed at by a test"
        $points.Count | Should -BeGreaterThan 15
        $untested | Should -BeNullOrEmpty -Because 'each fault point needs a test that SIGKILLs a command there and checks the repair'
    }
}

Describe 'Nothing stays behind' {
    BeforeEach { $script:t = New-ContainerTestRoot }
    AfterEach { Stop-ChildPwsh; Remove-TestContainers; Remove-TestBridge; Remove-TestRoot }

    It 'a full create/use/remove cycle leaves no file, lock, process, mount or cgroup of its own' {
        # The host's standing state first: the default pool, the busybox image and the network's
        # host-local directory (last_reserved_ip), made once.
        $null = New-TestBridgeNetwork -Name lan -Subnet 10.205.9.0/24
        $null = New-Container warm -Image busybox -Network lan -Start
        Remove-Container warm -Force
        $cgroups = { @(Get-ChildItem /sys/fs/cgroup/*/containerps, /sys/fs/cgroup/containerps -Directory -ErrorAction SilentlyContinue | ForEach-Object Name | Sort-Object -Unique) }
        $helpers = { @(& pgrep -x 'cps-monitor|cps-exec|cps-hook|cps-mount|runc|criu' | Sort-Object) }
        $tree = Get-TreeSnapshot $t.Root
        $cg = & $cgroups
        $procs = & $helpers
        (Get-ChildItem (Join-Path $t.Root 'locks') -ErrorAction SilentlyContinue) | Should -BeNullOrEmpty

        $null = Add-StorageVolume default data
        $null = New-Container c -Image busybox -Network lan -Start
        Invoke-In c 'echo hi > /root/f' | Out-Null
        $null = Mount-StorageVolume -Pool default -Name data -Container c -Path /data
        Invoke-In c 'echo v > /data/f' | Out-Null
        $null = New-ContainerSnapshot c s1
        $null = Checkpoint-Container c -SnapshotName ck -WarningAction SilentlyContinue
        $null = Restore-Container c -Snapshot ck
        Dismount-StorageVolume -Pool default -Name data -Container c
        Rename-Container c c2 -ErrorAction SilentlyContinue  # refused while running: ContainerRunning
        Stop-Container c -Force | Out-Null
        $null = Rename-Container c c2
        $null = Start-Container c2
        Remove-Container c2 -Force
        Remove-StorageVolume default data
        # A pool (btrfs on a loop file) and a network of their own, used and removed.
        $null = New-StoragePool extra -Driver btrfs -Config @{ size = '1GiB' }
        $null = New-TestBridgeNetwork -Name lan2 -Subnet 10.205.14.0/24
        $null = New-Container e -Image busybox -StoragePool extra -Network lan2 -Start
        Remove-Container e -Force
        Remove-ContainerNetwork lan2
        Remove-StoragePool extra -Force -Confirm:$false
        @(& losetup -j (Join-Path $t.Root 'disks/extra.img') 2>$null) | Should -BeNullOrEmpty

        @(Compare-Object ($tree -split "`n") ((Get-TreeSnapshot $t.Root) -split "`n") | ForEach-Object { "$($_.SideIndicator) $($_.InputObject)" }) | Should -BeNullOrEmpty -Because "the tree is as it was before"
        & $cgroups | Should -Be $cg
        & $helpers | Should -Be $procs
        @(Get-MountsBelow $t.Base) | Should -BeNullOrEmpty
    }
    It 'a sparse file stays sparse through import, a container, a copy and a snapshot (dir and btrfs); a pool it could not fit unpacked is refused up front' {
        $src = Join-Path $t.Ext 'sparse'
        $null = New-Item -ItemType Directory -Force (Join-Path $src 'bin'), (Join-Path $src 'data')
        Copy-Item /bin/busybox (Join-Path $src 'bin/busybox')
        & truncate -s 4G (Join-Path $src 'data/hole')
        & tar -C $src -cf (Join-Path $t.Ext 'sparse.tar') --sparse --numeric-owner .
        (Get-Item (Join-Path $t.Ext 'sparse.tar')).Length | Should -BeLessThan 10MB
        $img = Import-ContainerImage (Join-Path $t.Ext 'sparse.tar') -Alias sparse
        (Get-Item (Join-Path $t.Root "images/$($img.Fingerprint).tar")).Length | Should -BeLessThan 10MB -Because 'the image tarball keeps the hole'
        # Refused up front where it could not fit unpacked in full (a copy that is not sparse-aware would fill the pool).
        $null = New-StoragePool small -Driver btrfs -Config @{ size = '1GiB' }
        $before = Get-ContainerStateSnapshot -IgnoreLocks
        $e = Get-CommandError { New-Container s-small -Image sparse -StoragePool small }
        Get-ErrorId $e | Should -Be 'PoolSpaceInsufficient'
        "$e" | Should -BeLike '*4GiB of files (apparent size*'
        Get-ContainerStateSnapshot -IgnoreLocks | Should -Be $before
        $null = New-StoragePool bt -Driver btrfs -Config @{ size = '8GiB' }
        foreach ($pool in 'default', 'bt') {
            $on = if ($pool -eq 'default') { @{} } else { @{ StoragePool = $pool } } # the default pool is made on first use
            $null = New-Container "s-$pool" -Image sparse @on -ErrorAction Stop
            $null = Copy-Container "s-$pool" "s2-$pool"
            $null = New-ContainerSnapshot "s-$pool" snap
            $vols = @(Get-StorageVolume $pool | Where-Object { $_.Name -in "s-$pool", "s2-$pool", "s-$pool@snap", $img.Fingerprint })
            $vols.Count | Should -Be 4
            foreach ($v in $vols) {
                $file = Join-Path $v.Path 'data/hole'
                (Get-Item $file).Length | Should -Be 4GB
                [long]((& du -B1 $file) -split '\s+')[0] | Should -BeLessThan 1MB -Because "$($v.Type)/$($v.Name) on $pool keeps the hole"
            }
        }
    }
}

Describe 'Repair of checkpoints, restores, hot mounts and network changes after a SIGKILL' {
    BeforeEach {
        $script:t = New-ContainerTestRoot
        $null = New-Container c -Image busybox -Start
        Start-ContainerWorkload c counter 'i=0; while :; do i=$((i+1)); echo $i > /tmp/count.new; mv /tmp/count.new /tmp/count; sleep 0.05; done'
        Wait-Until { [int](Read-ContainerFile c /tmp/count) -gt 2 } -Because 'the counter to run' | Out-Null
        $script:ck = Join-Path $t.Ext 'ck'
    }
    AfterEach { Stop-ChildPwsh; Remove-TestContainers; Remove-TestBridge; Remove-TestRoot }

    It '<Point>: <Command>' -ForEach @(
        @{ Point = 'checkpoint.dump.before-runc'; Command = 'Checkpoint-Container c -Path CK'; Setup = {}
            Says = "*rolled back the unfinished checkpoint of container 'c' to *ck; the container runs on*"
            Check = { Test-Path $ck | Should -BeFalse -Because 'the directory the checkpoint made goes'; Assert-Counting } }
        @{ Point = 'checkpoint.dump.after-runc'; Command = 'Checkpoint-Container c -Path CK'; Setup = {}
            Says = "*finished the unfinished checkpoint of container 'c' to *ck: it is stopped, as the checkpoint leaves it*"
            Check = {
                (Get-Container c).State | Should -Be 'Stopped'
                (Get-Container c).StatusReason | Should -BeLike 'checkpointed*'
                $null = Restore-Container c -Path $ck
                Assert-Counting -From $script:before
            } }
        @{ Point = 'checkpoint.dump.after-runc'; Command = 'Checkpoint-Container c -Path CK'; Setup = {}
            # CRIU killed the processes but its dump did not finish (its log does not end in success):
            # nothing to restore from, nothing running.
            Tamper = { $log = Join-Path $ck 'dump.log'; Set-Content $log (Get-Content $log | Where-Object { $_ -notmatch 'Dumping finished successfully' }) }
            Says = "*rolled back the unfinished checkpoint of container 'c' to *ck: its dump did not finish and took the container's processes with it; the container is Error until Start-Container boots it afresh*"
            Check = {
                Test-Path $ck | Should -BeFalse
                (Get-Container c).State | Should -Be 'Error'
                (Get-Container c).StatusReason | Should -BeLike '*checkpoint was cut short*Start-Container boots it afresh*'
                $null = Start-Container c
                (Get-Container c).State | Should -Be 'Running'
            } }
        @{ Point = 'checkpoint.dump.after-runc'; Command = 'Stop-Container c -Stateful'; Setup = {}
            Says = "*finished the unfinished stateful stop of container 'c': Start-Container restores its saved state*"
            Check = { (Get-Container c).Stateful | Should -BeTrue; $null = Start-Container c; Assert-Counting -From $script:before } }
        @{ Point = 'checkpoint.dump.before-runc'; Command = 'Stop-Container c -Stateful'; Setup = {}
            Says = "*rolled back the unfinished stateful stop of container 'c'; the container runs on*"
            Check = { (Get-Container c).Stateful | Should -BeFalse; Assert-Counting } }
        @{ Point = 'checkpoint.restore.before-launch'; Command = 'Restore-Container c -Path CK'; Setup = { $null = Checkpoint-Container c -Path $ck }
            Says = "*finished the unfinished restore of container 'c' from its checkpoint (it runs)*"
            Check = { Assert-Counting -From $script:before; @(Get-ChildItem (Join-Path $t.Root 'checkpoints/*/restore-*') -ErrorAction SilentlyContinue) | Should -BeNullOrEmpty } }
        @{ Point = 'checkpoint.restore.before-launch'; Command = 'Restore-Container c -Snapshot s1'; Setup = { $null = Checkpoint-Container c -SnapshotName s1 }
            Says = "*finished the unfinished restore of container 'c' from its checkpoint (it runs)*"
            Check = { Assert-Counting -From $script:before } }
        @{ Point = 'volume.mount.after-attach'; Command = 'Mount-StorageVolume -Pool default -Name data -Container c -Path /data'; Setup = { $null = Add-StorageVolume default data }
            Says = "*rolled back the unfinished mount of storage volume 'default/data' into container 'c' at /data*"
            Check = {
                (Get-Container c).Devices | Should -BeNullOrEmpty
                Invoke-In c 'grep -c " /data " /proc/mounts || true' | Should -Be '0'
                (Mount-StorageVolume -Pool default -Name data -Container c -Path /data -PassThru).Path | Should -Be '/data'
                Assert-Counting
            } }
        @{ Point = 'volume.dismount.after-detach'; Command = 'Dismount-StorageVolume -Pool default -Name data -Container c'
            Setup = { $null = Add-StorageVolume default data; $null = Mount-StorageVolume -Pool default -Name data -Container c -Path /data }
            Says = "*finished the unfinished dismount of storage volume 'default/data' from container 'c'*"
            Check = { (Get-Container c).Devices | Should -BeNullOrEmpty; Invoke-In c 'grep -c " /data " /proc/mounts || true' | Should -Be '0'; Assert-Counting } }
        @{ Point = 'network.attach.after-add'; Command = 'Connect-ContainerNetwork -Name c -Network lan'; Setup = { $null = New-TestBridgeNetwork -Name lan -Subnet 10.205.11.0/24 }
            Says = "*rolled back the unfinished connection of container 'c' to network 'lan'*"
            Check = {
                (Get-Container c).Network | Should -BeNullOrEmpty
                Invoke-In c 'ls /sys/class/net' | Should -Be 'lo' -Because 'the interface ADD made is deleted again'
                @(Get-ChildItem (Join-Path $t.Root 'ipam/lan') -Exclude 'last_reserved_ip*', 'lock') | Should -BeNullOrEmpty -Because 'the address is released'
                (Connect-ContainerNetwork -Name c -Network lan -PassThru).Attached | Should -BeTrue
                Assert-Counting
            } }
        @{ Point = 'network.disconnect.after-del'; Command = 'Disconnect-ContainerNetwork -Name c -Network lan'
            Setup = { $null = New-TestBridgeNetwork -Name lan -Subnet 10.205.12.0/24; Connect-ContainerNetwork -Name c -Network lan }
            Says = "*finished the unfinished disconnection of container 'c' from network 'lan'*"
            Check = {
                (Get-Container c).Network | Should -BeNullOrEmpty
                Invoke-In c 'ls /sys/class/net' | Should -Be 'lo'
                @(Get-ChildItem (Join-Path $t.Root 'ipam/lan') -Exclude 'last_reserved_ip*', 'lock') | Should -BeNullOrEmpty
                Assert-Counting
            } }
    ) {
        function Assert-Counting([int] $From = 0) {
            (Get-Container c).State | Should -Be 'Running'
            $a = [int](Read-ContainerFile c /tmp/count)
            $a | Should -BeGreaterOrEqual $From -Because 'the processes are the ones that were checkpointed (the counter goes on from where it was)'
            Wait-Until { [int](Read-ContainerFile c /tmp/count) -gt $a } -Because 'the counter to go on' | Out-Null
        }
        & $Setup
        $script:before = if ((Get-Container c).State -eq 'Running') { [int](Read-ContainerFile c /tmp/count) } else { 1 }
        $signal = Join-Path $t.Base 'fault-signal'
        Invoke-KilledAtFault -Point $Point -Command $Command.Replace('CK', "'$ck'") -SignalFile $signal -WhileAlive {
            $null = Get-Container -WarningVariable alive -WarningAction SilentlyContinue
            $alive | Should -BeNullOrEmpty -Because 'nothing is repaired while the owner lives'
        }
        if ($Tamper) { & $Tamper }
        $null = Get-Container -WarningVariable w -WarningAction SilentlyContinue
        "$w" | Should -BeLike "*Repaired an interrupted operation: $Says"
        $null = Get-Container -WarningVariable w2 -WarningAction SilentlyContinue
        $w2 | Should -BeNullOrEmpty
        Invoke-DbQuery "select count(*) from containers where op_pid is not null or state <> 'ready'" | Should -Be '0'
        & $Check
    }

    It 'container.config.before-write: Set-Container is one transaction (the old config stays whole, nothing to repair)' {
        $null = Set-Container c -Config @{ 'user.a' = '1' }
        $signal = Join-Path $t.Base 'fault-signal'
        Invoke-KilledAtFault -Point 'container.config.before-write' -Command "Set-Container c -Config @{ 'user.a' = '2'; 'user.b' = '3' }" -SignalFile $signal
        $c = Get-Container c -WarningVariable w -WarningAction SilentlyContinue
        $w | Should -BeNullOrEmpty
        $c.Config['user.a'] | Should -Be '1'
        $c.Config.ContainsKey('user.b') | Should -BeFalse
        (Set-Container c -Config @{ 'user.b' = '3' } -PassThru).Config['user.b'] | Should -Be '3'
    }
}

Describe 'A start whose runc or monitor is killed says what happened' {
    BeforeEach { $script:t = New-ContainerTestRoot; $null = New-Container c -Image busybox }
    AfterEach { Stop-ChildPwsh; Remove-TestContainers; Remove-TestRoot }

    It '<Kills> killed during the start' -ForEach @(
        @{ Kills = 'runc'; Target = '$$'; Says = "*Container 'c' failed to start: runc exited with status 137*" }
        @{ Kills = 'cps-monitor'; Target = '$PPID'; Says = "*Container 'c' failed to start: cps-monitor was killed by signal 9 before it reported; the last lines of its log (*monitor.log):*" }
    ) {
        # runc as the monitor runs it, killed (or killing the monitor) at `runc run`; every other runc command is the real one.
        $bin = Join-Path $t.Ext 'fakebin'
        $null = New-Item -ItemType Directory $bin
        Set-Content (Join-Path $bin 'runc') "#!/bin/sh`ncase `" `$* `" in *' run '*) kill -9 $Target;; esac`nexec $((Get-Command runc).Source) `"`$@`"`n"
        & chmod 0755 (Join-Path $bin 'runc')
        $r = Wait-ChildPwsh (Start-ChildPwsh -Script 'Start-Container c' -Environment @{ PATH = "$($bin):$env:PATH" }) -TimeoutSeconds 120
        $r.Stderr | Should -BeLike $Says
        $r.Stderr | Should -Not -Match 'failed to start: (error )?\s*$' -Because 'the reason is never empty'
        (Get-Container c -WarningAction SilentlyContinue).State | Should -BeIn 'Stopped', 'Error'
        $null = Start-Container c -WarningAction SilentlyContinue
        (Get-Container c).State | Should -Be 'Running'
    }
}
