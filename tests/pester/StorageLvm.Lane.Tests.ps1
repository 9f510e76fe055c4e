#Requires -Version 7.4
# The lvm storage driver against the real thing: a volume group on a loop file made for the pool
# (or an existing, empty VG given as -Source) with a thin pool; volumes are thin LVs with ext4 or
# xfs that grow online and never shrink; containers are thin snapshots of their image and start
# idmapped; snapshots are read-only thin snapshots; restore, rename, copies within the pool and to
# and from a dir pool; plain LVs with classic snapshots when lvm.use_thinpool is false; crash
# repair of a half-made LV; only LVs tagged containerps are ever touched. A lane file
# (*.Lane.Tests.ps1): it needs device-mapper (dm-thin), which only the lane's stock kernel has. Run
# it in a private mount namespace.

BeforeAll {
    Import-Module (Join-Path $PSScriptRoot 'TestHelpers.psm1') -Force
    Import-Module (Get-ModulePath) -Force

    # lvs fields of one VG as objects: Name, Attr, Size (bytes), Origin, Tags.
    function Get-Lv([string] $Vg) {
        foreach ($line in & lvs --noheadings --units b --nosuffix --separator '|' -o lv_name,lv_attr,lv_size,origin,lv_tags $Vg 2>$null) {
            $f = $line.Trim() -split '\|'
            [pscustomobject]@{ Name = $f[0]; Attr = $f[1]; Size = [long]$f[2]; Origin = $f[3]; Tags = $f[4] }
        }
    }

    function Get-PoolMount([string] $Path) { Get-Content /proc/self/mountinfo | Where-Object { ($_ -split ' ')[4] -eq $Path } }

    # Removes every VG whose name starts with cpslvm (the tests' own), its PVs and loop devices.
    function Remove-TestVgs {
        foreach ($vg in & vgs --noheadings -o vg_name 2>$null) {
            $vg = $vg.Trim()
            if ($vg -notlike 'cpslvm*') { continue }
            foreach ($m in Get-Content /proc/self/mountinfo) { if (($m -split ' ')[9] -like "/dev/mapper/$vg-*") { & umount -l (($m -split ' ')[4]) } }
            $pvs = & pvs --noheadings -o pv_name --select "vg_name=$vg" 2>$null
            & vgremove -q -y -f $vg 2>$null | Out-Null
            foreach ($pv in $pvs) { & pvremove -q -y $pv.Trim() 2>$null | Out-Null; if ($pv.Trim() -like '/dev/loop*') { & losetup -d $pv.Trim() 2>$null } }
        }
    }

    $script:Vg = 'cpslvm' + [guid]::NewGuid().ToString('N').Substring(0, 6)
}

