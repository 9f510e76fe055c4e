#Requires -Version 7.4
# Id maps as objects (Get-ContainerIdmap, security.idmap.*, raw.idmap, changes at the next start)
# and custom volumes mounted into containers (Mount-/Dismount-StorageVolume): idmapped mounts on
# ext4 and btrfs (loop files), the chown fallback with LXD's identical-maps rule on a filesystem that
# refuses idmapped mounts (overlayfs, as zfs-fuse does), the shifter's ACL, file capability and
# setuid round trip, a shift killed half-way, namespaced file capabilities, and bad input.
# Run it in a private mount namespace (unshare --mount --propagation private), as build.ps1 does.

BeforeAll {
    Import-Module (Join-Path $PSScriptRoot 'TestHelpers.psm1') -Force
    Import-Module (Get-ModulePath) -Force

    # Root's first subordinate uid (the shared map's base). On a fresh host root has none until the
    # first New-Container adds root:1000000:1000000000 (as LXD does), so make one first if need be.
    function Get-SubuidBase {
        if (-not (Get-Content /etc/subuid -ErrorAction SilentlyContinue | Where-Object { $_ -match '^(root|0):\d+:\d+$' })) {
            $saved = $env:CONTAINERPS_ROOT
            $env:CONTAINERPS_ROOT = Join-Path '/tmp' ('cps-pester-subuid-' + [guid]::NewGuid().ToString('N').Substring(0, 12))
            try { $null = New-Container first busybox; Remove-Container first }
            finally { Remove-Item -Recurse -Force $env:CONTAINERPS_ROOT -ErrorAction SilentlyContinue; $env:CONTAINERPS_ROOT = $saved }
        }
        $line = Get-Content /etc/subuid | Where-Object { $_ -match '^(root|0):\d+:\d+$' } | Select-Object -First 1
        [long]($line -split ':')[1]
    }

    # A dir pool named Name on a fresh Type filesystem (ext4/btrfs loop file, or overlay).
    function New-TestPool([string] $Name, [string] $Type) {
        $mnt = Join-Path $script:t.Base "fs-$Name"
        if ($Type -eq 'overlay') { New-TestOverlay -Path $mnt -Under (Join-Path $script:t.Base "ov-$Name") }
        else { New-TestFilesystem -Type $Type -Path $mnt }
        New-StoragePool -Name $Name -Driver dir -Source (Join-Path $mnt 'pool')
    }

    # owner:group and octal mode of a host path.
    function Get-Owner([string] $Path) { (& stat -c '%u:%g' -- $Path) }
    function Get-Mode([string] $Path) { (& stat -c '%a' -- $Path) }
    # security.capability of a host path as hex (0x...), or $null.
    function Get-CapabilityHex([string] $Path) {
        $line = & getfattr -n security.capability -e hex -- $Path 2>$null | Where-Object { $_ -like 'security.capability=*' }
        if ($line) { $line.Substring('security.capability='.Length) }
    }
    # The little-endian hex of a 32-bit id, as it ends a v3 capability.
    function Get-LeHex([long] $Id) { ([BitConverter]::ToString([BitConverter]::GetBytes([uint32]$Id)) -replace '-', '').ToLower() }

    $script:Fcap = Join-Path ([IO.Path]::GetTempPath()) "cps-fcap-$PID"
    & gcc -static -O2 -o $script:Fcap (Join-Path $PSScriptRoot 'workloads/fcap.c')
    if ($LASTEXITCODE -ne 0) { throw 'gcc -static fcap.c failed' }
}

AfterAll { Remove-Item -LiteralPath $script:Fcap -Force -ErrorAction SilentlyContinue }

