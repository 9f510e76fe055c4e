#Requires -Version 7.4
# The btrfs storage driver against the real thing: pools on a loop file made for them, on a block
# device (a loop device here), on an existing btrfs directory; subvolume volumes with qgroup sizes
# (EDQUOT past them), read-only snapshots, constant-time clones, send/receive between pools, copies
# to and from dir pools, containers launched on btrfs and copies booting from a clone, mount options
# changed after creation, and bad input. Run it in a private mount namespace, as build.ps1 does.

BeforeAll {
    Import-Module (Join-Path $PSScriptRoot 'TestHelpers.psm1') -Force
    Import-Module (Get-ModulePath) -Force

    # btrfs subvolume show's fields (Name, UUID, Parent UUID, Received UUID, Flags...) as a hashtable.
    function Get-Subvolume([string] $Path) {
        $h = @{}
        foreach ($line in & btrfs subvolume show $Path) { if ($line -match '^\s+([^:]+):\s*(.*)$') { $h[$Matches[1].Trim()] = $Matches[2].Trim() } }
        $h
    }

    function Get-PoolMount([string] $Path) { Get-Content /proc/self/mountinfo | Where-Object { ($_ -split ' ')[4] -eq $Path } }

    # Writes N MiB into a file; $true when all of it was written.
    function Write-MiB([string] $File, [int] $MiB) {
        & bash -c "dd if=/dev/zero of='$File' bs=1M count=$MiB conv=fsync status=none" 2>$null
        $LASTEXITCODE -eq 0
    }
}

Describe 'btrfs pools' {
    BeforeEach { $script:t = New-ContainerTestRoot }
    AfterEach { Stop-ChildPwsh; Remove-TestContainers; Remove-TestFilesystem; Remove-TestRoot }

    It 'without -Source: a sparse loop file of the given size, mounted with the default options, removed with the pool' {
        $p = New-StoragePool bt -Driver btrfs -Config @{ size = '1GiB' }
        $p.Driver | Should -Be 'btrfs'
        $image = $p.Config['volatile.btrfs.device']
        $image | Should -Be (Join-Path $script:t.Root 'disks/bt.img')
        (Get-Item $image).Length | Should -Be 1GB
        [long](& du -B1 $image).Split("`t")[0] | Should -BeLessThan 100MB -Because 'the file is sparse'
        $m = Get-PoolMount $p.Source
        $m | Should -Match ' - btrfs /dev/loop\d+ '
        $m | Should -Match 'user_subvol_rm_allowed'
        Get-StoragePool bt -Property size | Should -Be $p.Size
        $p.Size | Should -BeGreaterThan 900MB

        $dev = ((Get-PoolMount $p.Source) -split ' ')[9]
        Remove-StoragePool bt -Confirm:$false
        $image | Should -Not -Exist
        Get-PoolMount $p.Source | Should -BeNullOrEmpty
        & losetup -a | Where-Object { $_ -like "$($dev):*" } | Should -BeNullOrEmpty -Because 'the loop device goes with the mount'
    }

    It 'on a block device (formatted when empty) and on an existing btrfs directory; refuses other filesystems' {
        $file = Join-Path $script:t.Base 'disk.img'
        & truncate -s 300M $file
        $dev = (& losetup -f --show $file).Trim()
        try {
            $p = New-StoragePool blk -Driver btrfs -Source $dev
            $p.Config['volatile.btrfs.device'] | Should -Be $dev
            & blkid -p -o value -s TYPE $dev | Should -Be 'btrfs'
            (Get-PoolMount $p.Source) | Should -Match " - btrfs $dev "
            $null = Add-StorageVolume blk v
            Get-ErrorId (Get-CommandError { New-StoragePool blk2 -Driver btrfs -Source $dev }) | Should -Be 'SourceInUse'
            Remove-StoragePool blk -Force -Confirm:$false
            Get-PoolMount $p.Source | Should -BeNullOrEmpty
            & blkid -p -o value -s TYPE $dev | Should -Be 'btrfs' -Because 'a device given as source is kept'
        }
        finally { & umount -l $dev 2>$null; & losetup -d $dev }

        # A disk with only a partition table is not wiped; a device mounted elsewhere is not taken.
        $parted = Join-Path $script:t.Base 'parted.img'
        & truncate -s 64M $parted
        Write-TestMbr $parted
        $dev3 = (& losetup -f --show $parted).Trim()
        try {
            $err = Get-CommandError { New-StoragePool x -Driver btrfs -Source $dev3 }
            Get-ErrorId $err | Should -Be 'InvalidSource'
            "$err" | Should -BeLike '*dos partition table*'
        }
        finally { & losetup -d $dev3 }

        $ext = Join-Path $script:t.Base 'ext.img'
        & truncate -s 64M $ext; & mkfs.ext4 -q -F $ext
        $dev2 = (& losetup -f --show $ext).Trim()
        try {
            $before = Get-ContainerStateSnapshot -IgnoreLocks
            Get-ErrorId (Get-CommandError { New-StoragePool x -Driver btrfs -Source $dev2 }) | Should -Be 'InvalidSource'
            Get-ContainerStateSnapshot -IgnoreLocks | Should -Be $before
        }
        finally { & losetup -d $dev2 }

        $fs = Join-Path $script:t.Base 'btrfs-dir'
        New-TestFilesystem -Type btrfs -Path $fs
        $null = New-Item -ItemType Directory (Join-Path $fs 'pool')
        $d = New-StoragePool onfs -Driver btrfs -Source (Join-Path $fs 'pool')
        $d.Config.Keys | Should -Not -Contain 'volatile.btrfs.device'
        (Get-Subvolume (Add-StorageVolume onfs v).Path).Name | Should -Be 'v'
        Remove-StoragePool onfs -Force -Confirm:$false
        Join-Path $fs 'pool' | Should -Exist -Because 'a directory given as source is kept'
        Get-ErrorId (Get-CommandError { New-StoragePool x -Driver btrfs -Source $script:t.Ext }) | Should -Be 'InvalidSource' -Because 'it is not on btrfs'
    }

    It 'btrfs.mount_options can be changed after creation (remount); bad keys are refused per driver' {
        $p = New-StoragePool bt -Driver btrfs -Config @{ size = '1GiB' }
        Set-StoragePool bt -Config @{ 'btrfs.mount_options' = 'user_subvol_rm_allowed,compress=zstd' }
        Get-PoolMount $p.Source | Should -Match 'compress=zstd'
        Get-StoragePool bt -Property btrfs.mount_options | Should -Be 'user_subvol_rm_allowed,compress=zstd'
        $before = Get-ContainerStateSnapshot -IgnoreLocks
        Get-ErrorId (Get-CommandError { Set-StoragePool bt -Config @{ 'zfs.pool_name' = 'x' } }) | Should -Be 'InvalidConfigKey'
        Get-ErrorId (Get-CommandError { Set-StoragePool bt -Config @{ 'btrfs.mount_options' = 'a b' } }) | Should -Be 'InvalidConfigValue'
        Get-ErrorId (Get-CommandError { Set-StoragePool bt -Config @{ size = '2GiB' } }) | Should -Be 'ConfigKeyReadOnly'
        Get-ErrorId (Get-CommandError { Add-StorageVolume bt v -Config @{ 'zfs.blocksize' = '8k' } }) | Should -Be 'InvalidConfigKey'
        Get-ErrorId (Get-CommandError { New-StoragePool x -Driver btrfs -Config @{ 'ceph.osd.pg_num' = '8' } }) | Should -Be 'InvalidConfigKey'
        # A loop file larger than the filesystem allows (ext4: 16 TiB) is a config error, not a .NET one.
        $e = Get-CommandError { New-StoragePool x -Driver btrfs -Config @{ size = '1PiB' } }
        Get-ErrorId $e | Should -Be 'InvalidConfigValue'
        "$e" | Should -BeLike "*loop file*cannot be 1PiB*"
        Get-ContainerStateSnapshot -IgnoreLocks | Should -Be $before
    }
}

