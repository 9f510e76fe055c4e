#!/usr/bin/env pwsh
<#
.SYNOPSIS
    Sets up, builds, tests, demonstrates and benchmarks ContainerPS.
.DESCRIPTION
    Run from a fresh clone with: dotnet tool restore && dotnet pwsh ./build.ps1 -Task <Task>
      Bootstrap  installs what the machine lacks (apt packages, local dotnet tools, NuGet packages);
                 idempotent and quiet when everything is present.
      Build      Bootstrap, then compiles the solution and native/ and lays the module out in bin/
                 so that Import-Module ./ContainerPS.psd1 works.
      Test       Build, then runs xunit and Pester; prints 'N passed, N failed' (both summed).
      Demo       Build, then runs the main job on the embedded defaults.
      Bench      Build, then runs the benchmarks and prints medians and ratios.
      Clean      Removes build output.
#>
[CmdletBinding()]
param(
    [ValidateSet('Bootstrap', 'Build', 'Test', 'Demo', 'Bench', 'Clean')]
    [string] $Task = 'Build',
    [string] $Configuration = 'Release',
    # Only run xunit tests whose fully qualified name matches this filter, and Pester files matching -PesterPath.
    [string] $TestFilter,
    [string] $PesterPath = (Join-Path $PSScriptRoot 'tests/pester')
)

$ErrorActionPreference = 'Stop'
Set-StrictMode -Version Latest
$Root = $PSScriptRoot
$Artifacts = Join-Path $Root '.artifacts'

# System packages the module and its tests need (Debian 12 names).
$AptPackages = @(
    'libsqlite3-0'      # the state database (loaded by soname: libsqlite3.so.0)
    'coreutils'         # cp --reflink, rm --one-file-system
    'gcc', 'make', 'libc6-dev', 'libseccomp-dev'   # native/ (cps-exec links libseccomp)
    'util-linux'        # unshare, losetup, nsenter
    'runc'              # the OCI runtime containers run under
    'busybox-static'    # the built-in busybox image (a static /bin/busybox)
    'debootstrap'       # New-ContainerImage: Debian images
    'xz-utils'          # .tar.xz images
    'tar'               # image tarballs (GNU tar: --xattrs, --acls, --sort)
    'zstd'              # Move-Container compresses what it sends (tar --zstd)
    'containernetworking-plugins'  # CNI plugins in /usr/lib/cni (bridge, host-local, loopback, ...)
    'iptables'          # CRIU locks established TCP connections with it while it dumps them
    'openssh-server', 'openssh-client'   # tests: a second host reached by PowerShell remoting over SSH
    'btrfs-progs', 'e2fsprogs'           # btrfs pools; tests: btrfs and ext4 on loop files (volumes, the id shifter)
    'zfs-fuse'                           # zfs pools (tests start its daemon with their own pidfile)
    'xfsprogs'                           # ceph volumes with block.filesystem=xfs
    'acl', 'attr', 'libcap2-bin'         # tests: setfacl/getfacl, getfattr, setcap/getcap on shifted files
)

# CRIU >= 4 comes from Debian 13 (trixie), pinned low so nothing else is taken from there:
# Debian 12's criu 3.17 fails on kernel 6.x ("Unexpected rt vDSO area bounds"). Ceph comes from
# trixie too: installing trixie's criu upgrades (or removes) Debian 12's ceph libraries, so ceph is
# installed in the same transaction rather than from Debian 12 first.
$CriuMinimumMajor = 4
$TrixiePackages = @(
    'criu'                               # checkpoint/restore (>= 4)
    'ceph-common', 'rbd-fuse'            # ceph pools: rbd/rados/ceph tools; images reached by rbd-fuse + loop
    'ceph-mon', 'ceph-osd'               # tests: a throwaway one-node cluster on 127.0.0.1 (tests/ceph-cluster.sh)
)

function Invoke-Native {
    param([string] $File, [string[]] $Arguments, [switch] $Quiet)
    if ($Quiet) {
        $out = & $File @Arguments 2>&1
        if ($LASTEXITCODE -ne 0) { $out | Out-Host; throw "$File $($Arguments -join ' ') failed with exit code $LASTEXITCODE" }
    } else {
        & $File @Arguments
        if ($LASTEXITCODE -ne 0) { throw "$File $($Arguments -join ' ') failed with exit code $LASTEXITCODE" }
    }
}

function Get-NuGetPackageRoot {
    if ($env:NUGET_PACKAGES) { return $env:NUGET_PACKAGES }
    $line = dotnet nuget locals global-packages --list
    return ($line -replace '^global-packages:\s*', '').Trim()
}

