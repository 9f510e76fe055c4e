#Requires -Version 7.4
# Copy-ContainerFile (lxc file push/pull): byte-exact copies both ways for stopped and running
# containers, a 20 MB file, -Recurse trees with modes and owners (idmapped and shifted storage), the
# pipeline, bad input that changes nothing, hostile symlinks and races planted by container root
# that must never reach the host, and a non-root host user.
# Run it in a private mount namespace (unshare --mount --propagation private), as build.ps1 does.

BeforeAll {
    Import-Module (Join-Path $PSScriptRoot 'TestHelpers.psm1') -Force
    Import-Module (Get-ModulePath) -Force

    function Get-Sha([string] $Path) { (Get-FileHash -LiteralPath $Path -Algorithm SHA256).Hash.ToLowerInvariant() }
    function Get-ShaIn([string] $Container, [string] $Path) { ((Invoke-In $Container "sha256sum '$Path'") -split '\s+')[0] }
    # "mode uid:gid" of a host path (symlinks not followed).
    function Get-Stat([string] $Path) { & stat -c '%a %u:%g' -- $Path }
    function New-RandomFile([string] $Path, [int] $Bytes) {
        $data = [byte[]]::new($Bytes)
        [System.Random]::new(17).NextBytes($data)
        [IO.File]::WriteAllBytes($Path, $data)
    }
    function Get-RootfsPath([string] $Container, [string] $Pool = 'default') { (Get-StorageVolume -Pool $Pool -Type container -Name $Container).Path }
}

