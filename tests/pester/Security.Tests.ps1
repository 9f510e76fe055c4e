#Requires -Version 7.4
# Host safety: each attack an adversarial pass found (hostile image, container root, non-root host
# user) is performed for real and must fail with the host unchanged. Host users are played by
# uid/gid 65534 (setpriv), container root by Invoke-ContainerExec. The siblings are here too:
# every image format, custom volumes on dir -Source and btrfs pools, checkpoint images (in the
# state root and in a -Path directory), a start whose launcher was SIGKILLed.
# Run it in a private mount namespace (unshare --mount --propagation private), as build.ps1 does.

BeforeAll {
    Import-Module (Join-Path $PSScriptRoot 'TestHelpers.psm1') -Force
    Import-Module (Get-ModulePath) -Force

    <# Runs argv as uid/gid 65534 with no groups, through a shell as a user would; returns its output (stderr merged) and exit code. #>
    function Invoke-AsNobody([string[]] $Argv) {
        $out = & setpriv --reuid=65534 --regid=65534 --clear-groups -- /bin/sh -c 'exec "$@"' sh @Argv 2>&1
        [pscustomobject]@{ Output = ($out | ForEach-Object { "$_" }) -join "`n"; ExitCode = $LASTEXITCODE }
    }

    <# Runs sh -c in a container; returns output lines (stderr merged) and the exit code, never throws. #>
    function Invoke-Sh([string] $Container, [string] $Command) {
        $out = Invoke-ContainerExec -Name $Container -Command sh, -c, "{ $Command; } 2>&1" -ErrorAction SilentlyContinue 2>&1
        [pscustomobject]@{ Output = ($out | ForEach-Object { "$_" }) -join "`n"; ExitCode = $LASTEXITCODE }
    }

    $script:Work = Join-Path '/tmp' ('cps-pester-sec-' + [guid]::NewGuid().ToString('N').Substring(0, 12))
    $null = New-Item -ItemType Directory -Path $script:Work
    $script:Keyring = Join-Path $script:Work 'keyring'
    & gcc -static -O2 -o $script:Keyring (Join-Path $PSScriptRoot 'workloads/keyring.c')
    if ($LASTEXITCODE -ne 0) { throw 'gcc keyring.c failed' }

    # Images holding device nodes: a rootfs tarball, an LXD unified tarball and an OCI layout, each
    # with a character device 1:3 (mode 0666) and a block device 7:0 (a loop device).
    & bash -ec @"
cd '$($script:Work)'
mkdir -p tree/bin tree/etc tree/root tree/dev
cp /bin/busybox tree/bin/busybox && ln -s busybox tree/bin/sh
echo hostile > tree/etc/hostname
mknod -m 0666 tree/root/kmsg c 1 3
mknod -m 0666 tree/dev/loop0x b 7 0
tar -C tree -cf rootfs.tar --numeric-owner .
mkdir -p lxd && cp -a tree lxd/rootfs
printf 'architecture: x86_64\ncreation_date: 1700000000\nproperties:\n  os: hostile\n' > lxd/metadata.yaml
tar -C lxd -czf lxd.tar.gz --numeric-owner .
mkdir -p oci/blobs/sha256
tar -C tree -cf layer.tar --numeric-owner .
l=`$(sha256sum layer.tar | cut -d' ' -f1); ls=`$(stat -c %s layer.tar); cp layer.tar oci/blobs/sha256/`$l
printf '{"architecture":"amd64","os":"linux","config":{},"rootfs":{"type":"layers","diff_ids":["sha256:%s"]}}' `$l > config.json
c=`$(sha256sum config.json | cut -d' ' -f1); cs=`$(stat -c %s config.json); cp config.json oci/blobs/sha256/`$c
printf '{"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json","config":{"mediaType":"application/vnd.oci.image.config.v1+json","digest":"sha256:%s","size":%s},"layers":[{"mediaType":"application/vnd.oci.image.layer.v1.tar","digest":"sha256:%s","size":%s}]}' `$c `$cs `$l `$ls > manifest.json
m=`$(sha256sum manifest.json | cut -d' ' -f1); ms=`$(stat -c %s manifest.json); cp manifest.json oci/blobs/sha256/`$m
printf '{"schemaVersion":2,"manifests":[{"mediaType":"application/vnd.oci.image.manifest.v1+json","digest":"sha256:%s","size":%s}]}' `$m `$ms > oci/index.json
printf '{"imageLayoutVersion":"1.0.0"}' > oci/oci-layout
"@
    if ($LASTEXITCODE -ne 0) { throw 'could not build the hostile images' }
}

