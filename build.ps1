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
      Test       Build, then runs xunit and Pester on this host, then the stock-kernel lane (TestVm);
                 prints 'N passed, N failed' (all summed). -NoTestVm leaves the lane out.
      TestVm     Build, then only the stock-kernel lane: a Debian 12 guest (distribution kernel,
                 cgroup v2, systemd) under QEMU runs a part of the tests and the boot tests.
      Demo       Build, then runs the main job on the embedded defaults.
      Bench      Build, then runs the benchmarks and prints medians and ratios: on this host, then the
                 lane's (tests/vm/bench/*.ps1 in the stock-kernel guest). -NoTestVm leaves the lane out.
      BenchVm    Build, then only the lane's benchmarks (CONTAINERPS_TESTVM_BENCH=a.ps1 picks scripts).
      Package    Bootstrap, then builds the module (Release) into a clean folder out/stage/ContainerPS and
                 publishes it with PSResourceGet to out/package/ContainerPS.<version>.nupkg.
      Clean      Removes build output.
#>
[CmdletBinding()]
param(
    [ValidateSet('Bootstrap', 'Build', 'Test', 'TestVm', 'Demo', 'Bench', 'BenchVm', 'Package', 'Clean')]
    [string] $Task = 'Build',
    [string] $Configuration = 'Release',
    # Only run xunit tests whose fully qualified name matches this filter, and Pester files matching -PesterPath.
    [string] $TestFilter,
    [string] $PesterPath = (Join-Path $PSScriptRoot 'tests/pester'),
    # Test and Bench: leave out the stock-kernel lane (build.ps1 -Task TestVm, -Task BenchVm).
    [switch] $NoTestVm
)

$ErrorActionPreference = 'Stop'
Set-StrictMode -Version Latest
$Root = $PSScriptRoot
$Artifacts = Join-Path $Root '.artifacts'

# What the host needs (Debian 12 or 13 packages, CRIU) and how it is installed: build/HostSetup.ps1.
. (Join-Path $PSScriptRoot 'build/HostSetup.ps1')
# The stock-kernel lane: build/TestVm.ps1.
. (Join-Path $PSScriptRoot 'build/TestVm.ps1')

function Get-NuGetPackageRoot {
    if ($env:NUGET_PACKAGES) { return $env:NUGET_PACKAGES }
    $line = dotnet nuget locals global-packages --list
    return ($line -replace '^global-packages:\s*', '').Trim()
}

function Invoke-Bootstrap {
    Invoke-HostBootstrap
    Invoke-Native dotnet @('tool', 'restore') -Quiet
    Invoke-Native dotnet @('restore', (Join-Path $Root 'ContainerPS.sln')) -Quiet
}

# The assemblies (with their dependencies) and the native helpers, into $Bin.
# bin/ holds what PowerShell loads into its default context (the cmdlets, ContainerPS.Model, the
# format and type files) and the native helpers; bin/engine/ the engine and the libraries it uses,
# which the module loads into a context of its own (src/ContainerPS/EngineLoadContext.cs).
$DefaultContextAssemblies = 'ContainerPS', 'ContainerPS.Model'

function Build-ModuleBinaries([string] $Bin, [string] $Config) {
    Invoke-Native dotnet @('publish', (Join-Path $Root 'src/ContainerPS/ContainerPS.csproj'), '-c', $Config, '-o', $Bin, '--no-restore', '-nologo', '-v', 'quiet') -Quiet
    $engine = Join-Path $Bin 'engine'
    $null = New-Item -ItemType Directory -Force $engine
    Get-ChildItem -File -Path (Join-Path $Bin "*") -Include *.dll, *.pdb |
        Where-Object { $_.BaseName -notin $DefaultContextAssemblies } |
        Move-Item -Destination $engine -Force
    Invoke-Native make @('-s', '-C', (Join-Path $Root 'native'), "OUT=$Bin") -Quiet
}

function Invoke-Build {
    Invoke-Bootstrap
    Build-ModuleBinaries (Join-Path $Root 'bin') $Configuration
}

