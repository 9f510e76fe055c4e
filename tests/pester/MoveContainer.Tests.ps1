#Requires -Version 7.4
# Move-Container between two ContainerPS hosts on this machine: the source is this pwsh, the
# destination a second state root reached by PowerShell remoting over SSH (a throwaway sshd on
# 127.0.0.1 with the powershell subsystem). Both share the kernel and a bridge, so the moved
# container keeps its address and stays reachable. Real CRIU, real remoting.
# Run in a private mount namespace (unshare --mount --propagation private), as build.ps1 does.

BeforeAll {
    Import-Module (Join-Path $PSScriptRoot 'TestHelpers.psm1') -Force
    Import-Module (Get-ModulePath) -Force

    <# A file inside a running container of the host the session reaches ($null while missing). #>
    function Read-Remote([string] $Container, [string] $File) { Read-RemoteContainerFile $script:s $Container $File }

    <# The same bridge network on both hosts (same name, same bridge, each host its own IPAM files). #>
    function New-SharedNetwork([string] $Name, [string] $Subnet, [hashtable[]] $DestinationExtra = @()) {
        $bridge = 'cpm' + [guid]::NewGuid().ToString('N').Substring(0, 8)
        Add-TestBridge $bridge
        $make = {
            param($n, $br, $sub, $extra)
            $conf = @{ cniVersion = '1.0.0'; plugins = @(@{ type = 'bridge'; bridge = $br; isGateway = $false; isDefaultGateway = $false; ipMasq = $false
                        ipam = @{ type = 'host-local'; dataDir = (Join-Path $env:CONTAINERPS_ROOT 'ipam'); ranges = @(, @(@{ subnet = $sub })) } }) + $extra }
            New-ContainerNetwork -Name $n -Config $conf | Out-Null
        }
        & $make $Name $bridge $Subnet @()
        Invoke-Command -Session $script:s -ScriptBlock $make -ArgumentList $Name, $bridge, $Subnet, $DestinationExtra
    }

    <#
    A running container on a ceph pool for the ceph moves: a volume mounted at /data (f: vol), a
    snapshot s1 (/root/v: one; two after it), Extra run in it before the snapshot, and a counter
    whose secret only its processes know; on Network, when given. Returns the secret and the counter's pids.
    #>
    function New-CephMover([string] $Name, [string] $Pool, [string] $Volume, [string] $Extra = 'true', [string] $Network) {
        $net = if ($Network) { @{ Network = $Network } } else { @{} }
        $null = New-Container -Name $Name -Image busybox -StoragePool $Pool @net
        $null = Add-StorageVolume -Pool $Pool -Name $Volume
        Mount-StorageVolume -Pool $Pool -Name $Volume -Container $Name -Path /data
        Start-Container $Name
        $null = Invoke-ContainerExec $Name -Command sh, -c, "echo one > /root/v; echo vol > /data/f; $Extra"
        $null = New-ContainerSnapshot -Container $Name -Name s1
        $null = Invoke-ContainerExec $Name -Command sh, -c, 'echo two > /root/v'
        Start-ContainerWorkload $Name counter 'S="$$-$RANDOM$RANDOM"; i=0; while :; do i=$((i+1)); echo "$i $S" > /tmp/count.new; mv /tmp/count.new /tmp/count; sleep 0.05; done' -Pool $Pool
        Wait-Until { (Read-ContainerFile $Name /tmp/count) -match '^\d+ ' } -Because 'the counter' | Out-Null
        [pscustomobject]@{ Secret = ((Read-ContainerFile $Name /tmp/count) -split ' ')[1]
            Pids = (Invoke-ContainerExec -Name $Name -Command ps, -o, pid, args | Where-Object { $_ -match 'counter' }) -join "`n" }
    }

    <# A New-CephMover container as the destination has it: state, pool, snapshots, its volume's users, files, counter pids; then /root/v before and after Restore-ContainerSnapshot s1. #>
    function Get-MovedCephMover([string] $Name, [string] $Pool, [string] $Volume) {
        Invoke-Command -Session $script:s -ScriptBlock {
            param($n, $p, $v)
            $c = Get-Container $n
            $r = [pscustomobject]@{ State = $c.State; Pool = $c.Pool; Snapshots = @(Get-ContainerSnapshot -Container $n).Name
                Volume = "$((Get-StorageVolume -Pool $p -Name $v).UsedBy)"; Data = (Invoke-ContainerExec $n -Command cat, /data/f) -join ''
                Count = (Invoke-ContainerExec $n -Command cat, /tmp/count) -join ''
                Pids = (Invoke-ContainerExec -Name $n -Command ps, -o, pid, args | Where-Object { $_ -match 'counter' }) -join "`n"; V = @() }
            $r.V += (Invoke-ContainerExec $n -Command cat, /root/v) -join ''
            Stop-Container $n -Force
            Restore-ContainerSnapshot -Container $n -Name s1 -Confirm:$false
            Start-Container $n
            $r.V += (Invoke-ContainerExec $n -Command cat, /root/v) -join ''
            $r
        } -ArgumentList $Name, $Pool, $Volume
    }

    <#
    The script of a child pwsh that moves Name with its own session to the destination: a fresh
    remote pwsh, whose pid it writes to RemotePid, with CEPH_CONF when given, and the destination's
    fault point Point (signalling Signal) set there before ContainerPS does anything.
    #>
    function Get-MoveChildScript([string] $Name, [string] $Point, [string] $Signal, [string] $RemotePid, [string] $CephConf = '') {
        "`$s = New-PSSession -HostName 127.0.0.1 -Port $($script:Ssh.Port) -UserName root -KeyFilePath '$($script:Ssh.KeyFile)' " +
        "-Options @{ StrictHostKeyChecking = 'no'; UserKnownHostsFile = '/dev/null'; LogLevel = 'ERROR' }; " +
        "Invoke-Command -Session `$s -ScriptBlock { param(`$m, `$p, `$f, `$pf, `$c) if (`$c) { `$env:CEPH_CONF = `$c }; if (`$p) { `$env:CONTAINERPS_FAULT = `$p; `$env:CONTAINERPS_FAULT_SIGNAL = `$f }; Set-Content `$pf `$PID; Import-Module `$m } " +
        "-ArgumentList '$(Get-ModulePath)', '$Point', '$Signal', '$RemotePid', '$CephConf'; " +
        "Move-Container $Name -Destination `$s -DataThroughSession"
    }

    # Two hosts; maps00-like workload: 256 MB of memory it keeps dirtying and checking (a static binary).
    $script:hosts = New-TestMoveHosts
    $script:t, $script:DstRoot, $script:Ssh, $script:s, $script:Dirty = $script:hosts.T, $script:hosts.DstRoot, $script:hosts.Ssh, $script:hosts.Session, $script:hosts.Dirty
}

AfterAll {
    Remove-TestMoveHosts $script:hosts
}