Describe 'lvm pools (thin)' {
    BeforeAll {
        $script:t = New-ContainerTestRoot
        $script:p = New-StoragePool lv -Driver lvm -Config @{ size = '3GiB'; 'lvm.vg_name' = $script:Vg }
        $script:d = New-StoragePool d -Driver dir
    }
    AfterAll {
        Remove-TestContainers
        Get-StoragePool -ErrorAction SilentlyContinue | Remove-StoragePool -Force -Confirm:$false -ErrorAction SilentlyContinue
        Remove-TestVgs
        Remove-TestRoot
    }

    It 'without -Source: a VG on a sparse loop file with the thin pool, both tagged containerps' {
        $p.Driver | Should -Be 'lvm'
        $image = $p.Config['volatile.lvm.device']
        $image | Should -Be (Join-Path $t.Root 'disks/lv.img')
        (Get-Item $image).Length | Should -Be 3GB
        & vgs --noheadings -o vg_tags $Vg | ForEach-Object Trim | Should -Match '^containerps,containerps_[0-9a-f]{16}$' -Because 'the pool''s own tag marks what it may touch'
        $tp = Get-Lv $Vg | Where-Object Name -eq 'ContainerPSThinPool'
        $tp.Attr | Should -Match '^t'
        $tp.Tags | Should -Match '^containerps,containerps_[0-9a-f]{16}$'
        (Get-StoragePool lv).Size | Should -BeGreaterThan 2GB
    }

    It 'a volume is a thin LV with ext4 of its size, mounted at its path; it grows online, never shrinks; rename keeps the files' {
        $v = Add-StorageVolume lv data -Size 64MiB
        $lv = Get-Lv $Vg | Where-Object Name -eq 'custom-data'
        $lv.Attr | Should -Match '^V'
        $lv.Tags | Should -Match '^containerps,containerps_[0-9a-f]{16}$'
        $lv.Size | Should -Be 64MB
        Get-PoolMount $v.Path | Should -Match ' - ext4 /dev/mapper/'
        & bash -c "dd if=/dev/zero of='$($v.Path)/big' bs=1M count=100 status=none" 2>$null
        $LASTEXITCODE | Should -Not -Be 0 -Because 'the filesystem is 64 MiB'
        & rm -f (Join-Path $v.Path 'big')
        'kept' | Set-Content (Join-Path $v.Path 'f')

        Set-StorageVolume lv data -Config @{ size = '128MiB' }
        (Get-Lv $Vg | Where-Object Name -eq 'custom-data').Size | Should -Be 128MB
        [long](& df -B1 --output=size $v.Path | Select-Object -Last 1) | Should -BeGreaterThan 100MB -Because 'ext4 grew online'
        $e = { Set-StorageVolume lv data -Config @{ size = '32MiB' } -ErrorAction Stop } | Should -Throw -PassThru
        $e.FullyQualifiedErrorId | Should -BeLike 'VolumeShrinkNotSupported,*'

        Rename-StorageVolume lv data data_2
        (Get-Lv $Vg).Name | Should -Contain 'custom-data+u2' -Because "'_' is encoded: LVM reserves names like _tmeta"
        Get-Content (Join-Path (Get-StorageVolume lv data_2).Path 'f') | Should -Be 'kept'
        Remove-StorageVolume lv data_2 -Confirm:$false
        (Get-Lv $Vg).Name | Should -Not -Contain 'custom-data+u2'
    }

    It 'an xfs volume grows online; block.mount_options are used' {
        $v = Add-StorageVolume lv x -Size 320MiB -Config @{ 'block.filesystem' = 'xfs'; 'block.mount_options' = 'noatime' }
        Get-PoolMount $v.Path | Should -Match 'noatime.* - xfs /dev/mapper/'
        Set-StorageVolume lv x -Config @{ size = '640MiB' }
        [long](& df -B1 --output=size $v.Path | Select-Object -Last 1) | Should -BeGreaterThan 500MB
        Remove-StorageVolume lv x -Confirm:$false
    }

    It 'custom snapshots are read-only thin snapshots; restore; copies within the pool are thin snapshots; cp -a to and from a dir pool' {
        $v = Add-StorageVolume lv data
        'one' | Set-Content (Join-Path $v.Path 'f')
        & chown 1234:5678 (Join-Path $v.Path 'f')
        $null = New-StorageVolumeSnapshot lv data s1
        $snap = Get-Lv $Vg | Where-Object Name -eq 'custom-data+as1'
        $snap.Origin | Should -Be 'custom-data'
        $snap.Attr | Should -Match '^Vr' -Because 'a snapshot is activated read-only'
        'two' | Set-Content (Join-Path $v.Path 'f')
        Restore-StorageVolumeSnapshot lv data s1 -Confirm:$false
        Get-Content (Join-Path (Get-StorageVolume lv data).Path 'f') | Should -Be 'one'
        (Get-Lv $Vg).Name | Should -Not -Match '\+[to]$' -Because 'no temporary LV is left'

        $c = Copy-StorageVolume lv data -NewName data2 -PassThru
        (Get-Lv $Vg | Where-Object Name -eq 'custom-data2').Origin | Should -Be 'custom-data' -Because 'a copy is a thin snapshot (constant time)'
        Get-Content (Join-Path $c.Path 'f') | Should -Be 'one'
        $toDir = Copy-StorageVolume lv data -TargetPool d -PassThru
        & stat -c %u:%g (Join-Path $toDir.Path 'f') | Should -Be '1234:5678'
        $back = Copy-StorageVolume d data -TargetPool lv -NewName fromdir -PassThru
        Get-Content (Join-Path $back.Path 'f') | Should -Be 'one'
        & stat -c %u:%g (Join-Path $back.Path 'f') | Should -Be '1234:5678'
        Remove-StorageVolumeSnapshot lv data s1 -Confirm:$false
        foreach ($n in 'data', 'data2', 'fromdir') { Remove-StorageVolume lv $n -Confirm:$false }
        Remove-StorageVolume d data -Confirm:$false
    }

    It 'containers are thin snapshots of their image, start idmapped; snapshots, restore, copy, copy to a dir pool' {
        $null = New-Container c1 busybox -StoragePool lv -Start
        $img = (Get-StorageVolume lv -Type image).Name
        (Get-Lv $Vg | Where-Object Name -eq 'containers-c1').Origin | Should -Be "images-$img"
        Invoke-In c1 'stat -c %u:%g /bin/busybox; echo one > /root/state' | Should -Be '0:0'
        (Get-StorageVolume lv c1 -Type container).Config.Keys | Should -Not -Contain 'volatile.idmap.last' -Because 'ext4 takes idmapped mounts: nothing shifted'
        & stat -c %u (Join-Path (Get-StorageVolume lv c1 -Type container).Path 'root/state') | Should -Be '0'

        $null = New-ContainerSnapshot c1 s1
        (Get-Lv $Vg | Where-Object Name -eq 'containers-c1+as1').Attr | Should -Match '^Vr'
        Invoke-In c1 'echo two > /root/state'
        Stop-Container c1 -Force
        Restore-ContainerSnapshot c1 s1 -Confirm:$false
        Start-Container c1
        Invoke-In c1 'cat /root/state' | Should -Be 'one'
        Stop-Container c1 -Force

        $null = Copy-Container c1 c2 -Snapshot s1
        (Get-Lv $Vg | Where-Object Name -eq 'containers-c2').Origin | Should -Be 'containers-c1+as1'
        Start-Container c2
        Invoke-In c2 'cat /root/state; hostname' | Should -Be @('one', 'c2')
        $null = Copy-Container c1 c3 -StoragePool d
        Start-Container c3
        Invoke-In c3 'cat /root/state' | Should -Be 'one'

        # A non-root host user reaches neither the mounts nor the devices; the container's root sees no LV device.
        & setpriv --reuid=65534 --regid=65534 --clear-groups -- ls (Get-StorageVolume lv c1 -Type container).Path 2>$null
        $LASTEXITCODE | Should -Not -Be 0
        & setpriv --reuid=65534 --regid=65534 --clear-groups -- head -c1 "/dev/$Vg/containers-c2" 2>$null
        $LASTEXITCODE | Should -Not -Be 0
        Invoke-In c2 "ls /dev/mapper /dev/$Vg 2>&1;  ls /dev | grep -c '^dm-'; true" | Select-Object -Last 1 | Should -Be '0'

        Remove-Container c1, c2, c3 -Force
        Remove-ContainerImage busybox
        (Get-Lv $Vg).Name | Where-Object { $_ -like 'containers-*' -or $_ -like 'images-*' } | Should -BeNullOrEmpty -Because 'containers, their snapshots and the image went with them'
    }

    It 'bad names and keys change nothing; the LV name of a hostile volume name stays one LV' {
        $before = Get-StateSnapshot
        $e = { Add-StorageVolume lv 'a/../b' -ErrorAction Stop } | Should -Throw -PassThru
        $e.FullyQualifiedErrorId | Should -BeLike 'InvalidName,*'
        $e = { New-StoragePool bad -Driver lvm -Config @{ 'lvm.vg_name' = '-x' } -ErrorAction Stop } | Should -Throw -PassThru
        $e.FullyQualifiedErrorId | Should -BeLike 'InvalidConfigValue,*'
        $e = { New-StoragePool bad -Driver lvm -Source 'no-such-vg' -ErrorAction Stop } | Should -Throw -PassThru
        $e.FullyQualifiedErrorId | Should -BeLike 'InvalidSource,*'
        $e = { New-StoragePool bad -Driver lvm -Config @{ 'lvm.vg_name' = $Vg } -ErrorAction Stop } | Should -Throw -PassThru
        $e.FullyQualifiedErrorId | Should -BeLike 'SourceInUse,*'
        Get-StateSnapshot | Should -Be $before
        & vgs --noheadings -o vg_name $Vg | Should -Not -BeNullOrEmpty -Because 'the existing VG was left alone'

        $v = Add-StorageVolume lv 'x_tmeta-1'
        (Get-Lv $Vg).Name | Should -Contain 'custom-x+utmeta-1'
        Remove-StorageVolume lv 'x_tmeta-1' -Confirm:$false
    }

    It 'kill -9 between lvcreate and the record, in a copy before its rename, in a restore mid-swap: the next command repairs' {
        $sig = Join-Path $t.Base 'sig'
        # (The child pwsh needs minutes to get there under the lane's emulated CPU.)
        Invoke-KilledAtFault -Point 'volume.create.after-lvcreate' -Command 'Add-StorageVolume lv crashed' -SignalFile $sig -TimeoutSeconds 400
        (Get-Lv $Vg).Name | Should -Contain 'custom-crashed'
        $null = Get-StoragePool -WarningVariable w 3>$null
        (Get-Lv $Vg).Name | Should -Not -Contain 'custom-crashed'
        Get-StorageVolume lv -Type custom | Where-Object Name -eq 'crashed' | Should -BeNullOrEmpty

        # A copy killed between its thin snapshot (+t) and the rename: rolled back, no LV left.
        $v = Add-StorageVolume lv orig -Config @{ size = '64MiB' }
        'one' | Set-Content (Join-Path $v.Path 'f')
        Remove-Item $sig -ErrorAction SilentlyContinue
        Invoke-KilledAtFault -Point 'volume.copy.before-rename' -Command 'Copy-StorageVolume lv orig halfcopy' -SignalFile $sig -TimeoutSeconds 400
        (Get-Lv $Vg).Name | Should -Contain 'custom-halfcopy+t'
        $null = Get-StoragePool -WarningVariable w 3>$null
        "$w" | Should -Match 'halfcopy'
        (Get-Lv $Vg).Name | Should -Not -Match '^custom-halfcopy'
        Get-StorageVolume lv -Type custom | Where-Object Name -eq 'halfcopy' | Should -BeNullOrEmpty

        # A restore killed with the old LV renamed away (+o) and the new one not yet in place (+t): finished.
        $null = New-StorageVolumeSnapshot lv orig s1
        'two' | Set-Content (Join-Path $v.Path 'f')
        Remove-Item $sig -ErrorAction SilentlyContinue
        Invoke-KilledAtFault -Point 'volume.restore.mid-swap' -Command 'Restore-StorageVolumeSnapshot lv orig s1 -Confirm:$false' -SignalFile $sig -TimeoutSeconds 400
        (Get-Lv $Vg).Name | Should -Not -Contain 'custom-orig' -Because 'killed mid-swap'
        $null = Get-StoragePool -WarningVariable w 3>$null
        "$w" | Should -Match 'restore'
        (Get-Lv $Vg).Name | Should -Contain 'custom-orig'
        (Get-Lv $Vg).Name | Should -Not -Match '^custom-orig\+[to]$' -Because 'no temporary LV is left'
        Get-Content (Join-Path (Get-StorageVolume lv orig).Path 'f') | Should -Be 'one'
        Remove-StorageVolume lv orig -Confirm:$false
    }
}

