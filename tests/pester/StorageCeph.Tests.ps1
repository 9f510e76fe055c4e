#Requires -Version 7.4
# The ceph storage driver against the real thing: a throwaway one-node Ceph cluster on 127.0.0.1
# (tests/ceph-cluster.sh: one mon, one memstore OSD; the run's shared one when build.ps1 started
# it). OSD pools made for a pool or given as -Source, RBD images with ext4/xfs reached through
# rbd-fuse + loop devices, sizes (ENOSPC past them, growth, no shrinking), snapshots as RBD
# snapshots, copies as clones of protected snapshots (or full copies), images and containers kept
# as zombie_* while clones need them, containers launched on ceph (idmapped, nothing shifted), and
# bad input. Run it in a private mount namespace, as build.ps1 does.

BeforeAll {
    Import-Module (Join-Path $PSScriptRoot 'TestHelpers.psm1') -Force
    Import-Module (Get-ModulePath) -Force
    $script:ceph = Start-TestCeph
    $script:prefix = 'cpt' + [guid]::NewGuid().ToString('N').Substring(0, 6)

    function Get-OsdPools { @(& rados lspools) }
    # A ceph pool c on its own OSD pool (small volumes, few placement groups) in a new test root.
    function New-CephTestPool([string] $Suffix) {
        $script:t = New-ContainerTestRoot
        $script:osd = "$($script:prefix)$Suffix"
        $script:c = New-StoragePool c -Driver ceph -Config @{ 'ceph.osd.pool_name' = $script:osd; 'ceph.osd.pg_num' = '8'; 'volume.size' = '128MiB' }
    }
    <# SIGKILLs the rbd-fuse of one image of pool c (found by its mount point in its command line, stopped by its pid) and waits until it is dead. #>
    function Stop-RbdFuse([string] $Image) {
        $fuseDir = Join-Path $script:c.Source ".rbd/$Image"
        $fusePid = @(Get-ChildItem /proc -Directory | Where-Object Name -match '^\d+$' | Where-Object {
                (Get-Content "/proc/$($_.Name)/comm" -ErrorAction SilentlyContinue) -eq 'rbd-fuse' -and
                ((Get-Content "/proc/$($_.Name)/cmdline" -Raw -ErrorAction SilentlyContinue) -split "`0") -contains $fuseDir } | ForEach-Object Name)
        $fusePid.Count | Should -Be 1
        & /usr/bin/kill -9 $fusePid[0]
        Wait-Until { -not (Test-Path "/proc/$($fusePid[0])/cmdline") -or (Get-Content "/proc/$($fusePid[0])/stat" -Raw) -match '\) Z ' } -Because 'rbd-fuse to die'
    }
    function Get-RbdSize([string] $Spec) { (& rbd info --format json $Spec | ConvertFrom-Json).size }
    function Remove-CephTestState {
        Stop-ChildPwsh
        Get-Container -ErrorAction SilentlyContinue | Remove-Container -Force -Confirm:$false -ErrorAction SilentlyContinue -WarningAction SilentlyContinue
        Get-ContainerImage -ErrorAction SilentlyContinue | Remove-ContainerImage -ErrorAction SilentlyContinue
        Get-StoragePool -ErrorAction SilentlyContinue | Remove-StoragePool -Force -Confirm:$false -ErrorAction SilentlyContinue
        Remove-TestCephMappings
        Remove-TestContainers
        Remove-TestRoot
    }
}

AfterAll { Stop-TestCeph $script:ceph }