# Packages of Names that are not installed. (The status goes through a variable and a string: a
# native command with no output is AutomationNull, which -notmatch treats as an empty list.)
function Get-MissingPackages([string[]] $Names) {
    @($Names | Where-Object {
        $status = & dpkg-query -W -f '${Status}' $_ 2>$null
        "$status" -notmatch 'install ok installed'
    })
}

function Install-AptPackages {
    $missing = @(Get-MissingPackages $AptPackages)
    if ($missing.Count -gt 0) {
        Write-Host "Installing system packages: $($missing -join ' ')"
        $env:DEBIAN_FRONTEND = 'noninteractive'
        Invoke-Native apt-get @('update', '-qq') -Quiet
        Invoke-Native apt-get (@('install', '-y', '-qq', '--no-install-recommends') + $missing) -Quiet
    }
}

function Invoke-Bootstrap {
    Install-AptPackages
    Install-Trixie
    Install-AptPackages   # the trixie transaction can take a Debian 12 package away (a -dev package of an upgraded library)
    Invoke-Native dotnet @('tool', 'restore') -Quiet
    Invoke-Native dotnet @('restore', (Join-Path $Root 'ContainerPS.sln')) -Quiet
}

function Get-CriuMajor {
    $criu = Get-Command criu -CommandType Application -ErrorAction SilentlyContinue | Select-Object -First 1
    if (-not $criu) { return 0 }
    $v = & $criu.Source --version 2>$null | Select-String -Pattern 'Version:\s*(\d+)' | Select-Object -First 1
    if ($v) { [int]$v.Matches[0].Groups[1].Value } else { 0 }
}

function Install-Trixie {
    $missing = @(Get-MissingPackages $TrixiePackages)
    if ((Get-CriuMajor) -lt $CriuMinimumMajor -and 'criu' -notin $missing) { $missing += 'criu' }
    if ($missing.Count -eq 0) { return }
    Write-Host "Installing from Debian 13 (trixie), pinned at priority 100: $($missing -join ' ')"
    $mirror = (Get-Content /etc/apt/sources.list.d/debian.sources -ErrorAction SilentlyContinue |
            Select-String -Pattern '^URIs:\s*(\S+)' | Select-Object -First 1).Matches.Groups[1].Value
    if (-not $mirror) { $mirror = 'http://deb.debian.org/debian' }
    @('Types: deb', "URIs: $mirror", 'Suites: trixie', 'Components: main', 'Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg') |
        Set-Content /etc/apt/sources.list.d/trixie.sources
    "Package: *`nPin: release n=trixie`nPin-Priority: 100" | Set-Content /etc/apt/preferences.d/trixie-low
    $env:DEBIAN_FRONTEND = 'noninteractive'
    Invoke-Native apt-get @('update', '-qq') -Quiet
    Invoke-Native apt-get (@('install', '-y', '-qq', '--no-install-recommends', '-t', 'trixie') + $missing) -Quiet
    if ((Get-CriuMajor) -lt $CriuMinimumMajor) { throw "criu $CriuMinimumMajor.x was not installed (criu --version: $(criu --version 2>&1))" }
}

function Invoke-Build {
    Invoke-Bootstrap
    $bin = Join-Path $Root 'bin'
    Invoke-Native dotnet @('publish', (Join-Path $Root 'src/ContainerPS/ContainerPS.csproj'), '-c', $Configuration, '-o', $bin, '--no-restore', '-nologo', '-v', 'quiet') -Quiet
    Invoke-Native make @('-s', '-C', (Join-Path $Root 'native'), "OUT=$bin") -Quiet
}

function Get-TrxCounts([string] $Path) {
    [xml] $trx = Get-Content -Raw $Path
    $c = $trx.TestRun.ResultSummary.Counters
    [pscustomobject]@{ Passed = [int]$c.passed; Failed = [int]$c.failed + [int]$c.error + [int]$c.timeout + [int]$c.aborted; Skipped = [int]$c.notExecuted }
}