# The module as users install it: a clean folder (the manifest, bin/ with the assemblies and the
# native helpers, en-US/ help, LICENSE) published with PSResourceGet to a local repository, out/package.
# The repository is registered by a pwsh whose HOME is a temporary directory, so the user's own list
# of repositories is never written. PSResourceGet keeps no file modes: the module restores the exec
# bits of its helpers on import (NativePrograms.RepairPrograms).
function Invoke-Package {
    Invoke-Bootstrap
    $out = Join-Path $Root 'out'
    $stage = Join-Path $out 'stage/ContainerPS'
    $repo = Join-Path $out 'package'
    foreach ($d in (Split-Path $stage), $repo) { if (Test-Path $d) { Remove-Item -Recurse -Force $d } }
    $null = New-Item -ItemType Directory -Force $stage, $repo
    Build-ModuleBinaries (Join-Path $stage 'bin') 'Release'
    Copy-Item (Join-Path $Root 'ContainerPS.psd1'), (Join-Path $Root 'LICENSE') $stage
    Copy-Item -Recurse (Join-Path $Root 'en-US') $stage
    # .NET gives "" for a special folder that does not exist, and NuGet and PSResourceGet then write
    # below the working directory: the folders exist, and the publish runs in the temporary HOME.
    $tempHome = Join-Path ([IO.Path]::GetTempPath()) "cps-package-$PID"
    $null = New-Item -ItemType Directory -Force (Join-Path $tempHome '.config'), (Join-Path $tempHome '.local/share')
    $pwsh = @([Environment]::ProcessPath) + @(if ([IO.Path]::GetFileNameWithoutExtension([Environment]::ProcessPath) -eq 'dotnet') { Join-Path $PSHOME 'pwsh.dll' })
    $publish = "`$ErrorActionPreference = 'Stop'; Register-PSResourceRepository -Name build -Uri '$repo' -Trusted; Publish-PSResource -Path '$stage' -Repository build"
    $saved = $env:HOME, $env:XDG_DATA_HOME, $env:XDG_CONFIG_HOME
    Push-Location $tempHome
    try {
        $env:HOME, $env:XDG_DATA_HOME, $env:XDG_CONFIG_HOME = $tempHome, $null, $null
        & $pwsh[0] @($pwsh | Select-Object -Skip 1) -NoProfile -NonInteractive -Command $publish
        if ($LASTEXITCODE -ne 0) { throw "Publish-PSResource failed with exit code $LASTEXITCODE" }
    }
    finally {
        Pop-Location
        $env:HOME, $env:XDG_DATA_HOME, $env:XDG_CONFIG_HOME = $saved
        Remove-Item -Recurse -Force $tempHome
    }
    $version = (Import-PowerShellDataFile (Join-Path $Root 'ContainerPS.psd1')).ModuleVersion
    $nupkg = Join-Path $repo "ContainerPS.$version.nupkg"
    if (-not (Test-Path $nupkg)) { throw "Publish-PSResource made no $nupkg" }
    Write-Host $nupkg
}