Describe 'ceph pools' {
    BeforeEach { $script:t = New-ContainerTestRoot }
    AfterEach { Remove-CephTestState }

    It 'without -Source: an OSD pool with ceph.osd.pg_num placement groups, marked as the pool''s; removed with the pool' {
        $osd = "$($script:prefix)a"
        $p = New-StoragePool c -Driver ceph -Config @{ 'ceph.osd.pool_name' = $osd; 'ceph.osd.pg_num' = '16' }
        $p.Driver | Should -Be 'ceph'
        $p.Config['ceph.osd.pool_name'] | Should -Be $osd
        Get-OsdPools | Should -Contain $osd
        (& ceph osd pool get $osd pg_num -f json | ConvertFrom-Json).pg_num | Should -Be 16
        (& rados -p $osd get containerps.pool -) | Should -Be 'c created'
        (& ceph osd pool application get $osd -f json) -join '' | Should -Match '"rbd"'
        Get-StoragePool c -Property used | Should -Be 0

        $null = Add-StorageVolume c v -Config @{ size = '64MiB' }
        Get-RbdImages $osd | Should -Be @('custom_v')
        Remove-StoragePool c -Force -Confirm:$false
        Get-OsdPools | Should -Not -Contain $osd
        $p.Source | Should -Not -Exist
        Get-MountsBelow $script:t.Base | Should -BeNullOrEmpty
        @(& losetup -l -n -O BACK-FILE | Where-Object { "$_".Trim().StartsWith($script:t.Base) }) | Should -BeNullOrEmpty
    }

    It 'an existing empty OSD pool as -Source (kept and emptied when the pool goes); bad sources and keys change nothing' {
        $osd = "$($script:prefix)b"
        & ceph osd pool create $osd 8 8 2>&1 | Out-Null
        & rbd pool init $osd
        try {
            $p = New-StoragePool mine -Driver ceph -Source $osd
            $p.Config['ceph.osd.pool_name'] | Should -Be $osd
            (& rados -p $osd get containerps.pool -) | Should -Be 'mine existing'
            $null = Add-StorageVolume mine v -Config @{ size = '64MiB' }

            $before = Get-ContainerStateSnapshot -IgnoreLocks
            Get-ErrorId (Get-CommandError { New-StoragePool x -Driver ceph -Source $osd }) | Should -Be 'SourceInUse'
            Get-ErrorId (Get-CommandError { New-StoragePool x -Driver ceph -Source 'a/b' }) | Should -Be 'InvalidSource'
            Get-ErrorId (Get-CommandError { New-StoragePool x -Driver ceph -Config @{ 'zfs.pool_name' = 'x' } }) | Should -Be 'InvalidConfigKey'
            Get-ErrorId (Get-CommandError { New-StoragePool x -Driver ceph -Config @{ 'ceph.osd.pg_num' = 'many' } }) | Should -Be 'InvalidConfigValue'
            Get-ErrorId (Get-CommandError { New-StoragePool x -Driver ceph -Config @{ 'ceph.rbd.features' = 'striping' } }) | Should -Be 'InvalidConfigValue'
            Get-ErrorId (Get-CommandError { New-StoragePool x -Driver ceph -Config @{ 'volume.block.filesystem' = 'btrfs' } }) | Should -Be 'InvalidConfigValue'
            Get-ErrorId (Get-CommandError { New-StoragePool x -Driver ceph -Config @{ 'ceph.user.name' = 'no one' } }) | Should -Be 'InvalidConfigValue'
            Get-ErrorId (Get-CommandError { Add-StorageVolume mine w -Config @{ 'block.filesystem' = 'zfs' } }) | Should -Be 'InvalidConfigValue'
            Get-ErrorId (Get-CommandError { Add-StorageVolume mine w -Config @{ 'btrfs.mount_options' = 'x' } }) | Should -Be 'InvalidConfigKey'
            Get-ErrorId (Get-CommandError { Set-StorageVolume mine v -Config @{ 'block.filesystem' = 'xfs' } }) | Should -Be 'ConfigKeyReadOnly'
            $saved = $env:CEPH_CONF
            try {
                $env:CEPH_CONF = Join-Path $script:t.Ext 'nosuch.conf'
                Get-ErrorId (Get-CommandError { New-StoragePool x -Driver ceph }) | Should -Be 'CephConfigNotFound'
                $env:CEPH_CONF = $saved
                Get-ErrorId (Get-CommandError { New-StoragePool x -Driver ceph -Config @{ 'ceph.user.name' = 'nosuch' } }) | Should -Be 'CephNotReachable'
            }
            finally { $env:CEPH_CONF = $saved }
            Get-ContainerStateSnapshot -IgnoreLocks | Should -Be $before
            Get-OsdPools | Should -Not -Contain 'x'

            Remove-StoragePool mine -Force -Confirm:$false
            Get-OsdPools | Should -Contain $osd -Because 'an OSD pool given as source is the user''s'
            Get-RbdImages $osd | Should -BeNullOrEmpty
            & rados -p $osd stat containerps.pool 2>$null
            $LASTEXITCODE | Should -Not -Be 0 -Because 'the marker goes with the pool'

            & rbd create "$osd/foreign" --size 8M
            Get-ErrorId (Get-CommandError { New-StoragePool x -Driver ceph -Source $osd }) | Should -Be 'SourceNotEmpty'
        }
        finally { & ceph osd pool delete $osd $osd --yes-i-really-really-mean-it 2>&1 | Out-Null }
    }

    It 'ceph.rbd.map: auto maps with rbd-fuse + loop on this kernel (no rbd module); krbd is refused with DriverNotSupported and changes nothing' {
        # This host's kernel has no rbd module (the krbd side is tested in StorageCephKrbd.Lane.Tests on a stock kernel).
        Test-Path /sys/bus/rbd | Should -BeFalse -Because 'this test is about a kernel without rbd'
        $osd = "$($script:prefix)m"
        $p = New-StoragePool c -Driver ceph -Config @{ 'ceph.osd.pool_name' = $osd; 'ceph.osd.pg_num' = '8' }
        $p.RbdMap | Should -Be 'fuse'
        $p.Config.Keys | Should -Not -Contain 'ceph.rbd.map' -Because 'auto is the default'
        (Get-StoragePool c | Format-Table | Out-String -Width 300) | Should -Match 'RbdMap[\s\S]*fuse'
        $v = Add-StorageVolume c v -Config @{ size = '64MiB' }
        (& findmnt -n -o FSTYPE --mountpoint (Join-Path $p.Source '.rbd/custom_v')) | Should -Match 'fuse'
        (& findmnt -n -o SOURCE --mountpoint $v.Path) | Should -Match '^/dev/loop'

        $before = Get-ContainerStateSnapshot -IgnoreLocks
        $e = Get-CommandError { Set-StoragePool c -Config @{ 'ceph.rbd.map' = 'krbd' } }
        Get-ErrorId $e | Should -Be 'DriverNotSupported'
        "$e" | Should -Match 'rbd module'
        $e.CategoryInfo.Category | Should -Be 'NotImplemented'
        Get-ErrorId (Get-CommandError { Set-StoragePool c -Config @{ 'ceph.rbd.map' = 'nbd' } }) | Should -Be 'InvalidConfigValue'
        Get-ErrorId (Get-CommandError { New-StoragePool k -Driver ceph -Config @{ 'ceph.osd.pool_name' = "$($osd)k"; 'ceph.osd.pg_num' = '8'; 'ceph.rbd.map' = 'krbd' } }) | Should -Be 'DriverNotSupported'
        Get-ContainerStateSnapshot -IgnoreLocks | Should -Be $before
        Get-OsdPools | Should -Not -Contain "$($osd)k"
        (Get-StoragePool c).RbdMap | Should -Be 'fuse'

        Set-StoragePool c -Config @{ 'ceph.rbd.map' = 'fuse' }
        (Get-StoragePool c).RbdMap | Should -Be 'fuse'
        Remove-StorageVolume c v
        Remove-StoragePool c -Confirm:$false
        Get-MountsBelow $script:t.Base | Should -BeNullOrEmpty
    }
}

