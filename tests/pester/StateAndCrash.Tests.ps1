#Requires -Version 7.4
# The state database and crash safety, with real pwsh child processes: the SQLite native library
# loads in a fresh pwsh, two processes work on one root at once, and a process SIGKILLed in the
# middle of an operation is repaired by the next command in any process.

BeforeAll {
    Import-Module (Join-Path $PSScriptRoot 'TestHelpers.psm1') -Force
    Import-Module (Get-ModulePath) -Force
}

Describe 'State database in real pwsh processes' {
    BeforeEach { $t = New-TestRoot }
    AfterEach { Remove-TestRoot }

    It 'loads the SQLite native library in a fresh pwsh started with dotnet pwsh' {
        $c = Start-ChildPwsh -ViaDotnetTool -Script @'
$null = New-StoragePool sq -Driver dir -Description 'from child'
Get-StoragePool sq | ForEach-Object { "POOL=$($_.Name) DRIVER=$($_.Driver) STATUS=$($_.Status)" }
'@
        $r = Wait-ChildPwsh $c -TimeoutSeconds 90
        $r.TimedOut | Should -BeFalse
        $r.Stderr | Should -BeNullOrEmpty
        $r.ExitCode | Should -Be 0
        $r.Stdout | Should -Match 'POOL=sq DRIVER=dir STATUS=Created'
        # the same state, seen from this process
        (Get-StoragePool sq).Description | Should -Be 'from child'
        Join-Path $t.Root 'state.db' | Should -Exist
    }

    It 'a child pwsh reports an engine error with its ID and a non-zero exit code' {
        $c = Start-ChildPwsh -Script 'Get-StoragePool nope'
        $r = Wait-ChildPwsh $c
        $r.TimedOut | Should -BeFalse
        $r.ExitCode | Should -Not -Be 0
        "$($r.Stdout)$($r.Stderr)" | Should -Match 'not found'
    }

    It 'two pwsh processes adding 20 volumes each at the same time lose none' {
        $null = New-StoragePool p -Driver dir
        $go = Join-Path $t.Base 'go'
        $children = foreach ($i in 1, 2) {
            $ready = Join-Path $t.Base "ready$i"
            Start-ChildPwsh -Script @"
`$null = Get-StoragePool p
`$null = New-Item -ItemType File '$ready'
`$deadline = [DateTime]::UtcNow.AddSeconds(60)
while (-not (Test-Path '$go')) { if ([DateTime]::UtcNow -gt `$deadline) { throw 'no go signal' }; Start-Sleep -Milliseconds 5 }
foreach (`$n in 1..20) { `$null = Add-StorageVolume p "c$i-`$n" }
'done $i'
"@
        }
        try {
            $deadline = [DateTime]::UtcNow.AddSeconds(60)
            while (-not ((Test-Path (Join-Path $t.Base 'ready1')) -and (Test-Path (Join-Path $t.Base 'ready2')))) {
                foreach ($c in $children) {
                    if ($c.Process.HasExited) { $r = Wait-ChildPwsh $c; throw "child exited early ($($r.ExitCode)): $($r.Stdout) $($r.Stderr)" }
                }
                if ([DateTime]::UtcNow -gt $deadline) { throw 'children did not get ready within 60 s' }
                Start-Sleep -Milliseconds 20
            }
            $null = New-Item -ItemType File $go
            $results = foreach ($c in $children) { Wait-ChildPwsh $c -TimeoutSeconds 60 }
        } finally {
            Stop-ChildPwsh
        }
        foreach ($i in 0, 1) {
            $r = $results[$i]
            $r.TimedOut | Should -BeFalse
            $r.Stderr | Should -BeNullOrEmpty
            $r.ExitCode | Should -Be 0
            $r.Stdout.Trim() | Should -Be "done $($i + 1)"
        }
        $expected = foreach ($i in 1, 2) { foreach ($n in 1..20) { "c$i-$n" } }
        $expected = @($expected | Sort-Object)
        $vols = @(Get-StorageVolume -Pool p -WarningVariable w)
        $w | Should -BeNullOrEmpty
        @($vols.Name | Sort-Object) | Should -Be $expected
        @($vols | Where-Object Status -NE 'Created').Count | Should -Be 0
        $onDisk = @(Get-ChildItem -Force (Join-Path (Get-StoragePool p).Source 'custom') | ForEach-Object Name | Sort-Object)
        $onDisk | Should -Be $expected
        Invoke-DbQuery "select count(*) from volumes where state = 'ready'" | Should -Be '40'
        Invoke-DbQuery "select count(*) from volumes" | Should -Be '40'
    }

    It 'two pwsh processes racing to add the same 15 names: each name is created exactly once' {
        $null = New-StoragePool p -Driver dir
        $go = Join-Path $t.Base 'go'
        $children = foreach ($i in 1, 2) {
            $ready = Join-Path $t.Base "ready$i"
            Start-ChildPwsh -Script @"
`$null = Get-StoragePool p
`$null = New-Item -ItemType File '$ready'
`$deadline = [DateTime]::UtcNow.AddSeconds(60)
while (-not (Test-Path '$go')) { if ([DateTime]::UtcNow -gt `$deadline) { throw 'no go signal' }; Start-Sleep -Milliseconds 5 }
foreach (`$n in 1..15) {
    try { `$null = Add-StorageVolume p "same-`$n" -ErrorAction Stop; "ok same-`$n" }
    catch { "err same-`$n `$((`$_.FullyQualifiedErrorId -split ',')[0])" }
}
"@
        }
        try {
            $deadline = [DateTime]::UtcNow.AddSeconds(60)
            while (-not ((Test-Path (Join-Path $t.Base 'ready1')) -and (Test-Path (Join-Path $t.Base 'ready2')))) {
                foreach ($c in $children) {
                    if ($c.Process.HasExited) { $r = Wait-ChildPwsh $c; throw "child exited early ($($r.ExitCode)): $($r.Stdout) $($r.Stderr)" }
                }
                if ([DateTime]::UtcNow -gt $deadline) { throw 'children did not get ready within 60 s' }
                Start-Sleep -Milliseconds 20
            }
            $null = New-Item -ItemType File $go
            $results = foreach ($c in $children) { Wait-ChildPwsh $c -TimeoutSeconds 60 }
        } finally {
            Stop-ChildPwsh
        }
        $lines = foreach ($r in $results) {
            $r.TimedOut | Should -BeFalse
            $r.Stderr | Should -BeNullOrEmpty
            $r.ExitCode | Should -Be 0
            $r.Stdout -split "`n" | ForEach-Object Trim | Where-Object { $_ }
        }
        foreach ($n in 1..15) {
            @($lines | Where-Object { $_ -eq "ok same-$n" }).Count | Should -Be 1 -Because "same-$n is created by exactly one process"
            $lost = @($lines | Where-Object { $_ -like "err same-$n *" })
            $lost.Count | Should -Be 1
            $lost[0] | Should -Be "err same-$n VolumeExists"
        }
        @(Get-StorageVolume -Pool p).Count | Should -Be 15
        @(Get-ChildItem -Force (Join-Path (Get-StoragePool p).Source 'custom')).Count | Should -Be 15
    }
}