Describe 'Move-Container over PowerShell remoting' {
    AfterEach { Clear-TestMoveHosts $script:s }

    It 'the destination is a separate host: its own state root, reached through the session' {
        Invoke-Command -Session $script:s -ScriptBlock { $env:CONTAINERPS_ROOT } | Should -Be $script:DstRoot
        $null = New-Container -Name here -Image busybox
        Invoke-Command -Session $script:s -ScriptBlock { @(Get-Container).Count } | Should -Be 0
    }

    It 'moves a running container with 256 MB of dirty memory and a bridge network: same processes, memory and address' {
        New-SharedNetwork -Name lan -Subnet 10.205.1.0/24
        $c = New-Container -Name mover -Image busybox -Network lan -Start
        $peer = New-Container -Name peer -Image busybox -Network lan -Start
        $ip = $c.Network[0].Addresses[0] -replace '/24$'
        Copy-Item $script:Dirty (Join-Path (Get-StorageVolume -Pool default -Type container -Name mover).Path 'root/dirty')
        Invoke-ContainerExec -Name mover -Command sh, -c, '/root/dirty 256 /tmp/dirty </dev/null >/dev/null 2>&1 &' | Out-Null
        Start-ContainerWorkload mover counter 'S="$$-$RANDOM$RANDOM"; i=0; while :; do i=$((i+1)); echo "$i $S" > /tmp/count.new; mv /tmp/count.new /tmp/count; sleep 0.05; done'
        Start-ContainerWorkload mover server 'while :; do echo pong | nc -l -p 7777; done'
        Wait-Until { (Read-ContainerFile mover /tmp/dirty) -match '^ok \d+ 65536$' } -TimeoutSeconds 30 -Because 'the workload to fill its 256 MB'
        Wait-Until { (Read-ContainerFile mover /tmp/count) -match '^\d+ ' } -Because 'the counter'
        $secret = ((Read-ContainerFile mover /tmp/count) -split ' ')[1]
        $gen = [long]((Read-ContainerFile mover /tmp/dirty) -split ' ')[1]
        $pids = (Invoke-ContainerExec -Name mover -Command ps, -o, pid, args | Where-Object { $_ -match 'dirty|counter|server' }) -join "`n"

        $all = Move-Container -Name mover -Destination $script:s -PassThru -Verbose 4>&1
        $m = $all | Where-Object { $_ -isnot [System.Management.Automation.VerboseRecord] }
        ($all | Where-Object { $_ -is [System.Management.Automation.VerboseRecord] }) -join "`n" | Should -Match 'Data link to .* \(AES-256-GCM'
        Write-Host "    moved 256 MB: downtime $($m.MoveDowntimeMs) ms, total $($m.MoveTotalMs) ms"
        $m.pstypenames[0] | Should -Be 'Deserialized.ContainerPS.Container'
        $m.State | Should -Be 'Running'
        $m.Network[0].Addresses[0] | Should -Be "$ip/24"
        $m.MoveDowntimeMs | Should -BeGreaterThan 0
        $m.MoveTotalMs | Should -BeGreaterOrEqual $m.MoveDowntimeMs
        ($m | Out-String) | Should -Match "mover\s+Running.*$([regex]::Escape($ip))"

        # Gone here (and its address with it), running there with the same processes and memory.
        (Get-CommandError { Get-Container -Name mover }).FullyQualifiedErrorId | Should -BeLike 'ContainerNotFound,*'
        Invoke-Command -Session $script:s -ScriptBlock { (Get-Container mover).State } | Should -Be 'Running'
        $remotePids = Invoke-Command -Session $script:s -ScriptBlock { (Invoke-ContainerExec -Name mover -Command ps, -o, pid, args | Where-Object { $_ -match 'dirty|counter|server' }) -join "`n" }
        $remotePids | Should -Be $pids
        Wait-Until { [long]((Read-Remote mover /tmp/dirty) -split ' ')[1] -gt $gen } -TimeoutSeconds 20 -Because 'the memory workload to go on'
        (Read-Remote mover /tmp/dirty) | Should -Match '^ok \d+ 65536$'
        ((Read-Remote mover /tmp/count) -split ' ')[1] | Should -Be $secret
        # Same address, same MAC: the peer on the source host reaches the listener at once.
        (Invoke-ContainerExec -Name peer -Command sh, -c, "echo ping | nc -w 5 $ip 7777") | Should -Be 'pong'
        $peer | Should -Not -BeNullOrEmpty
    }

    It 'a stopped container moves cold: its filesystem and settings, no CRIU' {
        New-SharedNetwork -Name lan -Subnet 10.205.2.0/24
        $null = New-Container -Name cold -Image busybox -Network lan -Config @{ 'limits.memory' = '256MiB' }
        Set-Content (Join-Path (Get-StorageVolume -Pool default -Type container -Name cold).Path 'root/marker') 'moved'
        Move-Container -Name cold -Destination $script:s -DataThroughSession
        Get-Container | Should -BeNullOrEmpty
        $r = Invoke-Command -Session $script:s -ScriptBlock {
            $c = Get-Container cold
            [pscustomobject]@{ State = $c.State; Memory = $c.Config['limits.memory']; Net = $c.Network.Network
                Marker = (Get-Content (Join-Path (Get-StorageVolume -Pool default -Type container -Name cold).Path 'root/marker')) }
        }
        $r.State | Should -Be 'Stopped'
        $r.Memory | Should -Be '256MiB'
        $r.Net | Should -Be 'lan'
        $r.Marker | Should -Be 'moved'
    }

    It 'a move the destination refuses changes nothing on either side' {
        New-SharedNetwork -Name lan -Subnet 10.205.3.0/24
        $c = New-Container -Name taken -Image busybox -Network lan -Start
        Invoke-Command -Session $script:s -ScriptBlock { New-Container -Name taken -Image busybox | Out-Null }
        $e = Get-CommandError { Move-Container -Name taken -Destination $script:s }
        $e.FullyQualifiedErrorId | Should -BeLike 'ContainerExists,*'
        $e.ToString() | Should -Match "refused container 'taken'.*already exists on the destination.*Nothing was changed"
        $after = Get-Container taken
        $after.State | Should -Be 'Running'
        $after.Pid | Should -Be $c.Pid
        Invoke-Command -Session $script:s -ScriptBlock { @(Get-Container).Name } | Should -Be 'taken'

        # A network the destination does not have.
        $null = New-Container -Name nonet -Image busybox -Network lan -Start
        Invoke-Command -Session $script:s -ScriptBlock { Remove-ContainerNetwork lan }
        $e = Get-CommandError { Move-Container -Name nonet -Destination $script:s }
        $e.FullyQualifiedErrorId | Should -BeLike 'NetworkNotFound,*'
        $e.ToString() | Should -Match "Network 'lan' not found"
        (Get-Container nonet).State | Should -Be 'Running'

        # A volume also mounted in another container here cannot move away from it; one with snapshots would lose them.
        $null = Add-StorageVolume -Pool default -Name movevol
        $null = New-Container -Name other -Image busybox
        Mount-StorageVolume -Pool default -Name movevol -Container nonet -Path /data
        Mount-StorageVolume -Pool default -Name movevol -Container other -Path /data
        $e = Get-CommandError { Move-Container -Name nonet -Destination $script:s }
        $e.FullyQualifiedErrorId | Should -BeLike 'VolumesNotMoved,*'
        $e.ToString() | Should -Match "Storage volume 'default/movevol' of container 'nonet' is also mounted in 'other' on this host"
        Dismount-StorageVolume -Pool default -Name movevol -Container other
        $null = New-StorageVolumeSnapshot -Pool default -Volume movevol -Name keep
        (Get-CommandError { Move-Container -Name nonet -Destination $script:s }).FullyQualifiedErrorId | Should -BeLike 'VolumesNotMoved,*'
        # A volume of that name on the destination: refused there, before anything is sent.
        Remove-StorageVolumeSnapshot -Pool default -Volume movevol -Name keep -Confirm:$false
        Invoke-Command -Session $script:s -ScriptBlock { New-ContainerNetwork -Name lan -Config @{ cniVersion = '1.0.0'; plugins = @(@{ type = 'loopback' }) } | Out-Null; $null = Add-StorageVolume -Pool default -Name movevol }
        $e = Get-CommandError { Move-Container -Name nonet -Destination $script:s }
        $e.FullyQualifiedErrorId | Should -BeLike 'VolumeExists,*'
        $e.ToString() | Should -Match "Storage volume 'default/movevol', mounted in container 'nonet', already exists on the destination"
        (Get-Container nonet).State | Should -Be 'Running'
        (Get-Container nonet).Devices.Volume | Should -Be 'movevol'
        Invoke-Command -Session $script:s -ScriptBlock { @(Get-Container).Name } | Should -Be 'taken'
        Get-StorageVolume -Pool default -Type custom | Remove-StorageVolume -Confirm:$false -ErrorAction SilentlyContinue
    }

    It 'a running container moves with its snapshots (one stateful) and a mounted custom volume: all there, none left here' {
        $null = New-Container -Name snapper -Image busybox
        $null = Add-StorageVolume -Pool default -Name data -Size 64MiB
        Mount-StorageVolume -Pool default -Name data -Container snapper -Path /srv/data
        Start-Container snapper
        Copy-Item $script:Dirty (Join-Path (Get-StorageVolume -Pool default -Type container -Name snapper).Path 'root/dirty')
        Invoke-ContainerExec -Name snapper -Command sh, -c, 'echo kept > /srv/data/file; echo one > /root/v' | Out-Null
        Invoke-ContainerExec -Name snapper -Command sh, -c, '/root/dirty 16 /tmp/dirty </dev/null >/dev/null 2>&1 &' | Out-Null
        Start-ContainerWorkload snapper counter 'S="$$-$RANDOM$RANDOM"; i=0; while :; do i=$((i+1)); echo "$i $S" > /tmp/count.new; mv /tmp/count.new /tmp/count; sleep 0.05; done'
        Wait-Until { (Read-ContainerFile snapper /tmp/dirty) -match '^ok \d+ 4096$' } -TimeoutSeconds 30 -Because 'the workload to fill its 16 MB' | Out-Null
        Wait-Until { (Read-ContainerFile snapper /tmp/count) -match '^\d+ ' } -Because 'the counter' | Out-Null
        $secret = ((Read-ContainerFile snapper /tmp/count) -split ' ')[1]
        $first = New-ContainerSnapshot -Container snapper -Name first
        Invoke-ContainerExec -Name snapper -Command sh, -c, 'echo two > /root/v' | Out-Null
        Checkpoint-Container -Name snapper -SnapshotName second -LeaveRunning
        Invoke-ContainerExec -Name snapper -Command sh, -c, 'echo three > /root/v' | Out-Null
        $snaps = Get-ContainerSnapshot -Container snapper
        $gen = [long]((Read-ContainerFile snapper /tmp/dirty) -split ' ')[1]
        $pids = (Invoke-ContainerExec -Name snapper -Command ps, -o, pid, args | Where-Object { $_ -match 'dirty|counter' }) -join "`n"

        Move-Container -Name snapper -Destination $script:s
        Get-Container snapper -ErrorAction SilentlyContinue | Should -BeNullOrEmpty
        @(Get-StorageVolume -Pool default | Where-Object Type -ne 'image') | Should -BeNullOrEmpty -Because 'the container, its snapshots and its volume left this host'
        $there = Invoke-Command -Session $script:s -ScriptBlock {
            $c = Get-Container snapper
            [pscustomobject]@{
                State = $c.State; Devices = @($c.Devices | ForEach-Object { "$($_.Pool)/$($_.Volume):$($_.Path)" })
                Snapshots = @(Get-ContainerSnapshot -Container snapper | ForEach-Object { "$($_.Name) $($_.Stateful) $($_.CreatedAt.ToString('o'))" })
                Data = (Invoke-ContainerExec snapper -Command cat, /srv/data/file) -join ''
                V = (Invoke-ContainerExec snapper -Command cat, /root/v) -join ''
                Pids = (Invoke-ContainerExec -Name snapper -Command ps, -o, pid, args | Where-Object { $_ -match 'dirty|counter' }) -join "`n"
                Volume = (Get-StorageVolume -Pool default -Name data).UsedBy
                SnapshotVolumes = @(Get-StorageVolume -Pool default -Type snapshot).Name
            }
        }
        $there.State | Should -Be 'Running'
        $there.Devices | Should -Be 'default/data:/srv/data'
        $there.Snapshots | Should -Be @($snaps | ForEach-Object { "$($_.Name) $($_.Stateful) $($_.CreatedAt.ToString('o'))" })
        $there.Snapshots[0] | Should -BeLike 'first False *'
        $there.Snapshots[1] | Should -BeLike 'second True *'
        $there.SnapshotVolumes | Should -Be @('snapper@first', 'snapper@second')
        $there.Data | Should -Be 'kept'
        $there.V | Should -Be 'three'
        $there.Volume | Should -Be 'snapper'
        $there.Pids | Should -Be $pids -Because 'the same processes run on the destination'
        Wait-Until { [long]((Read-Remote snapper /tmp/dirty) -split ' ')[1] -gt $gen } -TimeoutSeconds 20 -Because 'the memory workload to go on' | Out-Null
        (Read-Remote snapper /tmp/dirty) | Should -Match '^ok \d+ 4096$'
        ((Read-Remote snapper /tmp/count) -split ' ')[1] | Should -Be $secret

        # The snapshots are usable there: the stateful one brings back its processes, the other its files.
        $restored = Invoke-Command -Session $script:s -ScriptBlock {
            Stop-Container snapper -Force
            Restore-Container -Name snapper -Snapshot second
            $afterStateful = [pscustomobject]@{ State = (Get-Container snapper).State; V = (Invoke-ContainerExec snapper -Command cat, /root/v) -join ''
                Count = (Invoke-ContainerExec snapper -Command cat, /tmp/count) -join ''
                Pids = (Invoke-ContainerExec -Name snapper -Command ps, -o, pid, args | Where-Object { $_ -match 'dirty|counter' }) -join "`n" }
            Stop-Container snapper -Force
            Restore-ContainerSnapshot -Container snapper -Name first -Confirm:$false
            Start-Container snapper
            [pscustomobject]@{ Stateful = $afterStateful; V = (Invoke-ContainerExec snapper -Command cat, /root/v) -join ''; Data = (Invoke-ContainerExec snapper -Command cat, /srv/data/file) -join '' }
        }
        $restored.Stateful.State | Should -Be 'Running'
        $restored.Stateful.V | Should -Be 'two'
        $restored.Stateful.Pids | Should -Be $pids -Because 'the stateful snapshot restores the processes it saved'
        ($restored.Stateful.Count -split ' ')[1] | Should -Be $secret
        $restored.V | Should -Be 'one'
        $restored.Data | Should -Be 'kept' -Because 'the volume is not part of the container snapshot'
        $first | Should -Not -BeNullOrEmpty
    }

    It 'a container stopped with -Stateful moves with its saved state: Start-Container on the destination restores its processes' {
        $null = New-Container -Name sleeper -Image busybox -Start
        Copy-Item $script:Dirty (Join-Path (Get-StorageVolume -Pool default -Type container -Name sleeper).Path 'root/dirty')
        Invoke-ContainerExec -Name sleeper -Command sh, -c, '/root/dirty 16 /tmp/dirty </dev/null >/dev/null 2>&1 &' | Out-Null
        Start-ContainerWorkload sleeper counter 'S="$$-$RANDOM$RANDOM"; i=0; while :; do i=$((i+1)); echo "$i $S" > /tmp/count.new; mv /tmp/count.new /tmp/count; sleep 0.05; done'
        Wait-Until { (Read-ContainerFile sleeper /tmp/dirty) -match '^ok \d+ 4096$' } -TimeoutSeconds 30 -Because 'the workload to fill its 16 MB' | Out-Null
        Wait-Until { (Read-ContainerFile sleeper /tmp/count) -match '^\d+ ' } -Because 'the counter' | Out-Null
        $secret = ((Read-ContainerFile sleeper /tmp/count) -split ' ')[1]
        $pids = (Invoke-ContainerExec -Name sleeper -Command ps, -o, pid, args | Where-Object { $_ -match 'dirty|counter' }) -join "`n"
        Stop-Container -Name sleeper -Stateful
        $gen = [long]((Get-Content -Raw (Join-Path (Get-StorageVolume -Pool default -Type container -Name sleeper).Path 'tmp/dirty')) -split ' ')[1]

        Move-Container -Name sleeper -Destination $script:s
        Get-Container sleeper -ErrorAction SilentlyContinue | Should -BeNullOrEmpty
        $before = Invoke-Command -Session $script:s -ScriptBlock { $c = Get-Container sleeper; [pscustomobject]@{ State = $c.State; Stateful = $c.Stateful } }
        $before.State | Should -Be 'Stopped'
        $before.Stateful | Should -BeTrue
        $after = Invoke-Command -Session $script:s -ScriptBlock {
            Start-Container sleeper
            [pscustomobject]@{ State = (Get-Container sleeper).State; Stateful = (Get-Container sleeper).Stateful
                Pids = (Invoke-ContainerExec -Name sleeper -Command ps, -o, pid, args | Where-Object { $_ -match 'dirty|counter' }) -join "`n" }
        }
        $after.State | Should -Be 'Running'
        $after.Stateful | Should -BeFalse -Because 'the saved state is used once'
        $after.Pids | Should -Be $pids -Because 'Start-Container restored the processes the stateful stop saved'
        Wait-Until { [long]((Read-Remote sleeper /tmp/dirty) -split ' ')[1] -gt $gen } -TimeoutSeconds 20 -Because 'the memory workload to go on' | Out-Null
        (Read-Remote sleeper /tmp/dirty) | Should -Match '^ok \d+ 4096$'
        ((Read-Remote sleeper /tmp/count) -split ' ')[1] | Should -Be $secret
    }

    It 'a move that fails after the freeze puts the source back as it was, running, and leaves nothing on the destination' {
        # The destination's copy of the network fails its ADD (a tuning plugin with a sysctl that does not exist).
        New-SharedNetwork -Name lan -Subnet 10.205.4.0/24 -DestinationExtra @(@{ type = 'tuning'; sysctl = @{ 'net.ipv4.conf.eth0.no_such_key' = '1' } })
        $c = New-Container -Name back -Image busybox -Network lan -Start
        Start-ContainerWorkload back counter 'S="$$-$RANDOM$RANDOM"; i=0; while :; do i=$((i+1)); echo "$i $S" > /tmp/count.new; mv /tmp/count.new /tmp/count; sleep 0.05; done'
        Wait-Until { (Read-ContainerFile back /tmp/count) -match '^\d+ ' } -Because 'the counter'
        $secret = ((Read-ContainerFile back /tmp/count) -split ' ')[1]
        $e = Get-CommandError { Move-Container -Name back -Destination $script:s -DataThroughSession }
        $e | Should -Not -BeNullOrEmpty
        $e.ToString() | Should -Match 'runs on the source again'
        $after = Get-Container back
        $after.State | Should -Be 'Running'
        $after.Network[0].Addresses[0] | Should -Be $c.Network[0].Addresses[0]
        ((Read-ContainerFile back /tmp/count) -split ' ')[1] | Should -Be $secret
        Invoke-Command -Session $script:s -ScriptBlock { @(Get-Container).Count; @(Get-ChildItem (Join-Path $env:CONTAINERPS_ROOT 'incoming') -ErrorAction SilentlyContinue).Count } | Should -Be @(0, 0)
    }


    It 'shows each phase of the move on its progress bar' {
        New-SharedNetwork -Name lan -Subnet 10.205.16.0/24
        $null = New-Container -Name prog -Image busybox -Network lan -Start
        $p = Get-ProgressRecord ("`$s = New-PSSession -HostName 127.0.0.1 -Port $($script:Ssh.Port) -UserName root -KeyFilePath '$($script:Ssh.KeyFile)' " +
            "-Options @{ StrictHostKeyChecking = 'no'; UserKnownHostsFile = '/dev/null'; LogLevel = 'ERROR' }; " +
            "Invoke-Command -Session `$s -ScriptBlock { param(`$m) Import-Module `$m } -ArgumentList '$(Get-ModulePath)'; " +
            "Move-Container prog -Destination `$s -DataThroughSession; Remove-PSSession `$s")
        $mine = @($p | Where-Object Activity -eq 'Moving prog to 127.0.0.1')
        $status = @($mine.StatusDescription)
        foreach ($phase in 'asking the destination*', 'freezing it (CRIU dump)', 'sending the filesystem: * MiB (compressed)', 'sending the saved state: * MiB (compressed)', 'restoring it on the destination', 'telling the destination to keep it', 'removing it here') {
            @($status | Where-Object { $_ -like $phase }).Count | Should -BeGreaterThan 0 -Because "the phase '$phase' is shown"
        }
        $percent = @($mine | Where-Object RecordType -eq 'Processing' | ForEach-Object PercentComplete)
        $percent | Should -Be ($percent | Sort-Object) -Because 'the bar only moves forward'
        $mine[-1].RecordType | Should -Be 'Completed'
        Invoke-Command -Session $script:s -ScriptBlock { (Get-Container prog).State } | Should -Be 'Running'
    }
    It '-Live says why pre-copy is not possible on this kernel (no soft-dirty) and changes nothing' {
        $support = Test-ContainerCheckpoint
        $null = New-Container -Name live -Image busybox -Start
        $e = Get-CommandError { Move-Container -Name live -Destination $script:s -Live -Iterations 3 }
        $e.FullyQualifiedErrorId | Should -BeLike 'PreCopyNotSupported,*'
        $support.MemoryTracking | Should -BeFalse -Because 'this host''s kernel has no soft-dirty (the lane''s has: MoveContainerPreCopy.Lane.Tests)'
        $e.Exception.Message | Should -Match 'lacks \(it is built without CONFIG_MEM_SOFT_DIRTY'
        $e.Exception.Message | Should -Not -Match 'not in this version'
        (Get-Container live).State | Should -Be 'Running'
        Invoke-Command -Session $script:s -ScriptBlock { @(Get-Container).Count } | Should -Be 0
    }
    It '-Iterations outside 1..64 is refused with InvalidIterations before anything changes' -ForEach @(@{ N = 0 }, @{ N = 65 }, @{ N = -3 }) {
        $null = New-Container -Name live -Image busybox -Start
        $e = Get-CommandError { Move-Container -Name live -Destination $script:s -Live -Iterations $N }
        $e.FullyQualifiedErrorId | Should -BeLike 'InvalidIterations,*'
        $e.CategoryInfo.Category | Should -Be 'InvalidArgument'
        "$e" | Should -Match "-Iterations $N is out of range: .* 1 to 64"
        (Get-Container live).State | Should -Be 'Running'
        Invoke-Command -Session $script:s -ScriptBlock { @(Get-Container).Count } | Should -Be 0
    }
}