Describe 'lvm pools: an existing VG as -Source, plain LVs' {
    BeforeAll { $script:t = New-ContainerTestRoot }
    AfterAll {
        Remove-TestContainers
        Get-StoragePool -ErrorAction SilentlyContinue | Remove-StoragePool -Force -Confirm:$false -ErrorAction SilentlyContinue
        Remove-TestVgs
        Remove-TestRoot
    }

    It 'uses an existing empty VG, touches no LV it did not make, keeps the VG; plain LVs with classic snapshots' {
        $file = Join-Path $t.Base 'vg.img'
        & truncate -s 1G $file
        $dev = (& losetup -f --show $file).Trim()
        $vg = "$($script:Vg)src"
        & vgcreate -q $vg $dev | Out-Null
        $LASTEXITCODE | Should -Be 0
        $p = New-StoragePool ex -Driver lvm -Source $vg -Config @{ 'lvm.use_thinpool' = 'false'; 'volume.size' = '64MiB' }
        $p.Config['lvm.vg_name'] | Should -Be $vg
        & lvcreate -q -y -L 8M -n foreign $vg | Out-Null

        $v = Add-StorageVolume ex data
        (Get-Lv $vg | Where-Object Name -eq 'custom-data').Attr | Should -Match '^-w'
        'one' | Set-Content (Join-Path $v.Path 'f')
        $null = New-StorageVolumeSnapshot ex data s1
        $s = Get-Lv $vg | Where-Object Name -eq 'custom-data+as1'
        $s.Attr | Should -Match '^sr' -Because 'a classic snapshot, read-only'
        $s.Size | Should -Be 64MB
        'two' | Set-Content (Join-Path $v.Path 'f')
        Restore-StorageVolumeSnapshot ex data s1 -Confirm:$false
        Get-Content (Join-Path $v.Path 'f') | Should -Be 'one'
        $c = Copy-StorageVolume ex data -NewName c -PassThru
        Get-Content (Join-Path $c.Path 'f') | Should -Be 'one'

        Remove-StoragePool ex -Force -Confirm:$false
        (Get-Lv $vg).Name | Should -Be @('foreign') -Because 'only LVs tagged containerps were removed'
        & vgs --noheadings -o vg_name $vg | Should -Not -BeNullOrEmpty
        & vgremove -q -y -f $vg | Out-Null
        & pvremove -q -y $dev | Out-Null
        & losetup -d $dev
    }
}

