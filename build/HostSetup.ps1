<#
.SYNOPSIS
    Installs what ContainerPS needs on a Debian 12 or 13 host, from that release only, and checks
    that a host holds no package of another Debian release.
.DESCRIPTION
    build.ps1 dot-sources this file (Bootstrap). It also runs on its own, which is how the
    stock-kernel lane bootstraps its clean Debian 12 guest tree from a chroot:
      pwsh HostSetup.ps1 -Action Bootstrap [-Root /]   install (what is missing)
      pwsh HostSetup.ps1 -Action Check [-Root DIR]     list packages of another release; exit 1 if any

    Rules: nothing of another Debian release is installed, no apt source or pin of the host is
    changed, and what will be installed (and from which release) is printed before apt runs.
    Debian 12 has no CRIU >= 4 (its 3.17 fails on kernel 6.x): it is built from Debian's own
    source package of Debian 13 (the orig tarball, checked against the signed Sources index with a
    private apt configuration) into a private prefix, /usr/local/lib/containerps/criu, and runc is
    pointed at it (runc --criu PATH); the host's own criu is untouched.
#>
[CmdletBinding()]
param(
    [ValidateSet('Bootstrap', 'Check', 'None')]
    [string] $Action = 'None',
    # Extra packages to install besides the module's (the lane adds what its guest needs).
    [string[]] $ExtraPackages = @(),
    # With -Action Check: also write what was found (os-release and the foreign packages) to this JSON file.
    [string] $Record
)

$ErrorActionPreference = 'Stop'
Set-StrictMode -Version Latest

# System packages the module and its tests need (the same names on Debian 12 and 13).
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
    'xfsprogs'                           # ceph volumes with block.filesystem=xfs; lvm volumes with xfs
    'lvm2', 'thin-provisioning-tools'    # lvm pools (device-mapper kernels): lvcreate/lvs, thin_check at thin-pool activation
    'acl', 'attr', 'libcap2-bin'         # tests: setfacl/getfacl, getfattr, setcap/getcap on shifted files
    'sqlite3'                            # tests: read the state database as it is on disk
    'ceph-common', 'rbd-fuse'            # ceph pools: rbd/rados/ceph tools; images reached by rbd-fuse + loop
    'ceph-mon', 'ceph-osd'               # tests: a throwaway one-node cluster on 127.0.0.1 (tests/ceph-cluster.sh)
)

# CRIU: Debian 13's package; on Debian 12, built from Debian 13's source into this prefix.
$CriuMinimumMajor = 4
$CriuPrefix = '/usr/local/lib/containerps/criu'
# What building CRIU needs on Debian 12 (all Debian 12 packages; verified on a clean bookworm tree).
$CriuBuildPackages = @('gcc', 'make', 'pkg-config', 'libprotobuf-c-dev', 'protobuf-c-compiler', 'libprotobuf-dev',
    'protobuf-compiler', 'python3-protobuf', 'libnl-3-dev', 'libnet1-dev', 'libcap-dev', 'libbsd-dev',
    'libgnutls28-dev', 'libnftables-dev', 'libaio-dev', 'uuid-dev')
$HostCache = '/var/cache/containerps'

$Releases = @{
    'bookworm' = [pscustomobject]@{ Codename = 'bookworm'; Version = 12; Criu = 'source' }
    'trixie'   = [pscustomobject]@{ Codename = 'trixie'; Version = 13; Criu = 'package' }
}

# Runs a program; throws with its output when it fails. -Quiet shows the output only then.
function Invoke-Native {
    param([string] $File, [string[]] $Arguments, [switch] $Quiet)
    if ($Quiet) {
        $out = & $File @Arguments 2>&1
        if ($LASTEXITCODE -ne 0) { $out | Out-Host; throw "$File $($Arguments -join ' ') failed with exit code $LASTEXITCODE" }
    } else {
        & $File @Arguments | Out-Host
        if ($LASTEXITCODE -ne 0) { throw "$File $($Arguments -join ' ') failed with exit code $LASTEXITCODE" }
    }
}

# The host's Debian release, from /etc/os-release. Anything but Debian 12 or 13 is refused.
function Get-HostRelease([string] $Path = '/etc/os-release') {
    $fields = @{}
    foreach ($line in Get-Content $Path) {
        if ($line -match '^([A-Z_]+)=(.*)$') { $fields[$Matches[1]] = $Matches[2].Trim('"') }
    }
    $codename = $fields['VERSION_CODENAME']
    if ($fields['ID'] -ne 'debian' -or -not $Releases.ContainsKey("$codename")) {
        throw "ContainerPS installs on Debian 12 (bookworm) or 13 (trixie); $Path says '$($fields['PRETTY_NAME'])'."
    }
    $Releases[$codename]
}