Describe 'Move-Container with the storage driver''s own stream (<Driver> on both hosts)' -ForEach @(
    @{ Driver = 'btrfs' }
    @{ Driver = 'zfs' }
) {
    BeforeAll {
        if ($Driver -eq 'zfs') { $script:zfsd = Start-TestZfs }
        $tag = [guid]::NewGuid().ToString('N').Substring(0, 6)
        $src = @{ size = '2GiB' }
        $dst = @{ size = '2GiB' }
        if ($Driver -eq 'zfs') { $src['zfs.pool_name'] = "cpms$tag"; $dst['zfs.pool_name'] = "cpmd$tag" }
        $script:dstZpool = "cpmd$tag"
        $script:srcPool = New-StoragePool "mv$Driver" -Driver $Driver -Config $src
        # The destination's default pool, where moved containers land, is of the same driver.
        Invoke-Command -Session $script:s -ScriptBlock { param($d, $c) Initialize-ContainerHost $d -StoragePool "in$d" -StoragePoolConfig $c | Out-Null } -ArgumentList $Driver, $dst
    }
    AfterAll {
        Invoke-Command -Session $script:s -ScriptBlock {
            param($d)
            Get-Container -ErrorAction SilentlyContinue | Remove-Container -Force -ErrorAction SilentlyContinue
            Initialize-ContainerHost dir -StoragePool default | Out-Null
            Remove-StoragePool "in$d" -Force -Confirm:$false
        } -ArgumentList $Driver
        Get-Container -ErrorAction SilentlyContinue | Remove-Container -Force -ErrorAction SilentlyContinue
        Get-StoragePool "mv$Driver" -ErrorAction SilentlyContinue | Remove-StoragePool -Force -Confirm:$false
        if ($Driver -eq 'zfs') { Stop-TestZfs $script:zfsd }
    }

    It 'a running container moves as a <Driver> send stream: files, owners (shifted storage too), processes' {
        $null = New-Container -Name mv -Image busybox -StoragePool "mv$Driver" -Start
        $null = Invoke-ContainerExec mv -Command sh, -c, 'echo kept > /root/f; sleep 1000 </dev/null >/dev/null 2>&1 &'
        # Owner 1000 inside, set from the host (zfs-fuse refuses chown from a user namespace): on
        # shifted storage (zfs) that is the map's base + 1000 on disk, on idmapped storage 1000.
        $vol = Get-StorageVolume "mv$Driver" mv -Type container
        $onDisk = if ($vol.Config['volatile.idmap.last']) { 1001000 } else { 1000 }
        & chown "$($onDisk):$($onDisk)" (Join-Path $vol.Path 'root/f')
        $sleep = Wait-Until { Invoke-ContainerExec mv -Command pidof, sleep -ErrorAction SilentlyContinue } -Because 'the sleep'
        $verbose = Move-Container -Name mv -Destination $script:s -Verbose 4>&1 | ForEach-Object { "$_" }
        $verbose | Should -Contain "The filesystem goes as a $Driver send stream (both pools are $Driver)."
        Get-Container mv -ErrorAction SilentlyContinue | Should -BeNullOrEmpty
        $there = Invoke-Command -Session $script:s -ScriptBlock {
            param($d)
            $c = Get-Container mv
            $v = Get-StorageVolume "in$d" mv -Type container
            [pscustomobject]@{
                State = $c.State; Pool = $c.Pool; Path = $v.Path; Stored = $v.Config['volatile.idmap.last']
                File = (Invoke-ContainerExec mv -Command cat, /root/f) -join ''
                Owner = (Invoke-ContainerExec mv -Command stat, -c, '%u:%g', /root/f) -join ''
                Sleep = (Invoke-ContainerExec mv -Command pidof, sleep) -join ''
            }
        } -ArgumentList $Driver
        $there.State | Should -Be 'Running'
        $there.Pool | Should -Be "in$Driver"
        $there.File | Should -Be 'kept'
        $there.Owner | Should -Be '1000:1000'
        $there.Sleep | Should -Be "$sleep" -Because 'CRIU restored the same processes on the received filesystem'
        if ($Driver -eq 'btrfs') {
            & stat -c %i $there.Path | Should -Be '256' -Because 'the container volume is a subvolume (a snapshot of the received one)'
        }
        else {
            $there.Stored | Should -Not -BeNullOrEmpty -Because 'files on zfs are shifted, and the destination records the map they are stored in'
            Invoke-Command -Session $script:s -ScriptBlock { Stop-Container mv -Force; Start-Container mv; (Invoke-ContainerExec mv -Command stat, -c, '%u:%g', /root/f) -join '' } |
                Should -Be '1000:1000' -Because 'a cold start does not shift the files a second time'
        }
    }

    It 'a container with a snapshot chain moves as <Driver> send streams: real <Driver> snapshots there, processes and files kept' {
        $null = New-Container -Name chain -Image busybox -StoragePool "mv$Driver" -Start
        $null = Invoke-ContainerExec chain -Command sh, -c, 'echo one > /root/v'
        $null = New-ContainerSnapshot -Container chain -Name s1
        $null = Invoke-ContainerExec chain -Command sh, -c, 'echo two > /root/v'
        $null = New-ContainerSnapshot -Container chain -Name s2
        $null = Invoke-ContainerExec chain -Command sh, -c, 'echo three > /root/v'
        Start-ContainerWorkload chain counter 'S="$$-$RANDOM$RANDOM"; i=0; while :; do i=$((i+1)); echo "$i $S" > /tmp/count.new; mv /tmp/count.new /tmp/count; sleep 0.05; done' -Pool "mv$Driver"
        Wait-Until { (Read-ContainerFile chain /tmp/count) -match '^\d+ ' } -Because 'the counter' | Out-Null
        $secret = ((Read-ContainerFile chain /tmp/count) -split ' ')[1]
        $pids = (Invoke-ContainerExec -Name chain -Command ps, -o, pid, args | Where-Object { $_ -match 'counter' }) -join "`n"
        $verbose = Move-Container -Name chain -Destination $script:s -Verbose 4>&1 | ForEach-Object { "$_" }
        $verbose | Should -Contain "The filesystem goes as a $Driver send stream (both pools are $Driver)."
        Get-Container chain -ErrorAction SilentlyContinue | Should -BeNullOrEmpty
        @(Get-StorageVolume "mv$Driver" | Where-Object Type -ne 'image') | Should -BeNullOrEmpty
        $there = Invoke-Command -Session $script:s -ScriptBlock {
            param($d, $zpool)
            $c = Get-Container chain
            $snaps = @(Get-StorageVolume "in$d" -Type snapshot | Sort-Object Name)
            $r = [pscustomobject]@{
                State = $c.State; Snapshots = @(Get-ContainerSnapshot -Container chain).Name; V = (Invoke-ContainerExec chain -Command cat, /root/v) -join ''
                Pids = (Invoke-ContainerExec -Name chain -Command ps, -o, pid, args | Where-Object { $_ -match 'counter' }) -join "`n"
                Count = (Invoke-ContainerExec chain -Command cat, /tmp/count) -join ''
                Real = if ($d -eq 'btrfs') { @($snaps | ForEach-Object { (& btrfs subvolume show $_.Path) -join "`n" }) }
                       else { @(& zfs list -H -o name -t snapshot -r "$zpool/containers/chain") }
                Restored = @()
            }
            Stop-Container chain -Force
            Restore-ContainerSnapshot -Container chain -Name s2 -Confirm:$false
            Start-Container chain
            $r.Restored += (Invoke-ContainerExec chain -Command cat, /root/v) -join ''
            if ($d -eq 'btrfs') { # (zfs rolls back only to the latest snapshot)
                Stop-Container chain -Force
                Restore-ContainerSnapshot -Container chain -Name s1 -Confirm:$false
                Start-Container chain
                $r.Restored += (Invoke-ContainerExec chain -Command cat, /root/v) -join ''
            }
            $r
        } -ArgumentList $Driver, $script:dstZpool
        $there.State | Should -Be 'Running'
        $there.Snapshots | Should -Be @('s1', 's2')
        $there.V | Should -Be 'three'
        $there.Pids | Should -Be $pids -Because 'CRIU restored the same processes on the received filesystem'
        ($there.Count -split ' ')[1] | Should -Be $secret
        if ($Driver -eq 'btrfs') {
            $there.Real.Count | Should -Be 2
            foreach ($show in $there.Real) {
                $show | Should -Match 'Flags:\s+readonly' -Because 'a snapshot is a read-only subvolume'
                $show | Should -Match 'Received UUID:\s+[0-9a-f]{8}-' -Because 'it arrived as a btrfs send stream'
            }
            $uuid = { param($show, $key) (($show -split "`n" | Where-Object { $_ -match "^\s*$($key):" }) -replace '.*:\s+', '').Trim() }
            (& $uuid $there.Real[1] 'Parent UUID') | Should -Be (& $uuid $there.Real[0] 'UUID') -Because 's2 arrived as the difference from s1 (btrfs send -p): a snapshot of it, sharing its blocks'
            $there.Restored | Should -Be @('two', 'one')
        }
        else {
            $there.Real | Should -Be @("$($script:dstZpool)/containers/chain@s1", "$($script:dstZpool)/containers/chain@s2") -Because 'the snapshots are zfs snapshots of the container''s dataset'
            $there.Restored | Should -Be @('two')
        }
    }

    It 'snapshots on <Driver> move as tars to a pool of another driver (dir): each becomes a snapshot there' {
        $null = New-Container -Name tarred -Image busybox -StoragePool "mv$Driver" -Start
        $null = Invoke-ContainerExec tarred -Command sh, -c, 'echo one > /root/v'
        $null = New-ContainerSnapshot -Container tarred -Name s1
        $null = Invoke-ContainerExec tarred -Command sh, -c, 'echo two > /root/v'
        Start-ContainerWorkload tarred counter 'S="$$-$RANDOM$RANDOM"; i=0; while :; do i=$((i+1)); echo "$i $S" > /tmp/count.new; mv /tmp/count.new /tmp/count; sleep 0.05; done' -Pool "mv$Driver"
        Wait-Until { (Read-ContainerFile tarred /tmp/count) -match '^\d+ ' } -Because 'the counter' | Out-Null
        $secret = ((Read-ContainerFile tarred /tmp/count) -split ' ')[1]
        $pids = (Invoke-ContainerExec -Name tarred -Command ps, -o, pid, args | Where-Object { $_ -match 'counter' }) -join "`n"
        Invoke-Command -Session $script:s -ScriptBlock { Initialize-ContainerHost dir -StoragePool default | Out-Null }
        try {
            $verbose = Move-Container -Name tarred -Destination $script:s -Verbose 4>&1 | ForEach-Object { "$_" }
            $verbose | Should -Contain 'The filesystem goes as a tar.'
            @(Get-StorageVolume "mv$Driver" | Where-Object Type -ne 'image') | Should -BeNullOrEmpty -Because 'no temporary clone of a snapshot is left behind either'
            $there = Invoke-Command -Session $script:s -ScriptBlock {
                $r = [pscustomobject]@{ State = (Get-Container tarred).State; Pool = (Get-Container tarred).Pool; Snapshots = @(Get-StorageVolume default -Type snapshot).Name
                    Count = (Invoke-ContainerExec tarred -Command cat, /tmp/count) -join ''
                    Pids = (Invoke-ContainerExec -Name tarred -Command ps, -o, pid, args | Where-Object { $_ -match 'counter' }) -join "`n"; V = @() }
                $r.V += (Invoke-ContainerExec tarred -Command cat, /root/v) -join ''
                Stop-Container tarred -Force
                Restore-ContainerSnapshot -Container tarred -Name s1 -Confirm:$false
                Start-Container tarred
                $r.V += (Invoke-ContainerExec tarred -Command cat, /root/v) -join ''
                $r
            }
        }
        finally {
            Invoke-Command -Session $script:s -ScriptBlock { param($d) Get-Container | Remove-Container -Force; Initialize-ContainerHost $d -StoragePool "in$d" | Out-Null } -ArgumentList $Driver
        }
        $there.State | Should -Be 'Running'
        $there.Pool | Should -Be 'default'
        $there.Snapshots | Should -Be 'tarred@s1'
        $there.Pids | Should -Be $pids
        ($there.Count -split ' ')[1] | Should -Be $secret
        $there.V | Should -Be @('two', 'one')
    }

    It 'destination killed while it receives a <Driver> snapshot chain: the source runs on with its snapshots, nothing of it is left on the destination' {
        $null = New-Container -Name kc -Image busybox -StoragePool "mv$Driver" -Start
        $null = New-ContainerSnapshot -Container kc -Name s1
        $null = New-ContainerSnapshot -Container kc -Name s2
        Start-ContainerWorkload kc counter 'S="$$-$RANDOM$RANDOM"; i=0; while :; do i=$((i+1)); echo "$i $S" > /tmp/count.new; mv /tmp/count.new /tmp/count; sleep 0.05; done' -Pool "mv$Driver"
        Wait-Until { (Read-ContainerFile kc /tmp/count) -match '^\d+ ' } -Because 'the counter' | Out-Null
        $secret = ((Read-ContainerFile kc /tmp/count) -split ' ')[1]
        $signal = Join-Path $script:t.Base 'chain-fault'
        $remotePid = Join-Path $script:t.Base 'chain-remote-pid'
        Remove-Item $signal, $remotePid -ErrorAction SilentlyContinue
        $child = Start-ChildPwsh -Script ("`$s = New-PSSession -HostName 127.0.0.1 -Port $($script:Ssh.Port) -UserName root -KeyFilePath '$($script:Ssh.KeyFile)' " +
            "-Options @{ StrictHostKeyChecking = 'no'; UserKnownHostsFile = '/dev/null'; LogLevel = 'ERROR' }; " +
            "Invoke-Command -Session `$s -ScriptBlock { param(`$m, `$f, `$pf) `$env:CONTAINERPS_FAULT = 'move.target.after-snapshot'; `$env:CONTAINERPS_FAULT_SIGNAL = `$f; Set-Content `$pf `$PID; Import-Module `$m } " +
            "-ArgumentList '$(Get-ModulePath)', '$signal', '$remotePid'; Move-Container kc -Destination `$s -DataThroughSession")
        try {
            Wait-Until { Test-Path $signal } -TimeoutSeconds 120 -Because 'the destination to reach its fault point' | Out-Null
            $half = Invoke-Command -Session $script:s -ScriptBlock { param($d, $zpool)
                if ($d -eq 'zfs') { @(& zfs list -H -o name -t all -r "$zpool/containers") -join ' ' } else { @(Get-ChildItem (Join-Path (Get-StoragePool "in$d").Source 'containers-snapshots')).Name -join ' ' }
            } -ArgumentList $Driver, $script:dstZpool
            $half | Should -Match 'kc@s1' -Because 'the oldest snapshot arrived before the fault point'
            & /usr/bin/kill -9 ([int](Get-Content $remotePid))
            $r = Wait-ChildPwsh $child -TimeoutSeconds 120
        } finally { if (-not $child.Process.HasExited) { $null = Stop-ChildHard $child } }
        $null = Get-Container -WarningAction SilentlyContinue
        if ($r.Stderr -notmatch 'runs on the source again') { $r.Stderr | Should -Match 'SSHClientSessionTransportManager' }
        (Get-Container kc).State | Should -Be 'Running'
        ((Read-ContainerFile kc /tmp/count) -split ' ')[1] | Should -Be $secret
        (Get-ContainerSnapshot -Container kc).Name | Should -Be @('s1', 's2')
        $there = Invoke-Command -Session $script:s -ScriptBlock { param($d, $zpool)
            $null = Get-Container -WarningVariable w -WarningAction SilentlyContinue
            [pscustomobject]@{ Warning = "$w"; Names = @(Get-Container).Name; Volumes = @(Get-StorageVolume "in$d" | Where-Object Type -ne 'image').Name
                OnDisk = if ($d -eq 'zfs') { @(& zfs list -H -o name -t all -r "$zpool/containers") | Where-Object { $_ -match 'kc' } }
                         else { @(Get-ChildItem (Join-Path (Get-StoragePool "in$d").Source 'containers-snapshots'), (Join-Path (Get-StoragePool "in$d").Source 'containers')).Name | Where-Object { $_ -match 'kc' } } }
        } -ArgumentList $Driver, $script:dstZpool
        $there.Warning | Should -BeLike "*rolled back the unfinished creation of container 'kc'*"
        $there.Names | Should -BeNullOrEmpty
        $there.Volumes | Should -BeNullOrEmpty
        $there.OnDisk | Should -BeNullOrEmpty -Because "the received snapshot (and on zfs the dataset it made) is gone"
    }
}