Describe 'Repair after a process is SIGKILLed mid-operation' {
    BeforeEach {
        $t = New-TestRoot
        $pool = New-StoragePool p -Driver dir
        $custom = Join-Path $pool.Source 'custom'
    }
    AfterEach { Remove-TestRoot }

    It '<Point>: <Command>' -ForEach @(
        @{
            Point = 'volume.create.after-disk'; Command = 'Add-StorageVolume p v'
            Setup = { param($t, $custom) }
            Pending = { param($t, $custom)
                Invoke-DbQuery "select name, state from volumes" | Should -Be 'v|creating'
                Join-Path $custom 'v' | Should -Exist
                # a command on the busy volume is refused while its owner lives
                { Remove-StorageVolume p v -ErrorAction Stop } | Should -Throw -ErrorId 'VolumeBusy,*'
                (Get-StorageVolume p v).Status | Should -Be 'Creating'
            }
            Repaired = { param($t, $custom)
                { Get-StorageVolume p v -ErrorAction Stop } | Should -Throw -ErrorId 'VolumeNotFound,*'
                Join-Path $custom 'v' | Should -Not -Exist
                Invoke-DbQuery "select count(*) from volumes" | Should -Be '0'
                (Add-StorageVolume p v).Name | Should -Be 'v'
                Join-Path $custom 'v' | Should -Exist
            }
        }
        @{
            Point = 'volume.delete.after-disk'; Command = 'Remove-StorageVolume p v'
            Setup = { param($t, $custom)
                $v = Add-StorageVolume p v
                Set-Content (Join-Path $v.Path 'f.txt') 'x'
            }
            Pending = { param($t, $custom)
                Invoke-DbQuery "select name, state from volumes" | Should -Be 'v|deleting'
                Join-Path $custom 'v' | Should -Not -Exist
                (Get-StorageVolume p v).Status | Should -Be 'Deleting'
            }
            Repaired = { param($t, $custom)
                { Get-StorageVolume p v -ErrorAction Stop } | Should -Throw -ErrorId 'VolumeNotFound,*'
                Join-Path $custom 'v' | Should -Not -Exist
                Invoke-DbQuery "select count(*) from volumes" | Should -Be '0'
                (Add-StorageVolume p v).Name | Should -Be 'v'
            }
        }
        @{
            Point = 'volume.rename.after-disk'; Command = 'Rename-StorageVolume p v w'
            Setup = { param($t, $custom)
                $v = Add-StorageVolume p v
                Set-Content (Join-Path $v.Path 'f.txt') 'payload'
            }
            Pending = { param($t, $custom)
                Invoke-DbQuery "select name, state, op_arg from volumes" | Should -Be 'v|renaming|w'
                Join-Path $custom 'w' | Should -Exist
                Join-Path $custom 'v' | Should -Not -Exist
                { Rename-StorageVolume p v x -ErrorAction Stop } | Should -Throw -ErrorId 'VolumeBusy,*'
            }
            Repaired = { param($t, $custom)
                { Get-StorageVolume p v -ErrorAction Stop } | Should -Throw -ErrorId 'VolumeNotFound,*'
                $w = Get-StorageVolume p w
                $w.Status | Should -Be 'Created'
                Get-Content (Join-Path $w.Path 'f.txt') | Should -Be 'payload'
                Join-Path $custom 'v' | Should -Not -Exist
                Invoke-DbQuery "select name, state from volumes" | Should -Be 'w|ready'
                # and it can be renamed back
                Rename-StorageVolume p w v
                (Get-StorageVolume p v).Name | Should -Be 'v'
            }
        }
        @{
            Point = 'volume.copy.before-rename'; Command = 'Copy-StorageVolume p v w'
            Setup = { param($t, $custom)
                $v = Add-StorageVolume p v
                Set-Content (Join-Path $v.Path 'f.txt') 'payload'
            }
            Pending = { param($t, $custom)
                Invoke-DbQuery "select name, state from volumes order by name" | Should -Be @('v|ready', 'w|creating')
                Join-Path $custom '.tmp-w' | Should -Exist
                Join-Path $custom 'w' | Should -Not -Exist
            }
            Repaired = { param($t, $custom)
                { Get-StorageVolume p w -ErrorAction Stop } | Should -Throw -ErrorId 'VolumeNotFound,*'
                @(Get-ChildItem -Force $custom | ForEach-Object Name) | Should -Be @('v')
                Get-Content (Join-Path $custom 'v/f.txt') | Should -Be 'payload'
                Invoke-DbQuery "select name, state from volumes" | Should -Be 'v|ready'
                Copy-StorageVolume p v w
                Get-Content (Join-Path $custom 'w/f.txt') | Should -Be 'payload'
                @(Get-ChildItem -Force $custom -Filter '.tmp-*').Count | Should -Be 0
            }
        }
        @{
            Point = 'volume.copy.after-disk'; Command = 'Copy-StorageVolume p v w'
            Setup = { param($t, $custom)
                $v = Add-StorageVolume p v
                Set-Content (Join-Path $v.Path 'f.txt') 'payload'
            }
            Pending = { param($t, $custom)
                Invoke-DbQuery "select name, state from volumes order by name" | Should -Be @('v|ready', 'w|creating')
                Join-Path $custom 'w/f.txt' | Should -Exist
            }
            Repaired = { param($t, $custom)
                { Get-StorageVolume p w -ErrorAction Stop } | Should -Throw -ErrorId 'VolumeNotFound,*'
                @(Get-ChildItem -Force $custom | ForEach-Object Name) | Should -Be @('v')
                Invoke-DbQuery "select name, state from volumes" | Should -Be 'v|ready'
                (Copy-StorageVolume p v w -PassThru).Name | Should -Be 'w'
            }
        }
        @{
            Point = 'volume.restore.mid-swap'; Command = 'Restore-StorageVolumeSnapshot p v s1 -Confirm:$false'
            Setup = { param($t, $custom)
                $v = Add-StorageVolume p v
                Set-Content (Join-Path $v.Path 'f.txt') 'snapshotted'
                $null = New-StorageVolumeSnapshot p v s1
                Set-Content (Join-Path $v.Path 'f.txt') 'changed'
            }
            Pending = { param($t, $custom)
                Invoke-DbQuery "select name, state, op_arg from volumes where type = 'custom'" | Should -Be 'v|restoring|custom-snapshot/v@s1'
                Join-Path $custom 'v' | Should -Not -Exist -Because 'the swap is half-way: the old tree is aside, the restored one not yet in place'
            }
            Repaired = { param($t, $custom)
                $v = Get-StorageVolume p v
                $v.Status | Should -Be 'Created'
                Get-Content (Join-Path $v.Path 'f.txt') | Should -Be 'snapshotted'
                @(Get-ChildItem -Force $custom | ForEach-Object Name) | Should -Be @('v') -Because 'no .tmp- or .old tree is left'
                Invoke-DbQuery "select count(*) from volumes where state <> 'ready'" | Should -Be '0'
                (Get-StorageVolumeSnapshot p v).Name | Should -Be 's1'
            }
        }
        @{
            Point = 'volume.copy.after-disk'; Command = 'New-StorageVolumeSnapshot p v s1'
            Setup = { param($t, $custom) $null = Add-StorageVolume p v }
            Pending = { param($t, $custom) Invoke-DbQuery "select name, state from volumes order by name" | Should -Be @('v|ready', 'v@s1|creating') }
            Repaired = { param($t, $custom)
                Get-StorageVolumeSnapshot p v | Should -BeNullOrEmpty
                Invoke-DbQuery "select name, state from volumes" | Should -Be 'v|ready'
                (New-StorageVolumeSnapshot p v s1).Name | Should -Be 's1'
            }
        }
        @{
            Point = 'pool.create.after-disk'; Command = "New-StoragePool q -Driver dir -Source '{EXT}/q'"
            Setup = { param($t, $custom) }
            Pending = { param($t, $custom)
                Invoke-DbQuery "select name, state from pools order by name" | Should -Be @('p|ready', 'q|creating')
                Join-Path $t.Ext 'q/custom' | Should -Exist
                (Get-StoragePool q).Status | Should -Be 'Creating'
            }
            Repaired = { param($t, $custom)
                { Get-StoragePool q -ErrorAction Stop } | Should -Throw -ErrorId 'PoolNotFound,*'
                Join-Path $t.Ext 'q' | Should -Not -Exist
                Invoke-DbQuery "select name from pools" | Should -Be 'p'
                (New-StoragePool q -Driver dir -Source (Join-Path $t.Ext 'q')).Name | Should -Be 'q'
            }
        }
        @{
            Point = 'pool.delete.after-disk'; Command = "Remove-StoragePool q -Force -Confirm:`$false"
            Setup = { param($t, $custom)
                $null = New-StoragePool q -Driver dir -Source (Join-Path $t.Ext 'q')
                $null = Add-StorageVolume q qv
            }
            Pending = { param($t, $custom)
                Invoke-DbQuery "select name, state from pools order by name" | Should -Be @('p|ready', 'q|deleting')
                Invoke-DbQuery "select count(*) from volumes" | Should -Be '0'
                Join-Path $t.Ext 'q' | Should -Not -Exist
            }
            Repaired = { param($t, $custom)
                { Get-StoragePool q -ErrorAction Stop } | Should -Throw -ErrorId 'PoolNotFound,*'
                Join-Path $t.Ext 'q' | Should -Not -Exist
                Invoke-DbQuery "select name from pools" | Should -Be 'p'
                (New-StoragePool q -Driver dir -Source (Join-Path $t.Ext 'q')).Name | Should -Be 'q'
            }
        }
    ) {
        & $Setup $t $custom
        $signal = Join-Path $t.Base 'fault-signal'
        $c = Start-ChildPwsh -Script ($Command -replace '\{EXT\}', $t.Ext) -Environment @{
            CONTAINERPS_FAULT        = $Point
            CONTAINERPS_FAULT_SIGNAL = $signal
        }
        try {
            (Wait-SignalFile -File $signal -Child $c -TimeoutSeconds 60) | Should -Be $Point

            # While the owner lives, other commands see the operation pending and repair nothing.
            $null = Get-StorageVolume -WarningVariable alive -WarningAction SilentlyContinue
            $alive | Should -BeNullOrEmpty

            & $Pending $t $custom
        } finally {
            if (-not $c.Process.HasExited) { $null = Stop-ChildHard $c }
        }
        $c.Process.HasExited | Should -BeTrue
        $c.Process.ExitCode | Should -Be 137 -Because 'the child was SIGKILLed at the fault point'

        # The next command, in this process, repairs and says so.
        $null = Get-StorageVolume -WarningVariable w -WarningAction SilentlyContinue
        @($w).Count | Should -Be 1
        "$($w[0])" | Should -BeLike 'Repaired an interrupted operation*'

        # Repair happens once.
        $null = Get-StoragePool -WarningVariable w2 -WarningAction SilentlyContinue
        $w2 | Should -BeNullOrEmpty

        & $Repaired $t $custom
        Invoke-DbQuery "select count(*) from volumes where state <> 'ready'" | Should -Be '0'
        Invoke-DbQuery "select count(*) from pools where state <> 'ready'" | Should -Be '0'
    }
}