# Packages of Names that are not installed. (The status goes through a variable and a string: a
# native command with no output is AutomationNull, which -notmatch treats as an empty list.)
function Get-MissingPackages([string[]] $Names) {
    @($Names | Select-Object -Unique | Where-Object {
        $status = & dpkg-query -W -f '${Status}' $_ 2>$null
        "$status" -notmatch 'install ok installed'
    })
}

# The Debian major version an apt origin label names: 'Debian:12.15/oldstable' and
# 'Debian-Security:12/oldstable-security' are 12; a label of another vendor is $null.
function Get-OriginVersion([string] $Label) {
    if ($Label -match '^Debian(?:-Security)?:(\d+)') { [int]$Matches[1] } else { $null }
}

# What `apt-get install Names` would install and from where: one object per package apt would
# install or change, with the Debian release each origin belongs to.
function Get-AptPlan([string[]] $Names, [string[]] $Options = @()) {
    $out = & apt-get @Options -s -qq install --no-install-recommends @Names 2>&1
    if ($LASTEXITCODE -ne 0) { $out | Out-Host; throw "apt-get cannot install $($Names -join ' ')" }
    foreach ($line in $out) {
        # Inst NAME [OLD] (VERSION ORIGIN[, ORIGIN] [ARCH])
        if ("$line" -match '^Inst (\S+)(?: \[[^\]]*\])? \((\S+) (.*) \[[^\]]*\]\)') {
            $origins = @($Matches[3] -split ', ' | ForEach-Object { $_.Trim() })
            [pscustomobject]@{
                Package  = $Matches[1]
                Version  = $Matches[2]
                Origins  = $origins
                Releases = @($origins | ForEach-Object { Get-OriginVersion $_ } | Where-Object { $null -ne $_ } | Select-Object -Unique)
            }
        }
    }
}

# Installs Names from the running release only: prints the plan (package, version, origin) first,
# and refuses when apt would take any package from another release. When the host's apt
# preferences would pick another release's version, the release is named as apt's default
# release (-t) for this one command; nothing is written to the host's apt configuration.
function Install-ReleasePackages {
    param([pscustomobject] $Release, [string[]] $Names, [string] $Why)
    $missing = @(Get-MissingPackages $Names)
    if ($missing.Count -eq 0) { return }
    $env:DEBIAN_FRONTEND = 'noninteractive'
    Invoke-Native apt-get @('update', '-qq') -Quiet
    $options = @()
    $plan = @(Get-AptPlan $missing $options)
    if ($plan | Where-Object { $Release.Version -notin $_.Releases }) {
        $options = @('-t', $Release.Codename)
        $plan = @(Get-AptPlan $missing $options)
    }
    $foreign = @($plan | Where-Object { $Release.Version -notin $_.Releases })
    if ($foreign.Count -gt 0) {
        throw "Refusing to install packages that are not from Debian $($Release.Version) ($($Release.Codename)): " +
            (($foreign | ForEach-Object { "$($_.Package) $($_.Version) ($($_.Origins -join ', '))" }) -join '; ')
    }
    Write-Host "Installing $Why from Debian $($Release.Version) ($($Release.Codename)): $($missing -join ' ')"
    Write-Host "  apt will install or change $($plan.Count) packages:"
    foreach ($p in $plan) { Write-Host "    $($p.Package) $($p.Version) from $($p.Origins -join ', ')" }
    Invoke-Native apt-get (@('install', '-y', '-qq', '--no-install-recommends') + $options + $missing) -Quiet
}

# The CRIU binary ContainerPS uses: the private build on Debian 12, else the distribution's.
function Get-CriuBinary {
    $private = Join-Path $CriuPrefix 'sbin/criu'
    if (Test-Path $private) { return $private }
    (Get-Command criu -CommandType Application -ErrorAction SilentlyContinue | Select-Object -First 1).Source
}

function Get-CriuMajor([string] $Path) {
    if (-not $Path -or -not (Test-Path $Path)) { return 0 }
    $v = & $Path --version 2>$null | Select-String -Pattern 'Version:\s*(\d+)' | Select-Object -First 1
    if ($v) { [int]$v.Matches[0].Groups[1].Value } else { 0 }
}