AfterAll {
    if ($script:Work -like '/tmp/cps-pester-sec-*') { & rm -rf -- $script:Work }
}

Describe 'Host safety' {
    BeforeEach { $script:t = New-ContainerTestRoot }
    AfterEach {
        Get-Container -ErrorAction SilentlyContinue | Remove-Container -Force -Confirm:$false -ErrorAction SilentlyContinue -WarningAction SilentlyContinue
        Get-StoragePool -ErrorAction SilentlyContinue | Remove-StoragePool -Force -Confirm:$false -ErrorAction SilentlyContinue
        Remove-TestCephMappings
        Remove-TestContainers
        Remove-TestRoot
        if ($script:ceph) { Stop-TestCeph $script:ceph; $script:ceph = $null }
    }

    Context 'images' {
        It 'never creates device nodes from a <Format> image on the host, and warns naming them' -TestCases @(
            @{ Format = 'rootfs tarball'; File = 'rootfs.tar' }
            @{ Format = 'LXD unified tarball'; File = 'lxd.tar.gz' }
            @{ Format = 'OCI layout'; File = 'oci' }
        ) {
            $img = Import-ContainerImage (Join-Path $script:Work $File) -Alias hostile -WarningVariable w -WarningAction SilentlyContinue
            "$w" | Should -BeLike '*device node*root/kmsg*'
            "$w" | Should -BeLike '*dev/loop0x*'
            $listing = & tar -tvf (Join-Path $t.Root "images/$($img.Fingerprint).tar")
            @($listing | Where-Object { $_ -match '^[cb]' }) | Should -BeNullOrEmpty
            $null = New-Container h -Image hostile
            $volume = (Get-StorageVolume -Pool default -Type container -Name h).Path
            & find $volume -xdev '(' -type c -o -type b ')' | Should -BeNullOrEmpty
            # Nothing of the work directories (their nodev mounts) stays behind.
            @(Get-MountsBelow (Join-Path $t.Root 'images')) | Should -BeNullOrEmpty
            Test-Path -LiteralPath (Join-Path $volume 'root/kmsg') | Should -BeFalse
        }
    }

    Context 'files containers write are out of host users'' reach' {
        It 'the runtime rootfs, config.json and console log cannot be reached by uid 65534 (directory 0100, owned by container root)' {
            $null = New-Container c -Image busybox -Start
            Invoke-In c 'cp /bin/busybox /root/suid && chmod 4755 /root/suid' | Out-Null
            $dir = Join-Path $t.Run 'containers/c'
            (& stat -c '%a' $dir) | Should -Be '100'
            # The rootfs mount itself is nodev (idmapped mounts of unprivileged containers are).
            $rootfsMount = @(Get-Content /proc/self/mountinfo | Where-Object { ($_ -split ' ')[4] -eq (Join-Path $dir 'rootfs') })
            $rootfsMount.Count | Should -BeGreaterThan 0
            ($rootfsMount[-1] -split ' ')[5] | Should -Match '(^|,)nodev(,|$)'
            (& stat -c '%u' $dir) | Should -Not -Be '0' -Because 'the directory is the container root''s (its host uid)'
            foreach ($f in 'config.json', 'console.log', 'rootfs/etc/hostname') {
                $r = Invoke-AsNobody @('cat', (Join-Path $dir $f))
                $r.ExitCode | Should -Not -Be 0 -Because "$f must be out of reach"
                $r.Output | Should -BeLike '*Permission denied*'
            }
            $r = Invoke-AsNobody @((Join-Path $dir 'rootfs/root/suid'), 'id', '-u')
            $r.Output | Should -Not -Be '0'
            $r.ExitCode | Should -Not -Be 0
        }

        It 'a setuid-root file container root makes in a custom volume on a <Driver> pool does not run for uid 65534' -TestCases @(
            @{ Driver = 'dir' }
            @{ Driver = 'btrfs' }
            @{ Driver = 'ceph' }
        ) {
            if ($Driver -eq 'dir') {
                $source = Join-Path $t.Ext 'src'
                $null = New-StoragePool p -Driver dir -Source $source
            } elseif ($Driver -eq 'ceph') {
                $script:ceph = Start-TestCeph
                $osd = 'cpts' + [guid]::NewGuid().ToString('N').Substring(0, 6)
                $null = New-StoragePool p -Driver ceph -Config @{ 'ceph.osd.pool_name' = $osd; 'ceph.osd.pg_num' = '8'; 'volume.size' = '128MiB' }
                $source = (Get-StoragePool p).Source
            } else {
                $null = New-StoragePool p -Driver btrfs -Config @{ size = '1GiB' }
                $source = (Get-StoragePool p).Source
            }
            $null = Add-StorageVolume p v
            $vol = (Get-StorageVolume p v).Path
            (& stat -c '%a' (Join-Path $source 'custom')) | Should -Be '700'
            (& stat -c '%a' $vol) | Should -Be '711'
            $null = New-Container c -Image busybox -Start
            $null = Mount-StorageVolume -Pool p -Name v -Container c -Path /mnt/v
            Invoke-In c 'cp /bin/busybox /mnt/v/sh && chmod 4755 /mnt/v/sh && chmod 0755 /mnt/v' | Out-Null
            (& stat -c '%u %a' (Join-Path $vol 'sh')) | Should -Be '0 4755' -Because 'the file is host root''s on disk (an idmapped mount)'
            $r = Invoke-AsNobody @((Join-Path $vol 'sh'), '-c', 'id -u')
            $r.Output | Should -Not -Be '0'
            $r.Output | Should -BeLike '*Permission denied*'
            (& stat -c '%a' $vol) | Should -Be '755' -Because 'a chmod of the volume root inside sticks'
        }

        It 'checkpoint images (stateful snapshot, and a -Path directory) stay unreadable for uid 65534 after a restore' {
            $null = New-Container c -Image busybox -Start
            $null = Checkpoint-Container c -SnapshotName ck
            $null = Restore-Container c -Snapshot ck
            $pages = @(Get-ChildItem -Path (Join-Path $t.Root 'checkpoints/*/snapshot-ck/pages-*.img'))
            $pages.Count | Should -BeGreaterThan 0
            $r = Invoke-AsNobody @('cat', $pages[0].FullName)
            $r.ExitCode | Should -Not -Be 0
            $r.Output | Should -BeLike '*Permission denied*'

            $ck = Join-Path $t.Ext 'ck'
            Checkpoint-Container c -Path $ck
            $null = Restore-Container c -Path $ck
            (Get-Container c).State | Should -Be 'Running'
            (& stat -c '%a' $ck) | Should -Be '700'
            $page = @(Get-ChildItem -Path (Join-Path $ck 'pages-*.img'))[0].FullName
            (& stat -c '%a' $page) | Should -Be '600'
            $r = Invoke-AsNobody @('cat', $page)
            $r.ExitCode | Should -Not -Be 0
            @(Get-ChildItem (Join-Path $t.Root 'checkpoints/*') -Filter 'restore-*' -Directory) | Should -BeNullOrEmpty -Because 'the private copy is removed'
        }
    }

    Context 'id maps' {
        It 'raw.idmap with host ids root was not delegated is IdmapNotDelegated and creates nothing' {
            $before = Get-StateSnapshot
            $err = Get-CommandError { New-Container c -Image busybox -Config @{ 'raw.idmap' = 'both 0-65535 0-65535' } }
            $err.FullyQualifiedErrorId | Should -BeLike 'IdmapNotDelegated,*'
            "$($err.CategoryInfo.Category)" | Should -Be 'InvalidArgument'
            "$err" | Should -BeLike '*uid/gid 0-65535*security.idmap.unsafe*'
            Get-Container c -ErrorAction SilentlyContinue | Should -BeNullOrEmpty
            $null = New-Container d -Image busybox
            $err = Get-CommandError { Set-Container d -Config @{ 'raw.idmap' = 'uid 1000 1000' } }
            $err.FullyQualifiedErrorId | Should -BeLike 'IdmapNotDelegated,*'
            (Get-Container d).Config.Keys | Should -Not -Contain 'raw.idmap'
        }

        It 'security.idmap.unsafe maps host root: reported privileged, warned at start, and still cannot write host sysctls' {
            $c = New-Container c -Image busybox -Config @{ 'raw.idmap' = 'both 0-65535 0-65535'; 'security.idmap.unsafe' = 'true' }
            $c.Privileged | Should -BeTrue
            $null = Start-Container c -WarningVariable w -WarningAction SilentlyContinue
            "$w" | Should -BeLike '*root-equivalent*'
            $before = Get-Content /proc/sys/kernel/printk_ratelimit
            $r = Invoke-Sh c 'echo 77 > /proc/sys/kernel/printk_ratelimit'
            $r.ExitCode | Should -Not -Be 0
            $r.Output | Should -BeLike '*Read-only file system*'
            Get-Content /proc/sys/kernel/printk_ratelimit | Should -Be $before
        }
    }

    Context 'inside a container' {
        It '/proc/sys is read-only but for net (the container''s own network namespace)' {
            $null = New-Container c -Image busybox -Start
            foreach ($k in 'kernel/printk_ratelimit', 'vm/swappiness', 'kernel/panic', 'fs/file-max') {
                $r = Invoke-Sh c "echo 1 > /proc/sys/$k"
                $r.Output | Should -BeLike '*Read-only file system*' -Because "$k is the host's"
            }
            $hostValue = Get-Content /proc/sys/net/ipv4/ip_forward
            Invoke-In c 'echo 1 > /proc/sys/net/ipv4/ip_forward; cat /proc/sys/net/ipv4/ip_forward' | Should -Be '1'
            Get-Content /proc/sys/net/ipv4/ip_forward | Should -Be $hostValue
        }

        It 'the keyring calls (add_key, keyctl, request_key) are denied with EPERM (keyrings are not namespaced)' {
            $null = New-Container c -Image busybox -Start
            Copy-Item $script:Keyring (Join-Path (Get-StorageVolume -Pool default -Type container -Name c).Path 'root/keyring')
            Invoke-In c '/root/keyring' | Should -Be @('add_key errno 1', 'keyctl errno 1', 'request_key errno 1')
            # runc's profile, which the init and all it starts run under, lists them too (the exec helper applies the same list).
            $profile = Get-Content -Raw (Join-Path $t.Run 'containers/c/config.json') | ConvertFrom-Json
            $denied = @($profile.linux.seccomp.syscalls | Where-Object action -EQ 'SCMP_ACT_ERRNO' | ForEach-Object names)
            foreach ($n in 'add_key', 'keyctl', 'request_key') { $denied | Should -Contain $n }
        }

        It 'a privileged container cannot write the exec helper through /proc/PID/exe (CVE-2019-5736)' {
            $null = New-Container p -Image busybox -Privileged -Start -WarningAction SilentlyContinue
            $helper = Join-Path (Split-Path (Get-ModulePath)) 'bin/cps-exec'
            $hash = (Get-FileHash $helper).Hash
            $job = Invoke-ContainerExec p -AsJob -- sleep 30
            $shim = Wait-Until { Invoke-In p 'for d in /proc/[0-9]*; do [ "$(cat $d/comm 2>/dev/null)" = cps-exec ] && [ ${d#/proc/} != $PPID ] && echo ${d#/proc/}; done; true' } -Because 'the exec shim'
            # The CVE's exploit, detached from any exec session (each session runs the helper too):
            # hold the shim's exe open, end the session, then retry writing through it until nothing
            # runs the file any more (ETXTBSY before).
            $rootDir = Join-Path (Get-StorageVolume -Pool default -Type container -Name p).Path 'root'
            Set-Content -LiteralPath (Join-Path $rootDir 'attack.sh') -Value @"
exec 3< /proc/$shim/exe || exit 9
readlink /proc/$shim/exe
kill -9 `$(cat /proc/$shim/task/$shim/children)
i=0; while [ `$i -lt 100 ]; do if echo pwned 2>/dev/null >> /proc/self/fd/3; then echo WROTE; break; fi; i=`$((i+1)); sleep 0.1; done
echo done
"@
            Invoke-In p 'sh /root/attack.sh > /root/attack.out 2>&1 < /dev/null &' | Out-Null
            $out = Wait-Until { $o = Get-Content -Raw (Join-Path $rootDir 'attack.out') -ErrorAction SilentlyContinue; if ($o -match 'done') { $o } } -TimeoutSeconds 30 -Because 'the attack to finish'
            $out | Should -Not -BeLike '*WROTE*'
            (Get-FileHash $helper).Hash | Should -Be $hash
            $out | Should -BeLike '*memfd:cps-exec*' -Because 'the shim runs a sealed copy, not the host''s file'
            $job | Stop-Job -PassThru | Remove-Job -Force
        }
    }

    Context 'the host side of exec and of starts' {
        It 'the exec relay stays in the caller''s cgroups; only what runs in the container joins the container''s' {
            $null = New-Container c -Image busybox -Start -Config @{ 'limits.memory' = '64MiB' }
            $job = Invoke-ContainerExec c -AsJob -- sleep 30
            $pidns = (Get-Item "/proc/$((Get-Container c).Pid)/ns/pid").LinkTarget
            # The relay is this process's child; the shim lives in the container's pid namespace.
            $relay = Wait-Until { & pgrep -x -P $PID cps-exec } -Because 'the exec relay'
            $shim = Wait-Until { & pgrep -x cps-exec | Where-Object { (Get-Item "/proc/$_/ns/pid" -ErrorAction SilentlyContinue).LinkTarget -eq $pidns } } -Because 'the exec shim'
            @($relay).Count | Should -Be 1
            Get-ProcessCgroup $shim | Should -Be (Get-ProcessCgroup (Get-Container c).Pid) -Because 'what runs in the container is charged to it'
            Get-ProcessCgroup $shim | Should -BeLike '/containerps/*'
            Get-Content "/proc/$shim/cgroup" | Should -Be (Get-Content "/proc/$((Get-Container c).Pid)/cgroup") -Because 'every hierarchy: the v2 one by birth (clone3 into the cgroup), v1 ones by joining'
            Get-ProcessCgroup $relay | Should -Be (Get-ProcessCgroup $PID) -Because 'the relay stays in the caller''s cgroups'
            (Get-Item "/proc/$relay/ns/mnt").LinkTarget | Should -Be (Get-Item /proc/self/ns/mnt).LinkTarget -Because 'the relay stays in the host''s namespaces'
            $job | Stop-Job -PassThru | Remove-Job -Force
        }

        It 'Remove-Container -Force after a SIGKILLed start ends its monitor, runc and hooks by pid; the next start has its own runtime id' {
            $null = New-TestBridgeNetwork -Name n -Subnet 10.251.7.0/24
            $signal = Join-Path $t.Base 'fault'
            $child = Start-ChildPwsh -Script 'New-Container x -Image busybox -Network n -Start' `
                -Environment @{ CONTAINERPS_FAULT = 'container.start.in-hook'; CONTAINERPS_FAULT_SIGNAL = $signal }
            $null = Wait-SignalFile -File $signal -Child $child
            $dir = Join-Path $t.Run 'containers/x'
            $monitor = Wait-Until { & pgrep -x cps-monitor | Where-Object { (Get-Content -Raw "/proc/$_/cmdline") -like "*--bundle`0$dir`0*" } } -Because 'the monitor'
            (Get-Content (Join-Path $dir 'monitor.pid')).Split(' ')[0] | Should -Be $monitor
            $firstId = Get-RuncId x -Run $t.Run
            $runc = @(& pgrep -P $monitor)
            $hook = @(& pgrep -x -P ($runc -join ',') cps-hook)
            $tree = @($monitor) + $runc + @(& pgrep -P ($runc -join ','))
            $hook.Count | Should -Be 1 -Because 'runc waits for cps-hook, which waits for the launcher'
            # A hook that hangs (a stuck CNI plugin, or one that opened its FIFO after the launcher died):
            # without the launcher nothing would ever end the monitor, runc and the hook.
            & /usr/bin/kill -STOP $hook[0]
            $null = Stop-ChildHard $child
            (Get-Container x).State | Should -Be 'Starting'
            Remove-Container x -Force -WarningAction SilentlyContinue
            foreach ($p in $tree | Where-Object { $_ }) {
                # Gone, or a zombie its new parent (the host's init) has not reaped yet: it holds nothing.
                $stat = Get-Content "/proc/$p/stat" -ErrorAction SilentlyContinue
                if ($stat) { ($stat -split '\) ')[1][0] | Should -Be 'Z' -Because "process $p of the interrupted start must be gone" }
            }
            Get-RuncContainer $t.Run | Should -BeNullOrEmpty
            # runc, killed before it recorded the container, never deleted its cgroups: the cleanup does.
            Get-RuncCgroup $firstId | Should -BeNullOrEmpty -Because 'no cgroup of the interrupted start stays behind'
            $null = New-Container x -Image busybox -Start
            $secondId = Get-RuncId x -Run $t.Run
            $secondId | Should -Not -Be $firstId
            $secondId | Should -BeLike 'x-*'
            (Get-Container x).State | Should -Be 'Running'
        }

        It 'a state root in a 0700 directory is made searchable (with a warning); a 0700 directory above it is RuntimeDirNotTraversable' {
            $private = Join-Path $t.Base 'private'
            $null = New-Item -ItemType Directory $private
            & chmod 0700 $private
            $r = Wait-ChildPwsh -TimeoutSeconds 120 (Start-ChildPwsh -Environment @{ CONTAINERPS_ROOT = $private } `
                    -Script "New-Container a -Image busybox -Start -WarningVariable w -WarningAction SilentlyContinue | Out-Null; ""`$w""; (Get-Container a).State; Remove-Container a -Force")
            $r.Stdout | Should -BeLike '*was mode 0700: made it searchable*Running*'
            (& stat -c '%a' $private) | Should -Be '711'

            & chmod 0700 $private
            $below = Join-Path $private 'root'
            $r = Wait-ChildPwsh -TimeoutSeconds 120 (Start-ChildPwsh -Environment @{ CONTAINERPS_ROOT = $below } `
                    -Script 'try { New-Container b -Image busybox -Start -ErrorAction Stop } catch { $_.FullyQualifiedErrorId; "$_" }; Get-Container | Remove-Container -Force')
            $r.Stdout | Should -BeLike "*RuntimeDirNotTraversable*$private is mode 0700*"
            (& stat -c '%a' $private) | Should -Be '700' -Because 'a directory above the state root is the user''s: it is named, not changed'
        }
    }
}
