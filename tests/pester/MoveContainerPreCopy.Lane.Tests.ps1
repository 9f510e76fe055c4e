#Requires -Version 7.4
# Move-Container -Live (pre-copy) between two ContainerPS hosts on one machine, as MoveContainer.Tests
# does it (a second state root reached by PowerShell remoting over SSH to 127.0.0.1, one bridge for
# both). Lane only: pre-copy needs the kernel's soft-dirty memory tracking (CONFIG_MEM_SOFT_DIRTY),
# which the stock Debian kernel of the TestVm guest has. Real CRIU pre-dumps, real remoting.
# Run in a private mount namespace (unshare --mount --propagation private), as build.ps1 does.

BeforeAll {
    Import-Module (Join-Path $PSScriptRoot 'TestHelpers.psm1') -Force
    Import-Module (Get-ModulePath) -Force

    function Read-Remote([string] $Container, [string] $File) { Read-RemoteContainerFile $script:s $Container $File }

    <#
    A running container on bridge network lan (the same on both hosts) with the dirtying workload
    (MB megabytes; each round writes the same Percent of its pages: its hot set), a counter whose secret only its
    processes know, and a TCP listener; what the tests check after the move.
    #>
    function New-PreCopyWorkload([string] $Name, [string] $Subnet, [int] $MB = 256, [int] $Percent = 100) {
        $bridge = 'cpp' + [guid]::NewGuid().ToString('N').Substring(0, 8)
        Add-TestBridge $bridge
        $make = {
            param($br, $sub)
            $conf = @{ cniVersion = '1.0.0'; plugins = @(@{ type = 'bridge'; bridge = $br; isGateway = $false; isDefaultGateway = $false; ipMasq = $false
                        ipam = @{ type = 'host-local'; dataDir = (Join-Path $env:CONTAINERPS_ROOT 'ipam'); ranges = @(, @(@{ subnet = $sub })) } }) }
            New-ContainerNetwork -Name lan -Config $conf | Out-Null
        }
        & $make $bridge $Subnet
        Invoke-Command -Session $script:s -ScriptBlock $make -ArgumentList $bridge, $Subnet
        $c = New-Container -Name $Name -Image busybox -Network lan -Start
        Copy-Item $script:Dirty (Join-Path (Get-StorageVolume -Pool default -Type container -Name $Name).Path 'root/dirty')
        Invoke-ContainerExec -Name $Name -Command sh, -c, "/root/dirty $MB /tmp/dirty $Percent </dev/null >/dev/null 2>&1 &" | Out-Null
        Start-ContainerWorkload $Name counter 'S="$$-$RANDOM$RANDOM"; i=0; while :; do i=$((i+1)); echo "$i $S" > /tmp/count.new; mv /tmp/count.new /tmp/count; sleep 0.05; done'
        Start-ContainerWorkload $Name server 'while :; do echo pong | nc -l -p 7777; done'
        $pages = $MB * 256
        Wait-Until { (Read-ContainerFile $Name /tmp/dirty) -match "^ok \d+ $pages$" } -TimeoutSeconds 120 -Because "the workload to fill its $MB MB" | Out-Null
        Wait-Until { (Read-ContainerFile $Name /tmp/count) -match '^\d+ ' } -Because 'the counter' | Out-Null
        [pscustomobject]@{
            Ip     = $c.Network[0].Addresses[0] -replace '/24$'
            Pages  = $pages
            Secret = ((Read-ContainerFile $Name /tmp/count) -split ' ')[1]
            Gen    = [long]((Read-ContainerFile $Name /tmp/dirty) -split ' ')[1]
            Pids   = (Invoke-ContainerExec -Name $Name -Command ps, -o, pid, args | Where-Object { $_ -match 'dirty|counter|server' }) -join "`n"
        }
    }

    <# The container runs on here as New-PreCopyWorkload left it: same processes, same memory (still being written and checked), no image of the move left. #>
    function Assert-SourceUnchanged([string] $Name, $W) {
        (Get-Container $Name).State | Should -Be 'Running'
        (Invoke-ContainerExec -Name $Name -Command ps, -o, pid, args | Where-Object { $_ -match 'dirty|counter|server' }) -join "`n" | Should -Be $W.Pids
        ((Read-ContainerFile $Name /tmp/count) -split ' ')[1] | Should -Be $W.Secret
        $gen = [long]((Read-ContainerFile $Name /tmp/dirty) -split ' ')[1]
        Wait-Until { [long]((Read-ContainerFile $Name /tmp/dirty) -split ' ')[1] -gt $gen } -TimeoutSeconds 60 -Because 'the memory workload to go on' | Out-Null
        Read-ContainerFile $Name /tmp/dirty | Should -Match "^ok \d+ $($W.Pages)$" -Because 'every page still holds what it was last written'
        @(Get-MoveImages $script:t.Root) | Should -BeNullOrEmpty -Because 'the rounds'' images are removed here'
    }

    <# What a move left in a state root: its state directory (with the rounds' pre.I) below ROOT/checkpoints. #>
    function Get-MoveImages([string] $Root) {
        Get-ChildItem -Directory (Join-Path $Root 'checkpoints') -ErrorAction SilentlyContinue | ForEach-Object { Get-ChildItem -Directory $_.FullName -Filter 'move*' } | ForEach-Object FullName
    }

    <# The destination after its next command (which repairs what a dead session left): its warning, containers, incoming directories, move images. #>
    function Get-Destination {
        Invoke-Command -Session $script:s -ScriptBlock {
            $null = Get-Container -WarningVariable w -WarningAction SilentlyContinue
            [pscustomobject]@{ Warning = "$w"; Names = @(Get-Container | ForEach-Object { "$($_.Name):$($_.State)" })
                Incoming = @(Get-ChildItem (Join-Path $env:CONTAINERPS_ROOT 'incoming') -ErrorAction SilentlyContinue).Count }
        }
    }

    <#
    A child pwsh that moves Name with -Live through a session of its own (the remote pwsh writes its
    pid to the file remote-pid); the destination's fault point RemotePoint, or the source's Point, signals
    and holds there.
    #>
    function Start-PreCopyChild([string] $Name, [string] $Point = '', [string] $RemotePoint = '', [string] $Extra = '') {
        $script:remotePid = Join-Path $script:t.Base 'remote-pid'
        $script:signal = Join-Path $script:t.Base 'precopy-fault'
        Remove-Item $script:signal, $script:remotePid -ErrorAction SilentlyContinue
        $script = "`$s = New-PSSession -HostName 127.0.0.1 -Port $($script:Ssh.Port) -UserName root -KeyFilePath '$($script:Ssh.KeyFile)' " +
            "-Options @{ StrictHostKeyChecking = 'no'; UserKnownHostsFile = '/dev/null'; LogLevel = 'ERROR' }; " +
            "Invoke-Command -Session `$s -ScriptBlock { param(`$m, `$pf, `$rp, `$sig) if (`$rp) { `$env:CONTAINERPS_FAULT = `$rp; `$env:CONTAINERPS_FAULT_SIGNAL = `$sig }; Set-Content `$pf `$PID; Import-Module `$m } " +
            "-ArgumentList '$(Get-ModulePath)', '$script:remotePid', '$RemotePoint', '$script:signal'; " +
            "Move-Container $Name -Destination `$s -Live -Iterations 3 -Verbose $Extra"
        $child = Start-ChildPwsh -Script $script -Environment $(if ($Point) { @{ CONTAINERPS_FAULT = $Point; CONTAINERPS_FAULT_SIGNAL = $script:signal } } else { @{} })
        try { $reached = Wait-SignalFile -File $script:signal -Child $child -TimeoutSeconds 600 }
        catch {
            # What the move was doing when it did not get there.
            if (-not $child.Process.HasExited) { $null = Stop-ChildHard $child }
            $r = Wait-ChildPwsh $child
            throw "$($_.Exception.Message) Its output: $($r.Stdout) $($r.Stderr)"
        }
        $reached | Should -Be ($Point + $RemotePoint)
        $child
    }

    <# Waits until the killed session's remote pwsh is gone. #>
    function Wait-RemoteGone {
        $remote = [int](Get-Content $script:remotePid)
        Wait-Until { -not (Test-Path "/proc/$remote") } -TimeoutSeconds 60 -Because 'the remote pwsh of the killed session to end' | Out-Null
    }

    $script:hosts = New-TestMoveHosts
    $script:t, $script:DstRoot, $script:Ssh, $script:s, $script:Dirty = $script:hosts.T, $script:hosts.DstRoot, $script:hosts.Ssh, $script:hosts.Session, $script:hosts.Dirty
}