# The Debian mirror the host's apt already uses (deb822 or one-line sources).
function Get-DebianMirror {
    $deb822 = Get-Content /etc/apt/sources.list.d/debian.sources -ErrorAction SilentlyContinue |
        Select-String -Pattern '^URIs:\s*(\S+)' | Where-Object { $_.Matches[0].Groups[1].Value -notmatch 'security' } | Select-Object -First 1
    if ($deb822) { return $deb822.Matches[0].Groups[1].Value }
    $line = Get-Content /etc/apt/sources.list -ErrorAction SilentlyContinue |
        Select-String -Pattern '^deb\s+(?:\[[^\]]*\]\s+)?(\S+)\s' | Where-Object { $_.Matches[0].Groups[1].Value -notmatch 'security' } | Select-Object -First 1
    if ($line) { return $line.Matches[0].Groups[1].Value }
    'http://deb.debian.org/debian'
}

# apt options for a private configuration under Dir: its own source list and lists, so the host's
# sources, pins and package lists are untouched.
function Get-PrivateAptOptions([string] $Dir) {
    @('-o', "Dir::Etc::SourceList=$Dir/sources.list", '-o', 'Dir::Etc::SourceParts=/dev/null',
        '-o', "Dir::State::Lists=$Dir/lists", '-o', "Dir::Cache=$Dir/cache",
        '-o', 'Dir::Etc::Preferences=/dev/null', '-o', 'Dir::Etc::PreferencesParts=/dev/null')
}

# CRIU >= 4 for Debian 12: Debian 13's source (only its orig tarball is on the mirror) fetched with
# a private apt configuration, its SHA-256 compared with the signed Sources index, built with
# Debian 12's -dev packages, installed as $CriuPrefix/sbin/criu. Idempotent.
function Install-CriuFromSource([pscustomobject] $Release) {
    $binary = Join-Path $CriuPrefix 'sbin/criu'
    if ((Get-CriuMajor $binary) -ge $CriuMinimumMajor) { return }
    Write-Host "Building CRIU from Debian 13's source package (Debian $($Release.Version)'s criu is 3.17, too old for kernel 6.x) into $CriuPrefix; the host's own criu is not touched."
    Install-ReleasePackages $Release $CriuBuildPackages 'what building CRIU needs'
    $work = Join-Path $HostCache 'criu-source'
    $null = New-Item -ItemType Directory -Force "$work/lists/partial", "$work/cache/archives/partial"
    "deb-src [signed-by=/usr/share/keyrings/debian-archive-keyring.gpg] $(Get-DebianMirror) trixie main" | Set-Content "$work/sources.list"
    $apt = Get-PrivateAptOptions $work
    Invoke-Native apt-get ($apt + @('update', '-qq')) -Quiet
    $record = (& apt-cache @apt showsrc criu) -join "`n"
    if ($record -notmatch '(?m)^Version: (\S+)') { throw 'Debian 13 Sources index has no criu.' }
    $upstream = ($Matches[1] -replace '^\d+:', '') -replace '-[^-]+$', ''
    $tarball = "criu_$upstream.orig.tar.xz"
    if ($record -notmatch "(?m)^ ([0-9a-f]{64}) \d+ $([regex]::Escape($tarball))$") { throw "Debian 13 Sources index lists no SHA-256 for $tarball." }
    $sha = $Matches[1]
    Push-Location $work
    try {
        if (-not (Test-Path $tarball) -or (Get-FileHash -Algorithm SHA256 $tarball).Hash -ne $sha) {
            # The .dsc and .debian.tar are not on the mirror (apt says 404 and exits 100): only the
            # orig tarball is needed, and it is checked below.
            & apt-get @apt source --download-only -qq criu 2>&1 | Out-Null
        }
        if (-not (Test-Path $tarball)) { throw "apt-get source did not fetch $tarball." }
        if ((Get-FileHash -Algorithm SHA256 $tarball).Hash -ne $sha) { throw "$tarball does not match the SHA-256 of Debian's Sources index." }
        $src = Join-Path $work "criu-$upstream"
        if (Test-Path $src) { Remove-Item -Recurse -Force $src }
        Invoke-Native tar @('-xJf', $tarball) -Quiet
        $clock = [Diagnostics.Stopwatch]::StartNew()
        Invoke-Native make @('-s', '-C', $src, "-j$([Environment]::ProcessorCount)", 'criu') -Quiet
        Invoke-Native install @('-D', '-m', '0755', "$src/criu/criu", "$binary.new") -Quiet
        Move-Item -Force "$binary.new" $binary
        Remove-Item -Recurse -Force $src
        Write-Host "  CRIU $upstream built in $([int]$clock.Elapsed.TotalSeconds) s: $binary"
    }
    finally { Pop-Location }
    if ((Get-CriuMajor $binary) -lt $CriuMinimumMajor) { throw "The CRIU built from source does not report version $CriuMinimumMajor or later: $(& $binary --version 2>&1)" }
}