Describe 'Id maps as objects' {
    BeforeEach { $script:t = New-ContainerTestRoot; $script:SavedIdFiles = @{} }
    AfterEach {
        Stop-ChildPwsh; Remove-TestContainers; Remove-TestFilesystem; Remove-TestRoot
        foreach ($f in $script:SavedIdFiles.Keys) { Set-Content -LiteralPath $f -Value $script:SavedIdFiles[$f] -NoNewline }
    }

    It 'Get-ContainerIdmap shows each map; isolated maps of successive containers are base+65536, base+131072; -Host shows who uses what' {
        $base = Get-SubuidBase
        $null = New-Container s1 busybox
        $null = New-Container i1 busybox -IsolatedIdmap
        $null = New-Container i2 busybox -Config @{ 'security.idmap.isolated' = 'true' }

        $maps = Get-ContainerIdmap
        $maps | Should -HaveCount 3
        $maps[0] | Should -BeOfType ([ContainerPS.Idmap])
        $s1 = $maps | Where-Object Container -EQ s1
        $s1.Kind | Should -Be 'both'
        $s1.HostStart | Should -Be $base
        $s1.ContainerStart | Should -Be 0
        $s1.Count | Should -Be 65536
        $s1.Isolated | Should -BeFalse
        $s1.Next | Should -BeTrue
        $s1.Current | Should -BeFalse -Because 'it has never run'
        (Get-ContainerIdmap i1).HostStart | Should -Be ($base + 65536)
        (Get-ContainerIdmap i2).HostStart | Should -Be ($base + 131072)
        (Get-ContainerIdmap i2).Isolated | Should -BeTrue
        Get-ContainerIdmap -Name i* | Should -HaveCount 2

        $hostMaps = Get-ContainerIdmap -Host
        $hostMaps[0] | Should -BeOfType ([ContainerPS.HostIdmap])
        $uid = $hostMaps | Where-Object Kind -EQ uid
        ($uid | Where-Object HostStart -EQ $base).Use | Should -Be 'Shared'
        ($uid | Where-Object HostStart -EQ $base).Containers | Should -Be @('s1')
        ($uid | Where-Object HostStart -EQ ($base + 65536)).Containers | Should -Be @('i1')
        ($uid | Where-Object HostStart -EQ ($base + 131072)).Use | Should -Be 'Isolated'
        ($uid | Select-Object -Last 1).Use | Should -Be 'Free'
        ($hostMaps | Where-Object Kind -EQ gid) | Should -HaveCount $uid.Count

        # Released on delete: the next isolated container takes the freed range first.
        Remove-Container i1
        (New-Container i3 busybox -IsolatedIdmap).Idmap | Should -Be "0 $($base + 65536) 65536"
    }

    It 'inside: uid_map shows the map, chown 65535 works and 65536 fails, host ids outside the map are nobody' {
        $base = Get-SubuidBase
        $null = New-Container c1 busybox -Start
        (Invoke-In c1 'cat /proc/self/uid_map').Trim() -replace '\s+', ' ' | Should -Be "0 $base 65536"
        Invoke-In c1 'touch /root/f && chown 65535:65535 /root/f && stat -c %u:%g /root/f' | Should -Be '65535:65535'
        $err = Get-CommandError { Invoke-ContainerExec c1 -- chown 65536 /root/f }
        "$err" | Should -BeLike '*Invalid argument*'
        (Invoke-ContainerExec c1 -PassThru -- chown 65536 /root/f 2>$null).ExitCode | Should -Not -Be 0
        # A file owned by host uid 70000 on disk (outside the container's 0..65535) shows as nobody.
        $vol = Add-StorageVolume default v
        New-Item -ItemType File (Join-Path $vol.Path 'far') | Out-Null
        & chown 70000:70000 -- (Join-Path $vol.Path 'far')
        Mount-StorageVolume default v c1 /v
        Invoke-In c1 'stat -c %u:%g /v/far' | Should -Be '65534:65534'
    }

    It 'raw.idmap maps host uid 1000 through, takes effect at the next start, and Current/Next show the change' {
        $base = Get-SubuidBase
        $null = New-Container c1 busybox -Start
        # As LXD requires: root is delegated host id 1000 (both files are restored in AfterEach).
        $err = Get-CommandError { Set-Container c1 -Config @{ 'raw.idmap' = 'both 1000 1000' } }
        $err.FullyQualifiedErrorId | Should -BeLike 'IdmapNotDelegated,*'
        foreach ($f in '/etc/subuid', '/etc/subgid') {
            $script:SavedIdFiles[$f] = Get-Content -Raw $f
            Add-Content -LiteralPath $f -Value 'root:1000:1'
        }
        Set-Container c1 -Config @{ 'raw.idmap' = 'both 1000 1000' } -WarningVariable w -WarningAction SilentlyContinue
        (Get-Container c1).Privileged | Should -BeFalse
        "$w" | Should -BeLike '*takes effect when it restarts*'
        $m = Get-ContainerIdmap c1
        ($m | Where-Object { $_.Current -and -not $_.Next }).Count | Should -Be 65536 -Because 'the map it runs with is one range'
        $next = @($m | Where-Object { $_.Next -and -not $_.Current } | Sort-Object ContainerStart)
        $next.ContainerStart | Should -Be @(0, 1000, 1001)
        $next.HostStart | Should -Be @($base, 1000, ($base + 1001))
        $next | ForEach-Object Count | Should -Be @(1000, 1, 64535)
        ($next | Where-Object ContainerStart -EQ 1000).Raw | Should -BeTrue
        (Invoke-In c1 'cat /proc/self/uid_map' | Measure-Object).Count | Should -Be 1 -Because 'the running container keeps its map'

        Restart-Container c1 -Force
        @(Invoke-In c1 'cat /proc/self/uid_map' | ForEach-Object { $_.Trim() -replace '\s+', ' ' }) | Should -Be @("0 $base 1000", '1000 1000 1', "1001 $($base + 1001) 64535")
        @(Get-ContainerIdmap c1 | Where-Object { -not ($_.Current -and $_.Next) }) | Should -BeNullOrEmpty
        # A process of container uid 1000 is host uid 1000.
        Invoke-ContainerExec c1 -User 1000 -AsJob -- sleep 300 | Out-Null
        # The sleep in c1's pid namespace (a host process named sleep 300 must not be taken for it).
        $pidns = (Get-Item "/proc/$((Get-Container c1).Pid)/ns/pid").LinkTarget
        $hostPid = Wait-Until -Because 'the sleep to start' {
            Get-ChildItem /proc -Directory | Where-Object Name -Match '^\d+$' | Where-Object {
                (Get-Content "/proc/$($_.Name)/cmdline" -Raw -ErrorAction SilentlyContinue) -eq "sleep`0300`0" -and
                (Get-Item "/proc/$($_.Name)/ns/pid" -ErrorAction SilentlyContinue).LinkTarget -eq $pidns } | Select-Object -First 1 -ExpandProperty Name
        }
        (Get-Content "/proc/$hostPid/status" | Where-Object { $_ -like 'Uid:*' }) -split '\s+' | Select-Object -Skip 1 -First 1 | Should -Be '1000'
        Get-Job | Remove-Job -Force
    }

    It 'bad id map config is refused and changes nothing: <Why>' -ForEach @(
        @{ Why = 'a malformed raw.idmap'; Config = @{ 'raw.idmap' = 'both 1000' }; Id = 'InvalidConfigValue' }
        @{ Why = 'raw.idmap ranges of different lengths'; Config = @{ 'raw.idmap' = 'uid 50-60 500-505' }; Id = 'InvalidConfigValue' }
        @{ Why = 'raw.idmap onto the base range'; Config = @{ 'raw.idmap' = 'uid BASE+5 70000' }; Id = 'InvalidIdmap' }
        @{ Why = 'a base outside the subordinate ids'; Config = @{ 'security.idmap.base' = '5000' }; Id = 'InvalidIdmap' }
        @{ Why = 'an isolated map when the host range is full'; Config = @{ 'security.idmap.isolated' = 'true'; 'security.idmap.size' = '2000000000' }; Id = 'IdmapExhausted' }
        @{ Why = 'a privileged key'; Config = @{ 'security.privileged' = 'true' }; Id = 'ConfigKeyReadOnly' }
    ) {
        if ($Config['raw.idmap'] -eq 'uid BASE+5 70000') { $Config['raw.idmap'] = "uid $((Get-SubuidBase) + 5) 70000" }
        $null = New-Container c1 busybox
        Set-Container c1 -Config @{ 'user.note' = 'x' } # the first lock makes the locks directory
        $before = Get-ContainerStateSnapshot -IgnoreLocks
        Get-ErrorId (Get-CommandError { Set-Container c1 -Config $Config }) | Should -Be $Id
        Get-ContainerStateSnapshot -IgnoreLocks | Should -Be $before
        if ($Id -ne 'ConfigKeyReadOnly') {
            Get-ErrorId (Get-CommandError { New-Container c2 busybox -Config $Config }) | Should -Be $Id
            Get-Container c2 -ErrorAction SilentlyContinue | Should -BeNullOrEmpty
        }
    }
}

