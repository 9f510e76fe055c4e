@{
    RootModule           = 'bin/ContainerPS.dll'
    ModuleVersion        = '0.1.0'
    GUID                 = '5b0c7c2e-6f3e-4d5a-9a51-3c1f0e7d2b84'
    Author               = 'ContainerPS developers'
    CompanyName          = 'ContainerPS'
    Copyright            = '(c) ContainerPS developers. MIT License.'
    Description          = 'Linux system containers from PowerShell, the way LXD and Incus run them, with no daemon: storage pools and volumes, unprivileged containers on runc, exec, CRIU checkpoint/restore and CNI networking, all as objects in the pipeline.'
    PowerShellVersion    = '7.4'
    CompatiblePSEditions = @('Core')
    FormatsToProcess     = @('bin/ContainerPS.format.ps1xml')
    TypesToProcess       = @('bin/ContainerPS.types.ps1xml')
    CmdletsToExport      = @(
        'Start-ContainerHost'
        'Stop-ContainerHost'
        'New-StoragePool'
        'Get-StoragePool'
        'Set-StoragePool'
        'Remove-StoragePool'
        'Add-StorageVolume'
        'Get-StorageVolume'
        'Set-StorageVolume'
        'Rename-StorageVolume'
        'Copy-StorageVolume'
        'Remove-StorageVolume'
        'New-StorageVolumeSnapshot'
        'Get-StorageVolumeSnapshot'
        'Restore-StorageVolumeSnapshot'
        'Remove-StorageVolumeSnapshot'
        'Import-ContainerImage'
        'New-ContainerImage'
        'Get-ContainerImage'
        'Remove-ContainerImage'
        'Initialize-ContainerHost'
        'New-Container'
        'Get-Container'
        'Start-Container'
        'Stop-Container'
        'Restart-Container'
        'Rename-Container'
        'Copy-Container'
        'Remove-Container'
        'Wait-Container'
        'Get-ContainerLog'
        'Get-ContainerState'
        'New-ContainerSnapshot'
        'Get-ContainerSnapshot'
        'Restore-ContainerSnapshot'
        'Remove-ContainerSnapshot'
        'Invoke-ContainerExec'
        'New-ContainerNetwork'
        'Get-ContainerNetwork'
        'Remove-ContainerNetwork'
        'Connect-ContainerNetwork'
        'Disconnect-ContainerNetwork'
        'Get-ContainerNetworkAttachment'
        'Test-ContainerNetwork'
        'Checkpoint-Container'
        'Restore-Container'
        'Test-ContainerCheckpoint'
        'Move-Container'
        'Set-Container'
        'Mount-StorageVolume'
        'Dismount-StorageVolume'
        'Get-ContainerIdmap'
        'Copy-ContainerFile'
    )
    FunctionsToExport    = @()
    AliasesToExport      = @()
    VariablesToExport    = @()
    PrivateData          = @{
        PSData = @{
            Tags         = @('Linux', 'PSEdition_Core', 'containers', 'lxd', 'criu', 'lxc', 'incus', 'runc', 'cni', 'storage', 'btrfs', 'zfs', 'ceph')
            # The MIT License, as in LICENSE (shipped in the package). The project has no public home
            # page yet, so there is no ProjectUri.
            LicenseUri   = 'https://opensource.org/licenses/MIT'
            ReleaseNotes = '0.1.0: first release. Storage pools and volumes (dir, btrfs, zfs, ceph RBD) with snapshots and copies; images (built-in busybox, rootfs/LXD/OCI imports, Debian via debootstrap); unprivileged containers on runc with a native monitor and idmapped rootfs; Invoke-ContainerExec; CNI networks; CRIU checkpoint/restore and Move-Container over PowerShell remoting; custom volumes in containers; id maps. Runs as root on Debian 12 or 13 (x86_64). Installed with PSResourceGet, the module gives its native helpers back their exec bits on import.'
        }
    }
}
