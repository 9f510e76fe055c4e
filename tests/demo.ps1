#!/usr/bin/env pwsh
# The main job on the embedded defaults (run by: dotnet pwsh ./build.ps1 -Task Demo).
# Uses the state root of a real install (/var/lib/containerps, or $env:CONTAINERPS_ROOT) and removes
# everything it creates.
$ErrorActionPreference = 'Stop'
Import-Module (Join-Path $PSScriptRoot '../ContainerPS.psd1')

$suffix = [guid]::NewGuid().ToString('n').Substring(0, 6)
$pool = "demo-$suffix"
$ctr = "demo-$suffix"
function Step([string] $text) { Write-Host "`n== $text" -ForegroundColor Cyan }
function Show { $input | Format-Table -AutoSize | Out-String -Width 160 | Write-Host }

try {
    Step "New-StoragePool -Name $pool -Driver dir"
    New-StoragePool -Name $pool -Driver dir -Description 'ContainerPS demo' | Show

    Step "Add-StorageVolume (two volumes; the size is recorded, not enforced, on dir)"
    Add-StorageVolume -Pool $pool -Name web-data -Config @{ 'user.owner' = 'web' } | Out-Null
    Add-StorageVolume -Pool $pool -Name db-data -Size 2GiB -WarningAction SilentlyContinue | Out-Null
    Set-Content -Path (Join-Path (Get-StorageVolume $pool web-data).Path 'index.html') -Value '<h1>hello</h1>'

    Step "Get-StoragePool $pool | Get-StorageVolume"
    Get-StoragePool $pool | Get-StorageVolume | Show

    Step "Get-StorageVolume $pool db-data -Property size   (the bare value, like zfs get -H -p -o value)"
    Get-StorageVolume $pool db-data -Property size | Write-Host
    Step "Get-StorageVolume $pool web-data -Property user.owner"
    Get-StorageVolume $pool web-data -Property user.owner | Write-Host

    Step "Copy-StorageVolume, then filter with Where-Object"
    Copy-StorageVolume -Pool $pool -Name web-data -NewName web-copy
    Get-StorageVolume $pool | Where-Object Used -gt 0 | Select-Object Name, Used, Path | Show

    Step "Get-StorageVolume -Pool $pool | Remove-StorageVolume -Confirm:`$false; Remove-StoragePool $pool"
    Get-StorageVolume -Pool $pool | Remove-StorageVolume -Confirm:$false
    Remove-StoragePool $pool -Confirm:$false

    Step "New-Container $ctr -Image busybox -StoragePool $pool -Start   (unprivileged, idmapped rootfs)"
    New-StoragePool -Name $pool -Driver dir | Out-Null
    New-Container $ctr -Image busybox -StoragePool $pool -Start | Show

    Step 'Get-Container'
    Get-Container $ctr | Show

    Step "/etc/hostname in its rootfs, read through the engine's volume for the container"
    $rootfs = (Get-StorageVolume -Pool $pool -Type container -Name $ctr).Path
    Get-Content (Join-Path $rootfs 'etc/hostname') | Write-Host
    Step "the init's uid_map: container root is host uid $((Get-Content "/proc/$((Get-Container $ctr).Pid)/uid_map").Trim() -split '\s+' | Select-Object -Index 1)"
    Step 'Get-ContainerLog (console output kept by the monitor)'
    Get-ContainerLog $ctr | Write-Host

    Step "Add-StorageVolume $pool site; Mount-StorageVolume (hot, idmapped: host root's file is container root's)"
    $site = Add-StorageVolume -Pool $pool -Name site
    Set-Content -Path (Join-Path $site.Path 'index.html') -Value '<h1>hello</h1>'
    Mount-StorageVolume -Pool $pool -Name site -Container $ctr -Path /srv/www -PassThru | Show
    Invoke-ContainerExec $ctr -- ls -ln /srv/www | Write-Host
    Step 'Get-ContainerIdmap'
    Get-ContainerIdmap $ctr | Show
    Dismount-StorageVolume -Pool $pool -Name site -Container $ctr
    Remove-StorageVolume -Pool $pool -Name site -Confirm:$false

    Step "Stop-Container $ctr; Remove-Container $ctr"
    Stop-Container $ctr
    Get-Container $ctr | Select-Object Name, State, LastExitCode, StatusReason | Show
    Remove-Container $ctr
    Remove-StoragePool $pool -Force -Confirm:$false   # -Force: also drops the pool's cached busybox image volume
    Write-Host 'Demo finished: everything it created is gone.'
}
finally {
    if (Get-Container $ctr -ErrorAction SilentlyContinue) { Remove-Container $ctr -Force }
    if (Get-StoragePool $pool -ErrorAction SilentlyContinue) { Remove-StoragePool $pool -Force -Confirm:$false }
}