function Get-TrxCounts([string] $Path) {
    [xml] $trx = Get-Content -Raw $Path
    $c = $trx.TestRun.ResultSummary.Counters
    $names = @($trx.TestRun.Results.UnitTestResult | Where-Object outcome -ne 'Passed' | Where-Object outcome -ne 'NotExecuted' |
        ForEach-Object { "$($_.testName): $(("$($_.Output.ErrorInfo.Message)" -split "`n")[0])" })
    [pscustomobject]@{ Passed = [int]$c.passed; Failed = [int]$c.failed + [int]$c.error + [int]$c.timeout + [int]$c.aborted; Skipped = [int]$c.notExecuted; Failures = $names }
}

function Invoke-Test {
    # The host as it was before Bootstrap, for HostSetup.Tests: its os-release and the packages of
    # another Debian release it already had.
    $hostBefore = Get-HostRecord
    Invoke-Build
    if (Test-Path $Artifacts) { Remove-Item -Recurse -Force $Artifacts }
    $null = New-Item -ItemType Directory -Force $Artifacts
    $env:CONTAINERPS_TEST_HOST_BEFORE = Join-Path $Artifacts 'host-before.json'
    $hostBefore | ConvertTo-Json | Set-Content $env:CONTAINERPS_TEST_HOST_BEFORE
    $passed = 0; $failed = 0; $skipped = 0
    $failures = [Collections.Generic.List[string]]::new()   # named again just before the closing line

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
            foreach ($n in $c.Failures) { $failures.Add("${project}: $n") }
        } else {
            Write-Host "No results from $project (build or run failed)."
            $failed += 1; $failures.Add("${project}: no results (build or run failed)")
        }
    }

    $pester = Join-Path (Get-NuGetPackageRoot) 'pester/5.9.1/tools/Pester.psd1'
    $result = Join-Path $Artifacts 'pester.json'
    $script = @"
Import-Module '$pester' -ErrorAction Stop
`$c = New-PesterConfiguration
`$c.Run.Path = '$PesterPath'
# *.Lane.Tests.ps1 need a stock distribution kernel (device-mapper, quotas, rbd, soft-dirty): they run in the TestVm lane only.
`$c.Run.ExcludePath = @('*.Lane.Tests.ps1')
`$c.Run.PassThru = `$true
`$c.Output.Verbosity = 'Detailed'
`$r = Invoke-Pester -Configuration `$c
`$names = @(`$r.Failed | ForEach-Object { "`$(`$_.ExpandedPath): `$((`"`$(`$_.ErrorRecord | Select-Object -First 1)`" -split "``n")[0])" }) +
    @(`$r.FailedBlocks | ForEach-Object { "block `$(`$_.Path -join ' '): `$((`"`$(`$_.ErrorRecord | Select-Object -First 1)`" -split "``n")[0])" }) +
    @(`$r.FailedContainers | ForEach-Object { "file `$(`$_.Item): `$((`"`$(`$_.ErrorRecord | Select-Object -First 1)`" -split "``n")[0])" })
@{ Passed = `$r.PassedCount; Failed = `$r.FailedCount + `$r.FailedBlocksCount + `$r.FailedContainersCount; Skipped = `$r.SkippedCount + `$r.NotRunCount; Failures = `$names } | ConvertTo-Json | Set-Content '$result'
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
        foreach ($n in $p.Failures) { $failures.Add("Pester: $n") }
    } else {
        Write-Host 'No results from Pester.'
        $failed += 1; $failures.Add('Pester: no results')
    }
    if (-not $NoTestVm) {
        $vm = Invoke-TestVm
        Write-Host "TestVm lane: $($vm.Passed) passed, $($vm.Failed) failed"
        $passed += $vm.Passed; $failed += $vm.Failed
        foreach ($n in $vm.Failures) { $failures.Add("TestVm: $n") }
    }
    if ($skipped -gt 0) { Write-Host "$skipped skipped or not run" }
    foreach ($n in $failures) { Write-Host "FAILED $n" }
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
    Install-ReleasePackages (Get-HostRelease) @('lxc', 'openssh-server', 'openssh-client') 'the benchmark peers'
    & unshare --mount --propagation private -- dotnet pwsh -NoProfile -NonInteractive -File (Join-Path $Root 'tests/bench/bench.ps1')
    if ($LASTEXITCODE -ne 0) { exit $LASTEXITCODE }
    if (-not $NoTestVm) { Invoke-TestVmBench }
}

function Invoke-Clean {
    foreach ($d in @('bin', 'out', '.artifacts') + (Get-ChildItem -Path (Join-Path $Root 'src'), (Join-Path $Root 'tests') -Directory -Recurse -Include bin, obj | ForEach-Object FullName)) {
        $p = if ([IO.Path]::IsPathRooted($d)) { $d } else { Join-Path $Root $d }
        if (Test-Path $p) { Remove-Item -Recurse -Force $p }
    }
    Invoke-Native make @('-s', '-C', (Join-Path $Root 'native'), 'clean') -Quiet
}

switch ($Task) {
    'Bootstrap' { Invoke-Bootstrap }
    'Build' { Invoke-Build }
    'Test' { Invoke-Test }
    'TestVm' {
        Invoke-Build
        $vm = Invoke-TestVm
        Write-Host "$($vm.Passed) passed, $($vm.Failed) failed"
        if ($vm.Failed -gt 0) { exit 1 }
    }
    'Demo' { Invoke-Demo }
    'Bench' { Invoke-Bench }
    'BenchVm' { Invoke-Build; Invoke-TestVmBench }
    'Package' { Invoke-Package }
    'Clean' { Invoke-Clean }
}