Describe 'Copy-ContainerFile' {
    BeforeEach {
        $script:t = New-ContainerTestRoot
        $script:w = Join-Path $t.Ext 'work'
        $null = New-Item -ItemType Directory -Path $w
    }
    AfterEach { Stop-ChildPwsh; Remove-TestContainers; Remove-TestRoot }

    It 'pushes and pulls a text and a binary file byte for byte (container <State>)' -TestCases @(
        @{ State = 'stopped' }, @{ State = 'running' }
    ) {
        $null = New-Container c1 busybox -Start:($State -eq 'running')
        [IO.File]::WriteAllText("$w/note.txt", "héllo`r`nwörld`n`tend")
        $bin = [byte[]](0..255) * 64
        [IO.File]::WriteAllBytes("$w/all.bin", $bin)

        $out = Copy-ContainerFile -Path "$w/note.txt", "$w/all.bin" -ToContainer c1 -Destination /root/ -PassThru
        $out | Should -HaveCount 2
        $out[0] | Should -BeOfType ([ContainerPS.ContainerFile])
        $out.Path | Should -Be @('/root/note.txt', '/root/all.bin')
        $out[1].Length | Should -Be 16384
        $out[1].Type | Should -Be 'File'

        $back = Join-Path $w 'back'
        $null = New-Item -ItemType Directory $back
        $pulled = Copy-ContainerFile /root/note.txt, /root/all.bin -FromContainer c1 -Destination $back -PassThru
        $pulled | Should -HaveCount 2
        $pulled[0] | Should -BeOfType ([IO.FileInfo])
        Get-Sha "$back/note.txt" | Should -Be (Get-Sha "$w/note.txt")
        Get-Sha "$back/all.bin" | Should -Be (Get-Sha "$w/all.bin")
        # Renamed on the way: the destination is a file name.
        Copy-ContainerFile /root/all.bin -FromContainer c1 -Destination "$back/renamed.bin"
        Get-Sha "$back/renamed.bin" | Should -Be (Get-Sha "$w/all.bin")

        if ($State -eq 'stopped') { Start-Container c1 }
        Get-ShaIn c1 /root/all.bin | Should -Be (Get-Sha "$w/all.bin")
        Get-ShaIn c1 /root/note.txt | Should -Be (Get-Sha "$w/note.txt")
        Invoke-In c1 'stat -c "%a %u:%g" /root/all.bin' | Should -Be '644 0:0'
    }

    It 'streams a 20 MB file both ways (running container) and overwrites an existing file in place of it' {
        $null = New-Container c1 busybox -Start
        New-RandomFile "$w/big.dat" (20MB)
        Invoke-In c1 'echo old > /root/big.dat' | Out-Null
        Copy-ContainerFile "$w/big.dat" -ToContainer c1 -Destination /root/big.dat
        Get-ShaIn c1 /root/big.dat | Should -Be (Get-Sha "$w/big.dat")
        Invoke-In c1 'stat -c %s /root/big.dat' | Should -Be '20971520'
        Copy-ContainerFile /root/big.dat -FromContainer c1 -Destination "$w/big.back"
        Get-Sha "$w/big.back" | Should -Be (Get-Sha "$w/big.dat")
        # No temporary file is left behind in either directory.
        @(Invoke-In c1 'ls -a /root' | Where-Object { $_ -like '*.cps-*' }) | Should -BeNullOrEmpty
        @(Get-ChildItem -Force $w | Where-Object Name -Like '*.cps-*') | Should -BeNullOrEmpty
    }

    It '-Recurse keeps modes and owners (as container ids) both ways on idmapped storage' {
        $null = New-Container c1 busybox -Start
        $tree = Join-Path $w 'app'
        $null = New-Item -ItemType Directory "$tree/sub"
        'a' | Set-Content "$tree/a.conf"
        '#!/bin/sh' | Set-Content "$tree/sub/run.sh"
        & chown 1000:1000 -- "$tree/a.conf"; & chmod 0640 -- "$tree/a.conf"
        & chown 1001:1002 -- "$tree/sub"; & chmod 0750 -- "$tree/sub"
        & chmod 4755 -- "$tree/sub/run.sh"
        & ln -s a.conf "$tree/link"

        Invoke-In c1 'mkdir -p /srv' | Out-Null
        $out = Copy-ContainerFile $tree -ToContainer c1 -Destination /srv/ -Recurse -PassThru
        ($out | Sort-Object Path).Path | Should -Be @('/srv/app', '/srv/app/a.conf', '/srv/app/link', '/srv/app/sub', '/srv/app/sub/run.sh')
        ($out | Where-Object Path -EQ '/srv/app/sub').Mode | Should -Be '0750'
        Invoke-In c1 'stat -c "%a %u:%g %F" /srv/app/a.conf /srv/app/sub /srv/app/sub/run.sh' |
            Should -Be @('640 1000:1000 regular file', '750 1001:1002 directory', '4755 0:0 regular file')
        Invoke-In c1 'readlink /srv/app/link' | Should -Be 'a.conf'
        # Idmapped (unshifted) storage: on disk the owners are the container's own ids.
        Get-Stat (Join-Path (Get-RootfsPath c1) 'srv/app/a.conf') | Should -Be '640 1000:1000'

        # Pulled back: the owners as the container sees them.
        Invoke-In c1 'mkdir -p /data/x && echo hi > /data/x/f && chown 1000:1000 /data/x/f && chmod 600 /data/x/f && chown 33:33 /data/x' | Out-Null
        $pulled = Copy-ContainerFile /data -FromContainer c1 -Destination "$w/pulled" -Recurse -PassThru
        $pulled.FullName | Should -Contain "$w/pulled/x/f"
        Get-Stat "$w/pulled/x/f" | Should -Be '600 1000:1000'
        (Get-Stat "$w/pulled/x") -split ' ' | Select-Object -Last 1 | Should -Be '33:33'
        Get-Content "$w/pulled/x/f" | Should -Be 'hi'

        # A directory copied over an existing one merges into it.
        'b' | Set-Content "$tree/b.conf"
        Copy-ContainerFile $tree -ToContainer c1 -Destination /srv/ -Recurse
        Invoke-In c1 'ls /srv/app' | Should -Be @('a.conf', 'b.conf', 'link', 'sub')
    }

    It 'on shifted storage (overlay pool) stores container root as the map''s base on disk, for a stopped container' {
        $mnt = Join-Path $t.Base 'fs-ov'
        New-TestOverlay -Path $mnt -Under (Join-Path $t.Base 'ov-under')
        $null = New-StoragePool -Name ov -Driver dir -Source (Join-Path $mnt 'pool')
        $null = New-Container c1 busybox -StoragePool ov -Start
        Stop-Container c1 -Force
        $last = (Get-StorageVolume -Pool ov -Type container -Name c1).Config['volatile.idmap.last']
        $last | Should -Not -BeNullOrEmpty -Because 'overlayfs refuses idmapped mounts: the rootfs is shifted'
        $base = [long](($last -split ';')[0] -split ' ')[2]

        'x' | Set-Content "$w/root.txt"
        'y' | Set-Content "$w/user.txt"
        & chown 1000:1000 -- "$w/user.txt"
        Copy-ContainerFile "$w/root.txt", "$w/user.txt" -ToContainer c1 -Destination /root
        $rootfs = Get-RootfsPath c1 ov
        Get-Stat "$rootfs/root/root.txt" | Should -Be "644 $($base):$($base)"
        Get-Stat "$rootfs/root/user.txt" | Should -Be "644 $($base + 1000):$($base + 1000)"
        Copy-ContainerFile /root/user.txt -FromContainer c1 -Destination "$w/back.txt"
        Get-Stat "$w/back.txt" | Should -Be '644 1000:1000'
        Start-Container c1
        Invoke-In c1 'stat -c %u:%g /root/root.txt /root/user.txt' | Should -Be @('0:0', '1000:1000')
    }

    It 'binds Get-ChildItem output by property name; -WhatIf writes nothing; names complete' {
        $null = New-Container web1 busybox
        'a' | Set-Content "$w/one.conf"
        'b' | Set-Content "$w/two.conf"
        'c' | Set-Content -LiteralPath "$w/[x].conf"
        $volume = Get-RootfsPath web1
        $null = New-Item -ItemType Directory "$volume/etc/app"
        $before = Get-TreeSnapshot $volume
        Get-ChildItem "$w/*.conf" | Copy-ContainerFile -ToContainer web1 -Destination /etc/app/ -WhatIf
        Get-TreeSnapshot $volume | Should -Be $before

        $out = Get-ChildItem "$w/*.conf" | Copy-ContainerFile -ToContainer web1 -Destination /etc/app/ -PassThru
        $out.Path | Sort-Object | Should -Be @('/etc/app/[x].conf', '/etc/app/one.conf', '/etc/app/two.conf')
        Get-Content "$volume/etc/app/two.conf" | Should -Be 'b'
        # Wildcards on the host side; relative paths from the current location.
        Push-Location $w
        try { Copy-ContainerFile 't*.conf' -ToContainer web1 -Destination /root/ -PassThru | ForEach-Object Path | Should -Be '/root/two.conf' }
        finally { Pop-Location }

        $completions = (TabExpansion2 -inputScript 'Copy-ContainerFile -ToContainer we' -cursorColumn 34).CompletionMatches
        $completions.CompletionText | Should -Be @('web1')
    }

    It 'bad input changes nothing and gets a stable error ID: <Id> (<Case>)' -TestCases @(
        @{ Case = 'missing host file'; Id = 'PathNotFound'; Script = { Copy-ContainerFile "$w/none.txt" -ToContainer c1 -Destination /root/ } }
        @{ Case = 'no host file matches'; Id = 'PathNotFound'; Script = { Copy-ContainerFile "$w/*.none" -ToContainer c1 -Destination /root/ } }
        @{ Case = 'missing container file'; Id = 'PathNotFound'; Script = { Copy-ContainerFile /root/none -FromContainer c1 -Destination $w } }
        @{ Case = 'missing container directory'; Id = 'DestinationParentNotFound'; Script = { Copy-ContainerFile "$w/f.txt" -ToContainer c1 -Destination /no/such/f.txt } }
        @{ Case = 'trailing slash, no directory'; Id = 'DestinationParentNotFound'; Script = { Copy-ContainerFile "$w/f.txt" -ToContainer c1 -Destination /root/newdir/ } }
        @{ Case = 'missing host directory'; Id = 'DestinationParentNotFound'; Script = { Copy-ContainerFile /etc/passwd -FromContainer c1 -Destination "$w/no/such/passwd" } }
        @{ Case = 'host directory without -Recurse'; Id = 'RecurseRequired'; Script = { Copy-ContainerFile "$w/d" -ToContainer c1 -Destination /root/ } }
        @{ Case = 'container directory without -Recurse'; Id = 'RecurseRequired'; Script = { Copy-ContainerFile /etc -FromContainer c1 -Destination $w } }
        @{ Case = 'relative container path'; Id = 'InvalidPath'; Script = { Copy-ContainerFile "$w/f.txt" -ToContainer c1 -Destination root/f.txt } }
        @{ Case = 'the container root itself'; Id = 'InvalidPath'; Script = { Copy-ContainerFile / -FromContainer c1 -Destination $w -Recurse } }
        @{ Case = 'file over a directory'; Id = 'DestinationIsDirectory'; Script = { Copy-ContainerFile "$w/f.txt" -ToContainer c1 -Destination /root/ } }
        @{ Case = 'directory over a file'; Id = 'DestinationNotADirectory'; Script = { Copy-ContainerFile "$w/d" -ToContainer c1 -Destination /etc/passwd -Recurse } }
        @{ Case = 'unknown container'; Id = 'ContainerNotFound'; Script = { Copy-ContainerFile "$w/f.txt" -ToContainer nope -Destination /root/ } }
    ) {
        $null = New-Container c1 busybox
        'f' | Set-Content "$w/f.txt"
        $null = New-Item -ItemType Directory "$w/d"
        'g' | Set-Content "$w/d/g.txt"
        if ($Case -eq 'file over a directory') { $null = New-Item -ItemType Directory (Join-Path (Get-RootfsPath c1) 'root/f.txt') }
        # The engine's lock directory (ROOT/locks) is bookkeeping, made by the first command that locks.
        $snapshot = { (Get-ContainerStateSnapshot -IgnoreLocks) -split "`n" | Where-Object { $_ -ne 'd /root/locks' } }
        $before = & $snapshot
        $err = Get-CommandError $Script
        $err | Should -Not -BeNullOrEmpty
        Get-ErrorId $err | Should -Be $Id
        & $snapshot | Should -Be $before
    }

    Context 'a hostile container root' {
        BeforeEach {
            $script:canary = Join-Path $t.Ext 'canary'
            'host secret' | Set-Content $canary
            $script:canaryStamp = (Get-Item $canary).LastWriteTimeUtc
            $null = New-Container evil busybox -Start
            # Symlinks onto host paths, the host's /, a symlinked parent directory, and a FIFO.
            Invoke-In evil @"
echo container-shadow > /etc/shadow
ln -s / /tmp/esc
ln -s /etc/shadow /tmp/s
ln -s '$canary' /tmp/c
ln -s '$($t.Ext)' /tmp/pdir
ln -s /etc /tmp/etclink
mkfifo /tmp/fifo
mkdir -p /tmp/tree && ln -s / /tmp/tree/root && ln -s '$canary' /tmp/tree/canary && echo ok > /tmp/tree/plain
"@ | Out-Null
        }

        It 'never writes through a container symlink onto the host' {
            'pushed' | Set-Content "$w/canary"
            # A symlink at the destination is replaced inside the container, not followed.
            Copy-ContainerFile "$w/canary" -ToContainer evil -Destination /tmp/c
            Invoke-In evil 'stat -c %F /tmp/c; cat /tmp/c' | Should -Be @('regular file', 'pushed')
            # A symlinked parent resolves inside the container: the host directory is not there.
            $err = Get-CommandError { Copy-ContainerFile "$w/canary" -ToContainer evil -Destination /tmp/pdir/canary }
            Get-ErrorId $err | Should -Be 'DestinationParentNotFound'
            # '/tmp/esc -> /' is the container's root, not the host's.
            $name = 'cps-escape-' + [guid]::NewGuid().ToString('N')
            'x' | Set-Content "$w/$name"
            Copy-ContainerFile "$w/$name" -ToContainer evil -Destination /tmp/esc/
            Test-Path "/$name" | Should -BeFalse
            Invoke-In evil "cat /$name" | Should -Be 'x'
            Copy-ContainerFile "$w/$name" -ToContainer evil -Destination /tmp/etclink/
            Invoke-In evil "cat /etc/$name" | Should -Be 'x'
            Test-Path "/etc/$name" | Should -BeFalse
            # '..' stays at the container's root too.
            Copy-ContainerFile "$w/$name" -ToContainer evil -Destination "/tmp/../../../../../tmp/$name"
            Invoke-In evil "cat /tmp/$name" | Should -Be 'x'
            Test-Path "/tmp/$name" | Should -BeFalse

            Get-Content $canary | Should -Be 'host secret'
            (Get-Item $canary).LastWriteTimeUtc | Should -Be $canaryStamp
            @(Get-ChildItem $t.Ext -Force).Name | Sort-Object | Should -Be @('canary', 'work')
        }

        It 'never reads a host file through a container symlink, and never opens a FIFO' {
            Copy-ContainerFile /tmp/s -FromContainer evil -Destination "$w/shadow"
            Get-Content "$w/shadow" | Should -Be 'container-shadow'
            Get-ErrorId (Get-CommandError { Copy-ContainerFile /tmp/c -FromContainer evil -Destination "$w/c" }) | Should -Be 'PathNotFound'
            Get-ErrorId (Get-CommandError { Copy-ContainerFile /tmp/pdir/canary -FromContainer evil -Destination "$w/c" }) | Should -Be 'PathNotFound'
            Copy-ContainerFile /tmp/esc/etc/hostname -FromContainer evil -Destination "$w/hostname"
            Get-Content "$w/hostname" | Should -Be 'evil'
            Test-Path "$w/c" | Should -BeFalse
            # A FIFO is refused at once (opening it would block).
            $clock = [Diagnostics.Stopwatch]::StartNew()
            Get-ErrorId (Get-CommandError { Copy-ContainerFile /tmp/fifo -FromContainer evil -Destination "$w/fifo" }) | Should -Be 'NotAFile'
            $clock.Elapsed.TotalSeconds | Should -BeLessThan 10
            # -Recurse copies symlinks as symlinks and never follows them.
            Copy-ContainerFile /tmp/tree -FromContainer evil -Destination "$w/tree" -Recurse
            (Get-Item "$w/tree/root").LinkTarget | Should -Be '/'
            (Get-Item "$w/tree/canary").LinkTarget | Should -Be $canary
            @(Get-ChildItem "$w/tree" -Recurse -Force).Count | Should -Be 3
        }

        It 'a directory swapped for a symlink while files are pushed (a race) never lets a write reach the host' {
            $hostDir = Join-Path $t.Ext 'target'
            $null = New-Item -ItemType Directory $hostDir
            Start-ContainerWorkload evil swap @"
while :; do
  rm -rf /tmp/race; mkdir /tmp/race
  rm -rf /tmp/race; ln -s '$hostDir' /tmp/race
  rm -f /tmp/race; ln -s / /tmp/race
done
"@
            'r' | Set-Content "$w/f"
            foreach ($i in 1..40) {
                Copy-ContainerFile "$w/f" -ToContainer evil -Destination /tmp/race/f -ErrorAction SilentlyContinue
                Copy-ContainerFile /tmp/race/etc/hostname -FromContainer evil -Destination "$w/h" -ErrorAction SilentlyContinue
            }
            @(Get-ChildItem $hostDir -Force) | Should -BeNullOrEmpty
            Test-Path /f | Should -BeFalse
            if (Test-Path "$w/h") { Get-Content "$w/h" | Should -Be 'evil' }
            Get-Content $canary | Should -Be 'host secret'
        }
    }

    It 'a non-root host user gets a clear error and changes nothing' {
        $null = New-Container c1 busybox -Start
        'x' | Set-Content "$w/f.txt"
        & chmod 0755 $t.Ext $w; & chmod 0644 "$w/f.txt"
        # pwsh lives below /root (0700): show it to uid 65534 at a path it can reach (this test runs in a private mount namespace).
        $pwshDir = Join-Path $t.Base 'pwsh'
        $null = New-Item -ItemType Directory $pwshDir
        & mount --bind $PSHOME $pwshDir
        if ($LASTEXITCODE -ne 0) { throw 'bind mount of $PSHOME failed' }
        $home65534 = Join-Path $t.Ext 'home'
        $null = New-Item -ItemType Directory $home65534
        & chown 65534:65534 $home65534
        # The module too, copied: a clone may itself be a 0700 directory (mktemp -d, as in CI).
        $moduleDir = Join-Path $t.Base 'module'
        $null = New-Item -ItemType Directory $moduleDir
        foreach ($part in 'ContainerPS.psd1', 'bin', 'en-US') { & cp -a (Join-Path (Get-RepoRoot) $part) $moduleDir }
        & chmod -R go+rX $moduleDir
        $script = "Import-Module '$moduleDir/ContainerPS.psd1'; Copy-ContainerFile '$w/f.txt' -ToContainer c1 -Destination /root/f.txt; `$Error[0].FullyQualifiedErrorId"
        $dotnet = [Environment]::ProcessPath
        try {
            $out = & env "HOME=$home65534" "CONTAINERPS_ROOT=$($t.Root)" setpriv --reuid=65534 --regid=65534 --clear-groups -- $dotnet "$pwshDir/pwsh.dll" -NoProfile -NonInteractive -Command $script 2>&1
        } finally { & umount $pwshDir }
        $text = ($out | ForEach-Object { "$_" }) -join "`n"
        $text | Should -BeLike '*must run as root*'
        $text | Should -Match 'StateUnavailable|RootRequired'
        Invoke-In c1 'test -e /root/f.txt || echo absent' | Should -Be 'absent'
    }
}
