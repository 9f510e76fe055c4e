#Requires -Version 7.4
# Ceph volumes over the kernel's rbd (krbd, `rbd map` → /dev/rbdN, as LXD does): a lane file
# (*.Lane.Tests.ps1) for the TestVm guest's stock Debian kernel, which has the rbd module (this
# VM's kernel has none: StorageCeph.Tests covers rbd-fuse + loop and the refusal of krbd there).
# Its own throwaway cluster (tests/ceph-cluster.sh), small images. Volumes made, written,
# snapshotted, restored, copied and grown online (ext4, xfs) over /dev/rbdN; a container started on
# it (idmapped rootfs); what a non-root host user and the container's root can reach; kill -9
# half-way through a mapping; a device mapped outside ContainerPS; ceph.rbd.map switched to fuse.
# Run it in a private mount namespace, as build.ps1 does.

BeforeAll {
    Import-Module (Join-Path $PSScriptRoot 'TestHelpers.psm1') -Force
    Import-Module (Get-ModulePath) -Force
    $script:ceph = Start-TestCeph
    $script:prefix = 'cpk' + [guid]::NewGuid().ToString('N').Substring(0, 6)
    $script:t = New-ContainerTestRoot
    $script:osd = "$($script:prefix)k"
    $script:c = New-StoragePool c -Driver ceph -Config @{ 'ceph.osd.pool_name' = $script:osd; 'ceph.osd.pg_num' = '8'; 'volume.size' = '128MiB' }

    <# The kernel's RBD mappings of the test OSD pool: Id, Name (image), Snap. #>
    function Get-KrbdMappings {
        @(Get-ChildItem /sys/bus/rbd/devices -ErrorAction SilentlyContinue | ForEach-Object {
                $d = $_.FullName
                [pscustomobject]@{ Id = $_.Name; Pool = (Get-Content "$d/pool"); Name = (Get-Content "$d/name"); Snap = (Get-Content "$d/current_snap") }
            } | Where-Object Pool -EQ $script:osd)
    }
    <# The device a volume's filesystem is mounted from. #>
    function Get-SourceDevice([string] $Path) { "$(& findmnt -n -o SOURCE --mountpoint $Path)".Trim() }
    function Get-FsSize([string] $Path) { [long]"$(& df -B1 --output=size $Path | Select-Object -Last 1)".Trim() }
    <# Invoke-KilledAtFault with the time a child pwsh needs under TCG: runs Command armed at Point, waits until it stops there, runs WhileAlive, SIGKILLs it. #>
    function Invoke-KilledAt([string] $Point, [string] $Command, [scriptblock] $WhileAlive) {
        $signal = Join-Path $script:t.Base 'fault-signal'
        Remove-Item $signal -ErrorAction SilentlyContinue
        try { Invoke-KilledAtFault -Point $Point -Command $Command -SignalFile $signal -WhileAlive $WhileAlive -TimeoutSeconds 600 }
        finally { Remove-Item $signal -ErrorAction SilentlyContinue }
    }

    # Runs Script in a child pwsh (a process of its own: a repair it takes over and cannot finish
    # is retried by the next process once it has exited) and returns its output.
    function Invoke-InChild([string] $Script) {
        $r = Wait-ChildPwsh (Start-ChildPwsh -Script $Script) -TimeoutSeconds 600
        $r.TimedOut | Should -BeFalse
        "$($r.Stdout)"
    }
}

AfterAll {
    try {
        Stop-ChildPwsh
        Get-Container -ErrorAction SilentlyContinue | Remove-Container -Force -Confirm:$false -ErrorAction SilentlyContinue -WarningAction SilentlyContinue
        Get-ContainerImage -ErrorAction SilentlyContinue | Remove-ContainerImage -ErrorAction SilentlyContinue
        Get-StoragePool -ErrorAction SilentlyContinue | Remove-StoragePool -Force -Confirm:$false -ErrorAction SilentlyContinue -WarningAction SilentlyContinue
        Remove-TestCephMappings
        Remove-TestContainers
        Remove-TestRoot
    }
    finally { Stop-TestCeph $script:ceph } # (unmaps what a failed test left mapped on the cluster)
}

