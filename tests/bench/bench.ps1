#!/usr/bin/env pwsh
# Benchmarks (run by: dotnet pwsh ./build.ps1 -Task Bench). Medians from one warm pwsh session, so
# pwsh start-up is not measured. Peers run side by side where they are installed here.
param([int] $Iterations = 30)
$ErrorActionPreference = 'Stop'
Import-Module (Join-Path $PSScriptRoot '../../ContainerPS.psd1')

$root = (New-Item -ItemType Directory -Path (Join-Path ([IO.Path]::GetTempPath()) "cps-bench-$PID")).FullName
$env:CONTAINERPS_ROOT = $root

function Measure-Median([scriptblock] $Body, [int] $Count = $Iterations) {
    $times = foreach ($i in 1..$Count) {
        $sw = [Diagnostics.Stopwatch]::StartNew()
        & $Body $i
        $sw.Stop()
        $sw.Elapsed.TotalMilliseconds
    }
    $sorted = $times | Sort-Object
    $sorted[[int][math]::Floor($sorted.Count / 2)]
}

$rows = [Collections.Generic.List[object]]::new()
function Add-Row([string] $Operation, [double] $Ms, [string] $Peer = '', [Nullable[double]] $PeerMs = $null) {
    $rows.Add([pscustomobject]@{
        Operation = $Operation
        'ContainerPS ms' = [math]::Round($Ms, 2)
        Peer = $Peer
        'Peer ms' = if ($null -ne $PeerMs) { [math]::Round($PeerMs, 2) } else { $null }
        Ratio = if ($PeerMs) { [math]::Round($Ms / $PeerMs, 2) } else { $null }
    })
}

try {
    New-StoragePool bench -Driver dir | Out-Null
    # warm-up
    foreach ($i in 1..5) { Add-StorageVolume bench "w$i" | Out-Null; Remove-StorageVolume bench "w$i" }

    $add = Measure-Median { param($i) Add-StorageVolume bench "v$i" | Out-Null }
    $mkdir = Measure-Median { param($i) $null = New-Item -ItemType Directory (Join-Path $root "plain$i") }
    Add-Row 'Add-StorageVolume (dir)' $add 'New-Item -ItemType Directory' $mkdir

    $get = Measure-Median { param($i) Get-StorageVolume bench "v$i" | Out-Null }
    Add-Row 'Get-StorageVolume one (dir)' $get

    $list = Measure-Median { param($i) Get-StorageVolume bench | Out-Null } 10
    Add-Row "Get-StorageVolume all ($Iterations volumes)" $list

    $prop = Measure-Median { param($i) Get-StorageVolume bench "v$i" -Property used | Out-Null }
    Add-Row 'Get-StorageVolume -Property used' $prop

    $copy = Measure-Median { param($i) Copy-StorageVolume bench "v$i" "c$i" }
    $cp = Measure-Median { param($i) & cp -a --reflink=auto (Join-Path $root "plain$i") (Join-Path $root "plaincopy$i") }
    Add-Row 'Copy-StorageVolume (empty, dir)' $copy 'cp -a --reflink=auto' $cp

    $remove = Measure-Median { param($i) Remove-StorageVolume bench "v$i" }
    $rmdir = Measure-Median { param($i) & rm -rf --one-file-system (Join-Path $root "plain$i") }
    Add-Row 'Remove-StorageVolume (dir)' $remove 'rm -rf' $rmdir

    $rows | Format-Table -AutoSize | Out-String -Width 240 | Write-Host
    Write-Host "Medians of $Iterations runs in one warm pwsh session; ratio = ContainerPS / peer."
    Write-Host 'LXD and LXC are not installed by this issue''s bootstrap; container benchmarks (vs LXC, runc, LXD) arrive with the containers issue.'
}
finally {
    Get-StoragePool bench -ErrorAction SilentlyContinue | Remove-StoragePool -Force -Confirm:$false
    Remove-Item -Recurse -Force $root
}