Describe 'Volumes shared by containers with different maps (idmapped mounts) on <Fs>' -ForEach @(
    @{ Fs = 'ext4' }, @{ Fs = 'btrfs' }
) {
    BeforeEach { $script:t = New-ContainerTestRoot }
    AfterEach { Stop-ChildPwsh; Remove-TestContainers; Remove-TestFilesystem; Remove-TestRoot }

    It 'the seed scenario: two shared-map containers and one isolated share a volume, each sees root-owned files' {
        $null = New-TestPool p $Fs
        $vol = Add-StorageVolume p shared
        'from host' | Set-Content (Join-Path $vol.Path 'hello')
        $null = New-Container c1 busybox -StoragePool p
        $null = New-Container c2 busybox -StoragePool p -Start
        $null = New-Container c3 busybox -StoragePool p -IsolatedIdmap

        $d = Mount-StorageVolume p shared c1 /data -PassThru
        $d | Should -BeOfType ([ContainerPS.ContainerDevice])
        $d.Path | Should -Be '/data'
        Mount-StorageVolume p shared c2 /srv/data             # hot: c2 runs
        Mount-StorageVolume p shared c3 /data
        Start-Container c1, c3

        foreach ($c in 'c1', 'c3') { Invoke-In $c 'stat -c %u:%g /data /data/hello' | Should -Be @('0:0', '0:0') }
        Invoke-In c2 'stat -c %u:%g /srv/data/hello' | Should -Be '0:0'
        Invoke-In c3 'echo from-c3 > /data/c3 && chown 1000:1000 /data/c3'
        Invoke-In c1 'stat -c %u:%g /data/c3; cat /data/c3' | Should -Be @('1000:1000', 'from-c3')
        Invoke-In c2 'echo from-c2 > /srv/data/c2'
        Invoke-In c3 'stat -c %u:%g /data/c2' | Should -Be '0:0'
        # On disk the files keep the containers' own ids: nothing was chowned.
        Get-Owner (Join-Path $vol.Path 'c3') | Should -Be '1000:1000'
        Get-Owner (Join-Path $vol.Path 'c2') | Should -Be '0:0'
        (Get-StorageVolume p shared).Config.Keys | Should -Not -Contain 'volatile.idmap.last'

        (Get-StorageVolume p shared).UsedBy | Should -Be @('c1', 'c2', 'c3')
        # A privileged container (no map) shares it too: it sees the on-disk ids, which are the containers' own.
        $null = New-Container p1 busybox -StoragePool p -Privileged -WarningAction SilentlyContinue
        Mount-StorageVolume p shared p1 /data
        Start-Container p1 -WarningAction SilentlyContinue
        Invoke-In p1 'stat -c %u:%g /data/c3 /data/c2' | Should -Be @('1000:1000', '0:0')
        (Get-StorageVolume p shared).Config.Keys | Should -Not -Contain 'volatile.idmap.last'
        $dev = Get-Container c2 | Select-Object -ExpandProperty Devices
        $dev.Volume | Should -Be 'shared'
        $dev.Pool | Should -Be 'p'
        $dev.Path | Should -Be '/srv/data'
    }

    It 'hot attach and detach, persistence across restarts, read-only mounts, chmod 0700 on the volume root survives a restart' {
        $null = New-TestPool p $Fs
        $null = Add-StorageVolume p data
        $null = Add-StorageVolume p ro
        $null = New-Container c1 busybox -StoragePool p -IsolatedIdmap -Start
        Mount-StorageVolume p data c1 /data
        Mount-StorageVolume p ro c1 /ro -ReadOnly
        Invoke-In c1 'chmod 0700 /data && echo x > /data/f && grep -c " /data " /proc/self/mountinfo' | Should -Be '1'
        $err = Get-CommandError { Invoke-ContainerExec c1 -- touch /ro/x }
        "$err" | Should -BeLike '*Read-only file system*'

        Restart-Container c1 -Force
        Invoke-In c1 'stat -c "%a %u:%g" /data; cat /data/f' | Should -Be @('700 0:0', 'x')
        $err = Get-CommandError { Invoke-ContainerExec c1 -- touch /ro/x }
        "$err" | Should -BeLike '*Read-only file system*'

        Dismount-StorageVolume p data c1
        Invoke-In c1 'grep -c " /data " /proc/self/mountinfo || true' | Should -Be '0'
        (Get-StorageVolume p data).UsedBy | Should -BeNullOrEmpty
        Restart-Container c1 -Force
        Invoke-In c1 'grep -c " /data " /proc/self/mountinfo || true' | Should -Be '0'
        (Get-Container c1).Devices.Volume | Should -Be @('ro')
        # No host-side mount of a volume is left behind (the container holds its own).
        Get-MountsBelow (Join-Path $script:t.Root 'run') | Where-Object { $_ -like '*/devices/*' } | Should -BeNullOrEmpty
    }

    It 'a container with a volume mounted at start is checkpointed and restored with it' {
        $null = New-TestPool p $Fs
        $null = Add-StorageVolume p data
        $null = New-Container c1 busybox -StoragePool p -IsolatedIdmap
        Mount-StorageVolume p data c1 /data
        Start-Container c1
        Start-ContainerWorkload c1 writer 'exec 3>/data/log; i=0; while :; do i=$((i+1)); echo $i >&3; sleep 0.05; done' -Pool p
        Wait-Until { (Read-ContainerFile c1 /data/log) -match '\d' } -Because 'the writer'
        $dir = Join-Path $script:t.Base 'ck'
        Checkpoint-Container c1 -Path $dir
        (Get-Container c1).State | Should -Be 'Stopped'
        Restore-Container c1 -Path $dir
        $n = [int]((Read-ContainerFile c1 /data/log) -split "`n")[-1]
        Wait-Until { [int]((Read-ContainerFile c1 /data/log) -split "`n")[-1] -gt $n } -Because 'the restored writer to go on writing to its open file in the volume'
        Invoke-In c1 'stat -c %u:%g /data/log' | Should -Be '0:0'
    }

    It 'namespaced file capabilities: setcap inside works and is effective for a non-root user' {
        $null = New-TestPool p $Fs
        $null = New-Container c1 busybox -StoragePool p -Start
        $rootfs = (Get-StorageVolume p c1 -Type container).Path
        Copy-Item $script:Fcap (Join-Path $rootfs 'bin/fcap')
        Copy-Item $script:Fcap (Join-Path $rootfs 'bin/fcap-raw')
        Invoke-In c1 'fcap set /bin/fcap-raw && fcap get /bin/fcap-raw' | Should -Be 'v2 2000'
        Invoke-ContainerExec c1 -User 1000 -- /bin/fcap raw 2>$null | Should -BeLike 'uid 1000 caps 0000000000000000 raw Operation not permitted'
        Invoke-In c1 '/bin/fcap-raw raw' -User 1000 | Should -Be 'uid 1000 caps 0000000000002000 raw ok'
        # On an idmapped mount the kernel stores the root id as seen through the mount: container
        # root is on-disk root, so the host sees a v2 capability (and the file stays portable).
        & getcap (Join-Path $rootfs 'bin/fcap-raw') | Should -BeLike '* cap_net_raw=ep'
    }
}

