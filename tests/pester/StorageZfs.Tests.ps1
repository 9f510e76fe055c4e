#Requires -Version 7.4
# The zfs storage driver against the real thing: zfs-fuse 0.7 (one daemon for the file, started
# with its own pidfile and stopped by its pid). Pools on a file vdev made for them and on an existing
# dataset, datasets with refquota sizes (EDQUOT past them), container snapshots as zfs snapshots,
# copies as clones (or send/receive with zfs.clone_copy=false), containers launched on zfs (the chown
# fallback: FUSE refuses idmapped mounts), an image kept while clones of it live, and bad input.
# Run it in a private mount namespace, as build.ps1 does.

BeforeAll {
    Import-Module (Join-Path $PSScriptRoot 'TestHelpers.psm1') -Force
    Import-Module (Get-ModulePath) -Force
    $script:zfsd = Start-TestZfs
    $script:prefix = 'cpt' + [guid]::NewGuid().ToString('N').Substring(0, 6)

    function Get-Zfs([string] $Dataset, [string] $Property) { (& zfs get -H -p -o value $Property $Dataset).Trim() }
    function Get-Datasets([string] $Root) { @(& zfs list -H -o name -t all -r $Root 2>$null) }
}

AfterAll { Stop-TestZfs $script:zfsd }

Describe 'zfs pools' {
    BeforeEach { $script:t = New-ContainerTestRoot }
    AfterEach { Stop-ChildPwsh; Remove-TestContainers; Get-StoragePool -ErrorAction SilentlyContinue | Remove-StoragePool -Force -Confirm:$false -ErrorAction SilentlyContinue; Remove-TestRoot }

    It 'without -Source: a zpool on a sparse file of the given size, its datasets, all removed with the pool' {
        $name = "$($script:prefix)a"
        $p = New-StoragePool z -Driver zfs -Config @{ size = '1GiB'; 'zfs.pool_name' = $name }
        $p.Driver | Should -Be 'zfs'
        $image = $p.Config['volatile.zfs.device']
        $image | Should -Be (Join-Path $script:t.Root 'disks/z.img')
        (Get-Item $image).Length | Should -Be 1GB
        & zpool list -H -o name | Should -Contain $name
        Get-Datasets $name | Should -Be @($name, "$name/containers", "$name/custom", "$name/images")
        Get-StoragePool z -Property size | Should -BeGreaterThan 900MB

        Remove-StoragePool z -Confirm:$false
        & zpool list -H -o name | Should -Not -Contain $name
        $image | Should -Not -Exist
        $p.Source | Should -Not -Exist
    }

    It 'on an existing dataset (kept when the pool goes); bad sources and keys are refused and change nothing' {
        $name = "$($script:prefix)b"
        $file = Join-Path $script:t.Base 'mine.img'
        & truncate -s 512M $file
        & zpool create -o cachefile=none -m none $name $file
        try {
            & zfs create -o mountpoint=none "$name/cps"
            $p = New-StoragePool onds -Driver zfs -Source "$name/cps"
            $p.Config['zfs.pool_name'] | Should -Be "$name/cps"
            $p.Config.Keys | Should -Not -Contain 'volatile.zfs.device'
            $null = Add-StorageVolume onds v
            Get-Datasets "$name/cps" | Should -Contain "$name/cps/custom/v"
            Remove-StoragePool onds -Force -Confirm:$false
            Get-Datasets $name | Should -Be @($name, "$name/cps") -Because 'the dataset given as source is kept, emptied'

            $before = Get-ContainerStateSnapshot -IgnoreLocks
            Get-ErrorId (Get-CommandError { New-StoragePool x -Driver zfs -Source "$name/nosuch" }) | Should -Be 'InvalidSource'
            Get-ErrorId (Get-CommandError { New-StoragePool x -Driver zfs -Source $name }) | Should -Be 'SourceNotEmpty'
            Get-ErrorId (Get-CommandError { New-StoragePool x -Driver zfs -Config @{ 'zfs.pool_name' = $name } }) | Should -Be 'SourceInUse'
            Get-ErrorId (Get-CommandError { New-StoragePool x -Driver zfs -Config @{ 'btrfs.mount_options' = 'x' } }) | Should -Be 'InvalidConfigKey'
            Get-ErrorId (Get-CommandError { New-StoragePool x -Driver zfs -Config @{ 'zfs.pool_name' = 'bad name' } }) | Should -Be 'InvalidConfigValue'
            Get-ErrorId (Get-CommandError { New-StoragePool x -Driver zfs -Config @{ 'zfs.clone_copy' = 'maybe' } }) | Should -Be 'InvalidConfigValue'
            Get-ContainerStateSnapshot -IgnoreLocks | Should -Be $before
            (Join-Path $script:t.Root 'disks/x.img') | Should -Not -Exist
        }
        finally { & zpool destroy -f $name 2>$null }
    }
}

