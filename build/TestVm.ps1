<#
.SYNOPSIS
    The stock-kernel lane (build.ps1 -Task TestVm): a Debian 12 guest with the distribution kernel,
    cgroup v2 and systemd, under QEMU, running a chosen part of the test suite and the boot tests.
.DESCRIPTION
    Dot-sourced by build.ps1. Steps, each cached under /var/cache/containerps/testvm:
      1. tests/vm/image.sh: a bookworm root tree (debootstrap, linux-image-amd64, systemd, ssh).
      2. The guest: a copy of that tree in which the project's own Bootstrap (build/HostSetup.ps1)
         runs from scratch, as on a clean Debian 12 host (Debian 12 packages; CRIU built from
         source); the release check before and after is recorded for HostSetup.Tests in the guest.
         .NET and pwsh are copied in (Debian 12 has no .NET package). Then base.img (ext4).
      3. The native helpers, built in that tree (Debian 12's glibc, whatever the host runs).
      4. Boot (QEMU, TCG unless a KVM that can run a stock kernel exists), run tests/vm/guest-run.ps1
         in the guest over ssh, then the host-side tests/vm/Boot.Tests.ps1 (login sessions, reboot
         with boot.autostart), and the Start-Container benchmark row on both sides.
    Prints 'N passed, N failed' for the lane, the guest's uname -r and cgroup filesystem, the boot
    time, the time per test file and the guest/host ratio of Start-Container.
#>

$TestVmCache = Join-Path $HostCache 'testvm'
# Bump when Update-TestVmImage changes what goes into the image (the image is rebuilt then).
$TestVmImageRecipe = 'guest-3'

# The test files and tests that run in the guest: each area on the stock kernel (lifecycle, limits,
# exec, idmapped volumes, CNI, checkpoint/restore, move), picked so the lane stays well under 30
# minutes (pwsh starts in about 10 s there; most code runs 10-30x slower than on the host).
$TestVmSelection = [ordered]@{
    'HostSetup.Tests.ps1'           = @('*')
    'Container.Tests.ps1'           = @(
        '*New-Container -Start runs it with the shared id map through an idmapped rootfs'
        '*Stop-Container sends the image stop signal (SIGUSR2) and busybox init shuts down cleanly'
        '*a killed monitor puts the container in Error (never Running), and Start-Container recovers it'
        '*limits.memory, limits.processes and limits.cpu are applied to the container''s cgroups'
    )
    'HostBoot.Tests.ps1'            = @('*Start-ContainerHost starts the autostart containers by priority*')
    'ContainerExec.Tests.ps1'       = @(
        'Invoke-ContainerExec exit codes*'
        '*25 sequential round trips through cat'
        '*25 round trips on a pty with -Interactive when pwsh''s stdin is a pipe, not a terminal'
        'Invoke-ContainerExec user, group, working directory and environment*'
        '*returns when a background process keeps writing to the inherited stdout'
        '*delivers large output in full: seq 1 200000'
        '*Stop-Job on an -AsJob exec delivers SIGTERM to the command'
        '*an -AsJob exec ends with 137'
    )
    'Security.Tests.ps1'            = @('*the exec relay stays in the caller''s cgroups*')
    # (Every *.Lane.Tests.ps1 file runs in full as well, listed here or not: see Invoke-TestVm.)
    'ContainerVolume.Tests.ps1'     = @(
        '*inside: uid_map shows the map*'
        '*raw.idmap maps host uid 1000 through*'
        '*the seed scenario: two shared-map containers and one isolated share a volume*'
        '*hot attach and detach*'
        '*a container with a volume mounted at start is checkpointed and restored with it'
        '*namespaced file capabilities*'
        '*shift round trip*'
    )
    'ContainerNetwork.Tests.ps1'    = @(
        '*two unprivileged busybox containers on a bridge network ping each other*'
        '*Connect-/Disconnect-ContainerNetwork attach and detach*'
        '*Test-ContainerNetwork runs CHECK*'
        '*after a "reboot"*'
    )
    'ContainerState.Tests.ps1'      = @(
        '*a running container: typed object, memory it allocates*'
        '*CpuTime grows while the container runs a busy loop'
        '*network counters per interface*'
        '*a stopped container has state Stopped and null counters*'
    )
    'ContainerCheckpoint.Tests.ps1' = @('*')
    'MoveContainer.Tests.ps1'       = @(
        '*the destination is a separate host*'
        '*moves a running container with 256 MB of dirty memory*'
        '*this host can serve lazy pages (userfaultfd)'
        '*post-copy of a running container with 256 MB of dirty memory*'
        '*a stopped container moves cold*'
    )
}

function Invoke-TestVmChroot([string] $Tree, [string[]] $Binds, [string[]] $Command) {
    $env:CHROOT_BINDS = $Binds -join ' '
    try { Invoke-Native bash (@((Join-Path $Root 'tests/vm/chroot.sh'), $Tree) + $Command) }
    finally { Remove-Item Env:CHROOT_BINDS -ErrorAction SilentlyContinue }
}

# .NET (the runtime pwsh needs) and the pwsh package, from the host, as in the guest's /opt.
function Get-TestVmDotnet {
    $dotnet = Split-Path -Parent (Get-Command dotnet -CommandType Application | Select-Object -First 1 | ForEach-Object { (Get-Item $_.Source).ResolvedTarget ?? $_.Source })
    $pwshDll = Join-Path $PSHOME 'pwsh.dll'
    [pscustomobject]@{
        Dotnet      = $dotnet
        PowerShell  = (Resolve-Path (Join-Path $PSHOME '../../../..')).Path   # ~/.nuget/packages/powershell/VERSION
        PwshInGuest = '/opt/powershell/' + [IO.Path]::GetRelativePath((Resolve-Path (Join-Path $PSHOME '../../../..')).Path, $pwshDll)
    }
}

# Step 2: the guest tree and base.img, rebuilt when the root tree, HostSetup.ps1 or .NET changed.
function Update-TestVmImage {
    $rootfs = Join-Path $TestVmCache 'rootfs'
    $guest = Join-Path $TestVmCache 'guest'
    $net = Get-TestVmDotnet
    $stamp = (@(Get-Content -Raw (Join-Path $TestVmCache 'rootfs.stamp')
            (Get-FileHash (Join-Path $Root 'build/HostSetup.ps1')).Hash
            $TestVmImageRecipe
            $net.Dotnet, $net.PowerShell, (& dotnet --list-runtimes)) -join "`n")
    $stampFile = Join-Path $TestVmCache 'base.stamp'
    $stampHash = [Convert]::ToHexString([Security.Cryptography.SHA256]::HashData([Text.Encoding]::UTF8.GetBytes($stamp)))
    if ((Test-Path $stampFile) -and (Get-Content -Raw $stampFile).Trim() -eq $stampHash -and (Test-Path (Join-Path $TestVmCache 'base.img'))) {
        Write-Host "TestVm: guest image is up to date"
        return
    }
    $clock = [Diagnostics.Stopwatch]::StartNew()
    if ((& findmnt -rno TARGET) -match "^$([regex]::Escape($guest))/") { throw "mounts remain below $guest" }
    if (Test-Path $guest) { Invoke-Native rm @('-rf', '--one-file-system', $guest) }
    Invoke-Native cp @('-a', $rootfs, $guest)

    # .NET and pwsh, where the guest runs them from.
    $null = New-Item -ItemType Directory -Force "$guest/opt/dotnet/shared", "$guest/opt/powershell"
    Invoke-Native cp @('-a', (Join-Path $net.Dotnet 'dotnet'), (Join-Path $net.Dotnet 'host'), "$guest/opt/dotnet/")
    Invoke-Native cp @('-a', (Join-Path $net.Dotnet 'shared/Microsoft.NETCore.App'), "$guest/opt/dotnet/shared/")
    Invoke-Native cp @('-a', "$($net.PowerShell)/.", "$guest/opt/powershell/")
    $pwsh = @('env', 'DOTNET_CLI_TELEMETRY_OPTOUT=1', 'POWERSHELL_TELEMETRY_OPTOUT=1', 'DOTNET_NOLOGO=1',
        '/opt/dotnet/dotnet', $net.PwshInGuest, '-NoProfile', '-NonInteractive', '-File', '/opt/containerps-build/HostSetup.ps1')
    $binds = @("$(Join-Path $Root 'build'):/opt/containerps-build:ro")

    # The project's Bootstrap on this clean Debian 12, with the release check before and after.
    Write-Host 'TestVm: bootstrapping the clean Debian 12 guest tree with build/HostSetup.ps1'
    Invoke-TestVmChroot $guest $binds ($pwsh + @('-Action', 'Check', '-Record', '/var/cache/containerps/host-before.json'))
    Invoke-TestVmChroot $guest $binds ($pwsh + @('-Action', 'Bootstrap'))
    Invoke-TestVmChroot $guest $binds ($pwsh + @('-Action', 'Check'))
    Invoke-TestVmChroot $guest @() @('apt-get', 'clean')

    # logind ends what a login session left behind (as many distributions and admins configure it):
    # a container started from an ssh session must survive that (Boot.Tests).
    $null = New-Item -ItemType Directory -Force "$guest/etc/systemd/logind.conf.d"
    # (root included: logind exempts root unless KillExcludeUsers names someone else).
    "[Login]`nKillUserProcesses=yes`nKillExcludeUsers=nobody" | Set-Content "$guest/etc/systemd/logind.conf.d/containerps-test.conf"
    # A persistent journal: Boot.Tests reads what the boot unit printed at the last shutdown.
    $null = New-Item -ItemType Directory -Force "$guest/var/log/journal"

    $img = Join-Path $TestVmCache 'base.img'
    Remove-Item "$img.tmp" -ErrorAction SilentlyContinue
    Invoke-Native mkfs.ext4 @('-q', '-L', 'testvm', '-d', $guest, "$img.tmp", '12G')
    Move-Item -Force "$img.tmp" $img
    Set-Content $stampFile $stampHash
    Write-Host "TestVm: guest image built in $([int]$clock.Elapsed.TotalSeconds) s"
}

# What the guest runs: the module built on the host with native helpers built in the guest tree,
# the tests, Pester, HostSetup.ps1.
function New-TestVmStage([string] $Stage) {
    if (Test-Path $Stage) { Remove-Item -Recurse -Force $Stage }
    $null = New-Item -ItemType Directory -Force "$Stage/tests", "$Stage/build", "$Stage/native-out"
    Invoke-Native cp @('-a', (Join-Path $Root 'ContainerPS.psd1'), (Join-Path $Root 'bin'), (Join-Path $Root 'en-US'), "$Stage/")
    Invoke-Native cp @('-a', (Join-Path $Root 'tests/pester'), (Join-Path $Root 'tests/vm'), (Join-Path $Root 'tests/ceph-cluster.sh'), "$Stage/tests/")
    Invoke-Native cp @('-a', (Join-Path $Root 'build/HostSetup.ps1'), "$Stage/build/")
    Invoke-Native cp @('-a', (Join-Path (Get-NuGetPackageRoot) 'pester/5.9.1/tools'), "$Stage/pester")
    Invoke-TestVmChroot (Join-Path $TestVmCache 'guest') @("$(Join-Path $Root 'native'):/opt/containerps-native:ro", "$Stage/native-out:/opt/containerps-out") `
        @('make', '-s', '-C', '/opt/containerps-native', 'OUT=/opt/containerps-out')
    Invoke-Native cp @('-a', "$Stage/native-out/.", "$Stage/bin/")
    Remove-Item -Recurse -Force "$Stage/native-out"
}

function Get-FreeLoopbackPort {
    $l = [Net.Sockets.TcpListener]::new([Net.IPAddress]::Loopback, 0)
    $l.Start(); $port = $l.LocalEndpoint.Port; $l.Stop(); $port
}

# Boots a fresh guest with this tree's module and tests staged in /root/cps, runs $Body with the guest
# ($g.Ssh runs a shell command there, $g.Pwsh is how pwsh starts there, $g.Run the run directory), and
# stops the guest and removes the run directory whatever happens. $Body's failures are thrown on.
function Use-TestVmGuest([scriptblock] $Body) {
    $vm = Join-Path $Root 'tests/vm'
    $clock = [Diagnostics.Stopwatch]::StartNew()
    Install-ReleasePackages (Get-HostRelease) @('qemu-system-x86', 'qemu-utils', 'debootstrap') 'the stock-kernel lane (QEMU)'
    Invoke-Native bash @((Join-Path $vm 'image.sh'), $TestVmCache)
    Update-TestVmImage
    $run = Join-Path $TestVmCache "run-$PID"
    $stage = Join-Path $run 'stage'
    $null = New-Item -ItemType Directory -Force $run
    try {
        New-TestVmStage $stage
        Remove-Item (Join-Path $run 'disk.qcow2') -ErrorAction SilentlyContinue   # every lane run starts from the fresh image
        $port = Get-FreeLoopbackPort
        $env:CONTAINERPS_TESTVM = "$TestVmCache|$run|$port"
        $net = Get-TestVmDotnet
        Set-Content (Join-Path $run 'pwsh-in-guest') "/opt/dotnet/dotnet $($net.PwshInGuest)"
        Write-Host "TestVm: prepared in $([int]$clock.Elapsed.TotalSeconds) s; booting"
        Invoke-Native bash (@((Join-Path $vm 'boot.sh'), $TestVmCache, $run, "$port", "stage=$stage"))
        $ssh = { param([string] $Command) & bash (Join-Path $vm 'ssh.sh') $TestVmCache "$port" $Command }.GetNewClosure()
        Write-Host "TestVm guest: $(& $ssh 'uname -r; stat -fc %T /sys/fs/cgroup; ps -p 1 -o comm=' | Join-String -Separator ', ')"
        & $ssh @"
set -e
mkdir -p /mnt/stage /root/cps
mountpoint -q /mnt/stage || mount -t 9p -o trans=virtio,version=9p2000.L,msize=512000,ro stage /mnt/stage
cp -a /mnt/stage/. /root/cps/
# Debian's zfs-fuse.service runs its daemon in the init mount namespace, where it mounts datasets; the
# tests run in a private one and start their own daemon there (Start-TestZfs).
systemctl stop zfs-fuse.service 2>/dev/null || true
"@ | Out-Host
        & $Body ([pscustomobject]@{ Ssh = $ssh; Pwsh = "/opt/dotnet/dotnet $($net.PwshInGuest)"; Run = $run; Vm = $vm })
    }
    finally {
        & bash (Join-Path $vm 'stop.sh') $run | Out-Host
        Remove-Item Env:CONTAINERPS_TESTVM -ErrorAction SilentlyContinue
        if ((& findmnt -rno TARGET) -notmatch "^$([regex]::Escape($run))") { Remove-Item -Recurse -Force $run -ErrorAction SilentlyContinue }
        Write-Host "TestVm: $([int]$clock.Elapsed.TotalSeconds) s in all"
    }
}

function Invoke-TestVm {
    # (The body runs in a scope of its own: it counts into $n.)
    $n = @{ Passed = 0; Failed = 0 }; $failures = [Collections.Generic.List[string]]::new()
    try {
        Use-TestVmGuest {
            param($g)
            $ssh = $g.Ssh; $vm = $g.Vm; $run = $g.Run
            # The guest part: selected tests, run there by guest-run.ps1.
            # CONTAINERPS_TESTVM_FILES=A.Tests.ps1,B.Tests.ps1 (a developer's quick run): only those files of
            # the selection, without the host-side boot tests and the benchmark row.
            $only = @("$env:CONTAINERPS_TESTVM_FILES" -split ',' | Where-Object { $_ })
            if ($only) { Write-Host "TestVm: only $($only -join ', ') (CONTAINERPS_TESTVM_FILES)" }
            # Lane-only files (*.Lane.Tests.ps1) run in full unless the selection names their tests: a new one is never left out.
            $files = [ordered]@{} + $TestVmSelection
            foreach ($lane in Get-ChildItem (Join-Path $Root 'tests/pester') -Filter '*.Lane.Tests.ps1') {
                if (-not $files.Contains($lane.Name)) { $files[$lane.Name] = @('*') }
            }
            $selection = ($files.GetEnumerator() | Where-Object { -not $only -or $_.Key -in $only } | ForEach-Object { "$($_.Key)=$($_.Value -join '|')" }) -join "`n"
            Set-Content (Join-Path $run 'stage/selection.txt') $selection
            & $ssh @"
set -e
cp /mnt/stage/selection.txt /root/cps/
cd /root/cps
export DOTNET_CLI_TELEMETRY_OPTOUT=1 POWERSHELL_TELEMETRY_OPTOUT=1 DOTNET_NOLOGO=1 CONTAINERPS_TEST_HOST_BEFORE=/var/cache/containerps/host-before.json
unshare --mount --propagation private -- $($g.Pwsh) -NoProfile -NonInteractive -File /root/cps/tests/vm/guest-run.ps1 -Selection /root/cps/selection.txt -Result /root/cps/result.json
"@ | Out-Host
            $result = (& $ssh 'cat /root/cps/result.json') -join "`n" | ConvertFrom-Json
            foreach ($f in $result.Files) {
                Write-Host ("TestVm file {0}: {1} passed, {2} failed, {3:0} s" -f $f.Name, $f.Passed, $f.Failed, $f.Seconds)
                foreach ($x in $f.Failures) { Write-Host "  FAILED $x"; $failures.Add("$($f.Name): $x") }
            }
            $n.Passed += $result.Passed; $n.Failed += $result.Failed
            if ($only) { return }

            # The host-side part: sessions and a reboot, driven over ssh.
            $pester = Join-Path (Get-NuGetPackageRoot) 'pester/5.9.1/tools/Pester.psd1'
            $json = Join-Path $run 'boot.json'
            & dotnet pwsh -NoProfile -NonInteractive -Command @"
Import-Module '$pester' -ErrorAction Stop
`$c = New-PesterConfiguration
`$c.Run.Path = '$(Join-Path $vm 'Boot.Tests.ps1')'
`$c.Run.PassThru = `$true
`$c.Output.Verbosity = 'Detailed'
`$r = Invoke-Pester -Configuration `$c
`$names = @(`$r.Failed | ForEach-Object { "`$(`$_.ExpandedPath): `$(`$_.ErrorRecord | Select-Object -First 1)" }) + @(`$r.FailedBlocks + `$r.FailedContainers | ForEach-Object { "`$(`$_.Name) (setup): `$(`$_.ErrorRecord | Select-Object -First 1)" })
@{ Passed = `$r.PassedCount; Failed = `$r.FailedCount + `$r.FailedBlocksCount + `$r.FailedContainersCount; Seconds = `$r.Duration.TotalSeconds; Failures = `$names } | ConvertTo-Json | Set-Content '$json'
"@ | Out-Host
            if (Test-Path $json) {
                $b = Get-Content -Raw $json | ConvertFrom-Json
                $n.Passed += $b.Passed; $n.Failed += $b.Failed
                Write-Host ("TestVm file Boot.Tests.ps1 (host side): {0} passed, {1} failed, {2:0} s" -f $b.Passed, $b.Failed, $b.Seconds)
                foreach ($x in $b.Failures) { $failures.Add("Boot.Tests.ps1: $x") }
            } else { $n.Failed++; $failures.Add('Boot.Tests.ps1: no results') }

            # One benchmark row on both sides, so later lane benchmarks can be read.
            $guestMs = [double]((& $ssh "cd /root/cps && $($g.Pwsh) -NoProfile -NonInteractive -File tests/vm/start-bench.ps1") | Select-Object -Last 1)
            $hostMs = [double]((& unshare --mount --propagation private -- dotnet pwsh -NoProfile -NonInteractive -File (Join-Path $vm 'start-bench.ps1')) | Select-Object -Last 1)
            Write-Host ("TestVm bench Start-Container median: guest {0:0.0} ms, host {1:0.0} ms, guest/host {2:0.0}x" -f $guestMs, $hostMs, ($guestMs / $hostMs))
        }
    }
    catch {
        Write-Host "TestVm: $($_.Exception.Message)"
        $n.Failed++; $failures.Add("lane: $($_.Exception.Message)")
    }
    [pscustomobject]@{ Passed = $n.Passed; Failed = $n.Failed; Failures = $failures }
}

# The lane's benchmarks (build.ps1 -Task Bench and -Task BenchVm): every tests/vm/bench/*.ps1 runs in one
# fresh guest, in a private mount namespace, from /root/cps (the module at /root/cps/ContainerPS.psd1).
# A script prints each result as a line 'ROW operation | ContainerPS figure | peer | peer figure | ratio';
# its other output is shown as it comes. CONTAINERPS_TESTVM_BENCH=a.ps1,b.ps1 runs only those.
function Invoke-TestVmBench {
    $only = @("$env:CONTAINERPS_TESTVM_BENCH" -split ',' | Where-Object { $_ })
    $scripts = @(Get-ChildItem (Join-Path $Root 'tests/vm/bench') -Filter '*.ps1' -ErrorAction SilentlyContinue |
        Where-Object { -not $only -or $_.Name -in $only } | Sort-Object Name)
    if (-not $scripts) { Write-Host 'TestVm bench: no scripts in tests/vm/bench'; return }
    $rows = [Collections.Generic.List[string]]::new()
    $kernel = [Collections.Generic.List[string]]::new()
    Use-TestVmGuest {
        param($g)
        $kernel.Add("$(& $g.Ssh 'uname -r')")
        foreach ($s in $scripts) {
            Write-Host "TestVm bench: $($s.Name)"
            $clock = [Diagnostics.Stopwatch]::StartNew()
            & $g.Ssh "cd /root/cps && export DOTNET_CLI_TELEMETRY_OPTOUT=1 POWERSHELL_TELEMETRY_OPTOUT=1 DOTNET_NOLOGO=1 && unshare --mount --propagation private -- $($g.Pwsh) -NoProfile -NonInteractive -File tests/vm/bench/$($s.Name) 2>&1" |
                ForEach-Object { if ("$_" -match '^ROW (.*)$') { $rows.Add($Matches[1]); Write-Host "  $($Matches[1])" } else { Write-Host "  $_" } }
            $rc = $LASTEXITCODE
            Write-Host ("TestVm bench: {0} ended with {1} after {2:0} s" -f $s.Name, $rc, $clock.Elapsed.TotalSeconds)
            if ($rc -ne 0) { $rows.Add("$($s.Name) failed (exit $rc) | | | |") }
        }
    }
    Write-Host ''
    Write-Host "Lane benchmarks (Debian 12 guest, kernel $($kernel -join ''), QEMU TCG: absolute figures are 10-30x the host's; read the ratios)"
    Write-Host '| Operation | ContainerPS | Peer | Peer figure | Ratio |'
    Write-Host '|---|---|---|---|---|'
    foreach ($r in $rows) { Write-Host "| $r |" }
}