Describe 'ceph volumes' {
    BeforeAll { New-CephTestPool c }
    AfterAll { Remove-CephTestState }

    It 'a volume is an RBD image with ext4 of its size: writes past it fail with ENOSPC; it grows, never shrinks; rename keeps the files' {
        $v = Add-StorageVolume c v1 -Config @{ size = '64MiB' }
        $v.SizeEnforced | Should -BeTrue
        Get-RbdSize "$script:osd/custom_v1" | Should -Be 64MB
        (& findmnt -n -o FSTYPE --target $v.Path) | Should -Be 'ext4'
        & bash -c "dd if=/dev/zero of='$($v.Path)/a' bs=1M count=100 conv=fsync 2>&1" | Select-String 'No space left on device' | Should -Not -BeNullOrEmpty
        Remove-Item (Join-Path $v.Path 'a')

        Set-StorageVolume c v1 -Config @{ size = '160MiB' }
        Get-RbdSize "$script:osd/custom_v1" | Should -Be 160MB
        Get-StorageVolume c v1 -Property size | Should -Be 160MB
        (& df -B1 --output=size $v.Path | Select-Object -Last 1).Trim() | Should -BeGreaterThan 140MB -Because 'the filesystem grew with the image'
        & bash -c "dd if=/dev/zero of='$($v.Path)/b' bs=1M count=100 conv=fsync status=none"
        $LASTEXITCODE | Should -Be 0
        Get-StorageVolume c v1 -Property used | Should -BeGreaterOrEqual 90MB

        $before = Get-ContainerStateSnapshot -IgnoreLocks
        Get-ErrorId (Get-CommandError { Set-StorageVolume c v1 -Config @{ size = '32MiB' } }) | Should -Be 'VolumeShrinkNotSupported'
        Get-ContainerStateSnapshot -IgnoreLocks | Should -Be $before
        Get-RbdSize "$script:osd/custom_v1" | Should -Be 160MB

        Rename-StorageVolume c v1 v1b
        Get-RbdImages $script:osd | Should -Be @('custom_v1b')
        (Get-Item (Join-Path (Get-StorageVolume c v1b).Path 'b')).Length | Should -Be 100MB
        Remove-StorageVolume c v1b
        Get-RbdImages $script:osd | Should -BeNullOrEmpty
        Get-MountsBelow (Join-Path $script:c.Source 'custom') | Should -BeNullOrEmpty
    }

    It 'copies: a clone of a protected snapshot, a full copy with ceph.rbd.clone_copy=false, cp -a to a dir pool; a clone''s source is kept until its last clone goes' {
        $v = Add-StorageVolume c data
        'hello' | Set-Content (Join-Path $v.Path 'f')
        & chown 1234:5678 (Join-Path $v.Path 'f')
        $c = Copy-StorageVolume c data -NewName data2 -PassThru
        Get-RbdParent "$script:osd/custom_data2" | Should -BeLike "$script:osd/custom_data@copy-*"
        Get-Content (Join-Path $c.Path 'f') | Should -Be 'hello'
        Set-StoragePool c -Config @{ 'ceph.rbd.clone_copy' = 'false' }
        $full = Copy-StorageVolume c data -NewName data3 -PassThru
        Get-RbdParent "$script:osd/custom_data3" | Should -Be ''
        & stat -c %u:%g (Join-Path $full.Path 'f') | Should -Be '1234:5678'
        Set-StoragePool c -Config @{ 'ceph.rbd.clone_copy' = $null }
        $null = New-StoragePool d -Driver dir
        $toDir = Copy-StorageVolume c data -TargetPool d -PassThru
        & stat -c %u:%g (Join-Path $toDir.Path 'f') | Should -Be '1234:5678'
        $back = Copy-StorageVolume d data -TargetPool c -NewName fromdir -PassThru
        Get-Content (Join-Path $back.Path 'f') | Should -Be 'hello'
        # Another OSD pool of the same cluster: rbd cp. Another cluster name (the same cluster here, as
        # CEPH_CONF names it for both): rbd export | rbd import between the two sets of credentials.
        $null = New-StoragePool c2 -Driver ceph -Config @{ 'ceph.osd.pool_name' = "$($script:osd)x"; 'ceph.osd.pg_num' = '8' }
        # The test cluster's keyring is found by cluster name ($cluster.client.admin.keyring): give 'other' the same key.
        $otherKeyring = Join-Path (Split-Path $env:CEPH_CONF) 'other.client.admin.keyring'
        Copy-Item (Join-Path (Split-Path $env:CEPH_CONF) 'ceph.client.admin.keyring') $otherKeyring
        $null = New-StoragePool c3 -Driver ceph -Config @{ 'ceph.osd.pool_name' = "$($script:osd)y"; 'ceph.osd.pg_num' = '8'; 'ceph.cluster_name' = 'other' }
        foreach ($target in 'c2', 'c3') {
            $other = Copy-StorageVolume c data -TargetPool $target -PassThru
            & stat -c %u:%g (Join-Path $other.Path 'f') | Should -Be '1234:5678'
            Get-RbdParent "$($script:osd)$(@{ c2 = 'x'; c3 = 'y' }[$target])/custom_data" | Should -Be '' -Because 'a copy to another OSD pool is a full copy'
            Remove-StorageVolume $target data
            Remove-StoragePool $target -Confirm:$false
        }
        Remove-Item $otherKeyring
        @(Get-RbdImages $script:osd | Where-Object { $_ -like 'custom_data@copy-*' }).Count | Should -Be 1 -Because 'the clone data2 keeps its origin snapshot; the full copies left none'

        Remove-StorageVolume c data
        Get-StorageVolume c data -ErrorAction SilentlyContinue | Should -BeNullOrEmpty
        $zombie = @(Get-RbdImages $script:osd | Where-Object { $_ -like 'zombie_custom_data_*' -and $_ -notlike '*@*' })
        $zombie.Count | Should -Be 1 -Because 'the image of a volume with clones is kept under another name'
        $null = Add-StorageVolume c data -Config @{ size = '32MiB' }
        (Get-StorageVolume c data).Size | Should -Be 32MB -Because 'the name is free again'
        Remove-StorageVolume c data2
        Get-RbdImages $script:osd | Should -Be @('custom_data', 'custom_data3', 'custom_fromdir') -Because 'the kept image went with its last clone'
        foreach ($n in 'data', 'data3', 'fromdir') { Remove-StorageVolume c $n }
        Remove-StorageVolume d data
    }

    It 'a volume whose rbd-fuse was killed (kill -9) is mapped again by the next command that needs it; synced data is kept' {
        $v = Add-StorageVolume c crash -Config @{ size = '64MiB' }
        'before' | Set-Content (Join-Path $v.Path 'f')
        & sync -f (Join-Path $v.Path 'f')
        Stop-RbdFuse custom_crash

        $null = New-StoragePool d2 -Driver dir
        $copy = Copy-StorageVolume c crash -TargetPool d2 -PassThru -WarningVariable w -WarningAction SilentlyContinue
        "$w" | Should -Match 'rbd-fuse process of volume ''crash'' is gone'
        Get-Content (Join-Path $copy.Path 'f') | Should -Be 'before'
        Get-Content (Join-Path (Get-StorageVolume c crash).Path 'f') | Should -Be 'before' -Because 'the volume is mounted again'
        Remove-StorageVolume d2 crash
        Remove-StoragePool d2 -Confirm:$false
        Remove-StorageVolume c crash
        Get-RbdImages $script:osd | Should -Not -Contain 'custom_crash'
    }

    It 'an xfs volume (block.filesystem) and mount options (block.mount_options)' {
        $v = Add-StorageVolume c x -Config @{ size = '320MiB'; 'block.filesystem' = 'xfs'; 'block.mount_options' = 'noatime' }
        (& findmnt -n -o FSTYPE,OPTIONS --target $v.Path) | Should -Match '^xfs\s+\S*noatime'
        'x' | Set-Content (Join-Path $v.Path 'f')
        $copy = Copy-StorageVolume c x -NewName x2 -PassThru
        Get-Content (Join-Path $copy.Path 'f') | Should -Be 'x' -Because 'an xfs clone mounts beside its parent (nouuid)'
        $before = [long](& df -B1 --output=size $v.Path | Select-Object -Last 1).Trim()
        Set-StorageVolume c x -Config @{ size = '400MiB' }
        [long](& df -B1 --output=size $v.Path | Select-Object -Last 1).Trim() | Should -BeGreaterThan ($before + 70MB) -Because 'xfs grows online'
        Remove-StorageVolume c x2
        Remove-StorageVolume c x
    }
}