Describe 'lvm pools: a block device as -Source, the thin pool''s metadata size' {
    BeforeAll {
        $script:t = New-ContainerTestRoot
        $script:Loops = @()
        # A loop device over a sparse file stands for a disk (the pool cannot tell them apart).
        function New-TestDisk([string] $Name, [string] $Size = '1G', [switch] $Mbr) {
            $file = Join-Path $script:t.Base "$Name.img"
            & truncate -s $Size $file
            if ($Mbr) { Write-TestMbr $file }
            $dev = (& losetup -f --show $file).Trim()
            $script:Loops += $dev
            $dev
        }
    }
    AfterAll {
        Remove-TestContainers
        Get-StoragePool -ErrorAction SilentlyContinue | Remove-StoragePool -Force -Confirm:$false -ErrorAction SilentlyContinue
        Remove-TestVgs
        foreach ($l in $script:Loops) { & losetup -d $l 2>$null }
        Remove-TestRoot
    }

    It 'a blank block device becomes the PV of a new VG with a thin pool of the given metadata size; removing the pool wipes the PV and leaves the device' {
        $dev = New-TestDisk blank
        $vg = "$($script:Vg)blk"
        $p = New-StoragePool blk -Driver lvm -Source $dev -Config @{ 'lvm.vg_name' = $vg; 'lvm.thinpool_metadata_size' = '16MiB' }
        $p.Config['volatile.lvm.device'] | Should -Be $dev
        (& pvs --noheadings -o vg_name $dev).Trim() | Should -Be $vg
        [long](& lvs --noheadings --units b --nosuffix -o lv_metadata_size "$vg/ContainerPSThinPool").Trim() | Should -Be 16MB
        $v = Add-StorageVolume blk data -Size 64MiB
        'on the disk' | Set-Content (Join-Path $v.Path 'f')
        (Get-Lv $vg | Where-Object Name -eq 'custom-data').Attr | Should -Match '^V'

        Remove-StoragePool blk -Force -Confirm:$false
        & vgs $vg 2>$null | Out-Null
        $LASTEXITCODE | Should -Not -Be 0 -Because 'the pool made the VG, so it removed it'
        "$(& blkid -p -o value -s TYPE $dev)" | Should -BeNullOrEmpty -Because 'the PV label went with it'
        Test-Path $dev | Should -BeTrue -Because 'the device itself is the user''s: not detached'
    }

    It 'a device with a filesystem, a partition table, or a PV of another VG is refused, and nothing changes' {
        $fs = New-TestDisk fs 64M
        & mkfs.ext4 -q $fs
        $pt = New-TestDisk pt 64M -Mbr
        $pv = New-TestDisk pv 64M
        $other = "$($script:Vg)oth"
        & vgcreate -q $other $pv | Out-Null
        $before = Get-StateSnapshot
        foreach ($case in @(@{ Dev = $fs; Id = 'InvalidSource'; Text = 'ext4' }, @{ Dev = $pt; Id = 'InvalidSource'; Text = 'dos partition table' },
                @{ Dev = $pv; Id = 'SourceInUse'; Text = $other }, @{ Dev = '/dev/null'; Id = 'InvalidSource'; Text = 'not a block device' })) {
            $e = { New-StoragePool bad -Driver lvm -Source $case.Dev -ErrorAction Stop } | Should -Throw -PassThru
            $e.FullyQualifiedErrorId | Should -BeLike "$($case.Id),*"
            $e.Exception.Message | Should -Match ([regex]::Escape($case.Text))
        }
        $e = { New-StoragePool bad -Driver lvm -Config @{ 'lvm.thinpool_metadata_size' = 'lots' } -ErrorAction Stop } | Should -Throw -PassThru
        $e.FullyQualifiedErrorId | Should -BeLike 'InvalidConfigValue,*'
        Get-StateSnapshot | Should -Be $before
        "$(& blkid -p -o value -s TYPE $fs)" | Should -Be 'ext4'
        (& pvs --noheadings -o vg_name $pv).Trim() | Should -Be $other
        & vgremove -q -y -f $other | Out-Null
        & pvremove -q -y $pv | Out-Null
    }
}

