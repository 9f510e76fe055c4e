#Requires -Version 7.4
# Get-ContainerState on real busybox containers: memory a container allocates (tmpfs pages), CPU
# time of a busy loop, tasks it starts, interface counters after two containers on a bridge network
# (ipMasq false, no gateway: traffic stays between the test's namespaces) ping each other, root
# volume usage after a write, nulls for a stopped container, wildcards and the pipeline, objects
# that keep their values and table view after remoting (a job's out-of-process runspace).
# Works on cgroup v1 and v2 (the cgroup is found from the init's /proc/PID/cgroup).
# Run it in a private mount namespace (unshare --mount --propagation private), as build.ps1 does.

BeforeAll {
    Import-Module (Join-Path $PSScriptRoot 'TestHelpers.psm1') -Force
    Import-Module (Get-ModulePath) -Force
}

Describe 'Get-ContainerState' {
    BeforeEach { $script:t = New-ContainerTestRoot }
    AfterEach {
        Remove-TestContainers
        Remove-TestNetworks
        Remove-TestRoot
    }

    It 'a running container: typed object, memory it allocates, its peak, its tasks, the cgroup it is in' {
        $c = New-Container s1 busybox -Start
        $before = Get-ContainerState s1
        $before | Should -BeOfType ([ContainerPS.ContainerState])
        $before.pstypenames[0] | Should -Be 'ContainerPS.ContainerState'
        $before.Name | Should -Be 's1'
        $before.State | Should -Be 'Running'
        $before.Pid | Should -Be $c.Pid
        $before.Timestamp.Kind | Should -Be 'Utc'
        $before.Processes | Should -Be 1 -Because 'only the init runs'
        $before.MemoryUsage | Should -BeGreaterThan 0
        $before.MemoryUsage | Should -BeLessThan 40MB
        $before.CpuTime | Should -BeOfType ([timespan])
        # the figure is the cgroup's own, as the kernel keeps it for the init's cgroup
        $memoryFile = if (Test-CgroupV2) { 'memory.current' } else { 'memory.usage_in_bytes' }
        # (read around a fresh reading: a new container's usage shrinks as the kernel reclaims its start-up pages)
        $raw1 = [long](Get-ProcessCgroupValue $c.Pid memory $memoryFile)
        $now = (Get-ContainerState s1).MemoryUsage
        $raw2 = [long](Get-ProcessCgroupValue $c.Pid memory $memoryFile)
        $now | Should -BeGreaterThan ([Math]::Min($raw1, $raw2) / 2)
        $now | Should -BeLessThan ([Math]::Max($raw1, $raw2) * 2)

        Invoke-In s1 'dd if=/dev/zero of=/dev/shm/x bs=1M count=50 2>/dev/null'
        Invoke-In s1 'sleep 300 & sleep 300 & sleep 300 & exit 0'
        $null = Wait-Until { (Get-ContainerState s1).Processes -eq 4 } -Because 'the init and three sleeps'
        $after = Get-ContainerState s1
        $after.MemoryUsage | Should -BeGreaterOrEqual 50MB -Because '50 MiB of tmpfs pages are charged to the container'
        if ($null -ne $after.MemoryPeak) { $after.MemoryPeak | Should -BeGreaterOrEqual $after.MemoryUsage }
        if (-not (Test-CgroupV2)) { $after.MemoryPeak | Should -Not -BeNullOrEmpty -Because 'cgroup v1 always has memory.max_usage_in_bytes' }
        $after.Timestamp | Should -BeGreaterThan $before.Timestamp
    }

    It 'CpuTime grows while the container runs a busy loop' {
        $null = New-Container busy busybox -Start
        $start = (Get-ContainerState busy).CpuTime
        Start-ContainerWorkload -Container busy -Name spin -Script 'while :; do :; done'
        Start-Sleep -Seconds 2
        $later = (Get-ContainerState busy).CpuTime
        ($later - $start).TotalSeconds | Should -BeGreaterThan 0.5 -Because 'a busy loop for 2 s uses CPU time (the machine is shared, so not all of it)'
    }

    It 'network counters per interface (loopback marked) grow after a ping between two containers on a bridge' {
        $null = New-TestBridgeNetwork -Name statelan -Subnet 10.205.170.0/24
        $a = New-Container a -Image busybox -Network statelan -Start
        $b = New-Container b -Image busybox -Network statelan -Start
        $ipB = $b.Network[0].Addresses[0] -replace '/24$'
        $before = Get-ContainerState a
        @($before.Network.Name | Sort-Object) | Should -Be @('eth0', 'lo')
        ($before.Network | Where-Object Name -EQ lo).Loopback | Should -BeTrue
        ($before.Network | Where-Object Name -EQ eth0).Loopback | Should -BeFalse
        $before.Network[0] | Should -BeOfType ([ContainerPS.InterfaceCounters])

        (Invoke-In a "ping -c 5 -i 0.2 -s 1000 -W 2 $ipB") -join "`n" | Should -Match '5 packets received'

        $after = Get-ContainerState a
        $eth0Before = $before.Network | Where-Object Name -EQ eth0
        $eth0 = $after.Network | Where-Object Name -EQ eth0
        $eth0.TxPackets - $eth0Before.TxPackets | Should -BeGreaterOrEqual 5
        $eth0.RxPackets - $eth0Before.RxPackets | Should -BeGreaterOrEqual 5
        $eth0.TxBytes - $eth0Before.TxBytes | Should -BeGreaterOrEqual 5000
        $eth0.RxBytes - $eth0Before.RxBytes | Should -BeGreaterOrEqual 5000
        # the totals leave loopback out
        $after.RxBytes | Should -Be $eth0.RxBytes
        $after.TxBytes | Should -Be $eth0.TxBytes
        # b's counters are its own namespace's: it received what a sent
        ((Get-ContainerState b).Network | Where-Object Name -EQ eth0).RxBytes | Should -BeGreaterOrEqual 5000
    }

    It 'RootDiskUsage grows after a 20 MB file is written into the root filesystem' {
        $null = New-Container d1 busybox -Start
        $before = (Get-ContainerState d1).RootDiskUsage
        $before | Should -BeGreaterThan 0
        Invoke-In d1 'dd if=/dev/urandom of=/root/big bs=1M count=20 2>/dev/null && sync'
        $after = (Get-ContainerState d1).RootDiskUsage
        $after - $before | Should -BeGreaterOrEqual 19MB
        $after | Should -Be (Get-StorageVolume -Pool default -Type container -Name d1).Used -Because 'the storage layer measures it'
    }

    It 'a stopped container has state Stopped and null counters, but its disk usage, and no error' {
        $null = New-Container off busybox
        $s = Get-ContainerState off -ErrorVariable err
        $err | Should -HaveCount 0
        $s.State | Should -Be 'Stopped'
        $s.Pid | Should -BeNullOrEmpty
        $s.MemoryUsage | Should -BeNullOrEmpty
        $s.MemoryPeak | Should -BeNullOrEmpty
        $s.CpuTime | Should -BeNullOrEmpty
        $s.Processes | Should -BeNullOrEmpty
        $s.Network | Should -BeNullOrEmpty
        $s.RxBytes | Should -BeNullOrEmpty
        $s.TxBytes | Should -BeNullOrEmpty
        $s.RootDiskUsage | Should -BeGreaterThan 0

        $null = Start-Container off
        (Get-ContainerState off).MemoryUsage | Should -BeGreaterThan 0
        Stop-Container off -Force
        (Get-ContainerState off).MemoryUsage | Should -BeNullOrEmpty
    }

    It 'takes wildcards and several names, binds piped containers by name, and says which names are unknown' {
        $null = New-Container web1 busybox -Start
        $null = New-Container web2 busybox
        $null = New-Container db1 busybox
        @((Get-ContainerState).Name) | Should -Be @('db1', 'web1', 'web2')
        @((Get-ContainerState 'WEB*').Name) | Should -Be @('web1', 'web2')
        @((Get-ContainerState db1, 'web?').Name) | Should -Be @('db1', 'web1', 'web2')
        @(Get-ContainerState 'none*') | Should -HaveCount 0
        @((Get-Container | Get-ContainerState).Name) | Should -Be @('db1', 'web1', 'web2')
        @((Get-Container web* | Get-ContainerState | Where-Object State -EQ Running).Name) | Should -Be 'web1'
        $out = Get-ContainerState web1, nosuch -ErrorVariable err -ErrorAction SilentlyContinue
        $out.Name | Should -Be 'web1'
        $err | Should -HaveCount 1
        Get-ErrorId $err[0] | Should -Be 'ContainerNotFound'
    }

    It 'survives remoting: a job''s runspace returns deserialized objects with plain values and the table view' {
        $null = New-Container r1 busybox -Start
        $null = New-Container r2 busybox
        $module = Get-ModulePath
        $root = $t.Root
        $remote = @(Start-Job { $env:CONTAINERPS_ROOT = $using:root; Import-Module $using:module; Get-ContainerState } |
                Receive-Job -Wait -AutoRemoveJob)
        $remote | Should -HaveCount 2
        $r1 = $remote | Where-Object Name -EQ r1
        $r1.pstypenames[0] | Should -Be 'Deserialized.ContainerPS.ContainerState'
        $r1.State | Should -Be 'Running'
        $r1.MemoryUsage | Should -BeOfType ([long])
        $r1.CpuTime | Should -BeOfType ([timespan])
        $r1.RootDiskUsage | Should -BeOfType ([long])
        $r1.Network[0].pstypenames[0] | Should -Be 'Deserialized.ContainerPS.InterfaceCounters'
        $r1.Network[0].Name | Should -Be 'lo'
        $r1.Network[0].RxBytes | Should -BeOfType ([long])
        ($remote | Where-Object Name -EQ r2).MemoryUsage | Should -BeNullOrEmpty
        $table = $remote | Format-Table | Out-String -Width 200
        $table | Should -Match 'Name\s+State\s+Memory\(MiB\)\s+Peak\(MiB\)\s+CPU\(s\)\s+Processes\s+Rx\s+Tx\s+Disk'
        $table | Should -Match 'r1\s+Running\s+\d+\.\d'
    }
}