Describe 'containers on ceph' {
    BeforeAll { New-CephTestPool d }
    AfterAll { Remove-CephTestState }

    It 'launch on ceph (idmapped: nothing shifted); snapshots are RBD snapshots; restore; a copy boots from a clone; the image is kept for its clones' {
        $null = New-Container c1 busybox -StoragePool c -Start
        Invoke-In c1 'stat -c %u:%g /bin/busybox; echo one > /root/state' | Should -Be '0:0'
        $img = (Get-StorageVolume c -Type image).Name
        (Get-StorageVolume c c1 -Type container).Config.Keys | Should -Not -Contain 'volatile.idmap.last' -Because 'ext4 on a loop device takes idmapped mounts'
        & stat -c %u (Join-Path (Get-StorageVolume c c1 -Type container).Path 'root/state') | Should -Be '0'
        Get-RbdParent "$script:osd/container_c1" | Should -Be "$script:osd/image_$img@readonly"

        $null = New-ContainerSnapshot c1 s1
        Get-RbdImages $script:osd | Should -Contain 'container_c1@snapshot_s1'
        Invoke-In c1 'echo two > /root/state'
        $null = New-ContainerSnapshot c1 s2
        Stop-Container c1 -Force
        Restore-ContainerSnapshot c1 s1 -Confirm:$false
        (Get-StorageVolume c c1 -Type container -Property snapshots) -join ',' | Should -Be 's1,s2' -Because 'RBD rolls back past later snapshots'
        Start-Container c1
        Invoke-In c1 'cat /root/state' | Should -Be 'one'

        Stop-Container c1 -Force
        $null = New-StoragePool d -Driver dir
        $before = Get-ContainerStateSnapshot -IgnoreLocks
        Get-ErrorId (Get-CommandError { Copy-Container c1 cx -Snapshot s2 -StoragePool d }) | Should -Be 'SnapshotNotMountable'
        Get-ContainerStateSnapshot -IgnoreLocks | Should -Be $before
        $null = Copy-Container c1 c2 -Snapshot s2
        Get-RbdParent "$script:osd/container_c2" | Should -Be "$script:osd/container_c1@snapshot_s2"
        Start-Container c2
        Invoke-In c2 'cat /root/state; hostname' | Should -Be @('two', 'c2')

        # A container another was cloned from, and the image, stay on the cluster while clones need them.
        Remove-ContainerSnapshot c1 s2 -Confirm:$false
        Remove-Container c1 -Force
        Get-RbdImages $script:osd | Where-Object { $_ -like 'zombie_container_c1_*' -and $_ -notlike '*@*' } | Should -Not -BeNullOrEmpty
        Remove-ContainerImage busybox
        Get-StorageVolume c -Type image | Should -BeNullOrEmpty
        Get-RbdImages $script:osd | Should -Contain "zombie_image_$img"
        $null = New-Container c3 busybox -StoragePool c
        (Get-StorageVolume c -Type image).Name | Should -Be $img
        Get-RbdImages $script:osd | Should -Not -Contain "zombie_image_$img" -Because 'the same image again takes back the one kept'
        Invoke-In c2 'cat /root/state' | Should -Be 'two'
        Remove-Container c2, c3 -Force
        Remove-ContainerImage busybox
        Get-RbdImages $script:osd | Should -BeNullOrEmpty -Because 'the kept images went with their last clone'
        Remove-StoragePool d -Confirm:$false
    }

    It 'a custom volume mounted into a running container; a copy to a dir pool; the pool refuses removal while it holds containers' {
        $null = New-Container w busybox -StoragePool c -Start
        $null = Add-StorageVolume c data -Config @{ size = '64MiB' }
        Mount-StorageVolume c data w /data
        Invoke-In w 'echo hi > /data/f; stat -c %u /data/f' | Should -Be '0'
        & stat -c %u (Join-Path (Get-StorageVolume c data).Path 'f') | Should -Be '0' -Because 'the volume is idmapped into the container'
        Get-ErrorId (Get-CommandError { Remove-StoragePool c -Force -Confirm:$false }) | Should -Be 'PoolInUse'
        Stop-Container w -Force
        Dismount-StorageVolume c data w
        $null = New-StoragePool d -Driver dir
        $null = Copy-Container w w2 -StoragePool d
        Start-Container w2
        Invoke-In w2 'hostname; stat -c %u:%g /bin/busybox' | Should -Be @('w2', '0:0')
        Remove-Container w, w2 -Force
    }
}

