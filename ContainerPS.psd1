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
            Tags       = @('Linux', 'Containers', 'LXC', 'LXD', 'Incus', 'runc', 'CRIU', 'CNI', 'Storage', 'btrfs', 'ZFS', 'Ceph')
            LicenseUri = 'https://opensource.org/licenses/MIT'
        }
    }
}
