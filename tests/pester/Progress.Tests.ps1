#Requires -Version 7.4
# Write-Progress of the long operations, read from the progress stream of a nested pipeline:
# Import-ContainerImage (tar checkpoints, in percent of an uncompressed archive), Copy-StorageVolume
# and Copy-Container on a copying driver (dir: what the filesystem gained, of the tree's size).
# Run it in a private mount namespace (unshare --mount --propagation private), as build.ps1 does.

BeforeAll {
    Import-Module (Join-Path $PSScriptRoot 'TestHelpers.psm1') -Force
    Import-Module (Get-ModulePath) -Force
}

Describe 'Progress of long operations' {
    BeforeEach { $script:t = New-ContainerTestRoot }
    AfterEach { Remove-TestContainers; Remove-TestRoot }

    It 'Import-ContainerImage shows how much of the archive is unpacked, in percent, and ends its bar' {
        $src = Join-Path $t.Ext 'big'
        $null = New-Item -ItemType Directory (Join-Path $src 'bin'), (Join-Path $src 'data')
        Copy-Item /bin/busybox (Join-Path $src 'bin/busybox')
        & head -c 48M /dev/urandom > (Join-Path $src 'data/blob')
        & tar -C $src -cf (Join-Path $t.Ext 'big.tar') --numeric-owner .
        $p = Get-ProgressRecord "Import-ContainerImage '$(Join-Path $t.Ext 'big.tar')' -Alias big | Out-Null"
        $mine = @($p | Where-Object Activity -eq 'Importing big.tar')
        $steps = @($mine | Where-Object RecordType -eq 'Processing')
        $steps.Count | Should -BeGreaterThan 3 -Because 'one checkpoint per MiB of archive read'
        $steps[-1].StatusDescription | Should -Match '^\d+ MiB unpacked$'
        ($steps.PercentComplete | Measure-Object -Maximum).Maximum | Should -BeGreaterThan 50
        @($steps.PercentComplete | Where-Object { $_ -lt 0 -or $_ -gt 100 }) | Should -BeNullOrEmpty
        $mine[-1].RecordType | Should -Be 'Completed'
        (Get-ContainerImage big).Alias | Should -Be 'big'
    }

    It 'Copy-StorageVolume and Copy-Container on dir show the MiB copied of the total, then end the bar' {
        $null = New-Container c1 -Image busybox   # the default (dir) pool
        $v = Add-StorageVolume default data
        & head -c 200M /dev/urandom > (Join-Path $v.Path 'blob')
        $p = Get-ProgressRecord 'Copy-StorageVolume default data data2'
        $mine = @($p | Where-Object Activity -eq 'Copying custom data')
        $steps = @($mine | Where-Object RecordType -eq 'Processing')
        $steps.Count | Should -BeGreaterThan 0 -Because 'a 200 MiB copy takes longer than half a second here'
        $steps[-1].StatusDescription | Should -Match '^\d+ of 200 MiB$'
        $mine[-1].RecordType | Should -Be 'Completed'
        (Get-Item (Join-Path (Get-StorageVolume default data2).Path 'blob')).Length | Should -Be 200MB

        & head -c 100M /dev/urandom > (Join-Path (Get-StorageVolume default c1 -Type container).Path 'root/blob')
        $p = Get-ProgressRecord 'Copy-Container c1 c2 | Out-Null'
        @($p | Where-Object { $_.Activity -eq 'Copying container c1' -and $_.RecordType -eq 'Completed' }).Count | Should -Be 1
        @($p | Where-Object { $_.Activity -eq 'Copying container c1' -and $_.StatusDescription -match 'of 1\d\d MiB' }).Count | Should -BeGreaterThan 0
    }

    It 'a small copy shows no progress bar' {
        $null = New-Container c1 -Image busybox
        $null = Add-StorageVolume default small
        @(Get-ProgressRecord 'Copy-StorageVolume default small small2' | Where-Object Activity -like 'Copying*') | Should -BeNullOrEmpty
    }
}
