#!/usr/bin/env pwsh
# The benchmark row the lane compares between the guest and the host: the median of
# Start-Container of a stopped busybox container (warm pwsh session; each start is followed by
# Stop-Container -Force, not timed). Prints the median in milliseconds as its last line.
param([int] $Count = 9)
$ErrorActionPreference = 'Stop'
Import-Module (Join-Path $PSScriptRoot '../../ContainerPS.psd1')
$root = Join-Path ([IO.Path]::GetTempPath()) "cps-startbench-$PID"
$null = New-Item -ItemType Directory $root
& chmod 711 $root
$env:CONTAINERPS_ROOT = $root
try {
    $null = New-Container b busybox
    foreach ($i in 1..2) { Start-Container b; Stop-Container b -Force }   # warm-up
    $times = foreach ($i in 1..$Count) {
        $sw = [Diagnostics.Stopwatch]::StartNew()
        Start-Container b
        $sw.Elapsed.TotalMilliseconds
        Stop-Container b -Force
    }
    Remove-Container b -Force
    ($times | Sort-Object)[[int][math]::Floor($Count / 2)]
}
finally {
    Get-Container -ErrorAction SilentlyContinue | Remove-Container -Force -ErrorAction SilentlyContinue
    Remove-Item -Recurse -Force $root -ErrorAction SilentlyContinue
}