function Invoke-HostBootstrap {
    $release = Get-HostRelease
    $packages = $AptPackages + $ExtraPackages
    if ($release.Criu -eq 'package') { $packages += 'criu' }
    Install-ReleasePackages $release $packages 'system packages'
    if ($release.Criu -eq 'source') { Install-CriuFromSource $release }
    elseif ((Get-CriuMajor (Get-CriuBinary)) -lt $CriuMinimumMajor) {
        throw "Debian $($release.Version)'s criu is older than $CriuMinimumMajor.0: $(& criu --version 2>&1)"
    }
}

# Installed packages whose installed version comes from another Debian release than the one
# /etc/os-release names: the installed versions are looked up in the Packages indexes of both
# releases (and their -updates and -security suites), fetched with a private apt configuration.
# A version in neither release (another vendor's, or locally built) is not counted as foreign.
function Get-ForeignPackages {
    $release = Get-HostRelease
    $work = Join-Path $HostCache 'release-check'
    $null = New-Item -ItemType Directory -Force "$work/lists/partial", "$work/cache/archives/partial"
    $mirror = Get-DebianMirror
    $security = $mirror -replace '/debian/?$', '/debian-security'
    $key = '[signed-by=/usr/share/keyrings/debian-archive-keyring.gpg]'
    @(foreach ($r in $Releases.Values) {
            "deb $key $mirror $($r.Codename) $($r.Codename)-updates main"
            "deb $key $security $($r.Codename)-security main"
        }) | Set-Content "$work/sources.list"
    $apt = Get-PrivateAptOptions $work
    Invoke-Native apt-get ($apt + @('update', '-qq')) -Quiet
    $installed = @{}
    foreach ($line in & dpkg-query -W -f '${db:Status-Abbrev} ${Package} ${Version}\n') {
        if ($line -match '^ii\s+(\S+) (\S+)$') { $installed[$Matches[1]] = $Matches[2] }
    }
    # apt-cache policy: per package, the version table; each version is followed by its sources.
    $policy = & apt-cache @apt policy @($installed.Keys) 2>$null
    $package = $null; $version = $null; $from = @{}
    foreach ($line in $policy) {
        if ($line -match '^(\S+):$') { $package = $Matches[1]; $version = $null; continue }
        if ($line -match '^\s+(?:\*\*\* )?(\S+) -?\d+$') { $version = $Matches[1]; continue }
        if ($package -and $version -and $version -eq $installed[$package] -and $line -match '^\s+-?\d+ \S+ (\S+?)(?:-updates|-security)?/') {
            $codename = $Matches[1]
            if (-not $from.ContainsKey($package)) { $from[$package] = [System.Collections.Generic.HashSet[string]]::new() }
            $null = $from[$package].Add($codename)
        }
    }
    foreach ($p in $installed.Keys | Sort-Object) {
        if ($from.ContainsKey($p) -and -not $from[$p].Contains($release.Codename)) {
            [pscustomobject]@{ Package = $p; Version = $installed[$p]; Release = ($from[$p] | Sort-Object) -join ',' }
        }
    }
}

# What HostSetup.Tests compares a host with after Bootstrap: its os-release and the packages of
# another release it had.
function Get-HostRecord([object[]] $Foreign = @(Get-ForeignPackages)) {
    [pscustomobject]@{ OsRelease = Get-Content -Raw /etc/os-release; Foreign = @($Foreign | ForEach-Object Package) }
}

switch ($Action) {
    'Bootstrap' { Invoke-HostBootstrap }
    'Check' {
        $release = Get-HostRelease
        $foreign = @(Get-ForeignPackages)
        if ($Record) { Get-HostRecord $foreign | ConvertTo-Json | Set-Content $Record }
        Write-Host "Debian $($release.Version) ($($release.Codename)): $($foreign.Count) installed packages come from another release"
        $foreign | Select-Object -First 40 | ForEach-Object { Write-Host "  $($_.Package) $($_.Version) ($($_.Release))" }
        if ($foreign.Count -gt 0) { exit 1 }
    }
}