Describe 'Move-Container from a ceph pool: snapshots (read from a temporary clone) and a volume as tars' {
    BeforeAll {
        $script:ceph = Start-TestCeph
        $script:cephOsd = 'cpm' + [guid]::NewGuid().ToString('N').Substring(0, 6)
        $null = New-StoragePool mvceph -Driver ceph -Config @{ 'ceph.osd.pool_name' = $script:cephOsd; 'ceph.osd.pg_num' = '8'; 'volume.size' = '64MiB' }
    }
    AfterAll {
        Invoke-Command -Session $script:s -ScriptBlock {
            Get-Container -ErrorAction SilentlyContinue | Remove-Container -Force -ErrorAction SilentlyContinue
            Get-StorageVolume -Type custom -ErrorAction SilentlyContinue | Remove-StorageVolume -Confirm:$false -ErrorAction SilentlyContinue
        }
        Get-Container -ErrorAction SilentlyContinue | Remove-Container -Force -ErrorAction SilentlyContinue
        Get-StorageVolume mvceph -Type custom -ErrorAction SilentlyContinue | Remove-StorageVolume -Confirm:$false -ErrorAction SilentlyContinue
        Get-StoragePool mvceph -ErrorAction SilentlyContinue | Remove-StoragePool -Force -Confirm:$false
        Remove-TestCephMappings
        Stop-TestCeph $script:ceph
    }

    It 'a running container on ceph moves to a dir pool with its snapshot and its ceph volume' {
        $mover = New-CephMover cc mvceph cvol

        Move-Container -Name cc -Destination $script:s
        Get-Container cc -ErrorAction SilentlyContinue | Should -BeNullOrEmpty
        @(Get-StorageVolume mvceph | Where-Object Type -ne 'image') | Should -BeNullOrEmpty -Because 'the container, its snapshot, its volume and the temporary clone are gone here'
        @(Get-RbdImages $script:cephOsd | Where-Object { $_ -notlike 'image_*' }) | Should -BeNullOrEmpty
        $there = Get-MovedCephMover cc default cvol
        $there.State | Should -Be 'Running'
        $there.Pool | Should -Be 'default'
        $there.Snapshots | Should -Be 's1'
        $there.Volume | Should -Be 'cc' -Because 'the volume landed in the default pool (the destination has no pool mvceph) and is mounted in cc'
        $there.Data | Should -Be 'vol'
        $there.Pids | Should -Be $mover.Pids
        ($there.Count -split ' ')[1] | Should -Be $mover.Secret
        $there.V | Should -Be @('two', 'one')
    }
}