Describe 'btrfs volumes and containers' {
    BeforeAll {
        $script:t = New-ContainerTestRoot
        $script:bt = New-StoragePool bt -Driver btrfs -Config @{ size = '2GiB' }
        $script:dirPool = New-StoragePool d -Driver dir
    }
    AfterAll { Stop-ChildPwsh; Remove-TestContainers; Get-StoragePool -ErrorAction SilentlyContinue | Remove-StoragePool -Force -Confirm:$false -ErrorAction SilentlyContinue; Remove-TestRoot }

    It 'a volume is a subvolume whose size is a qgroup limit: writes past it fail with EDQUOT; resize and unset' {
        $v = Add-StorageVolume bt v1 -Config @{ size = '20MiB' }
        $v.SizeEnforced | Should -BeTrue
        (Get-Subvolume $v.Path).Name | Should -Be 'v1'
        Write-MiB (Join-Path $v.Path 'a') 40 | Should -BeFalse
        & bash -c "dd if=/dev/zero of='$(Join-Path $v.Path 'b')' bs=1M count=40 conv=fsync 2>&1" | Select-String 'Disk quota exceeded' | Should -Not -BeNullOrEmpty
        Remove-Item (Join-Path $v.Path '*')
        Set-StorageVolume bt v1 -Config @{ size = '60MiB' }
        Write-MiB (Join-Path $v.Path 'c') 40 | Should -BeTrue
        Get-StorageVolume bt v1 -Property size | Should -Be 60MB
        Get-StorageVolume bt v1 -Property used | Should -BeGreaterOrEqual 40MB
        Set-StorageVolume bt v1 -Config @{ size = $null }
        Write-MiB (Join-Path $v.Path 'd') 80 | Should -BeTrue
        Remove-StorageVolume bt v1
        $v.Path | Should -Not -Exist
    }

    It 'copies: a snapshot inside the pool, send/receive to another btrfs pool, cp -a to and from a dir pool' {
        $v = Add-StorageVolume bt data
        'hello' | Set-Content (Join-Path $v.Path 'f')
        & chown 1234:5678 (Join-Path $v.Path 'f')
        & setfattr -n user.tag -v x (Join-Path $v.Path 'f')

        $c = Copy-StorageVolume bt data -NewName data2 -PassThru
        (Get-Subvolume $c.Path).'Parent UUID' | Should -Be (Get-Subvolume $v.Path).UUID -Because 'the copy is a snapshot (constant time)'

        $bt2 = New-StoragePool bt2 -Driver btrfs -Config @{ size = '1GiB' }
        $r = Copy-StorageVolume bt data -TargetPool bt2 -PassThru
        (Get-Subvolume $r.Path).Flags | Should -Not -Match 'readonly'
        Get-Content (Join-Path $r.Path 'f') | Should -Be 'hello'
        & stat -c %u:%g (Join-Path $r.Path 'f') | Should -Be '1234:5678'
        Get-ChildItem (Join-Path $bt2.Source 'custom') -Force | ForEach-Object Name | Should -Be @('data') -Because 'no received or temporary subvolume is left'

        $toDir = Copy-StorageVolume bt data -TargetPool d -PassThru
        & stat -c %u:%g (Join-Path $toDir.Path 'f') | Should -Be '1234:5678'
        & getfattr --only-values -n user.tag (Join-Path $toDir.Path 'f') | Should -Be 'x'
        $back = Copy-StorageVolume d data -TargetPool bt -NewName fromdir -PassThru
        (Get-Subvolume $back.Path).Name | Should -Be 'fromdir'
        Get-Content (Join-Path $back.Path 'f') | Should -Be 'hello'
        Remove-StoragePool bt2 -Force -Confirm:$false
    }

    It 'containers launch on btrfs; snapshots are read-only; a copy boots from a clone; restore; copy to a dir pool' {
        $c = New-Container c1 busybox -StoragePool bt -Start
        $c.Pool | Should -Be 'bt'
        $img = Get-StorageVolume bt -Type image
        $root = (Get-StorageVolume bt c1 -Type container).Path
        (Get-Subvolume $root).'Parent UUID' | Should -Be (Get-Subvolume $img.Path).UUID -Because 'a container is a snapshot of the cached image'
        Invoke-In c1 'echo one > /root/state'

        $null = New-ContainerSnapshot c1 s1
        Get-StorageVolume bt c1 -Type container -Property snapshots | Should -Be 's1'
        $snap = (Get-StorageVolume bt -Type snapshot -Name 'c1@s1').Path
        (Get-Subvolume $snap).Flags | Should -Match 'readonly'
        Invoke-In c1 'echo two > /root/state'
        Stop-Container c1 -Force
        Restore-ContainerSnapshot c1 s1 -Confirm:$false
        Start-Container c1
        Invoke-In c1 'cat /root/state' | Should -Be 'one'

        Stop-Container c1 -Force
        $copy = Copy-Container c1 c2 -PassThru
        (Get-Subvolume (Get-StorageVolume bt c2 -Type container).Path).'Parent UUID' | Should -Be (Get-Subvolume (Get-StorageVolume bt c1 -Type container).Path).UUID
        Start-Container c2
        Invoke-In c2 'cat /root/state; hostname' | Should -Be @('one', 'c2')

        Copy-Container c1 c3 -StoragePool d
        (Get-Container c3).Pool | Should -Be 'd'
        Start-Container c3
        Invoke-In c3 'cat /root/state; stat -c %u:%g /bin/busybox' | Should -Be @('one', '0:0')

        Remove-Container c1, c2, c3 -Force
        Get-StorageVolume bt -Type container | Should -BeNullOrEmpty
        Get-StorageVolume bt -Type snapshot | Should -BeNullOrEmpty
        & btrfs subvolume list (Join-Path $script:bt.Source 'containers') | Where-Object { $_ -match 'containers' } | Should -BeNullOrEmpty
    }

    It 'a volume holding nested subvolumes (made inside a container) is removed whole' {
        $null = New-Container n1 busybox -StoragePool bt
        $root = (Get-StorageVolume bt n1 -Type container).Path
        & btrfs -q subvolume create (Join-Path $root 'var-lib-machines')
        & btrfs -q subvolume create (Join-Path $root 'var-lib-machines/inner')
        Remove-Container n1
        $root | Should -Not -Exist
    }
}