Describe 'copies between lvm and btrfs, zfs and ceph pools' {
    BeforeAll {
        $script:t = New-ContainerTestRoot
        $script:zfsd = Start-TestZfs
        $script:ceph = Start-TestCeph
        $tag = [guid]::NewGuid().ToString('N').Substring(0, 6)
        $null = New-StoragePool lv -Driver lvm -Config @{ size = '3GiB'; 'lvm.vg_name' = "$($script:Vg)x" }
        $null = New-StoragePool b -Driver btrfs -Config @{ size = '1GiB' }
        $null = New-StoragePool z -Driver zfs -Config @{ size = '1GiB'; 'zfs.pool_name' = "cplz$tag" }
        $null = New-StoragePool c -Driver ceph -Config @{ 'ceph.osd.pool_name' = "cplc$tag"; 'ceph.osd.pg_num' = '8'; 'volume.size' = '128MiB' }

        # The source container, on lvm: a file of its own and one owned by 1000 inside.
        $null = New-Container src busybox -StoragePool lv -Start
        $null = Invoke-In src 'echo kept > /root/state; touch /root/owned; chown 1000:1000 /root/owned'
        Stop-Container src -Force
        # What a container shows of those files when started: state, owners (busybox's and the file's), hostname.
        function Get-Seen([string] $Name) {
            Start-Container $Name
            try { Invoke-In $Name 'cat /root/state; stat -c %u:%g /bin/busybox /root/owned; hostname' }
            finally { Stop-Container $Name -Force }
        }
    }
    AfterAll {
        try {
            Remove-TestContainers
            Get-ContainerImage -ErrorAction SilentlyContinue | Remove-ContainerImage -ErrorAction SilentlyContinue
            Get-StoragePool -ErrorAction SilentlyContinue | Remove-StoragePool -Force -Confirm:$false -ErrorAction SilentlyContinue -WarningAction SilentlyContinue
            Remove-TestCephMappings
            Remove-TestVgs
            Remove-TestRoot
        }
        finally { Stop-TestCeph $script:ceph; Stop-TestZfs $script:zfsd }
    }

    It 'a custom volume copies from lvm to <Pool> (<Driver>) and back, with its files and owners' -ForEach @(
        @{ Pool = 'b'; Driver = 'btrfs' }, @{ Pool = 'z'; Driver = 'zfs' }, @{ Pool = 'c'; Driver = 'ceph' }
    ) {
        $v = Add-StorageVolume lv "v$Pool" -Size 64MiB
        'one' | Set-Content (Join-Path $v.Path 'f')
        & chown 1234:5678 (Join-Path $v.Path 'f')
        $there = Copy-StorageVolume lv "v$Pool" -TargetPool $Pool -PassThru
        $there.Pool | Should -Be $Pool
        Get-Content (Join-Path $there.Path 'f') | Should -Be 'one'
        & stat -c %u:%g (Join-Path $there.Path 'f') | Should -Be '1234:5678'
        'two' | Set-Content (Join-Path $there.Path 'f')
        $back = Copy-StorageVolume $Pool "v$Pool" -TargetPool lv -NewName "back$Pool" -PassThru
        (Get-Lv "$($script:Vg)x").Name | Should -Contain "custom-back$Pool"
        Get-Content (Join-Path $back.Path 'f') | Should -Be 'two'
        & stat -c %u:%g (Join-Path $back.Path 'f') | Should -Be '1234:5678'
        Remove-StorageVolume $Pool "v$Pool" -Confirm:$false
        foreach ($n in "v$Pool", "back$Pool") { Remove-StorageVolume lv $n -Confirm:$false }
    }

    It 'a container copies from lvm to <Pool> (<Driver>) and back: its files, owners inside and hostname' -ForEach @(
        @{ Pool = 'b'; Driver = 'btrfs' }, @{ Pool = 'z'; Driver = 'zfs' }, @{ Pool = 'c'; Driver = 'ceph' }
    ) {
        $null = Copy-Container src "to$Pool" -StoragePool $Pool
        (Get-Container "to$Pool").Pool | Should -Be $Pool
        Get-Seen "to$Pool" | Should -Be @('kept', '0:0', '1000:1000', "to$Pool")
        $null = Copy-Container "to$Pool" "back$Pool" -StoragePool lv
        (Get-Lv "$($script:Vg)x").Name | Should -Contain "containers-back$Pool"
        Get-Seen "back$Pool" | Should -Be @('kept', '0:0', '1000:1000', "back$Pool")
        Remove-Container "to$Pool", "back$Pool" -Force
    }
}

