#Requires -Version 7.4
# Snapshots of custom volumes on every driver, against the real storage: a dir pool, btrfs on a loop
# file, zfs-fuse (one daemon, started with its own pidfile) and the throwaway Ceph cluster
# (tests/ceph-cluster.sh). Create, list, restore (the files come back), remove, a volume renamed or
# removed with its snapshots, the zfs latest-only rule, and bad input that changes nothing.
# Run it in a private mount namespace, as build.ps1 does.

BeforeAll {
    Import-Module (Join-Path $PSScriptRoot 'TestHelpers.psm1') -Force
    Import-Module (Get-ModulePath) -Force
    $script:zfsd = Start-TestZfs
    $script:ceph = Start-TestCeph
    $script:prefix = 'cpt' + [guid]::NewGuid().ToString('N').Substring(0, 6)
}

AfterAll { Stop-TestCeph $script:ceph; Stop-TestZfs $script:zfsd }

Describe 'custom volume snapshots on <Driver>' -ForEach @(
    @{ Driver = 'dir'; Config = @{} }
    @{ Driver = 'btrfs'; Config = @{ size = '1GiB' } }
    @{ Driver = 'zfs'; Config = @{ size = '1GiB' }; Zfs = $true }
    @{ Driver = 'ceph'; Config = @{ 'volume.size' = '64MiB' }; Ceph = $true }
) {
    BeforeAll {
        $script:t = New-ContainerTestRoot
        $cfg = $Config.Clone()
        if ($Driver -eq 'zfs') { $cfg['zfs.pool_name'] = "$($script:prefix)z" }
        if ($Driver -eq 'ceph') { $cfg['ceph.osd.pool_name'] = "$($script:prefix)c"; $cfg['ceph.osd.pg_num'] = '8' }
        $script:p = New-StoragePool p -Driver $Driver -Config $cfg
    }
    AfterAll {
        Get-StoragePool -ErrorAction SilentlyContinue | Remove-StoragePool -Force -Confirm:$false -ErrorAction SilentlyContinue
        Remove-TestCephMappings
        Remove-TestContainers
        Remove-TestRoot
    }

    It 'snapshot, list, restore (the files come back), remove' {
        $v = Add-StorageVolume p data
        'one' | Set-Content (Join-Path $v.Path 'f')
        & chown 1234:5678 (Join-Path $v.Path 'f')
        $s = New-StorageVolumeSnapshot p data s1
        $s.GetType().FullName | Should -Be 'ContainerPS.StorageVolumeSnapshot'
        "$s" | Should -Be 'p/data/s1'
        'two' | Set-Content (Join-Path $v.Path 'f')
        'new' | Set-Content (Join-Path $v.Path 'g')
        $null = Get-StorageVolume p data | New-StorageVolumeSnapshot -Name s2
        (Get-StorageVolumeSnapshot p data).Name | Should -Be @('s1', 's2')
        (Get-StorageVolume p data).Snapshots | Should -Be @('s1', 's2')
        (Get-StorageVolumeSnapshot p data 's*' | Select-Object -First 1).Volume | Should -Be 'data'
        Get-StorageVolume p -Type custom | ForEach-Object Name | Should -Be @('data') -Because 'snapshots are not custom volumes'

        if ($Driver -eq 'zfs') {
            $before = Get-ContainerStateSnapshot -IgnoreLocks
            Get-ErrorId (Get-CommandError { Restore-StorageVolumeSnapshot p data s1 -Confirm:$false }) | Should -Be 'SnapshotNotLatest'
            Get-ContainerStateSnapshot -IgnoreLocks | Should -Be $before
            Remove-StorageVolumeSnapshot p data s2
        }
        Restore-StorageVolumeSnapshot p data s1 -Confirm:$false
        $path = (Get-StorageVolume p data).Path
        Get-Content (Join-Path $path 'f') | Should -Be 'one'
        Join-Path $path 'g' | Should -Not -Exist
        & stat -c %u:%g (Join-Path $path 'f') | Should -Be '1234:5678'
        'after' | Set-Content (Join-Path $path 'f')

        Get-StorageVolumeSnapshot p data | Remove-StorageVolumeSnapshot
        Get-StorageVolumeSnapshot p data | Should -BeNullOrEmpty
        Get-Content (Join-Path $path 'f') | Should -Be 'after'
        Remove-StorageVolume p data
    }

    It 'a renamed volume keeps its snapshots; a removed one takes them along; bad input changes nothing' {
        $v = Add-StorageVolume p vol
        'x' | Set-Content (Join-Path $v.Path 'f')
        $null = New-StorageVolumeSnapshot p vol a
        $before = Get-ContainerStateSnapshot -IgnoreLocks
        Get-ErrorId (Get-CommandError { New-StorageVolumeSnapshot p vol a }) | Should -Be 'SnapshotExists'
        Get-ErrorId (Get-CommandError { New-StorageVolumeSnapshot p vol 'b/c' }) | Should -Be 'InvalidName'
        Get-ErrorId (Get-CommandError { New-StorageVolumeSnapshot p vol '..' }) | Should -Be 'InvalidName'
        Get-ErrorId (Get-CommandError { New-StorageVolumeSnapshot p nosuch a }) | Should -Be 'VolumeNotFound'
        Get-ErrorId (Get-CommandError { Restore-StorageVolumeSnapshot p vol nosuch -Confirm:$false }) | Should -Be 'SnapshotNotFound'
        Get-ErrorId (Get-CommandError { Remove-StorageVolumeSnapshot p vol nosuch }) | Should -Be 'SnapshotNotFound'
        Get-ErrorId (Get-CommandError { Get-StorageVolumeSnapshot p vol nosuch }) | Should -Be 'SnapshotNotFound'
        Get-ErrorId (Get-CommandError { Remove-StorageVolume p 'vol@a' -Type custom-snapshot }) | Should -Be 'VolumeTypeNotRemovable'
        Get-ContainerStateSnapshot -IgnoreLocks | Should -Be $before

        Rename-StorageVolume p vol vol2
        (Get-StorageVolumeSnapshot p vol2).Name | Should -Be @('a')
        'y' | Set-Content (Join-Path (Get-StorageVolume p vol2).Path 'f')
        Restore-StorageVolumeSnapshot p vol2 a -Confirm:$false
        Get-Content (Join-Path (Get-StorageVolume p vol2).Path 'f') | Should -Be 'x'

        Remove-StorageVolume p vol2
        Get-StorageVolume p -Type custom-snapshot | Should -BeNullOrEmpty
        switch ($Driver) {
            'zfs' { @(& zfs list -H -o name -t snapshot -r "$($script:prefix)z/custom" 2>$null) | Should -BeNullOrEmpty }
            'ceph' { Get-RbdImages "$($script:prefix)c" | Should -BeNullOrEmpty }
            default { @(Get-ChildItem -Force (Join-Path $script:p.Source 'custom-snapshots') -ErrorAction SilentlyContinue) | Should -BeNullOrEmpty }
        }
    }
}