Describe 'Volumes on storage that cannot be idmapped (overlay over <Fs>): the chown fallback' -ForEach @(
    @{ Fs = 'ext4' }, @{ Fs = 'btrfs' }
) {
    BeforeEach {
        $script:t = New-ContainerTestRoot
        $mnt = Join-Path $script:t.Base 'lower-fs'
        New-TestFilesystem -Type $Fs -Path $mnt
        # The overlay's upper directory lives on the ext4/btrfs loop file.
        New-TestOverlay -Path (Join-Path $script:t.Base 'ov') -Under $mnt
        $null = New-StoragePool ov -Driver dir -Source (Join-Path $script:t.Base 'ov/pool')
    }
    AfterEach { Stop-ChildPwsh; Remove-TestContainers; Remove-TestFilesystem; Remove-TestRoot }

    It 'the seed scenario: the isolated container is refused with both maps named, then accepted once its map is identical' {
        $base = Get-SubuidBase
        $vol = Add-StorageVolume ov shared
        'x' | Set-Content (Join-Path $vol.Path 'hello')
        $null = New-Container c1 busybox
        $null = New-Container c2 busybox -Start
        $null = New-Container c3 busybox -IsolatedIdmap
        Mount-StorageVolume ov shared c1 /data
        Mount-StorageVolume ov shared c2 /data
        Start-Container c1
        # Shifted on disk to the shared map (one chown pass), recorded on the volume.
        Get-Owner (Join-Path $vol.Path 'hello') | Should -Be "$($base):$($base)"
        (Get-StorageVolume ov shared).Config['volatile.idmap.last'] | Should -Be "u 0 $base 65536;g 0 $base 65536"
        foreach ($c in 'c1', 'c2') { Invoke-In $c 'stat -c %u:%g /data/hello' | Should -Be '0:0' }

        $before = Get-ContainerStateSnapshot -IgnoreLocks
        $err = Get-CommandError { Mount-StorageVolume ov shared c3 /data }
        Get-ErrorId $err | Should -Be 'IdmapsNotIdentical'
        $err.CategoryInfo.Category | Should -Be 'InvalidOperation'
        "$err" | Should -BeLike "Idmaps of container 'c3' (0 $($base + 65536) 65536) and storage volume 'ov/shared' (0 $base 65536, the map of c1, c2) are not identical.*"
        Get-ContainerStateSnapshot -IgnoreLocks | Should -Be $before

        Set-Container c3 -Config @{ 'security.idmap.isolated' = 'false' }
        (Get-ContainerIdmap c3).HostStart | Should -Be $base
        Mount-StorageVolume ov shared c3 /data
        Start-Container c3
        Invoke-In c3 'stat -c %u:%g /data/hello' | Should -Be '0:0'
        (Get-StorageVolume ov shared).UsedBy | Should -Be @('c1', 'c2', 'c3')

        # A running container whose map differs cannot take it either (hot attach).
        $null = New-Container c4 busybox -IsolatedIdmap -Start
        Get-ErrorId (Get-CommandError { Mount-StorageVolume ov shared c4 /data }) | Should -Be 'IdmapsNotIdentical'
        Invoke-In c4 'test ! -e /data/hello && echo absent' | Should -Be 'absent'
    }

    It 'shift round trip: owners, ACLs, file capability and setuid follow each map change and come back unshifted' {
        $base = Get-SubuidBase
        $vol = Add-StorageVolume ov data
        $p = $vol.Path
        Copy-Item $script:Fcap (Join-Path $p 'fcap'); & chmod 0755 (Join-Path $p 'fcap')
        Copy-Item $script:Fcap (Join-Path $p 'suid'); & chown 1000:1000 -- (Join-Path $p 'suid'); & chmod 4755 (Join-Path $p 'suid')
        'secret' | Set-Content (Join-Path $p 'acl-file'); & chmod 0600 (Join-Path $p 'acl-file')
        & setfacl -m u:1000:rw -- (Join-Path $p 'acl-file')
        New-Item -ItemType Directory (Join-Path $p 'shared-dir') | Out-Null
        & setfacl -m d:u:1000:rwx -- (Join-Path $p 'shared-dir')

        $null = New-Container c1 busybox -Start
        Mount-StorageVolume ov data c1 /data
        Invoke-In c1 '/data/fcap set /data/fcap'
        # Written through a plain mount by container root: a v3 capability whose root id is container root's host id.
        Get-CapabilityHex (Join-Path $p 'fcap') | Should -Be ('0x0100000300200000000000000000000000000000' + (Get-LeHex $base))
        Invoke-In c1 '/data/fcap raw' -User 1000 | Should -Be 'uid 1000 caps 0000000000002000 raw ok'
        Invoke-In c1 'cat /data/acl-file' -User 1000 | Should -Be 'secret'
        & getfacl -n -- (Join-Path $p 'acl-file') 2>$null | Should -Contain "user:$($base + 1000):rw-"

        # New map: Set-Container, restart; the only user's volume is shifted to it.
        Stop-Container c1 -Force
        Set-Container c1 -Config @{ 'security.idmap.isolated' = 'true' }
        $iso = (Get-ContainerIdmap c1 | Where-Object Next).HostStart
        Start-Container c1
        Get-Owner (Join-Path $p 'suid') | Should -Be "$($iso + 1000):$($iso + 1000)"
        Get-Mode (Join-Path $p 'suid') | Should -Be '4755' -Because 'chown cleared the setuid bit and the shifter restored it'
        & getfacl -n -- (Join-Path $p 'acl-file') 2>$null | Should -Contain "user:$($iso + 1000):rw-"
        & getfacl -n -- (Join-Path $p 'shared-dir') 2>$null | Should -Contain "default:user:$($iso + 1000):rwx"
        Get-CapabilityHex (Join-Path $p 'fcap') | Should -Be ('0x0100000300200000000000000000000000000000' + (Get-LeHex $iso))
        Invoke-In c1 '/data/fcap raw' -User 1000 | Should -Be 'uid 1000 caps 0000000000002000 raw ok'
        Invoke-In c1 'cat /data/acl-file' -User 1000 | Should -Be 'secret'
        Invoke-In c1 'stat -c "%a %u" /data/suid' | Should -Be '4755 1000'

        # Back to unshifted: a privileged container (no map) takes it once c1 lets go.
        Stop-Container c1 -Force
        Dismount-StorageVolume ov data c1
        $null = New-Container priv busybox -Privileged -WarningAction SilentlyContinue
        Mount-StorageVolume ov data priv /data
        Start-Container priv -WarningAction SilentlyContinue
        Get-Owner (Join-Path $p 'suid') | Should -Be '1000:1000'
        Get-Mode (Join-Path $p 'suid') | Should -Be '4755'
        & getfacl -n -- (Join-Path $p 'acl-file') 2>$null | Should -Contain 'user:1000:rw-'
        & getfacl -n -- (Join-Path $p 'shared-dir') 2>$null | Should -Contain 'default:user:1000:rwx'
        & getcap (Join-Path $p 'fcap') | Should -BeLike '* cap_net_raw=ep'
        Get-CapabilityHex (Join-Path $p 'fcap') | Should -Be '0x0100000200200000000000000000000000000000'
        (Get-StorageVolume ov data).Config.Keys | Should -Not -Contain 'volatile.idmap.last'
    }

    It 'a rootfs shift killed half-way (kill -9) is finished by the next start' {
        $base = Get-SubuidBase
        $null = New-Container c1 busybox -StoragePool ov
        $rootfs = (Get-StorageVolume ov c1 -Type container).Path
        $signal = Join-Path $script:t.Base 'fault-signal'
        $child = Start-ChildPwsh -Script 'Start-Container c1' -Environment @{ CONTAINERPS_FAULT = 'idmap.shift.halfway'; CONTAINERPS_FAULT_SIGNAL = $signal }
        try { Wait-SignalFile -File $signal -Child $child | Should -Be 'idmap.shift.halfway' }
        finally { if (-not $child.Process.HasExited) { $null = Stop-ChildHard $child } }

        $cfg = (Get-StorageVolume ov c1 -Type container).Config
        $cfg['volatile.idmap.shifting'] | Should -Be "u 0 $base 65536;g 0 $base 65536"
        $owners = & find $rootfs -printf '%U\n' | Group-Object | ForEach-Object Name
        $owners | Should -Contain '0' -Because 'half the tree was not shifted yet'
        $owners | Should -Contain "$base"

        Start-Container c1 -WarningVariable w -WarningAction SilentlyContinue
        "$w" | Should -BeLike "*Finishing the id shift of storage volume 'ov/container/c1'*"
        & find $rootfs -not -uid $base -printf '%p\n' | Should -BeNullOrEmpty
        $cfg = (Get-StorageVolume ov c1 -Type container).Config
        $cfg.Keys | Should -Not -Contain 'volatile.idmap.shifting'
        $cfg['volatile.idmap.last'] | Should -Be "u 0 $base 65536;g 0 $base 65536"
        Invoke-In c1 'stat -c %u:%g /bin/busybox /root' | Should -Be @('0:0', '0:0')
    }
}

