#Requires -Version 7.4
# The package users install: build.ps1 -Task Package (unless out/package holds one newer than the
# last build and the files it copies), a local PSResourceGet repository in a temporary directory, Install-PSResource into a
# user scope whose HOME is a temporary directory (the real user module path and repository list are
# not touched), then Import-Module ContainerPS by name in a child pwsh started elsewhere, which runs
# a busybox container. PSResourceGet keeps no file modes: the module gives its native helpers back
# their exec bits on import, and says how to fix the one it must not touch (NativeHelperNotExecutable).
# Run it in a private mount namespace (unshare --mount --propagation private), as build.ps1 does.

BeforeAll {
    Import-Module (Join-Path $PSScriptRoot 'TestHelpers.psm1') -Force
    Import-Module (Get-ModulePath) -Force # for Remove-TestContainers

    $repoRoot = Get-RepoRoot
    $version = (Import-PowerShellDataFile (Get-ModulePath)).ModuleVersion
    $built = Join-Path $repoRoot "out/package/ContainerPS.$version.nupkg"
    $lastBuild = @(Get-ChildItem -File (Join-Path $repoRoot 'bin'), (Join-Path $repoRoot 'en-US') -ErrorAction SilentlyContinue) +
        @(Get-Item (Get-ModulePath), (Join-Path $repoRoot 'LICENSE')) | Measure-Object -Property LastWriteTimeUtc -Maximum
    if (-not (Test-Path $built) -or (Get-Item $built).LastWriteTimeUtc -lt $lastBuild.Maximum) {
        $pwsh = Get-PwshCommand
        $out = & $pwsh[0] @($pwsh | Select-Object -Skip 1) -File (Join-Path $repoRoot 'build.ps1') -Task Package 2>&1
        if ($LASTEXITCODE -ne 0) { throw "build.ps1 -Task Package failed ($LASTEXITCODE):`n$($out -join "`n")" }
    }

    # HOME of every child: PSResourceGet's repository list and the CurrentUser scope live below it.
    $script:Base = Join-Path '/tmp' ('cps-pester-pkg-' + [guid]::NewGuid().ToString('N').Substring(0, 12))
    $script:UserHome = Join-Path $Base 'home'
    $repository = Join-Path $Base 'repository'
    # (.NET gives "" for a special folder that does not exist; NuGet would then write below the working directory.)
    $null = New-Item -ItemType Directory -Force $repository, (Join-Path $UserHome '.config'), (Join-Path $UserHome '.local/share')
    Copy-Item $built $repository
    $script:ChildEnvironment = @{
        HOME = $UserHome; PSModulePath = ''; XDG_DATA_HOME = ''; XDG_CONFIG_HOME = ''; XDG_CACHE_HOME = ''; CONTAINERPS_LIBEXEC = ''
    }
    $realUserModules = Join-Path ([Environment]::GetFolderPath('LocalApplicationData')) 'powershell/Modules/ContainerPS'
    $script:RealUserModulesBefore = Test-Path $realUserModules

    $install = Start-ChildPwsh -NoImport -WorkingDirectory $Base -Environment $ChildEnvironment -Script @"
Register-PSResourceRepository -Name cps-test -Uri '$repository' -Trusted
Install-PSResource ContainerPS -Repository cps-test -TrustRepository -Scope CurrentUser -Quiet
(Get-InstalledPSResource ContainerPS -Scope CurrentUser).InstalledLocation
"@
    $script:InstallResult = Wait-ChildPwsh $install -TimeoutSeconds 120
    $script:Installed = Join-Path $UserHome ".local/share/powershell/Modules/ContainerPS/$version"
    $script:RealUserModulesAfter = Test-Path $realUserModules

    # Runs Script in a child pwsh started in the test's ext directory that imports ContainerPS by name.
    function Invoke-InstalledModule([string] $Script) {
        $child = Start-ChildPwsh -NoImport -WorkingDirectory $script:t.Ext -Environment $ChildEnvironment -Script (
            "Import-Module ContainerPS; `$m = Get-Module ContainerPS; ""base=`$(`$m.ModuleBase)""; " + $Script)
        Wait-ChildPwsh $child -TimeoutSeconds 120
    }

    # The child's output lines KEY=VALUE as a hashtable.
    function ConvertFrom-ChildLines([string] $Stdout) {
        $h = @{}
        foreach ($line in $Stdout -split "`n") { if ($line -match '^(\w+)=(.*)$') { $h[$Matches[1]] = $Matches[2].TrimEnd("`r") } }
        $h
    }

    $script:RunContainer = @'
$c = New-Container pkg1 busybox -Start
"state=$($c.State)"
"pid=$($c.Pid)"
"exec=$(Invoke-ContainerExec pkg1 -- echo from-the-package)"
"synopsis=$((Get-Help New-Container).Synopsis)"
Remove-Container pkg1 -Force -Confirm:$false
"left=$(@(Get-Container).Count)"
'@

    function Get-Mode([string] $Path) { & stat -c %a -- $Path }
}

AfterAll {
    Stop-ChildPwsh
    if ($script:Base -like '/tmp/cps-pester-pkg-*' -and (Test-Path -LiteralPath $script:Base)) { & rm -rf -- $script:Base }
}