Describe 'Move-Container to and from lvm pools' {
    BeforeAll {
        $script:t = New-ContainerTestRoot
        $script:DstRoot = Join-Path $t.Base 'dest'
        $null = New-Item -ItemType Directory -Path $DstRoot
        & chmod 0711 $DstRoot
        $script:Ssh = Start-TestSshHost -Root $DstRoot -Dir (Join-Path $t.Base 'ssh')
        $script:s = New-TestSshSession $Ssh
        $script:DstVg = "$($script:Vg)dst"
    }
    AfterAll {
        if ($script:s) {
            Invoke-Command -Session $s -ScriptBlock {
                Get-Container -ErrorAction SilentlyContinue | Remove-Container -Force -ErrorAction SilentlyContinue
                Get-StoragePool -ErrorAction SilentlyContinue | Remove-StoragePool -Force -Confirm:$false -ErrorAction SilentlyContinue
            } -ErrorAction SilentlyContinue
            Remove-PSSession $s
        }
        Stop-TestSshHost $Ssh
        Remove-TestContainers
        Get-StoragePool -ErrorAction SilentlyContinue | Remove-StoragePool -Force -Confirm:$false -ErrorAction SilentlyContinue
        Remove-TestVgs
        Remove-TestRoot
    }

    It 'a stopped container with a snapshot moves from an lvm pool to a dir pool, and from a dir pool to an lvm pool' {
        $null = New-StoragePool lv -Driver lvm -Config @{ size = '2GiB'; 'lvm.vg_name' = "$($script:Vg)mv" }
        $null = New-StoragePool d -Driver dir
        foreach ($c in @(@{ Name = 'fromlvm'; Pool = 'lv' }, @{ Name = 'fromdir'; Pool = 'd' })) {
            $null = New-Container -Name $c.Name -Image busybox -StoragePool $c.Pool -Start
            $null = Invoke-In $c.Name 'echo one > /root/v'
            $null = New-ContainerSnapshot -Container $c.Name -Name s1
            $null = Invoke-In $c.Name 'echo two > /root/v'
            Stop-Container $c.Name -Force
        }

        Invoke-Command -Session $s -ScriptBlock { Initialize-ContainerHost dir -StoragePool default | Out-Null }
        Move-Container -Name fromlvm -Destination $s -DataThroughSession
        (Get-Lv "$($script:Vg)mv").Name | Where-Object { $_ -like 'containers-*' } | Should -BeNullOrEmpty -Because 'the container and its snapshot left the lvm pool'

        Invoke-Command -Session $s -ScriptBlock { param($vg) Initialize-ContainerHost lvm -StoragePool inlvm -StoragePoolConfig @{ size = '2GiB'; 'lvm.vg_name' = $vg } | Out-Null } -ArgumentList $DstVg
        Move-Container -Name fromdir -Destination $s -DataThroughSession
        Get-Container | Should -BeNullOrEmpty

        $there = Invoke-Command -Session $s -ScriptBlock {
            foreach ($n in 'fromlvm', 'fromdir') {
                $r = [pscustomobject]@{ Name = $n; Pool = (Get-Container $n).Pool; Snapshots = @(Get-ContainerSnapshot -Container $n).Name; V = @() }
                Start-Container $n
                $r.V += (Invoke-ContainerExec $n -Command cat, /root/v) -join ''
                Stop-Container $n -Force
                Restore-ContainerSnapshot -Container $n -Name s1 -Confirm:$false
                Start-Container $n
                $r.V += (Invoke-ContainerExec $n -Command cat, /root/v) -join ''
                Stop-Container $n -Force
                $r
            }
        }
        $there[0].Pool | Should -Be 'default'
        $there[1].Pool | Should -Be 'inlvm'
        foreach ($r in $there) {
            $r.Snapshots | Should -Be 's1' -Because "$($r.Name) keeps its snapshot"
            $r.V | Should -Be @('two', 'one') -Because "$($r.Name) has its files and its snapshot's"
        }
        (Get-Lv $DstVg).Name | Should -Contain 'containers-fromdir'
        (Get-Lv $DstVg).Name | Should -Contain 'containers-fromdir+as1'
    }

    It 'a running container moves from an lvm pool to a dir pool, and from a dir pool to an lvm pool: the same processes, files and owners' {
        # (After the test above: the destination has pools default (dir) and inlvm (lvm); here lv (lvm) and d (dir).)
        $sleep = @{}
        foreach ($c in @(@{ Name = 'runlvm'; Pool = 'lv' }, @{ Name = 'rundir'; Pool = 'd' })) {
            $null = New-Container -Name $c.Name -Image busybox -StoragePool $c.Pool -Start
            $null = Invoke-ContainerExec $c.Name -Command sh, -c, 'echo kept > /root/f; chown 1000:1000 /root/f; sleep 1000 </dev/null >/dev/null 2>&1 &'
            $sleep[$c.Name] = Wait-Until { Invoke-ContainerExec $c.Name -Command pidof, sleep -ErrorAction SilentlyContinue } -Because 'the sleep'
        }
        Invoke-Command -Session $s -ScriptBlock { Initialize-ContainerHost dir -StoragePool default | Out-Null }
        Move-Container -Name runlvm -Destination $s
        (Get-Lv "$($script:Vg)mv").Name | Should -Not -Contain 'containers-runlvm' -Because 'its LV left with it'
        Invoke-Command -Session $s -ScriptBlock { Initialize-ContainerHost lvm -StoragePool inlvm | Out-Null }
        Move-Container -Name rundir -Destination $s
        Get-Container runlvm, rundir -ErrorAction SilentlyContinue | Should -BeNullOrEmpty

        $there = Invoke-Command -Session $s -ScriptBlock {
            foreach ($n in 'runlvm', 'rundir') {
                [pscustomobject]@{
                    Name = $n; State = (Get-Container $n).State; Pool = (Get-Container $n).Pool
                    Seen = @(Invoke-ContainerExec $n -Command sh, -c, 'cat /root/f; stat -c %u:%g /root/f; pidof sleep')
                }
            }
        }
        $there[0].Pool | Should -Be 'default'
        $there[1].Pool | Should -Be 'inlvm'
        foreach ($r in $there) {
            $r.State | Should -Be 'Running'
            $r.Seen | Should -Be @('kept', '1000:1000', "$($sleep[$r.Name])") -Because "CRIU restored $($r.Name)'s processes on its moved filesystem"
        }
        (Get-Lv $DstVg).Name | Should -Contain 'containers-rundir'
    }
}