AfterAll {
    Remove-TestMoveHosts $script:hosts
}

Describe 'Move-Container -Live (pre-copy) on a kernel with memory dirty tracking' {
    AfterEach {
        Clear-TestMoveHosts $script:s
        Remove-Item Env:CONTAINERPS_CRIU -ErrorAction SilentlyContinue
    }

    It 'this kernel tracks dirty memory (Test-ContainerCheckpoint: MemoryTracking)' {
        $c = Test-ContainerCheckpoint
        $c.MemoryTracking | Should -BeTrue -Because 'the stock Debian kernel has CONFIG_MEM_SOFT_DIRTY'
        $c.Message | Should -Match 'pre-copy'
    }

    It '-Live moves a running container with 256 MB of dirty memory: memory, pids, listener and address survive; rounds and bytes per round reported' {
        $w = New-PreCopyWorkload -Name web -Subnet 10.206.1.0/24 -Percent 2
        $peer = New-Container -Name peer -Image busybox -Network lan -Start
        $all = Move-Container web -Destination $script:s -Live -PassThru -Verbose -ErrorAction Stop 4>&1
        $m = $all | Where-Object { $_ -isnot [System.Management.Automation.VerboseRecord] }
        $verbose = ($all | Where-Object { $_ -is [System.Management.Automation.VerboseRecord] }) -join "`n"
        Write-Host "    pre-copy 256 MB (hot set 2 %): downtime $($m.MoveDowntimeMs) ms, total $($m.MoveTotalMs) ms, rounds $($m.MoveRounds): $(($m.MoveRoundBytes | ForEach-Object { '{0:0.0} MiB' -f ($_ / 1MB) }) -join ', ')"
        $m.MoveMode | Should -Be 'PreCopy'
        $m.State | Should -Be 'Running'
        $m.Network[0].Addresses[0] | Should -Be "$($w.Ip)/24"
        $m.MoveRounds | Should -BeIn 2, 3 -Because 'round 2 is far smaller than round 1 (so a third is made unless it did not shrink)'
        @($m.MoveRoundBytes).Count | Should -Be $m.MoveRounds
        $m.MoveRoundBytes[0] | Should -BeGreaterOrEqual 256MB -Because 'the first round holds all of the memory'
        $m.MoveRoundBytes[1] | Should -BeLessThan 32MB -Because 'round 2 holds only the pages written since round 1: the 5 MiB hot set and what the other processes wrote'
        $m.MoveDowntimeMs | Should -BeGreaterThan 0
        $m.MoveDowntimeMs | Should -BeLessThan $m.MoveTotalMs -Because 'the rounds run while the container runs'
        $verbose | Should -Match 'pre-copy web: round 1: 2\d\d\.\d MiB of memory'

        (Get-CommandError { Get-Container -Name web }).FullyQualifiedErrorId | Should -BeLike 'ContainerNotFound,*'
        (Invoke-Command -Session $script:s -ScriptBlock { (Invoke-ContainerExec -Name web -Command ps, -o, pid, args | Where-Object { $_ -match 'dirty|counter|server' }) -join "`n" }) | Should -Be $w.Pids
        Wait-Until { [long]((Read-Remote web /tmp/dirty) -split ' ')[1] -gt $w.Gen + 1 } -TimeoutSeconds 60 -Because 'the memory workload to go on, every page checked' | Out-Null
        Read-Remote web /tmp/dirty | Should -Match '^ok \d+ 65536$'
        ((Read-Remote web /tmp/count) -split ' ')[1] | Should -Be $w.Secret
        (Invoke-ContainerExec -Name peer -Command sh, -c, "echo ping | nc -w 5 $($w.Ip) 7777") | Should -Be 'pong' -Because 'same address, same listener'
        @(Get-TestMoveProcesses $script:t.Base).Count | Should -Be 0
        (Get-Destination).Incoming | Should -Be 0
        @(Get-MoveImages $script:t.Root) + @(Get-MoveImages $script:DstRoot) | Should -BeNullOrEmpty
    }

    It 'the rounds stop early when the dirty set stops shrinking (every page written each round, -Iterations 8)' {
        $w = New-PreCopyWorkload -Name busy -Subnet 10.206.2.0/24 -MB 64 -Percent 100
        $all = Move-Container busy -Destination $script:s -Live -Iterations 8 -PassThru -Verbose -ErrorAction Stop 4>&1
        $m = $all | Where-Object { $_ -isnot [System.Management.Automation.VerboseRecord] }
        $verbose = ($all | Where-Object { $_ -is [System.Management.Automation.VerboseRecord] }) -join "`n"
        Write-Host "    pre-copy 64 MB (100 % a round): rounds $($m.MoveRounds): $(($m.MoveRoundBytes | ForEach-Object { '{0:0.0} MiB' -f ($_ / 1MB) }) -join ', ')"
        $m.MoveRounds | Should -BeLessThan 8
        $m.MoveRounds | Should -BeGreaterOrEqual 2
        $m.MoveRoundBytes[-1] * 10 | Should -BeGreaterThan ($m.MoveRoundBytes[-2] * 9) -Because 'the last round was not a tenth smaller than the one before'
        $verbose | Should -Match "round $($m.MoveRounds) was not a tenth smaller than round $($m.MoveRounds - 1)"
        Wait-Until { [long]((Read-Remote busy /tmp/dirty) -split ' ')[1] -gt $w.Gen + 1 } -TimeoutSeconds 60 -Because 'the memory workload to go on' | Out-Null
        Read-Remote busy /tmp/dirty | Should -Match '^ok \d+ 16384$'
        ((Read-Remote busy /tmp/count) -split ' ')[1] | Should -Be $w.Secret
    }

    It '-Iterations caps the rounds: -Iterations 1 makes one round, then the final dump' {
        $w = New-PreCopyWorkload -Name one -Subnet 10.206.3.0/24 -MB 32 -Percent 1
        $m = Move-Container one -Destination $script:s -Live -Iterations 1 -PassThru -ErrorAction Stop
        $m.MoveRounds | Should -Be 1
        @($m.MoveRoundBytes).Count | Should -Be 1
        $m.MoveRoundBytes[0] | Should -BeGreaterOrEqual 32MB
        Wait-Until { [long]((Read-Remote one /tmp/dirty) -split ' ')[1] -gt $w.Gen + 1 } -TimeoutSeconds 60 -Because 'the memory workload to go on' | Out-Null
        Read-Remote one /tmp/dirty | Should -Match '^ok \d+ 8192$'
    }

    It 'a pre-dump that fails ends the move before the final dump: the container runs on here untouched, nothing is left on either side' {
        $w = New-PreCopyWorkload -Name pf -Subnet 10.206.4.0/24 -MB 32 -Percent 10
        # CRIU as runc runs it (criu swrk) fails; `criu check` (Test-ContainerCheckpoint) still works.
        $wrapper = Join-Path $script:t.Ext 'criu-failing'
        @('#!/bin/sh', 'if [ "$1" = swrk ]; then echo "criu: failing on purpose (test)" >&2; exit 1; fi', "exec '$((Test-ContainerCheckpoint).CriuPath)' `"`$@`"") | Set-Content $wrapper
        & chmod 0755 $wrapper
        $env:CONTAINERPS_CRIU = $wrapper
        try { $err = Get-CommandError { Move-Container pf -Destination $script:s -Live } }
        finally { Remove-Item Env:CONTAINERPS_CRIU }
        Get-ErrorId $err | Should -Be 'CheckpointFailed'
        "$err" | Should -Match 'It runs on the source again'
        Assert-SourceUnchanged pf $w
        $there = Get-Destination
        $there.Names | Should -BeNullOrEmpty
        $there.Incoming | Should -Be 0
        @(Get-MoveImages $script:DstRoot) | Should -BeNullOrEmpty
        Invoke-DbQuery "select count(*) from containers where op_pid is not null or state <> 'ready'" | Should -Be '0'
    }

    It 'the destination goes away during the rounds (its pwsh killed as round 1 arrives): the container runs on here untouched; the destination drops its part' {
        $w = New-PreCopyWorkload -Name du -Subnet 10.206.5.0/24 -MB 32 -Percent 10
        $child = Start-PreCopyChild du -RemotePoint 'move.target.pre-copy-round' -Extra '-DataThroughSession'
        & /usr/bin/kill -9 ([int](Get-Content $script:remotePid))
        Wait-RemoteGone
        $r = Wait-ChildPwsh $child -TimeoutSeconds 300
        $r.TimedOut | Should -BeFalse
        $r.Stderr + $r.Stdout | Should -Match 'It runs on the source again'
        Assert-SourceUnchanged du $w
        Invoke-DbQuery "select count(*) from containers where op_pid is not null or state <> 'ready'" | Should -Be '0'
        $there = Get-Destination
        $there.Warning | Should -BeLike "*rolled back the unfinished creation*'du'*"
        $there.Names | Should -BeNullOrEmpty
        $there.Incoming | Should -Be 0
        @(Get-MoveImages $script:DstRoot) | Should -BeNullOrEmpty
    }

    It 'source killed during the rounds (move.source.pre-dump): its next command repairs it: the container runs on untouched, its rounds'' images go; the destination drops its part' {
        $w = New-PreCopyWorkload -Name sk -Subnet 10.206.6.0/24 -MB 32 -Percent 10
        $child = Start-PreCopyChild sk -Point 'move.source.pre-dump'
        @(Get-MoveImages $script:t.Root).Count | Should -Be 1 -Because 'round 1 is on disk when the source dies'
        $null = Stop-ChildHard $child
        Wait-RemoteGone
        $null = Get-Container -WarningVariable warn -WarningAction SilentlyContinue
        "$warn" | Should -BeLike "*Repaired an interrupted operation: the pre-copy move of container 'sk' was cut short before its final dump: it runs on here, as it was*"
        Assert-SourceUnchanged sk $w
        Invoke-DbQuery "select count(*) from containers where op_pid is not null or state <> 'ready'" | Should -Be '0'
        $there = Get-Destination
        $there.Names | Should -BeNullOrEmpty
        $there.Incoming | Should -Be 0
        @(Get-TestMoveProcesses $script:t.Base).Count | Should -Be 0
    }

    It 'source killed after the final dump (move.source.after-dump): stop-and-copy''s repair restores it here from its incremental checkpoint (the final dump and its rounds)' {
        $w = New-PreCopyWorkload -Name ad -Subnet 10.206.7.0/24 -MB 32 -Percent 10
        $child = Start-PreCopyChild ad -Point 'move.source.after-dump'
        $null = Stop-ChildHard $child
        Wait-RemoteGone
        $null = Get-Container -WarningVariable warn -WarningAction SilentlyContinue
        "$warn" | Should -BeLike "*Repaired an interrupted operation: the move of container 'ad' was cut short before the destination took it: it runs here again from the move's checkpoint*"
        Assert-SourceUnchanged ad $w
        $there = Get-Destination
        $there.Names | Should -BeNullOrEmpty
        $there.Incoming | Should -Be 0
    }
}