Describe 'The installable package' {
    BeforeEach { $script:t = New-ContainerTestRoot }
    AfterEach {
        Stop-ChildPwsh; Remove-TestContainers; Remove-TestRoot
        foreach ($h in 'cps-monitor', 'cps-hook', 'cps-exec', 'cps-mount') { & chmod 0755 -- (Join-Path $script:Installed "bin/$h") }
    }

    It 'installs with Install-PSResource from a local repository into the (redirected) user scope' {
        $InstallResult.TimedOut | Should -BeFalse
        $InstallResult.ExitCode | Should -Be 0 -Because $InstallResult.Stderr
        $InstallResult.Stdout.Trim() | Should -Be (Join-Path $UserHome '.local/share/powershell/Modules')
        $RealUserModulesAfter | Should -Be $RealUserModulesBefore -Because 'the real user module path is not touched'
        Join-Path $UserHome '.local/share/PSResourceGet/PSResourceRepository.xml' | Should -FileContentMatch 'cps-test'
    }

    It 'holds what Import-Module needs and nothing from the tests' {
        $files = @(Get-ChildItem -Recurse -File $Installed | ForEach-Object { $_.FullName.Substring($Installed.Length + 1) })
        foreach ($f in 'ContainerPS.psd1', 'LICENSE', 'en-US/ContainerPS.dll-Help.xml', 'en-US/about_ContainerPS.help.txt',
            'bin/ContainerPS.dll', 'bin/ContainerPS.Model.dll', 'bin/engine/ContainerPS.Engine.dll', 'bin/engine/Microsoft.Data.Sqlite.dll', 'bin/engine/SQLitePCLRaw.core.dll',
            'bin/engine/SQLitePCLRaw.provider.sqlite3.dll', 'bin/engine/CliWrap.dll', 'bin/ContainerPS.format.ps1xml', 'bin/ContainerPS.types.ps1xml',
            'bin/cps-monitor', 'bin/cps-exec', 'bin/cps-hook', 'bin/cps-mount', 'bin/cps-criu-compat.so', 'bin/cps-rbd-fuse-compat.so') {
            $files | Should -Contain $f
        }
        $files | Where-Object { $_ -match 'Test|xunit|Pester|\.ps1$|\.c$' } | Should -BeNullOrEmpty
        $manifest = Import-PowerShellDataFile (Join-Path $Installed 'ContainerPS.psd1')
        $manifest.CompatiblePSEditions | Should -Be @('Core')
        $manifest.PowerShellVersion | Should -Be '7.4'
        foreach ($tag in 'Linux', 'PSEdition_Core', 'containers', 'lxd', 'criu') { $manifest.PrivateData.PSData.Tags | Should -Contain $tag }
        $manifest.PrivateData.PSData.ReleaseNotes | Should -Not -BeNullOrEmpty
    }

    It 'Import-Module ContainerPS by name, elsewhere, runs a busybox container (and restores the exec bits PSResourceGet dropped)' {
        $r = Invoke-InstalledModule $RunContainer
        $r.TimedOut | Should -BeFalse
        $r.ExitCode | Should -Be 0 -Because $r.Stderr
        $o = ConvertFrom-ChildLines $r.Stdout
        $o.base | Should -Be $Installed
        $o.state | Should -Be 'Running'
        [int]$o.pid | Should -BeGreaterThan 1
        $o.exec | Should -Be 'from-the-package'
        $o.synopsis | Should -Not -BeNullOrEmpty
        $o.left | Should -Be '0'
        foreach ($h in 'cps-monitor', 'cps-hook', 'cps-exec', 'cps-mount') { Get-Mode (Join-Path $Installed "bin/$h") | Should -Be '755' }
    }

    It 'gives a helper whose exec bit was taken away its bit back on import' {
        $monitor = Join-Path $Installed 'bin/cps-monitor'
        & chmod 0644 -- $monitor (Join-Path $Installed 'bin/cps-hook')
        $r = Invoke-InstalledModule $RunContainer
        $r.ExitCode | Should -Be 0 -Because $r.Stderr
        (ConvertFrom-ChildLines $r.Stdout).state | Should -Be 'Running'
        Get-Mode $monitor | Should -Be '755'
        Get-Mode (Join-Path $Installed 'bin/cps-hook') | Should -Be '755'
    }

    It 'fails with NativeHelperNotExecutable, saying how to fix it, for a helper others could have written' {
        $monitor = Join-Path $Installed 'bin/cps-monitor'
        & chmod 0664 -- $monitor
        $r = Invoke-InstalledModule @'
try { $null = New-Container pkg1 busybox -Start -ErrorAction Stop; 'started=yes' }
catch { "id=$($_.FullyQualifiedErrorId)"; "message=$($_.Exception.Message)" }
'@
        $r.ExitCode | Should -Be 0 -Because $r.Stderr
        $o = ConvertFrom-ChildLines $r.Stdout
        $o.started | Should -BeNullOrEmpty
        ($o.id -split ',')[0] | Should -Be 'NativeHelperNotExecutable'
        $o.message | Should -BeLike "*$monitor is not executable (mode 0664)*its group or other users can write it*chmod 0755 '$monitor'*"
        $o.message | Should -Not -Match 'Permission denied'
        Get-Mode $monitor | Should -Be '664' -Because 'a file others could have written is not made executable'
        @(Get-RuncContainer) | Should -BeNullOrEmpty
    }
}