Describe 'Volume mounts: bad input changes nothing' {
    BeforeAll {
        $script:t = New-ContainerTestRoot
        $null = New-Container c1 busybox -Start   # makes the default pool
        $null = New-Container c2 busybox
        $null = Add-StorageVolume default v1
        $null = Add-StorageVolume default v2
        Mount-StorageVolume default v1 c1 /data
        Mount-StorageVolume default v1 c2 /data
    }
    AfterAll { Stop-ChildPwsh; Remove-TestContainers; Remove-TestRoot }

    It '<Command> fails with <Id>' -ForEach @(
        @{ Command = 'Mount-StorageVolume default v2 c1 /data'; Id = 'MountPathInUse' }
        @{ Command = 'Mount-StorageVolume default v2 c1 //data/'; Id = 'MountPathInUse' }
        @{ Command = 'Mount-StorageVolume default v1 c1 /other'; Id = 'VolumeAlreadyMounted' }
        @{ Command = 'Mount-StorageVolume default v2 c1 /x -DeviceName v1'; Id = 'DeviceExists' }
        @{ Command = 'Mount-StorageVolume default v2 c1 /a/../../etc'; Id = 'InvalidMountPath' }
        @{ Command = 'Mount-StorageVolume default v2 c1 data'; Id = 'InvalidMountPath' }
        @{ Command = 'Mount-StorageVolume default v2 c1 /'; Id = 'InvalidMountPath' }
        @{ Command = "Mount-StorageVolume default v2 c1 `"/a`nb`""; Id = 'InvalidMountPath' }
        @{ Command = 'Mount-StorageVolume nopool v2 c1 /x'; Id = 'PoolNotFound' }
        @{ Command = 'Mount-StorageVolume default nosuch c1 /x'; Id = 'VolumeNotFound' }
        @{ Command = 'Mount-StorageVolume default v2 nosuch /x'; Id = 'ContainerNotFound' }
        @{ Command = 'Mount-StorageVolume default v2 c1 /x -DeviceName bad/name'; Id = 'InvalidName' }
        @{ Command = 'Dismount-StorageVolume default v2 c1'; Id = 'VolumeNotMounted' }
        @{ Command = 'Dismount-StorageVolume nopool v1 c1'; Id = 'PoolNotFound' }
        @{ Command = 'Remove-StorageVolume default v1 -Confirm:$false'; Id = 'VolumeInUse' }
        @{ Command = 'Checkpoint-Container c1 -Path /tmp/cps-never-made'; Id = 'HotMountNotCheckpointable'; Setup = { Mount-StorageVolume default v2 c1 /hot; Dismount-StorageVolume default v2 c1 } }
    ) {
        if ($Setup) { & $Setup }
        $before = Get-ContainerStateSnapshot -IgnoreLocks
        $err = Get-CommandError ([scriptblock]::Create($Command))
        Get-ErrorId $err | Should -Be $Id
        Get-ContainerStateSnapshot -IgnoreLocks | Should -Be $before
        '/tmp/cps-never-made' | Should -Not -Exist
    }

    It 'a symlink in the container path resolves inside the container, never on the host' {
        $escape = Join-Path $script:t.Base 'escape'
        # Inside c1, /real/abs points at a path that looks like the host's test directory.
        Invoke-In c1 "mkdir -p /real $escape && ln -s $escape /real/abs"
        Mount-StorageVolume default v2 c1 /real/abs/inside
        # /real/abs -> the host-looking path, resolved in the container's root: made there, not on the host.
        $escape | Should -Not -Exist
        Invoke-In c1 "grep -c ' $escape/inside ' /proc/self/mountinfo" | Should -Be '1'
        Dismount-StorageVolume default v2 c1
        # The same at start: runc resolves the path in c2's rootfs, where the link is put from the host.
        $c2root = (Get-StorageVolume default c2 -Type container).Path
        $null = New-Item -ItemType Directory (Join-Path $c2root 'real'), (Join-Path $c2root $escape)
        $null = New-Item -ItemType SymbolicLink -Path (Join-Path $c2root 'real/abs') -Target $escape
        Mount-StorageVolume default v2 c2 /real/abs/inside
        Start-Container c2
        $escape | Should -Not -Exist
        Invoke-In c2 "grep -c ' $escape/inside ' /proc/self/mountinfo" | Should -Be '1'
    }
}
