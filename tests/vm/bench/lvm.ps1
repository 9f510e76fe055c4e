#!/usr/bin/env pwsh
# Lane benchmark: Copy-Container and New-ContainerSnapshot of a container holding 100 MB in 1,000
# files on an lvm pool (thin pool on a loop-backed VG: thin snapshots) beside the same on a btrfs pool
# (loop file: subvolume snapshots), in the same guest run. Run in the guest from /root/cps by
# `pwsh -File` in a private mount namespace; each result is one line
# `ROW <operation> | <ContainerPS figure> | <peer> | <peer figure> | <ratio>`, the rest is log.
param([int] $Iterations = 3)
$ErrorActionPreference = 'Stop'
Import-Module /root/cps/ContainerPS.psd1

$base = Join-Path ([IO.Path]::GetTempPath()) "cps-bench-lvm-$PID"
$root = (New-Item -ItemType Directory -Path $base).FullName
& chmod 711 $root
$env:CONTAINERPS_ROOT = $root
$vg = "cpsbench$PID"

Import-Module (Join-Path $PSScriptRoot 'BenchHelpers.psm1') -Force

# lvm is ContainerPS's figure; the peer column is the same operation on btrfs in this run.
function Write-Row([string] $Operation, [double] $LvmMs, [double] $BtrfsMs) {
    'ROW {0} | {1:N0} ms | {2} | {3:N0} ms | {4:N2}' -f $Operation, $LvmMs, 'ContainerPS on btrfs (loop file), same run', $BtrfsMs, ($LvmMs / $BtrfsMs)
}

try {
    New-StoragePool benchlvm -Driver lvm -Config @{ size = '4GiB'; 'lvm.vg_name' = $vg; 'volume.size' = '1GiB' } | Out-Null
    New-StoragePool benchbtrfs -Driver btrfs -Config @{ size = '3GiB' } | Out-Null
    $figures = @{}
    foreach ($pool in 'benchlvm', 'benchbtrfs') {
        New-Container "cp-$pool" busybox -StoragePool $pool | Out-Null
        $dir = Join-Path (Get-StorageVolume $pool "cp-$pool" -Type container).Path 'root/data'
        & bash -c "mkdir -p $dir && for i in `$(seq 1 1000); do head -c 102400 /dev/urandom > $dir/f`$i; done; sync"
        $figures["copy-$pool"] = Measure-Median { param($i) Copy-Container "cp-$pool" "cp-$pool-$i" } $Iterations { param($i) Remove-Container "cp-$pool-$i" }
        $figures["snap-$pool"] = Measure-Median { param($i) New-ContainerSnapshot "cp-$pool" "s$i" | Out-Null } $Iterations { param($i) Remove-ContainerSnapshot "cp-$pool" "s$i" }
        Write-Host ("{0}: copy {1:N0} ms, snapshot {2:N0} ms" -f $pool, $figures["copy-$pool"], $figures["snap-$pool"])
        Remove-Container "cp-$pool"
    }
    Write-Row 'Copy-Container, 100 MB in 1000 files (lvm thin snapshot)' $figures['copy-benchlvm'] $figures['copy-benchbtrfs']
    Write-Row 'New-ContainerSnapshot, 100 MB in 1000 files (lvm thin snapshot)' $figures['snap-benchlvm'] $figures['snap-benchbtrfs']
}
finally {
    Get-Container -ErrorAction SilentlyContinue | Remove-Container -Force -ErrorAction SilentlyContinue
    Get-ContainerImage -ErrorAction SilentlyContinue | Remove-ContainerImage -ErrorAction SilentlyContinue
    Get-StoragePool -ErrorAction SilentlyContinue | Remove-StoragePool -Force -Confirm:$false -ErrorAction SilentlyContinue
    if (& vgs --noheadings -o vg_name $vg 2>$null) { & vgremove -q -y -f $vg 2>$null | Out-Null }
    & rm -rf -- $base
}