Describe 'Move-Container between hosts whose ceph pools share one OSD pool: the RBD images are handed over, not copied' {
    BeforeAll {
        $script:ceph = Start-TestCeph
        $script:shOsd = 'cph' + [guid]::NewGuid().ToString('N').Substring(0, 6)
        # The source's pool claims the OSD pool; the destination's pool (another name) joins it.
        $null = New-StoragePool shp -Driver ceph -Config @{ 'ceph.osd.pool_name' = $script:shOsd; 'ceph.osd.pg_num' = '8'; 'volume.size' = '64MiB' }
        $script:joinShared = {
            param($conf, $osd)
            $env:CEPH_CONF = $conf
            if (-not (Get-StoragePool shq -ErrorAction SilentlyContinue)) {
                $null = New-StoragePool shq -Driver ceph -Source $osd -Config @{ 'ceph.osd.shared' = 'true'; 'volume.size' = '64MiB' }
            }
        }
        Invoke-Command -Session $script:s -ScriptBlock $script:joinShared -ArgumentList $env:CEPH_CONF, $script:shOsd

        function Get-Owner([string] $Image) { "$(& rados -p $script:shOsd getxattr "containerps.owner.$Image" owner 2>$null)" }
        function Get-RbdId([string] $Image) { (& rbd info --format json "$($script:shOsd)/$Image" | ConvertFrom-Json).id }
        <# The destination after its next command: the warning, its containers with state and pool, its volumes. #>
        function Get-SharedDestination {
            Invoke-Command -Session $script:s -ScriptBlock {
                $null = Get-Container -WarningVariable w -WarningAction SilentlyContinue
                [pscustomobject]@{ Warning = "$w"; Names = @(Get-Container | ForEach-Object { "$($_.Name):$($_.State):$($_.Pool)" })
                    Volumes = @(Get-StorageVolume | Where-Object Type -ne 'image' | ForEach-Object { "$($_.Pool)/$($_.Type)/$($_.Name)" } | Sort-Object)
                    Incoming = @(Get-ChildItem (Join-Path $env:CONTAINERPS_ROOT 'incoming') -ErrorAction SilentlyContinue).Count }
            }
        }
        # A child pwsh that moves hc through its own session (the destination's fault point, when armed, set there first).
        $script:sharedMoveScript = { param($Point, $Signal, $RemotePid) Get-MoveChildScript hc $Point $Signal $RemotePid $env:CEPH_CONF }
    }
    AfterAll {
        Stop-ChildPwsh
        Invoke-Command -Session $script:s -ScriptBlock {
            Get-Container -ErrorAction SilentlyContinue | Remove-Container -Force -ErrorAction SilentlyContinue
            Get-StorageVolume -Type custom -ErrorAction SilentlyContinue | Remove-StorageVolume -Confirm:$false -ErrorAction SilentlyContinue
            Get-StoragePool shq -ErrorAction SilentlyContinue | Remove-StoragePool -Force -Confirm:$false
        }
        Get-Container -ErrorAction SilentlyContinue | Remove-Container -Force -ErrorAction SilentlyContinue
        Get-StorageVolume shp -Type custom -ErrorAction SilentlyContinue | Remove-StorageVolume -Confirm:$false -ErrorAction SilentlyContinue
        Get-StoragePool shp -ErrorAction SilentlyContinue | Remove-StoragePool -Force -Confirm:$false
        Remove-TestCephMappings
        Stop-TestCeph $script:ceph
    }
    BeforeEach {
        Invoke-Command -Session $script:s -ScriptBlock $script:joinShared -ArgumentList $env:CEPH_CONF, $script:shOsd
        # On the shared pool: a container with a snapshot and a mounted volume, 16 MiB of random bytes
        # in its filesystem (a copy would send them), and a counter whose secret only its processes know.
        New-SharedNetwork -Name lan -Subnet 10.205.21.0/24
        $script:mover = New-CephMover hc shp hvol 'head -c 16777216 /dev/urandom > /root/big; sync' lan
        $script:secret = $script:mover.Secret
        $script:ids = @{ container = Get-RbdId container_hc; volume = Get-RbdId custom_hvol }
        $script:sourceOwner = Get-Owner container_hc
        $script:signal = Join-Path $script:t.Base 'shared-fault'
        Remove-Item $script:signal -ErrorAction SilentlyContinue
    }
    AfterEach { Clear-TestMoveHosts $script:s }

    It 'a running container moves with only its checkpoint sent, keeping its memory, pids, listener and address; its snapshot and volume stay on the same images; post-copy is refused' {
        $sourceHash = (Invoke-ContainerExec hc -Command md5sum, /root/big) -split ' ' | Select-Object -First 1
        # 16 MiB of memory it keeps dirtying and checking, a TCP listener, and a peer here on the same bridge.
        Copy-Item $script:Dirty (Join-Path (Get-StorageVolume -Pool shp -Type container -Name hc).Path 'root/dirty')
        Invoke-ContainerExec -Name hc -Command sh, -c, '/root/dirty 16 /tmp/dirty </dev/null >/dev/null 2>&1 &' | Out-Null
        Start-ContainerWorkload hc server 'while :; do echo pong | nc -l -p 7777; done' -Pool shp
        $peer = New-Container -Name hpeer -Image busybox -Network lan -Start
        $ip = (Get-Container hc).Network[0].Addresses[0] -replace '/24$'
        Wait-Until { (Read-ContainerFile hc /tmp/dirty) -match '^ok \d+ 4096$' } -TimeoutSeconds 30 -Because 'the workload to fill its 16 MiB'
        $gen = [long]((Read-ContainerFile hc /tmp/dirty) -split ' ')[1]
        $pids = (Invoke-ContainerExec -Name hc -Command ps, -o, pid, args | Where-Object { $_ -match 'dirty|counter|server' }) -join "`n"
        $err = Get-CommandError { Move-Container hc -Destination $script:s -Mode PostCopy }
        Get-ErrorId $err | Should -Be 'PostCopyNotSupported'
        "$err" | Should -Match 'StopAndCopy'
        $err = Get-CommandError { Move-Container hc -Destination $script:s -Live }
        Get-ErrorId $err | Should -Be 'PreCopyNotSupported' -Because 'pre-copy is refused on a shared pool, on any kernel'
        "$err" | Should -Match 'ceph OSD pool .* StopAndCopy'
        (Get-Container hc).State | Should -Be 'Running' -Because 'a refused move changes nothing'

        $r = Move-Container hc -Destination $script:s -PassThru
        $r.State | Should -Be 'Running'
        $r.Network[0].Addresses[0] | Should -Be "$ip/24"
        $r.MoveBytesSent | Should -BeGreaterThan 0 -Because 'the checkpoint is sent'
        $r.MoveBytesSent | Should -BeLessThan 24MB -Because 'the checkpoint holds the 16 MiB of dirty memory, and a copy would add the 16 MiB random file'

        Get-Container hc -ErrorAction SilentlyContinue | Should -BeNullOrEmpty
        @(Get-StorageVolume shp | Where-Object Type -ne 'image') | Should -BeNullOrEmpty -Because 'the source forgot its rows'
        Get-RbdImages $script:shOsd | Should -Contain 'container_hc@snapshot_s1' -Because 'the source forgot the images, it did not delete them'
        Get-RbdId container_hc | Should -Be $script:ids.container
        Get-RbdId custom_hvol | Should -Be $script:ids.volume
        $owner = Get-Owner container_hc
        $owner | Should -Not -Be $script:sourceOwner
        $owner | Should -Not -Match '^handover'
        Get-Owner custom_hvol | Should -Be $owner

        $hash = Invoke-Command -Session $script:s -ScriptBlock { ((Invoke-ContainerExec hc -Command md5sum, /root/big) -split ' ')[0] }
        $hash | Should -Be $sourceHash
        (Invoke-Command -Session $script:s -ScriptBlock { (Invoke-ContainerExec -Name hc -Command ps, -o, pid, args | Where-Object { $_ -match 'dirty|counter|server' }) -join "`n" }) | Should -Be $pids
        Wait-Until { [long]((Read-Remote hc /tmp/dirty) -split ' ')[1] -gt $gen } -TimeoutSeconds 20 -Because 'the memory workload to go on'
        (Read-Remote hc /tmp/dirty) | Should -Match '^ok \d+ 4096$'
        (Invoke-ContainerExec -Name hpeer -Command sh, -c, "echo ping | nc -w 5 $ip 7777") | Should -Be 'pong' -Because 'same address, same listener'
        $there = Get-MovedCephMover hc shq hvol
        $there.State | Should -Be 'Running'
        $there.Pool | Should -Be 'shq' -Because 'it lands in the pool on the shared OSD pool, not the default pool'
        $there.Snapshots | Should -Be 's1'
        $there.Volume | Should -Be 'hc'
        $there.Data | Should -Be 'vol'
        $there.Pids | Should -Be $script:mover.Pids
        ($there.Count -split ' ')[1] | Should -Be $script:secret
        $there.V | Should -Be @('two', 'one') -Because 'the snapshot is the RBD snapshot the source took'
        # The image is the destination's now: the source neither makes nor maps one of that name.
        Get-ErrorId (Get-CommandError { Add-StorageVolume -Pool shp -Name hvol }) | Should -Be 'VolumeExists'
    }

    It 'a stopped container moves with no byte sent, also when its images have no owner records (made by an older ContainerPS)' {
        Stop-Container hc -Force
        & rados -p $script:shOsd rm containerps.owner.container_hc
        & rados -p $script:shOsd rm containerps.owner.custom_hvol
        Get-Owner container_hc | Should -BeNullOrEmpty
        $r = Move-Container hc -Destination $script:s -PassThru
        $r.MoveBytesSent | Should -Be 0
        $r.State | Should -Be 'Stopped'
        Get-Owner container_hc | Should -Not -BeNullOrEmpty
        Get-Owner container_hc | Should -Not -Be $script:sourceOwner
        Get-Owner custom_hvol | Should -Be (Get-Owner container_hc)
        Get-Container hc -ErrorAction SilentlyContinue | Should -BeNullOrEmpty
        Get-RbdId container_hc | Should -Be $script:ids.container
        $there = Invoke-Command -Session $script:s -ScriptBlock {
            Start-Container hc
            [pscustomobject]@{ V = (Invoke-ContainerExec hc -Command cat, /root/v) -join ''; Data = (Invoke-ContainerExec hc -Command cat, /data/f) -join '' }
        }
        $there.V | Should -Be 'two'
        $there.Data | Should -Be 'vol'
    }

    It 'source killed after handing the images over: its next command takes them back and runs the container on; the destination drops its part' {
        $remotePid = Join-Path $script:t.Base 'remote-pid'
        $child = Start-ChildPwsh -Script (& $script:sharedMoveScript '' '' $remotePid) -Environment @{ CONTAINERPS_FAULT = 'move.source.after-handover'; CONTAINERPS_FAULT_SIGNAL = $script:signal }
        try { (Wait-SignalFile -File $script:signal -Child $child -TimeoutSeconds 120) | Should -Be 'move.source.after-handover' }
        finally { if (-not $child.Process.HasExited) { $null = Stop-ChildHard $child } }
        Get-Owner container_hc | Should -Match '^handover ' -Because 'handed over, not yet taken'
        $remote = [int](Get-Content $remotePid)
        Wait-Until { -not (Test-Path "/proc/$remote") } -TimeoutSeconds 60 -Because 'the remote pwsh of the killed session to end' | Out-Null

        $null = Get-Container -WarningVariable w -WarningAction SilentlyContinue
        "$w" | Should -BeLike "*the move of container 'hc' was cut short before the destination took it: it runs here again from the move's checkpoint*"
        (Get-Container hc).State | Should -Be 'Running'
        ((Read-ContainerFile hc /tmp/count) -split ' ')[1] | Should -Be $script:secret
        Read-ContainerFile hc /data/f | Should -Be 'vol'
        Get-Owner container_hc | Should -Be $script:sourceOwner
        Get-Owner custom_hvol | Should -Be $script:sourceOwner
        $there = Get-SharedDestination
        $there.Names | Should -BeNullOrEmpty
        $there.Volumes | Should -BeNullOrEmpty
        $there.Incoming | Should -Be 0
        Get-RbdId container_hc | Should -Be $script:ids.container -Because 'the destination forgot the images, it did not delete them'
        Get-RbdId custom_hvol | Should -Be $script:ids.volume
    }

    It 'destination killed at <Point>: the source keeps the container stopped until the destination gave the images back, then restores it' -ForEach @(
        @{ Point = 'move.target.after-take' }
        @{ Point = 'move.target.after-restore' }  # (its copy restored there, frozen, holding the images' mounts)
    ) {
        $remotePid = Join-Path $script:t.Base 'remote-pid'
        $child = Start-ChildPwsh -Script (& $script:sharedMoveScript $Point $script:signal $remotePid)
        try {
            Wait-Until { Test-Path $script:signal } -TimeoutSeconds 120 -Because 'the destination to reach its fault point' | Out-Null
            $taken = Get-Owner container_hc
            $taken | Should -Not -Be $script:sourceOwner
            $taken | Should -Not -Match '^handover'
            & /usr/bin/kill -9 ([int](Get-Content $remotePid))
            $r = Wait-ChildPwsh $child -TimeoutSeconds 120
        } finally { if (-not $child.Process.HasExited) { $null = Stop-ChildHard $child } }
        # Move-Container says so itself, or the next command does; or pwsh's SSH client died with the
        # session (an unhandled IOException in SSHClientSessionTransportManager) after the source had
        # kept the container, before it could say so.
        $null = Get-Container -WarningVariable w -WarningAction SilentlyContinue
        if ("$($r.Stderr) $w" -notmatch 'the destination (holds|took) its RBD images') {
            $r.Stderr | Should -Match 'SSHClientSessionTransportManager' -Because 'the only other way the source ends is pwsh dying with its SSH client'
        }
        $c = Get-Container hc
        $c.State | Should -Be 'Stopped' -Because 'the destination holds the images: nothing here may write them'
        $c.Stateful | Should -BeTrue
        # Nothing here writes the images the destination holds: no start, no copy (a snapshot of them), no growth.
        Get-ErrorId (Get-CommandError { Start-Container hc }) | Should -Be 'VolumeBusy'
        Get-ErrorId (Get-CommandError { Copy-Container hc hc2 }) | Should -Be 'VolumeBusy'
        Get-ErrorId (Get-CommandError { Set-StorageVolume shp hvol -Config @{ size = '96MiB' } }) | Should -Be 'VolumeBusy'
        Get-RbdImages $script:shOsd | Where-Object { $_ -like 'container_hc@copy-*' } | Should -BeNullOrEmpty

        $there = Get-SharedDestination
        $there.Warning | Should -BeLike "*rolled back the unfinished arrival of container 'hc'*"
        $there.Names | Should -BeNullOrEmpty
        $there.Volumes | Should -BeNullOrEmpty
        Get-Owner container_hc | Should -Be $script:sourceOwner -Because 'the destination gave the images back before dropping its rows'
        Get-Owner custom_hvol | Should -Be $script:sourceOwner
        Get-RbdId container_hc | Should -Be $script:ids.container

        Start-Container hc
        (Get-Container hc).State | Should -Be 'Running'
        ((Read-ContainerFile hc /tmp/count) -split ' ')[1] | Should -Be $script:secret -Because 'Start-Container restores the processes the move saved'
        Read-ContainerFile hc /data/f | Should -Be 'vol'
        Invoke-DbQuery "select count(*) from containers where op_pid is not null or state <> 'ready'" | Should -Be '0'
    }
}