Describe 'ceph volumes over kernel rbd' {
    It 'auto picks krbd on this kernel: a volume is ext4 on /dev/rbdN; write, snapshot, restore, copy, online growth of ext4 and xfs; removal unmaps' {
        $script:c.RbdMap | Should -Be 'krbd'
        (Get-StoragePool c | Format-Table | Out-String -Width 300) | Should -Match 'RbdMap[\s\S]*krbd'
        $v = Add-StorageVolume c v -Config @{ size = '64MiB' }
        $dev = Get-SourceDevice $v.Path
        $dev | Should -Match '^/dev/rbd\d+$'
        (& findmnt -n -o FSTYPE --mountpoint $v.Path) | Should -Be 'ext4'
        $m = @(Get-KrbdMappings | Where-Object Name -EQ 'custom_v')
        $m.Count | Should -Be 1
        "/dev/rbd$($m[0].Id)" | Should -Be $dev
        $m[0].Snap | Should -Be '-'
        @(& losetup -l -n -O BACK-FILE | Where-Object { "$_".Trim().StartsWith($script:t.Base) }) | Should -BeNullOrEmpty -Because 'no rbd-fuse + loop'
        Get-MountsBelow (Join-Path $script:c.Source '.rbd') | Should -BeNullOrEmpty

        'one' | Set-Content (Join-Path $v.Path 'f')
        $null = New-StorageVolumeSnapshot c v s1
        Get-RbdImages $script:osd | Should -Contain 'custom_v@snapshot_s1'
        'two' | Set-Content (Join-Path $v.Path 'f')
        Restore-StorageVolumeSnapshot c v s1 -Confirm:$false
        Get-Content (Join-Path $v.Path 'f') | Should -Be 'one'
        Get-SourceDevice $v.Path | Should -Match '^/dev/rbd\d+$'
        @(Get-KrbdMappings | Where-Object Name -EQ 'custom_v').Count | Should -Be 1 -Because 'the restore unmapped and mapped it again'

        $copy = Copy-StorageVolume c v -NewName v2 -PassThru
        Get-RbdParent "$script:osd/custom_v2" | Should -BeLike "$script:osd/custom_v@copy-*"
        Get-Content (Join-Path $copy.Path 'f') | Should -Be 'one'
        Get-SourceDevice $copy.Path | Should -Not -Be (Get-SourceDevice $v.Path)

        # Online growth while a process keeps a file open on it.
        $holder = Start-Process -FilePath sleep -ArgumentList 600 -WorkingDirectory $v.Path -PassThru
        try {
            Set-StorageVolume c v -Config @{ size = '160MiB' }
            Get-FsSize $v.Path | Should -BeGreaterThan 140MB -Because 'ext4 grows online over krbd'
            Join-Path $script:c.Source '.rbd/.custom_v.grow' | Should -Not -Exist
        }
        finally { Stop-Process -Id $holder.Id -Force; $holder.WaitForExit() }
        & bash -c "dd if=/dev/zero of='$($v.Path)/b' bs=1M count=100 conv=fsync status=none"
        $LASTEXITCODE | Should -Be 0

        $x = Add-StorageVolume c x -Config @{ size = '320MiB'; 'block.filesystem' = 'xfs' }
        Get-SourceDevice $x.Path | Should -Match '^/dev/rbd\d+$'
        $before = Get-FsSize $x.Path
        Set-StorageVolume c x -Config @{ size = '400MiB' }
        Get-FsSize $x.Path | Should -BeGreaterThan ($before + 70MB) -Because 'xfs grows online over krbd'

        foreach ($n in 'x', 'v2', 'v') { Remove-StorageVolume c $n -Confirm:$false }
        Get-KrbdMappings | Should -BeNullOrEmpty -Because 'removal unmaps'
        Get-ChildItem -Force (Join-Path $script:c.Source '.rbd') | Where-Object Name -NotLike '.*' | Should -BeNullOrEmpty
    }

    It 'a container on krbd (idmapped ext4 rootfs, snapshot while running); a non-root host user cannot open /dev/rbdN or enter the mount; the container''s root reaches no rbd device' {
        $null = New-Container k1 busybox -StoragePool c -Start
        Invoke-In k1 'stat -c %u:%g /bin/busybox; echo hi > /root/f' | Should -Be '0:0'
        $vol = Get-StorageVolume c k1 -Type container
        $vol.Config.Keys | Should -Not -Contain 'volatile.idmap.last' -Because 'ext4 on /dev/rbdN takes idmapped mounts'
        & stat -c %u (Join-Path $vol.Path 'root/f') | Should -Be '0'
        $dev = Get-SourceDevice $vol.Path
        $dev | Should -Match '^/dev/rbd\d+$'

        $null = New-ContainerSnapshot k1 s1
        Get-RbdImages $script:osd | Should -Contain 'container_k1@snapshot_s1'
        Invoke-In k1 'cat /root/f' | Should -Be 'hi' -Because 'the container runs on after its filesystem was frozen for the snapshot'

        # A non-root host user: neither the block device nor the volume's files.
        & stat -c '%U %a' $dev | Should -Match '^root [0-6][0-6]0$'
        $out = & setpriv --reuid=65534 --regid=65534 --clear-groups -- dd "if=$dev" of=/dev/null bs=4k count=1 2>&1
        $LASTEXITCODE | Should -Not -Be 0
        "$out" | Should -Match 'Permission denied'
        (& stat -c '%a' (Join-Path $script:c.Source '.rbd')) | Should -Be '700'
        $out = & setpriv --reuid=65534 --regid=65534 --clear-groups -- head -c 1 (Join-Path $vol.Path 'bin/busybox') 2>&1
        $LASTEXITCODE | Should -Not -Be 0
        "$out" | Should -Match 'Permission denied'
        $out = & setpriv --reuid=65534 --regid=65534 --clear-groups -- sh -c 'echo x > /sys/bus/rbd/add' 2>&1
        $LASTEXITCODE | Should -Not -Be 0

        # The container's root: no rbd node, cannot make one, cannot map through sysfs.
        $major, $minor = (& stat -c '%t %T' $dev) -split ' ' | ForEach-Object { [Convert]::ToInt32($_, 16) }
        Invoke-In k1 'ls /dev | grep -c rbd || true' | Should -Be '0'
        Invoke-In k1 "mknod /tmp/r b $major $minor 2>/dev/null && head -c 1 /tmp/r >/dev/null 2>&1 && echo reached || echo refused" | Should -Be 'refused'
        Invoke-In k1 '{ echo "127.0.0.1 name=admin p i" > /sys/bus/rbd/add; } 2>/dev/null && echo mapped || echo refused' | Should -Be 'refused'

        Remove-Container k1 -Force
        Get-KrbdMappings | Where-Object Name -Like 'container_k1*' | Should -BeNullOrEmpty
    }

    It 'kill -9 after rbd map: the repair unmaps or the next mapping keeps what the killed command mapped (never twice); a device mapped outside ContainerPS is neither used nor unmapped' {
        $v = Add-StorageVolume c crash -Config @{ size = '64MiB' }
        'one' | Set-Content (Join-Path $v.Path 'f')
        $null = New-StorageVolumeSnapshot c crash s1
        'two' | Set-Content (Join-Path $v.Path 'f')
        $null = New-StoragePool d -Driver dir
        $record = Join-Path $script:c.Source '.rbd/custom_crash/krbd'

        # A restore killed right after its rbd map: the repair (the restore again) unmaps that device and maps once.
        Invoke-KilledAt -Point 'ceph.krbd.after-map' -Command 'Restore-StorageVolumeSnapshot c crash s1 -Confirm:$false' -WhileAlive {
            @(Get-KrbdMappings | Where-Object Name -EQ 'custom_crash').Count | Should -Be 1
            (Get-Content $record -Raw).Trim() | Should -BeNullOrEmpty -Because 'killed before the device was written down'
        }
        $null = Get-StorageVolume c crash -WarningVariable w -WarningAction SilentlyContinue
        "$w" | Should -Match 'restore'
        $m = @(Get-KrbdMappings | Where-Object Name -EQ 'custom_crash')
        $m.Count | Should -Be 1 -Because 'never mapped twice'
        (Get-Content $record -Raw).Trim() | Should -Be $m[0].Id
        Get-SourceDevice $v.Path | Should -Be "/dev/rbd$($m[0].Id)"
        Get-Content (Join-Path $v.Path 'f') | Should -Be 'one'

        # Killed after the rollback, before mapping again; then someone maps the image by hand.
        'two' | Set-Content (Join-Path $v.Path 'f')
        Invoke-KilledAt -Point 'ceph.restore.after-rollback' -Command 'Restore-StorageVolumeSnapshot c crash s1 -Confirm:$false'
        Get-KrbdMappings | Where-Object Name -EQ 'custom_crash' | Should -BeNullOrEmpty
        $foreign = "$(& rbd map "$script:osd/custom_crash")".Trim()
        try {
            $foreign | Should -Match '^/dev/rbd\d+$'
            # The next command's repair (the restore again) refuses to roll back under it, naming the device; the volume stays busy.
            # (Each in a process of its own, as a user's commands are: the repair a process took over and
            # could not finish is retried by a later process once that one has exited.)
            Invoke-InChild '$null = Get-StorageVolume c crash -WarningVariable w -WarningAction SilentlyContinue; "$w"' |
                Should -Match "Could not repair.*mapped at $([regex]::Escape($foreign)) by something other than ContainerPS"
            Invoke-InChild 'try { $null = Copy-StorageVolume c crash -TargetPool d -WarningAction SilentlyContinue; "copied" } catch { $_.FullyQualifiedErrorId }' |
                Should -Match '^VolumeBusy,'
            @(Get-KrbdMappings | Where-Object Name -EQ 'custom_crash').Id | Should -Be @($foreign -replace '^/dev/rbd', '') -Because 'the foreign mapping is left alone'
            Get-MountsBelow (Join-Path $script:c.Source 'custom') | Should -BeNullOrEmpty
            $record | Should -Not -Exist
        }
        finally { & rbd unmap $foreign }
        $null = Get-StorageVolume c crash -WarningVariable w -WarningAction SilentlyContinue
        "$w" | Should -Match 'restore' -Because 'the restore is finished once the foreign mapping is gone'
        Get-Content (Join-Path $v.Path 'f') | Should -Be 'one'

        # After the repairs the volume copies to another pool as any other, still on its one mapping.
        $copy = Copy-StorageVolume c crash -TargetPool d -PassThru -WarningAction SilentlyContinue
        Get-Content (Join-Path $copy.Path 'f') | Should -Be 'one'
        @(Get-KrbdMappings | Where-Object Name -EQ 'custom_crash').Count | Should -Be 1

        # A create killed right after its rbd map: the repair removes the half-made volume and unmaps it.
        Invoke-KilledAt -Point 'ceph.krbd.after-map' -Command 'Add-StorageVolume c half -Config @{ size = "64MiB" }'
        @(Get-KrbdMappings | Where-Object Name -EQ 'custom_half').Count | Should -Be 1
        $null = Get-StorageVolume c -WarningAction SilentlyContinue
        Get-StorageVolume c half -ErrorAction SilentlyContinue | Should -BeNullOrEmpty
        Get-KrbdMappings | Where-Object Name -EQ 'custom_half' | Should -BeNullOrEmpty -Because 'the repair unmapped what the killed command mapped'
        Get-RbdImages $script:osd | Should -Not -Contain 'custom_half'

        Remove-StorageVolume d crash -Confirm:$false
        Remove-StoragePool d -Confirm:$false
        Remove-StorageVolume c crash -Confirm:$false
        Get-KrbdMappings | Where-Object Name -Like 'custom_*' | Should -BeNullOrEmpty
    }

    It 'after a switch from fuse to krbd and a reboot, the first kernel mapping killed right after rbd map is kept by the next command (never mapped twice)' {
        $d = New-StoragePool dd -Driver dir
        Set-StoragePool c -Config @{ 'ceph.rbd.map' = 'fuse' }
        try {
            $v = Add-StorageVolume c adopt -Config @{ size = '64MiB' }
            'one' | Set-Content (Join-Path $v.Path 'f')
            $loop = Get-SourceDevice $v.Path
            $loop | Should -Match '^/dev/loop\d+$'
        }
        finally { Set-StoragePool c -Config @{ 'ceph.rbd.map' = 'krbd' } }
        # A reboot: the volume's mount, its loop device and its rbd-fuse are gone; no kernel mapping was ever recorded.
        $fuse = Join-Path $script:c.Source '.rbd/custom_adopt'
        & umount -- $v.Path
        & losetup -d $loop
        & umount -- $fuse
        $LASTEXITCODE | Should -Be 0
        $record = Join-Path $fuse 'krbd'
        $record | Should -Not -Exist

        # The copy mounts its source: a first kernel mapping, killed after rbd map, before the device is written down.
        Invoke-KilledAt -Point 'ceph.krbd.after-map' -Command 'Copy-StorageVolume c adopt -TargetPool dd' -WhileAlive {
            @(Get-KrbdMappings | Where-Object Name -EQ 'custom_adopt').Count | Should -Be 1
            (Get-Content $record -Raw).Trim() | Should -BeNullOrEmpty -Because 'killed before the device was written down'
        }
        $m = @(Get-KrbdMappings | Where-Object Name -EQ 'custom_adopt')
        $m.Count | Should -Be 1
        $all = Copy-StorageVolume c adopt -TargetPool dd -PassThru -Verbose -WarningAction SilentlyContinue 4>&1
        "$($all | Where-Object { $_ -is [System.Management.Automation.VerboseRecord] })" | Should -Match "keeping /dev/rbd$($m[0].Id), mapped by an interrupted command"
        $copy = $all | Where-Object { $_ -isnot [System.Management.Automation.VerboseRecord] }
        Get-Content (Join-Path $copy.Path 'f') | Should -Be 'one'
        @(Get-KrbdMappings | Where-Object Name -EQ 'custom_adopt').Id | Should -Be @($m[0].Id) -Because 'the device the killed command mapped is kept, not mapped again'
        (Get-Content $record -Raw).Trim() | Should -Be $m[0].Id
        Get-SourceDevice $v.Path | Should -Be "/dev/rbd$($m[0].Id)"

        Remove-StorageVolume dd adopt -Confirm:$false
        Remove-StoragePool dd -Confirm:$false
        Remove-StorageVolume c adopt -Confirm:$false
        Get-KrbdMappings | Where-Object Name -EQ 'custom_adopt' | Should -BeNullOrEmpty
    }

    It 'ceph.rbd.map=fuse: a mapped volume keeps its kernel mapping until it is unmapped, then comes back over rbd-fuse + loop; krbd again' {
        $v = Add-StorageVolume c sw -Config @{ size = '64MiB' }
        'one' | Set-Content (Join-Path $v.Path 'f')
        $null = New-StorageVolumeSnapshot c sw s1
        Set-StoragePool c -Config @{ 'ceph.rbd.map' = 'fuse' }
        (Get-StoragePool c).RbdMap | Should -Be 'fuse'
        Get-SourceDevice $v.Path | Should -Match '^/dev/rbd\d+$' -Because 'the change applies at the next mapping'
        Restore-StorageVolumeSnapshot c sw s1 -Confirm:$false
        Get-SourceDevice $v.Path | Should -Match '^/dev/loop\d+$'
        Get-KrbdMappings | Where-Object Name -EQ 'custom_sw' | Should -BeNullOrEmpty
        Get-Content (Join-Path $v.Path 'f') | Should -Be 'one'
        Set-StoragePool c -Config @{ 'ceph.rbd.map' = 'krbd' }
        (Get-StoragePool c).RbdMap | Should -Be 'krbd'
        Get-SourceDevice $v.Path | Should -Match '^/dev/loop\d+$'
        Restore-StorageVolumeSnapshot c sw s1 -Confirm:$false
        Get-SourceDevice $v.Path | Should -Match '^/dev/rbd\d+$'
        Get-ErrorId (Get-CommandError { Set-StoragePool c -Config @{ 'ceph.rbd.map' = 'nbd' } }) | Should -Be 'InvalidConfigValue'
        Remove-StorageVolume c sw -Confirm:$false
        Get-KrbdMappings | Where-Object Name -Like 'custom_*' | Should -BeNullOrEmpty
        Get-MountsBelow (Join-Path $script:c.Source 'custom') | Should -BeNullOrEmpty
        Get-MountsBelow (Join-Path $script:c.Source '.rbd') | Should -BeNullOrEmpty
    }
}