Describe 'an OSD pool two hosts share (ceph.osd.shared): each maps and removes only the images it owns; image volumes are common' {
    AfterEach {
        if ($script:rootB) {
            $env:CONTAINERPS_ROOT = $script:rootB
            Get-Container -ErrorAction SilentlyContinue | Remove-Container -Force -ErrorAction SilentlyContinue
            Get-StorageVolume -ErrorAction SilentlyContinue | Where-Object Type -eq 'custom' | Remove-StorageVolume -Confirm:$false -ErrorAction SilentlyContinue
            Get-StoragePool -ErrorAction SilentlyContinue | Remove-StoragePool -Force -Confirm:$false -ErrorAction SilentlyContinue
            $env:CONTAINERPS_ROOT = $script:t.Root
            $script:rootB = $null
        }
        Remove-CephTestState
    }

    It 'the second host joins, cannot take, map or remove the first host''s image, and the first cannot drop the OSD pool under it' {
        New-CephTestPool 'sh'
        $va = Add-StorageVolume c va -Config @{ size = '64MiB' }
        Set-Content -LiteralPath (Join-Path $va.Path 'f') -Value 'from A'
        $idA = (& rbd info --format json "$($script:osd)/custom_va" | ConvertFrom-Json).id
        (& rados -p $script:osd listxattr 'containerps.owner.custom_va') | Should -Be 'owner'
        $ownerA = Get-Content -LiteralPath (Join-Path $script:c.Source '.ceph-owner-id')
        (& rados -p $script:osd getxattr 'containerps.owner.custom_va' owner) | Should -Be $ownerA -Because 'the pool''s owner id is kept in its directory'

        $script:rootB = Join-Path $script:t.Base 'rootb'
        $null = New-Item -ItemType Directory -Path $script:rootB
        $env:CONTAINERPS_ROOT = $script:rootB
        try {
            Get-ErrorId (Get-CommandError { New-StoragePool b -Driver ceph -Source $script:osd }) | Should -Be 'SourceInUse' -Because 'joining needs ceph.osd.shared=true'
            $b = New-StoragePool b -Driver ceph -Source $script:osd -Config @{ 'ceph.osd.shared' = 'true'; 'volume.size' = '64MiB' }
            (& rados -p $script:osd getxattr containerps.shares pools) | Should -Be (Get-Content -LiteralPath (Join-Path $b.Source '.ceph-owner-id')) -Because 'a joined pool registers its owner id'
            Get-ErrorId (Get-CommandError { Add-StorageVolume b va }) | Should -Be 'VolumeExists' -Because 'the image is the first host''s'
            $vb = Add-StorageVolume b vb
            Set-Content -LiteralPath (Join-Path $vb.Path 'f') -Value 'from B'
            Remove-StorageVolume b vb -Confirm:$false
            @(Get-RbdImages $script:osd) | Should -Not -Contain 'custom_vb'
            Remove-StoragePool b -Force -Confirm:$false
            "$(& rados -p $script:osd getxattr containerps.shares pools)" | Should -BeNullOrEmpty -Because 'it left'
        }
        finally { $env:CONTAINERPS_ROOT = $script:t.Root }
        @(Get-RbdImages $script:osd) | Should -Contain 'custom_va' -Because 'removing the joined pool leaves the first host''s images'
        # An image made before owner records is the claiming pool's: it renames it, and the record follows.
        & rados -p $script:osd rm 'containerps.owner.custom_va'
        Rename-StorageVolume c va va2
        Rename-StorageVolume c va2 va
        (& rados -p $script:osd getxattr 'containerps.owner.custom_va' owner) | Should -Be $ownerA
        (& rbd info --format json "$($script:osd)/custom_va" | ConvertFrom-Json).id | Should -Be $idA
        Get-Content -LiteralPath (Join-Path $va.Path 'f') | Should -Be 'from A'

        # The guard: what this host does not own it neither changes nor removes (a move hands images over this way).
        $env:CONTAINERPS_ROOT = $script:rootB
        try {
            $null = New-StoragePool b -Driver ceph -Source $script:osd -Config @{ 'ceph.osd.shared' = 'true' }
            $env:CONTAINERPS_ROOT = $script:t.Root
            Get-ErrorId (Get-CommandError { Remove-StoragePool c -Force -Confirm:$false }) | Should -Be 'SourceInUse' -Because 'pool b still uses the OSD pool'
            & rados -p $script:osd setxattr 'containerps.owner.custom_va' owner 'someone-else'
            Get-ErrorId (Get-CommandError { Rename-StorageVolume c va vz }) | Should -Be 'VolumeBusy'
            # Mapped again (its rbd-fuse killed): refused, as the other host owns the image now.
            Stop-RbdFuse custom_va
            $null = New-StoragePool d2 -Driver dir
            $err = Get-CommandError { Copy-StorageVolume c va -TargetPool d2 -WarningAction SilentlyContinue }
            Get-ErrorId $err | Should -Be 'VolumeBusy'
            "$err" | Should -Match 'belongs to another ContainerPS host'
            Remove-StoragePool d2 -Confirm:$false
            Remove-StorageVolume c va -Confirm:$false
            @(Get-RbdImages $script:osd) | Should -Contain 'custom_va' -Because 'an image another host owns is forgotten here, not deleted'
            (& rados -p $script:osd getxattr 'containerps.owner.custom_va' owner) | Should -Be 'someone-else'
        }
        finally { $env:CONTAINERPS_ROOT = $script:t.Root }
    }

    It 'the second host clones the first host''s image volume as it is, and removing the image there forgets it' {
        New-CephTestPool 'si'
        $null = New-Container -Name ca -Image busybox -StoragePool c
        $images = @(Get-RbdImages $script:osd | Where-Object { $_ -like 'image_*' -and $_ -notlike '*@*' })
        $images.Count | Should -Be 1
        $imageId = (& rbd info --format json "$($script:osd)/$($images[0])" | ConvertFrom-Json).id

        $script:rootB = Join-Path $script:t.Base 'rootb'
        $null = New-Item -ItemType Directory -Path $script:rootB
        $env:CONTAINERPS_ROOT = $script:rootB
        try {
            $null = New-StoragePool b -Driver ceph -Source $script:osd -Config @{ 'ceph.osd.shared' = 'true'; 'volume.size' = '64MiB' }
            $null = New-Container -Name cb -Image busybox -StoragePool b -Start
            (Get-Container cb).State | Should -Be 'Running'
            Invoke-ContainerExec cb -Command sh, -c, 'test -x /bin/busybox && echo ok' | Should -Be 'ok'
            @(Get-RbdImages $script:osd | Where-Object { $_ -like 'image_*' -and $_ -notlike '*@*' }) | Should -Be $images -Because 'the image was not unpacked a second time'
            Get-RbdParent "$($script:osd)/container_cb" | Should -Be "$($script:osd)/$($images[0])@readonly"
            Remove-Container cb -Force
            Remove-ContainerImage busybox
            $env:CONTAINERPS_ROOT = $script:t.Root
            # The first host forgets it too while the pool is shared, and takes it back, whole, when it needs it again.
            Remove-Container ca -Force
            Remove-ContainerImage busybox
            (& rbd info --format json "$($script:osd)/$($images[0])" | ConvertFrom-Json).id | Should -Be $imageId
            $null = New-Container -Name ca -Image busybox -StoragePool c
            Get-RbdParent "$($script:osd)/container_ca" | Should -Be "$($script:osd)/$($images[0])@readonly"
            $env:CONTAINERPS_ROOT = $script:rootB
            Remove-StoragePool b -Force -Confirm:$false
        }
        finally { $env:CONTAINERPS_ROOT = $script:t.Root }
        (& rbd info --format json "$($script:osd)/$($images[0])" | ConvertFrom-Json).id | Should -Be $imageId -Because 'the second host forgot the image volume, it did not delete it'
        $null = New-Container -Name ca2 -Image busybox -StoragePool c -Start
        (Get-Container ca2).State | Should -Be 'Running'
        Remove-Container ca, ca2 -Force
    }
}