function Invoke-Test {
    Invoke-Build
    if (Test-Path $Artifacts) { Remove-Item -Recurse -Force $Artifacts }
    $null = New-Item -ItemType Directory -Force $Artifacts
    $passed = 0; $failed = 0; $skipped = 0

    # Every test process runs in a private mount namespace: mounts a test forgets die with it.
    $isolate = @('--mount', '--propagation', 'private', '--')
    foreach ($project in 'ContainerPS.Engine.Tests', 'ContainerPS.Tests') {
        $trx = Join-Path $Artifacts "$project.trx"
        $testArgs = @('test', (Join-Path $Root "tests/$project/$project.csproj"), '-c', $Configuration, '--no-restore', '-nologo',
            '--logger', "trx;LogFileName=$trx", '--logger', 'console;verbosity=normal')
        if ($TestFilter) { $testArgs += @('--filter', $TestFilter) }
        & unshare @isolate dotnet @testArgs
        if (Test-Path $trx) {
            $c = Get-TrxCounts $trx
            $passed += $c.Passed; $failed += $c.Failed; $skipped += $c.Skipped
        } else {
            Write-Host "No results from $project (build or run failed)."
            $failed += 1
        }
    }

    $pester = Join-Path (Get-NuGetPackageRoot) 'pester/5.9.1/tools/Pester.psd1'
    $result = Join-Path $Artifacts 'pester.json'
    $script = @"
Import-Module '$pester' -ErrorAction Stop
`$c = New-PesterConfiguration
`$c.Run.Path = '$PesterPath'
`$c.Run.PassThru = `$true
`$c.Output.Verbosity = 'Detailed'
`$r = Invoke-Pester -Configuration `$c
@{ Passed = `$r.PassedCount; Failed = `$r.FailedCount + `$r.FailedBlocksCount + `$r.FailedContainersCount; Skipped = `$r.SkippedCount + `$r.NotRunCount } | ConvertTo-Json | Set-Content '$result'
"@
    # One throwaway Ceph cluster (one mon, one memstore OSD on 127.0.0.1) for the whole Pester run.
    $cephDir = Join-Path ([IO.Path]::GetTempPath()) "cps-ceph-run-$PID"
    $savedConf = $env:CEPH_CONF
    try {
        $conf = & bash (Join-Path $Root 'tests/ceph-cluster.sh') start $cephDir
        if ($LASTEXITCODE -ne 0) { throw "tests/ceph-cluster.sh start failed ($LASTEXITCODE)" }
        $env:CEPH_CONF = "$conf".Trim()
        $env:CONTAINERPS_TEST_CEPH_DIR = $cephDir
        & unshare @isolate dotnet pwsh -NoProfile -NonInteractive -Command $script
    }
    finally {
        & bash (Join-Path $Root 'tests/ceph-cluster.sh') stop $cephDir
        $env:CEPH_CONF = $savedConf
        Remove-Item Env:CONTAINERPS_TEST_CEPH_DIR -ErrorAction SilentlyContinue
    }
    if (Test-Path $result) {
        $p = Get-Content -Raw $result | ConvertFrom-Json
        $passed += $p.Passed; $failed += $p.Failed; $skipped += $p.Skipped
    } else {
        Write-Host 'No results from Pester.'
        $failed += 1
    }
    if ($skipped -gt 0) { Write-Host "$skipped skipped or not run" }
    Write-Host "$passed passed, $failed failed"
    if ($failed -gt 0) { exit 1 }
}

function Invoke-Demo {
    Invoke-Build
    & dotnet pwsh -NoProfile -NonInteractive -File (Join-Path $Root 'tests/demo.ps1')
    if ($LASTEXITCODE -ne 0) { exit $LASTEXITCODE }
}

function Invoke-Bench {
    Invoke-Build
    # Peers measured side by side (not needed by the module itself).
    $peers = @(Get-MissingPackages @('lxc', 'openssh-server', 'openssh-client'))
    if ($peers) {
        $env:DEBIAN_FRONTEND = 'noninteractive'
        Invoke-Native apt-get (@('install', '-y', '-qq', '--no-install-recommends') + $peers) -Quiet
    }
    & unshare --mount --propagation private -- dotnet pwsh -NoProfile -NonInteractive -File (Join-Path $Root 'tests/bench/bench.ps1')
    if ($LASTEXITCODE -ne 0) { exit $LASTEXITCODE }
}

function Invoke-Clean {
    foreach ($d in @('bin', '.artifacts') + (Get-ChildItem -Path (Join-Path $Root 'src'), (Join-Path $Root 'tests') -Directory -Recurse -Include bin, obj | ForEach-Object FullName)) {
        $p = if ([IO.Path]::IsPathRooted($d)) { $d } else { Join-Path $Root $d }
        if (Test-Path $p) { Remove-Item -Recurse -Force $p }
    }
    Invoke-Native make @('-s', '-C', (Join-Path $Root 'native'), 'clean') -Quiet
}

switch ($Task) {
    'Bootstrap' { Invoke-Bootstrap }
    'Build' { Invoke-Build }
    'Test' { Invoke-Test }
    'Demo' { Invoke-Demo }
    'Bench' { Invoke-Bench }
    'Clean' { Invoke-Clean }
}