Describe 'Repair of a move after a SIGKILL on either side' {
    BeforeAll {
        <# The destination after its next command (which repairs its side): the warning, its containers, what is left in ROOT/incoming. #>
        function Get-DestinationAfterRepair {
            Invoke-Command -Session $script:s -ScriptBlock {
                $null = Get-Container -WarningVariable w -WarningAction SilentlyContinue
                [pscustomobject]@{ Warning = "$w"; Names = @(Get-Container).Name; Incoming = @(Get-ChildItem (Join-Path $env:CONTAINERPS_ROOT 'incoming') -ErrorAction SilentlyContinue).Count
                    Volumes = @(Get-StorageVolume | Where-Object Type -ne 'image' | ForEach-Object { "$($_.Type)/$($_.Name)" }) }
            }
        }

        <# The source kept mc whole: its snapshot, its volume (mounted, with its file), nothing of it on the destination. #>
        function Assert-SourceKeepsAll {
            (Get-ContainerSnapshot -Container mc).Name | Should -Be 'keep'
            (Get-Container mc).Devices.Volume | Should -Be 'mcdata'
            (Get-StorageVolume -Pool default -Name mcdata).UsedBy | Should -Be 'mc'
        }

        <# A move whose commit got no answer: mc stays Stopped here with its running state, and Start-Container restores those processes. #>
        function Assert-KeptUnconfirmed {
            $c = Get-Container mc
            $c.State | Should -Be 'Stopped'
            $c.Stateful | Should -BeTrue
            $c.StatusReason | Should -Match 'did not confirm that it kept it'
            Start-Container mc
            (Get-Container mc).State | Should -Be 'Running'
            ((Read-ContainerFile mc /tmp/count) -split ' ')[1] | Should -Be $script:secret -Because 'Start-Container restores the processes the move saved'
            Read-ContainerFile mc /data/f | Should -Be 'vol'
            Assert-SourceKeepsAll
            Invoke-DbQuery "select count(*) from containers where op_pid is not null or state <> 'ready'" | Should -Be '0'
        }
    }
    BeforeEach {
        New-SharedNetwork -Name lan -Subnet 10.205.13.0/24
        # With a snapshot and a mounted volume, which travel with it (or stay, when the move does not finish).
        $null = New-Container -Name mc -Image busybox -Network lan
        $null = Add-StorageVolume -Pool default -Name mcdata
        Mount-StorageVolume -Pool default -Name mcdata -Container mc -Path /data
        Start-Container mc
        $null = Invoke-ContainerExec mc -Command sh, -c, 'echo vol > /data/f'
        $null = New-ContainerSnapshot -Container mc -Name keep
        Start-ContainerWorkload mc counter 'S="$$-$RANDOM$RANDOM"; i=0; while :; do i=$((i+1)); echo "$i $S" > /tmp/count.new; mv /tmp/count.new /tmp/count; sleep 0.05; done'
        Wait-Until { (Read-ContainerFile mc /tmp/count) -match '^\d+ ' } -Because 'the counter' | Out-Null
        $script:secret = ((Read-ContainerFile mc /tmp/count) -split ' ')[1]
        $script:signal = Join-Path $script:t.Base 'move-fault'
        Remove-Item $script:signal -ErrorAction SilentlyContinue
        $script:moveScript = { param($Point, $Signal, $RemotePid) Get-MoveChildScript mc $Point $Signal $RemotePid }
    }
    AfterEach { Clear-TestMoveHosts $script:s }

    It 'source killed at <Point>: <Outcome>' -ForEach @(
        @{ Point = 'move.source.after-dump'; Outcome = 'the source runs it again from the move checkpoint, the destination drops its part' }
        @{ Point = 'move.source.before-commit'; Outcome = 'which host keeps it is unknown to the source: it stays Stopped there with its state, the destination drops its frozen copy, Start-Container restores it' }
        @{ Point = 'move.source.after-confirm'; Outcome = 'the move is finished: removed on the source, running on the destination' }
        @{ Point = 'move.source.after-volumes'; Outcome = 'the move is finished: the carried volume was removed, the container goes too; running on the destination' }
    ) {
        $remotePid = Join-Path $script:t.Base 'remote-pid'
        $child = Start-ChildPwsh -Script (& $script:moveScript '' '' $remotePid) -Environment @{ CONTAINERPS_FAULT = $Point; CONTAINERPS_FAULT_SIGNAL = $script:signal }
        try { (Wait-SignalFile -File $script:signal -Child $child -TimeoutSeconds 120) | Should -Be $Point }
        finally { if (-not $child.Process.HasExited) { $null = Stop-ChildHard $child } }
        # Its session ends with it: the destination's pwsh goes too (by itself, a moment later).
        $remote = [int](Get-Content $remotePid)
        Wait-Until { -not (Test-Path "/proc/$remote") } -TimeoutSeconds 60 -Because 'the remote pwsh of the killed session to end' | Out-Null

        $null = Get-Container -WarningVariable w -WarningAction SilentlyContinue
        $there = Invoke-Command -Session $script:s -ScriptBlock {
            $null = Get-Container -WarningAction SilentlyContinue # the destination's next command repairs its side
            [pscustomobject]@{ Names = @(Get-Container | ForEach-Object { "$($_.Name):$($_.State)" }); Incoming = @(Get-ChildItem (Join-Path $env:CONTAINERPS_ROOT 'incoming') -ErrorAction SilentlyContinue).Count
                Volumes = @(Get-StorageVolume | Where-Object Type -ne 'image' | ForEach-Object { "$($_.Type)/$($_.Name)" }) }
        }
        $there.Incoming | Should -Be 0
        if ($Point -eq 'move.source.after-dump') {
            "$w" | Should -BeLike "*Repaired an interrupted operation: the move of container 'mc' was cut short before the destination took it: it runs here again from the move's checkpoint*"
            $there.Names | Should -BeNullOrEmpty
            $there.Volumes | Should -BeNullOrEmpty -Because 'the destination drops what arrived of the container, its snapshot and its volume'
            (Get-Container mc).State | Should -Be 'Running'
            ((Read-ContainerFile mc /tmp/count) -split ' ')[1] | Should -Be $script:secret -Because 'the same processes run on'
            Read-ContainerFile mc /data/f | Should -Be 'vol'
            Assert-SourceKeepsAll
        } elseif ($Point -eq 'move.source.before-commit') {
            "$w" | Should -BeLike "*Repaired an interrupted operation: the move of container 'mc' was cut short as the destination took it, so which host keeps it is unknown: container 'mc' stays here Stopped, its running state saved*"
            $there.Names | Should -BeNullOrEmpty -Because 'the destination never got the commit: it drops its copy'
            $there.Volumes | Should -BeNullOrEmpty
            Assert-KeptUnconfirmed
        } else {
            "$w" | Should -BeLike "*Repaired an interrupted operation: finished the unfinished move of container 'mc' (the destination had confirmed it): removed it here*"
            Get-Container mc -ErrorAction SilentlyContinue | Should -BeNullOrEmpty
            @(Get-StorageVolume -Pool default | Where-Object Type -ne 'image') | Should -BeNullOrEmpty -Because 'its snapshot and its volume went with it'
            $there.Names | Should -Be 'mc:Running'
            $there.Volumes | Sort-Object | Should -Be @('container/mc', 'custom/mcdata', 'snapshot/mc@keep')
            ((Read-Remote mc /tmp/count) -split ' ')[1] | Should -Be $script:secret
            Read-Remote mc /data/f | Should -Be 'vol'
        }
        Invoke-DbQuery "select count(*) from containers where op_pid is not null or state <> 'ready'" | Should -Be '0'
    }

    It 'destination killed at move.target.after-restore: the source runs on, the destination drops its copy at its next command' {
        $remotePid = Join-Path $script:t.Base 'remote-pid'
        $child = Start-ChildPwsh -Script (& $script:moveScript 'move.target.after-restore' $script:signal $remotePid)
        try {
            Wait-Until { Test-Path $script:signal } -TimeoutSeconds 120 -Because 'the destination to reach its fault point' | Out-Null
            # The arrived copy is frozen until the source commits: its counter stands still.
            $counter = Invoke-Command -Session $script:s -ScriptBlock {
                $f = Join-Path (Get-StorageVolume -Pool default -Type container -Name mc).Path 'tmp/count'
                $a = (Get-Content -Raw $f).Trim(); Start-Sleep -Milliseconds 800; [pscustomobject]@{ A = $a; B = (Get-Content -Raw $f).Trim() }
            }
            $counter.A | Should -Match "^\d+ $([regex]::Escape($script:secret))$"
            $counter.B | Should -Be $counter.A -Because 'the copy on the destination stays frozen until the source commits the move'
            & /usr/bin/kill -9 ([int](Get-Content $remotePid))
            $r = Wait-ChildPwsh $child -TimeoutSeconds 120
        } finally { if (-not $child.Process.HasExited) { $null = Stop-ChildHard $child } }
        # Either Move-Container resumes the source itself, or pwsh's SSH client dies with the session
        # (an unhandled IOException "Broken pipe" in SSHClientSessionTransportManager.CloseConnection,
        # seen in CI) and the next command on the source resumes it from the move's checkpoint.
        $null = Get-Container -WarningVariable w -WarningAction SilentlyContinue
        if ($r.Stderr -notmatch 'runs on the source again') {
            $r.Stderr | Should -Match 'SSHClientSessionTransportManager' -Because 'the only other way the source ends is pwsh dying with its SSH client'
            "$w" | Should -BeLike "*Repaired an interrupted operation: the move of container 'mc' was cut short before the destination took it: it runs here again from the move's checkpoint*"
        }
        (Get-Container mc).State | Should -Be 'Running'
        ((Read-ContainerFile mc /tmp/count) -split ' ')[1] | Should -Be $script:secret
        $there = Get-DestinationAfterRepair
        $there.Warning | Should -BeLike "*Repaired an interrupted operation: rolled back the unfinished arrival of container 'mc' moved from another host (the source keeps it)*"
        $there.Names | Should -BeNullOrEmpty
        $there.Incoming | Should -Be 0
        $there.Volumes | Should -BeNullOrEmpty
        Assert-SourceKeepsAll
    }

    It 'destination killed at <Point> (unpacking what arrived): the source runs on with everything, the destination drops the part it made' -ForEach @(
        @{ Point = 'move.target.after-snapshot' }
        @{ Point = 'move.target.after-volume' }
    ) {
        $remotePid = Join-Path $script:t.Base 'remote-pid'
        $child = Start-ChildPwsh -Script (& $script:moveScript $Point $script:signal $remotePid)
        try {
            Wait-Until { Test-Path $script:signal } -TimeoutSeconds 120 -Because 'the destination to reach its fault point' | Out-Null
            $half = Invoke-Command -Session $script:s -ScriptBlock { @(Get-StorageVolume | Where-Object Type -ne 'image' | ForEach-Object { "$($_.Type)/$($_.Name)" }) }
            $half | Should -Contain 'snapshot/mc@keep' -Because 'the snapshot was made before the fault point'
            & /usr/bin/kill -9 ([int](Get-Content $remotePid))
            $r = Wait-ChildPwsh $child -TimeoutSeconds 120
        } finally { if (-not $child.Process.HasExited) { $null = Stop-ChildHard $child } }
        $null = Get-Container -WarningVariable w -WarningAction SilentlyContinue
        if ($r.Stderr -notmatch 'runs on the source again') {
            $r.Stderr | Should -Match 'SSHClientSessionTransportManager' -Because 'the only other way the source ends is pwsh dying with its SSH client'
            "$w" | Should -BeLike "*Repaired an interrupted operation: the move of container 'mc' was cut short before the destination took it: it runs here again from the move's checkpoint*"
        }
        (Get-Container mc).State | Should -Be 'Running'
        ((Read-ContainerFile mc /tmp/count) -split ' ')[1] | Should -Be $script:secret
        Read-ContainerFile mc /data/f | Should -Be 'vol'
        Assert-SourceKeepsAll
        $there = Get-DestinationAfterRepair
        $there.Warning | Should -BeLike "*Repaired an interrupted operation: rolled back the unfinished creation of container 'mc'*"
        $there.Names | Should -BeNullOrEmpty
        $there.Incoming | Should -Be 0
        $there.Volumes | Should -BeNullOrEmpty -Because 'the partial snapshot and volume go with the partial container'
        Invoke-DbQuery "select count(*) from containers where op_pid is not null or state <> 'ready'" | Should -Be '0'
    }

    It 'destination killed while it commits (move.target.commit): the source keeps it Stopped with its state, the destination drops its copy, Start-Container restores it on the source' {
        $remotePid = Join-Path $script:t.Base 'remote-pid'
        $child = Start-ChildPwsh -Script (& $script:moveScript 'move.target.commit' $script:signal $remotePid)
        try {
            Wait-Until { Test-Path $script:signal } -TimeoutSeconds 120 -Because 'the destination to reach its fault point' | Out-Null
            & /usr/bin/kill -9 ([int](Get-Content $remotePid))
            $r = Wait-ChildPwsh $child -TimeoutSeconds 120
        } finally { if (-not $child.Process.HasExited) { $null = Stop-ChildHard $child } }
        $r.TimedOut | Should -BeFalse
        $null = Get-Container -WarningVariable w -WarningAction SilentlyContinue
        if ($r.Stderr -notmatch 'did not answer when told to keep it') {
            $r.Stderr | Should -Match 'SSHClientSessionTransportManager' -Because 'the only other way the source ends is pwsh dying with its SSH client'
            "$w" | Should -BeLike "*Repaired an interrupted operation: the move of container 'mc' was cut short as the destination took it, so which host keeps it is unknown*"
        }
        $there = Get-DestinationAfterRepair
        $there.Warning | Should -BeLike "*Repaired an interrupted operation: rolled back the unfinished arrival of container 'mc' moved from another host (the source keeps it)*"
        $there.Names | Should -BeNullOrEmpty
        $there.Incoming | Should -Be 0
        $there.Volumes | Should -BeNullOrEmpty
        Assert-KeptUnconfirmed
    }

    It 'Ctrl+C while the destination works ends Move-Container at once: the source runs on, the destination drops its part after its session ends' {
        $result = Join-Path $script:t.Base 'stop-result'
        Remove-Item $result, (Join-Path $script:t.Base 'remote-pid') -ErrorAction SilentlyContinue
        $remotePid = Join-Path $script:t.Base 'remote-pid'
        # In a child pwsh: the session whose remote end is killed afterwards stays out of the test's process.
        $script = (& $script:moveScript 'move.target.after-restore' $script:signal $remotePid) -replace '; Move-Container mc -Destination \$s -DataThroughSession$', ''
        $script += "; `$ps = [powershell]::Create(); `$null = `$ps.AddScript('Import-Module ''$(Get-ModulePath)''; Move-Container mc -Destination `$args[0] -DataThroughSession').AddArgument(`$s); " +
            "`$h = `$ps.BeginInvoke(); `$deadline = [DateTime]::UtcNow.AddSeconds(120); while (-not (Test-Path '$($script:signal)') -and [DateTime]::UtcNow -lt `$deadline) { Start-Sleep -Milliseconds 50 }; " +
            "`$clock = [Diagnostics.Stopwatch]::StartNew(); `$ps.Stop(); Set-Content '$result' `"stopped `$([int]`$clock.Elapsed.TotalMilliseconds) `$(`$ps.InvocationStateInfo.State) `$(`$ps.Streams.Error)`""
        $child = Start-ChildPwsh -Script $script
        try {
            Wait-Until { Test-Path $result } -TimeoutSeconds 180 -Because 'the child to stop its Move-Container' | Out-Null
            & /usr/bin/kill -9 ([int](Get-Content $remotePid)) # else the child's exit waits for the session it cannot close
            $r = Wait-ChildPwsh $child -TimeoutSeconds 120
            $r | Add-Member Result (Get-Content -Raw $result)
        }
        finally {
            if (-not $child.Process.HasExited) { $null = Stop-ChildHard $child }
            if ((Test-Path $remotePid) -and (Test-Path "/proc/$(Get-Content $remotePid)")) { & /usr/bin/kill -9 ([int](Get-Content $remotePid)) }
        }
        $r.Result | Should -Match 'stopped \d+ Stopped' -Because "the child wrote: $($r.Result) $($r.Stderr)"
        [int]($r.Result -replace '(?s).*stopped (\d+).*', '$1') | Should -BeLessThan 10000 -Because 'Ctrl+C does not wait for the destination, which sleeps at its fault point'
        (Get-Container mc).State | Should -Be 'Running'
        ((Read-ContainerFile mc /tmp/count) -split ' ')[1] | Should -Be $script:secret -Because 'the source resumed the same processes'
        Invoke-DbQuery "select count(*) from containers where op_pid is not null or state <> 'ready'" | Should -Be '0'
        $there = Get-DestinationAfterRepair
        $there.Warning | Should -BeLike "*rolled back the unfinished arrival of container 'mc'*"
        $there.Names | Should -BeNullOrEmpty
    }
}

Describe 'Move-Container -Mode PostCopy (CRIU lazy pages)' {
    BeforeAll {
        $script:lazy = (Test-ContainerCheckpoint).LazyPages
        <# A running container with the 256 MB dirtying workload, a counter with a secret, a listener; what the test checks after the move. #>
        function New-PostCopyWorkload([string] $Name, [string] $Subnet) {
            New-SharedNetwork -Name lan -Subnet $Subnet
            $c = New-Container -Name $Name -Image busybox -Network lan -Start
            Copy-Item $script:Dirty (Join-Path (Get-StorageVolume -Pool default -Type container -Name $Name).Path 'root/dirty')
            Invoke-ContainerExec -Name $Name -Command sh, -c, '/root/dirty 256 /tmp/dirty </dev/null >/dev/null 2>&1 &' | Out-Null
            Start-ContainerWorkload $Name counter 'S="$$-$RANDOM$RANDOM"; i=0; while :; do i=$((i+1)); echo "$i $S" > /tmp/count.new; mv /tmp/count.new /tmp/count; sleep 0.05; done'
            Start-ContainerWorkload $Name server 'while :; do echo pong | nc -l -p 7777; done'
            Wait-Until { (Read-ContainerFile $Name /tmp/dirty) -match '^ok \d+ 65536$' } -TimeoutSeconds 30 -Because 'the workload to fill its 256 MB' | Out-Null
            Wait-Until { (Read-ContainerFile $Name /tmp/count) -match '^\d+ ' } -Because 'the counter' | Out-Null
            [pscustomobject]@{
                Ip     = $c.Network[0].Addresses[0] -replace '/24$'
                Secret = ((Read-ContainerFile $Name /tmp/count) -split ' ')[1]
                Gen    = [long]((Read-ContainerFile $Name /tmp/dirty) -split ' ')[1]
                Pids   = (Invoke-ContainerExec -Name $Name -Command ps, -o, pid, args | Where-Object { $_ -match 'dirty|counter|server' }) -join "`n"
            }
        }
        <# A child pwsh that moves pc by post-copy through a session of its own (killed with it); the remote pwsh writes its pid to RemotePid. #>
        function Start-PostCopyChild([string] $Point, [string] $RemotePoint = '') {
            $script:remotePid = Join-Path $script:t.Base 'remote-pid'
            $script:signal = Join-Path $script:t.Base 'postcopy-fault'
            Remove-Item $script:signal, $script:remotePid -ErrorAction SilentlyContinue
            $script = "`$s = New-PSSession -HostName 127.0.0.1 -Port $($script:Ssh.Port) -UserName root -KeyFilePath '$($script:Ssh.KeyFile)' " +
                "-Options @{ StrictHostKeyChecking = 'no'; UserKnownHostsFile = '/dev/null'; LogLevel = 'ERROR' }; " +
                "Invoke-Command -Session `$s -ScriptBlock { param(`$m, `$pf, `$rp, `$sig) if (`$rp) { `$env:CONTAINERPS_FAULT = `$rp; `$env:CONTAINERPS_FAULT_SIGNAL = `$sig }; Set-Content `$pf `$PID; Import-Module `$m } " +
                "-ArgumentList '$(Get-ModulePath)', '$script:remotePid', '$RemotePoint', '$script:signal'; " +
                "Move-Container pc -Destination `$s -Mode PostCopy"
            $child = Start-ChildPwsh -Script $script -Environment $(if ($Point) { @{ CONTAINERPS_FAULT = $Point; CONTAINERPS_FAULT_SIGNAL = $script:signal } } else { @{} })
            if ($Point) { (Wait-SignalFile -File $script:signal -Child $child -TimeoutSeconds 120) | Should -Be $Point }
            else { Wait-Until { Test-Path $script:signal } -TimeoutSeconds 120 -Because 'the destination to reach its fault point' | Out-Null }
            $child
        }
        <# Kills the child (the source's pwsh; CRIU goes on by itself) and waits for its session's remote pwsh to end. #>
        function Stop-PostCopyChild($Child) {
            if (-not $Child.Process.HasExited) { $null = Stop-ChildHard $Child }
            $remote = [int](Get-Content $script:remotePid)
            Wait-Until { -not (Test-Path "/proc/$remote") } -TimeoutSeconds 60 -Because 'the remote pwsh of the killed session to end' | Out-Null
        }
        <# The destination after its next command: its warning, containers with states, what is left in ROOT/incoming. #>
        function Get-PostCopyDestination {
            Invoke-Command -Session $script:s -ScriptBlock {
                $null = Get-Container -WarningVariable w -WarningAction SilentlyContinue
                [pscustomobject]@{ Warning = "$w"; Names = @(Get-Container | ForEach-Object { "$($_.Name):$($_.State)" })
                    Incoming = @(Get-ChildItem (Join-Path $env:CONTAINERPS_ROOT 'incoming') -ErrorAction SilentlyContinue).Count }
            }
        }
        function Get-MoveProcesses { Get-TestMoveProcesses $script:t.Base }
    }
    AfterEach {
        Stop-ChildPwsh
        Invoke-Command -Session $script:s -ScriptBlock {
            Get-Container -ErrorAction SilentlyContinue -WarningAction SilentlyContinue | Remove-Container -Force -ErrorAction SilentlyContinue
            Get-ContainerNetwork -ErrorAction SilentlyContinue | Remove-ContainerNetwork -ErrorAction SilentlyContinue
        }
        Get-Container -ErrorAction SilentlyContinue -WarningAction SilentlyContinue | Remove-Container -Force -ErrorAction SilentlyContinue
        Get-ContainerNetwork -ErrorAction SilentlyContinue | Remove-ContainerNetwork -ErrorAction SilentlyContinue
    }

    It 'this host can serve lazy pages (userfaultfd)' {
        $script:lazy | Should -BeTrue -Because 'post-copy needs uffd-noncoop; Test-ContainerCheckpoint reports it'
    }

    It 'post-copy of a running container with 256 MB of dirty memory: it runs on the destination before its memory arrives, and nothing is lost' {
        $w = New-PostCopyWorkload -Name pc -Subnet 10.205.21.0/24
        $peer = New-Container -Name peer -Image busybox -Network lan -Start
        $all = Move-Container -Name pc -Destination $script:s -Mode PostCopy -PassThru -Verbose -ErrorAction Stop 4>&1 # a failed move fails here, with CRIU's errors
        $m = $all | Where-Object { $_ -isnot [System.Management.Automation.VerboseRecord] }
        $verbose = ($all | Where-Object { $_ -is [System.Management.Automation.VerboseRecord] }) -join "`n"
        Write-Host "    post-copy 256 MB: downtime $($m.MoveDowntimeMs) ms, total $($m.MoveTotalMs) ms, $($m.MoveBytesSent) bytes on the data link"
        $verbose | Should -Match 'page server on 127\.0\.0\.1 \(TLS\)'
        $m.MoveMode | Should -Be 'PostCopy'
        $m.State | Should -Be 'Running'
        $m.Network[0].Addresses[0] | Should -Be "$($w.Ip)/24"
        $m.MoveDowntimeMs | Should -BeLessThan $m.MoveTotalMs
        $m.MoveBytesSent | Should -BeLessThan 64MB -Because 'the memory (256 MB that does not compress) goes on the page link, not the data link'

        (Get-CommandError { Get-Container -Name pc }).FullyQualifiedErrorId | Should -BeLike 'ContainerNotFound,*'
        $remotePids = Invoke-Command -Session $script:s -ScriptBlock { (Invoke-ContainerExec -Name pc -Command ps, -o, pid, args | Where-Object { $_ -match 'dirty|counter|server' }) -join "`n" }
        $remotePids | Should -Be $w.Pids
        Wait-Until { [long]((Read-Remote pc /tmp/dirty) -split ' ')[1] -gt $w.Gen + 1 } -TimeoutSeconds 30 -Because 'the memory workload to go on, every page checked'
        (Read-Remote pc /tmp/dirty) | Should -Match '^ok \d+ 65536$'
        ((Read-Remote pc /tmp/count) -split ' ')[1] | Should -Be $w.Secret
        (Invoke-ContainerExec -Name peer -Command sh, -c, "echo ping | nc -w 5 $($w.Ip) 7777") | Should -Be 'pong'
        # Nothing of the move is left: no CRIU, no daemon, no key, no incoming directory.
        @(Get-MoveProcesses).Count | Should -Be 0
        Invoke-Command -Session $script:s -ScriptBlock { @(Get-ChildItem (Join-Path $env:CONTAINERPS_ROOT 'incoming') -ErrorAction SilentlyContinue).Count } | Should -Be 0
        @(Get-ChildItem -Recurse -Force $script:t.Base -Include 'page-server*', 'criu.conf' -ErrorAction SilentlyContinue).Count | Should -Be 0
    }

    It 'the page server answers only the destination: bound to the session''s address, TLS with the move''s key; a stranger only ends the move, and the container runs on here' {
        $w = New-PostCopyWorkload -Name pc -Subnet 10.205.22.0/24
        $child = Start-PostCopyChild 'move.source.pages-ready'
        try {
            $dir = @(Get-ChildItem (Join-Path $env:CONTAINERPS_ROOT 'checkpoints') -Directory | ForEach-Object { Join-Path $_.FullName 'move' } | Where-Object { Test-Path (Join-Path $_ 'page-server') })[0]
            $address, $port = (Get-Content (Join-Path $dir 'page-server')) -split ' '
            $address | Should -Be '127.0.0.1' -Because 'the session reached the destination over loopback'
            # CRIU alone would listen on every address in lazy mode: the configuration binds it.
            $listen = @(& ss -ltnH "sport = :$port" | ForEach-Object { ($_ -split '\s+')[3] })
            $listen | Should -Be "127.0.0.1:$port"
            # A host user who is not root: no key to read, and a request in the clear gets no page.
            & setpriv --reuid=65534 --regid=65534 --clear-groups cat (Join-Path $dir 'page-server.key') 2>$null
            $LASTEXITCODE | Should -Not -Be 0
            $got = & setpriv --reuid=65534 --regid=65534 --clear-groups bash -c "exec 3<>/dev/tcp/127.0.0.1/$port || exit 9; printf '\x01\x00\x00\x00\x00\x00\x00\x00\x01\x00\x00\x00\x00\x10\x00\x00' >&3; timeout 5 cat <&3 | wc -c"
            $LASTEXITCODE | Should -Be 0
            [int]$got | Should -BeLessThan 100 -Because 'at most a TLS alert comes back, never memory'
        } finally { Stop-PostCopyChild $child }
        # The failed handshake ended the dump: CRIU resumed the processes; the next command tidies up.
        $null = Get-Container -WarningVariable warn -WarningAction SilentlyContinue
        "$warn" | Should -BeLike "*the post-copy move of container 'pc' was cut short before the destination resumed it: it runs here again*"
        (Get-Container pc).State | Should -Be 'Running'
        ((Read-ContainerFile pc /tmp/count) -split ' ')[1] | Should -Be $w.Secret
        Wait-Until { [long]((Read-ContainerFile pc /tmp/dirty) -split ' ')[1] -gt $w.Gen + 1 } -TimeoutSeconds 30 -Because 'the workload to run on here' | Out-Null
        (Read-ContainerFile pc /tmp/dirty) | Should -Match '^ok \d+ 65536$'
        $there = Get-PostCopyDestination
        $there.Names | Should -BeNullOrEmpty
        $there.Incoming | Should -Be 0
        @(Get-MoveProcesses).Count | Should -Be 0
    }

    It 'source killed after the destination resumed it: the pages still all arrive, the destination keeps it running, the source removes its copy' {
        $w = New-PostCopyWorkload -Name pc -Subnet 10.205.23.0/24
        $child = Start-PostCopyChild 'move.source.post-copy-resumed'
        Stop-PostCopyChild $child
        # CRIU serves on by itself: the source's commands leave the move alone until its dump has ended.
        $warn = Wait-Until { $null = Get-Container -WarningVariable v -WarningAction SilentlyContinue; "$v" } -TimeoutSeconds 60 -Because 'the repair once the last page is served'
        "$warn" | Should -BeLike "*finished the post-copy move of container 'pc': the destination fetched all of its memory and runs it; removed it here*"
        Get-Container pc -ErrorAction SilentlyContinue | Should -BeNullOrEmpty
        $there = Get-PostCopyDestination
        $there.Warning | Should -BeLike "*finished the post-copy arrival of container 'pc': all of its memory had arrived, it runs here*"
        $there.Names | Should -Be 'pc:Running'
        $there.Incoming | Should -Be 0
        ((Read-Remote pc /tmp/count) -split ' ')[1] | Should -Be $w.Secret
        Wait-Until { [long]((Read-Remote pc /tmp/dirty) -split ' ')[1] -gt $w.Gen + 1 } -TimeoutSeconds 30 -Because 'the workload to go on there' | Out-Null
        (Read-Remote pc /tmp/dirty) | Should -Match '^ok \d+ 65536$'
        @(Get-MoveProcesses).Count | Should -Be 0
    }

    It 'the source dies while the destination fetches: the destination stops its copy at once (no missing page is ever read as zeros), both keep it stopped' {
        $null = New-PostCopyWorkload -Name pc -Subnet 10.205.24.0/24
        $child = Start-PostCopyChild 'move.source.post-copy-resumed'
        try {
            # The source host dies: its CRIU, which serves the pages, is killed mid-transfer (stopped first, so the transfer cannot finish meanwhile).
            $criu = @(Get-MoveProcesses | Where-Object { (Get-Content "/proc/$($_.Id)/cmdline" -Raw) -match '^criu: dump' -or ((Get-Content "/proc/$($_.Id)/cmdline" -Raw) -replace "`0", ' ') -match 'criu.*dump' })
            $criu.Count | Should -BeGreaterThan 0
            foreach ($p in $criu) { & /usr/bin/kill -STOP $p.Id }
            foreach ($p in $criu) { & /usr/bin/kill -9 $p.Id }
        } finally { Stop-PostCopyChild $child }
        $there = Get-PostCopyDestination
        $there.Warning | Should -BeLike "*the post-copy arrival of container 'pc' did not get all of its memory: it was stopped here*"
        $there.Names | Should -Be 'pc:Error'
        $status = Invoke-Command -Session $script:s -ScriptBlock { Get-Content (Join-Path (Get-StorageVolume -Pool default -Type container -Name pc).Path 'tmp/dirty') }
        $status | Should -Not -Match 'corrupt' -Because 'the watcher killed the container as the daemon failed, before a page that never came was read'
        $warn = Wait-Until { $null = Get-Container -WarningVariable v -WarningAction SilentlyContinue; "$v" } -TimeoutSeconds 60 -Because 'the repair once CRIU is gone'
        "$warn" | Should -BeLike "*the post-copy move of container 'pc' was cut short after the destination resumed it*"
        (Get-Container pc).State | Should -Not -Be 'Running'
        @(Get-MoveProcesses).Count | Should -Be 0
    }

    It 'destination killed right after it resumed the container (move.target.after-restore): it keeps it, with all of its memory; the source never runs it again' {
        $w = New-PostCopyWorkload -Name pc -Subnet 10.205.25.0/24
        $child = Start-PostCopyChild '' 'move.target.after-restore'
        try {
            & /usr/bin/kill -9 ([int](Get-Content $script:remotePid))
            $r = Wait-ChildPwsh $child -TimeoutSeconds 180
        } finally { if (-not $child.Process.HasExited) { $null = Stop-ChildHard $child } }
        # The source hears nothing back, but its CRIU served every page: the destination has resumed it.
        # Either Move-Container says so, or pwsh's SSH client dies with the session and the source's next command finds out.
        $warn = Wait-Until { $null = Get-Container -WarningVariable v -WarningAction SilentlyContinue; if ("$v" -or $r.Stderr -match 'MoveUnconfirmed|fetched all of its memory') { "$v|" } } -TimeoutSeconds 90 -Because 'the source to settle the move'
        if ($r.Stderr -match 'fetched all of its memory, so it runs there') {
            (Get-Container pc).State | Should -Be 'Stopped' -Because 'its processes went to the destination'
        } else {
            $r.Stderr | Should -Match 'SSHClientSessionTransportManager' -Because 'the only other way the source ends is pwsh dying with its SSH client'
            "$warn" | Should -BeLike "*finished the post-copy move of container 'pc': the destination fetched all of its memory and runs it; removed it here*"
        }
        $there = Get-PostCopyDestination
        $there.Warning | Should -BeLike "*finished the post-copy arrival of container 'pc': all of its memory had arrived, it runs here*"
        $there.Names | Should -Be 'pc:Running'
        ((Read-Remote pc /tmp/count) -split ' ')[1] | Should -Be $w.Secret
        Wait-Until { [long]((Read-Remote pc /tmp/dirty) -split ' ')[1] -gt $w.Gen + 1 } -TimeoutSeconds 30 -Because 'the workload to go on there' | Out-Null
        (Read-Remote pc /tmp/dirty) | Should -Match '^ok \d+ 65536$'
        @(Get-MoveProcesses).Count | Should -Be 0
    }

    It 'a stopped container moves cold with -Mode PostCopy (there is no memory to fetch)' {
        $null = New-Container -Name cold -Image busybox
        Move-Container -Name cold -Destination $script:s -Mode PostCopy
        Invoke-Command -Session $script:s -ScriptBlock { (Get-Container cold).State } | Should -Be 'Stopped'
    }

    It '-Mode PostCopy with -DataThroughSession is refused before anything changes' {
        $null = New-Container -Name pcs -Image busybox -Start
        $e = Get-CommandError { Move-Container -Name pcs -Destination $script:s -Mode PostCopy -DataThroughSession }
        $e.FullyQualifiedErrorId | Should -BeLike 'PostCopyNotSupported,*'
        $e.CategoryInfo.Category | Should -Be 'NotImplemented'
        (Get-Container pcs).State | Should -Be 'Running'
        Invoke-Command -Session $script:s -ScriptBlock { @(Get-Container).Count } | Should -Be 0
    }
}
