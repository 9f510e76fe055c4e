#!/usr/bin/env pwsh
# Lane benchmark (TestVm guest, kernel with soft-dirty): Move-Container -Live (pre-copy) of the
# 256 MB dirtying workload at 1, 3 and 8 iterations and two dirtying rates, beside stop-and-copy of
# the same workload at the same rate, all in this run. Runs from /root/cps (module at
# /root/cps/ContainerPS.psd1, tests at /root/cps/tests) by `pwsh -File`, in a private mount
# namespace. Each result is one line
#   ROW <operation> | <ContainerPS figure> | <peer> | <peer figure> | <ratio>
# (ratio = pre-copy downtime / stop-and-copy downtime); everything else is log.
# The destination is a second state root reached by PowerShell remoting over SSH to 127.0.0.1.
param([int[]] $Iterations = @(1, 3, 8), [int[]] $Percents = @(2, 25))
$ErrorActionPreference = 'Stop'
Import-Module (Join-Path $PSScriptRoot '../../pester/TestHelpers.psm1') -Force
Import-Module (Get-ModulePath) -Force

$clock = [Diagnostics.Stopwatch]::StartNew()
function Log([string] $Text) { Write-Host ("[{0,5:0} s] {1}" -f $clock.Elapsed.TotalSeconds, $Text) }

$hosts = $null
try {
    $hosts = New-TestMoveHosts
    $session, $dirty = $hosts.Session, $hosts.Dirty
    $support = Test-ContainerCheckpoint
    if (-not $support.MemoryTracking) { throw "This kernel has no memory dirty tracking: $($support.Message)" }

    <# The workload's round counter (each round checks all pages and rewrites its hot set, Percent of them). #>
    function Get-Round([string] $Name) { [long]((Invoke-ContainerExec $Name -Command cat, /tmp/dirty) -split ' ')[1] }

    <# A fresh container with the 256 MB workload rewriting a hot set of Percent of its pages each round; moved by Mode; returns the -PassThru object and the dirtying rate (MB/s) just before. #>
    function Measure-Move([string] $Name, [int] $Percent, [string] $Mode, [int] $Rounds = 3) {
        $null = New-Container $Name busybox -Start
        Copy-Item $dirty (Join-Path (Get-StorageVolume -Pool default -Type container -Name $Name).Path 'root/dirty')
        Invoke-ContainerExec $Name -Command sh, -c, "/root/dirty 256 /tmp/dirty $Percent </dev/null >/dev/null 2>&1 &" | Out-Null
        # (As a string: an empty answer, before the file exists, would make -notmatch an empty, false array.)
        while ("$(Invoke-ContainerExec $Name -ErrorAction SilentlyContinue -Command cat, /tmp/dirty)" -notmatch '^ok') { Start-Sleep -Milliseconds 200 }
        $r0 = Get-Round $Name; $sw = [Diagnostics.Stopwatch]::StartNew(); Start-Sleep -Seconds 3
        $rate = ((Get-Round $Name) - $r0) / $sw.Elapsed.TotalSeconds * 256 * $Percent / 100
        $extra = if ($Mode -eq 'PreCopy') { @{ Live = $true; Iterations = $Rounds } } else { @{} }
        $m = Move-Container $Name -Destination $session -PassThru @extra
        $ok = Invoke-Command -Session $session { param($n) (Invoke-ContainerExec $n -Command cat, /tmp/dirty) -join '' } -ArgumentList $Name
        if ($ok -notmatch '^ok \d+ 65536$') { throw "$Name after the move: $ok" }
        Invoke-Command -Session $session { param($n) Remove-Container $n -Force } -ArgumentList $Name
        Log ("{0} {1}: hot set {2} % ({3:N0} MB/s), downtime {4:N0} ms, total {5:N0} ms, rounds {6} ({7})" -f $Mode, $Name, $Percent, $rate, $m.MoveDowntimeMs, $m.MoveTotalMs,
            $m.MoveRounds, (($m.MoveRoundBytes | ForEach-Object { '{0:N1} MiB' -f ($_ / 1MB) }) -join ', '))
        [pscustomobject]@{ Move = $m; Rate = $rate }
    }

    # One move first, not counted: the first move of a run also pays for the destination's first
    # commands (loading the module's engine, its first container); every counted move comes after it.
    $null = Measure-Move warmup $Percents[0] StopAndCopy
    Log 'warm-up move done (not counted)'
    foreach ($percent in $Percents) {
        $sc = Measure-Move "sc$percent" $percent StopAndCopy
        foreach ($n in $Iterations) {
            $pc = Measure-Move "pc$percent-$n" $percent PreCopy $n
            $label = "256 MB workload rewriting a hot set of {0} % of its pages (about {1:N0} MB/s), -Live -Iterations {2} ({3} made)" -f $percent, $pc.Rate, $n, $pc.Move.MoveRounds
            $ratio = '{0:0.00}' -f ($pc.Move.MoveDowntimeMs / [math]::Max(1, $sc.Move.MoveDowntimeMs))
            Write-Host ("ROW Move-Container $label`: downtime | {0} ms | stop-and-copy, same workload and run: downtime | {1} ms | {2}" -f $pc.Move.MoveDowntimeMs, $sc.Move.MoveDowntimeMs, $ratio)
            Write-Host ("ROW Move-Container $label`: total | {0} ms | stop-and-copy, same workload and run: total | {1} ms | {2:0.00}" -f $pc.Move.MoveTotalMs, $sc.Move.MoveTotalMs, ($pc.Move.MoveTotalMs / [math]::Max(1, $sc.Move.MoveTotalMs)))
        }
    }
    Log 'done'
}
finally {
    Remove-TestMoveHosts $hosts
}