Describe 'zfs volumes and containers' {
    BeforeAll {
        $script:t = New-ContainerTestRoot
        $script:zname = "$($script:prefix)c"
        $script:z = New-StoragePool z -Driver zfs -Config @{ size = '2GiB'; 'zfs.pool_name' = $script:zname }
    }
    AfterAll { Stop-ChildPwsh; Remove-TestContainers; Get-StoragePool -ErrorAction SilentlyContinue | Remove-StoragePool -Force -Confirm:$false -ErrorAction SilentlyContinue; Remove-TestRoot }

    It 'a volume is a dataset whose size is its refquota: writes past it fail with EDQUOT; resize and unset' {
        $v = Add-StorageVolume z v1 -Config @{ size = '20MiB' }
        $v.SizeEnforced | Should -BeTrue
        Get-Zfs "$script:zname/custom/v1" refquota | Should -Be (20MB).ToString()
        Get-Zfs "$script:zname/custom/v1" mountpoint | Should -Be $v.Path
        & bash -c "dd if=/dev/zero of='$($v.Path)/a' bs=1M count=40 conv=fsync 2>&1" | Select-String 'Disk quota exceeded' | Should -Not -BeNullOrEmpty
        Remove-Item (Join-Path $v.Path 'a')
        Set-StorageVolume z v1 -Config @{ size = '80MiB' }
        Get-StorageVolume z v1 -Property size | Should -Be 80MB
        & bash -c "dd if=/dev/zero of='$($v.Path)/b' bs=1M count=40 conv=fsync status=none"
        $LASTEXITCODE | Should -Be 0
        Get-StorageVolume z v1 -Property used | Should -BeGreaterOrEqual 30MB
        Set-StorageVolume z v1 -Config @{ size = $null }
        Get-Zfs "$script:zname/custom/v1" refquota | Should -Be '0'
        Rename-StorageVolume z v1 v1b
        Get-Zfs "$script:zname/custom/v1b" mountpoint | Should -Be (Join-Path $script:z.Source 'custom/v1b')
        (Get-Content (Join-Path $script:z.Source 'custom/v1b/b') -AsByteStream -TotalCount 1) | Should -Be 0
        Remove-StorageVolume z v1b
        Get-Datasets "$script:zname/custom" | Should -Be @("$script:zname/custom")
    }

    It 'copies: a clone inside the pool, a full copy with zfs.clone_copy=false, cp -a to a dir pool' {
        $v = Add-StorageVolume z data
        'hello' | Set-Content (Join-Path $v.Path 'f')
        & chown 1234:5678 (Join-Path $v.Path 'f')
        $c = Copy-StorageVolume z data -NewName data2 -PassThru
        Get-Zfs "$script:zname/custom/data2" origin | Should -BeLike "$script:zname/custom/data@copy-*"
        Get-Content (Join-Path $c.Path 'f') | Should -Be 'hello'
        Set-StoragePool z -Config @{ 'zfs.clone_copy' = 'false' }
        $full = Copy-StorageVolume z data -NewName data3 -PassThru
        Get-Zfs "$script:zname/custom/data3" origin | Should -Be '-'
        & stat -c %u:%g (Join-Path $full.Path 'f') | Should -Be '1234:5678'
        Set-StoragePool z -Config @{ 'zfs.clone_copy' = $null }
        $null = New-StoragePool d -Driver dir
        $toDir = Copy-StorageVolume z data -TargetPool d -PassThru
        & stat -c %u:%g (Join-Path $toDir.Path 'f') | Should -Be '1234:5678'

        # The source of a clone is removed from sight at once and destroyed with its last clone.
        Remove-StorageVolume z data
        Get-StorageVolume z data -ErrorAction SilentlyContinue | Should -BeNullOrEmpty
        Get-Zfs "$script:zname/custom/data" 'containerps:deleted' | Should -Be 'true'
        Get-Zfs "$script:zname/custom/data" mountpoint | Should -Be 'none'
        Remove-StorageVolume z data2
        Get-Datasets "$script:zname/custom" | Should -Be @("$script:zname/custom", "$script:zname/custom/data3")
        Remove-StorageVolume z data3
        Remove-StorageVolume d data
    }

    It 'a volume on zfs is shared only by containers with identical maps (LXD''s rule: zfs-fuse cannot be idmapped)' {
        $vol = Add-StorageVolume z shared
        'x' | Set-Content (Join-Path $vol.Path 'hello')
        $null = New-Container s1 busybox -Start
        $null = New-Container s2 busybox -IsolatedIdmap -Start
        Mount-StorageVolume z shared s1 /data
        Invoke-In s1 'stat -c %u:%g /data/hello' | Should -Be '0:0'
        (Get-StorageVolume z shared).Config['volatile.idmap.last'] | Should -Not -BeNullOrEmpty
        $err = Get-CommandError { Mount-StorageVolume z shared s2 /data }
        Get-ErrorId $err | Should -Be 'IdmapsNotIdentical'
        "$err" | Should -BeLike "Idmaps of container 's2' (*) and storage volume 'z/shared' (*, the map of s1) are not identical.*"
        Remove-Container s1, s2 -Force
        Remove-StorageVolume z shared
    }

    It 'containers launch on zfs (files shifted: FUSE refuses idmapped mounts); snapshots; a copy boots from a clone; the image is kept for its clones' {
        $c = New-Container c1 busybox -StoragePool z -Start
        Invoke-In c1 'stat -c %u:%g /bin/busybox; echo one > /root/state' | Should -Be '0:0'
        (Get-StorageVolume z c1 -Type container).Config['volatile.idmap.last'] | Should -Not -BeNullOrEmpty
        $img = (Get-StorageVolume z -Type image).Name
        Get-Zfs "$script:zname/containers/c1" origin | Should -BeLike "$script:zname/images/$img@copy-*"

        $null = New-ContainerSnapshot c1 s1
        Get-Datasets "$script:zname/containers/c1" | Should -Contain "$script:zname/containers/c1@s1"
        Invoke-In c1 'echo two > /root/state'
        Stop-Container c1 -Force
        Restore-ContainerSnapshot c1 s1 -Confirm:$false
        Start-Container c1
        Invoke-In c1 'cat /root/state' | Should -Be 'one'

        Stop-Container c1 -Force
        $null = Copy-Container c1 c2 -Snapshot s1
        Get-Zfs "$script:zname/containers/c2" origin | Should -Be "$script:zname/containers/c1@s1"
        Start-Container c2
        Invoke-In c2 'cat /root/state; hostname' | Should -Be @('one', 'c2')

        # zfs rolls back only to the latest snapshot.
        $null = New-ContainerSnapshot c1 s2
        (Get-StorageVolume z c1 -Type container -Property snapshots) -join ',' | Should -Be 's1,s2'
        $before = Get-ContainerStateSnapshot -IgnoreLocks
        Get-ErrorId (Get-CommandError { Restore-ContainerSnapshot c1 s1 -Confirm:$false }) | Should -Be 'SnapshotNotLatest'
        Get-ContainerStateSnapshot -IgnoreLocks | Should -Be $before

        # The image goes from the list at once; its dataset is kept while containers are clones of it.
        Remove-ContainerImage busybox
        Get-StorageVolume z -Type image | Should -BeNullOrEmpty
        Get-Zfs "$script:zname/images/$img" 'containerps:deleted' | Should -Be 'true'
        # A new image volume of that name does not collide with the one kept.
        $null = New-Container c3 busybox -StoragePool z
        (Get-StorageVolume z -Type image).Name | Should -Be $img
        Remove-Container c3
        Start-Container c1
        Invoke-In c1 'cat /root/state' | Should -Be 'one'
        Remove-Container c1, c2 -Force
        Get-Datasets "$script:zname/containers" | Should -Be @("$script:zname/containers")
        Get-Datasets "$script:zname/images" | Should -Be @("$script:zname/images", "$script:zname/images/$img") -Because 'the kept image went with its last clone; the new one stays'
        Remove-ContainerImage busybox
        Get-Datasets "$script:zname/images" | Should -Be @("$script:zname/images")
    }
}
