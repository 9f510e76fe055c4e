#Requires -Version 7.4
# The install: build.ps1's Bootstrap (build/HostSetup.ps1) takes packages from the running Debian
# release only, leaves /etc/os-release as it was and is idempotent; a package apt could only take
# from another release is refused before apt changes anything. The same checks on a clean Debian 12
# tree bootstrapped from scratch run in the stock-kernel lane (build.ps1 -Task TestVm).

BeforeAll {
    Import-Module (Join-Path $PSScriptRoot 'TestHelpers.psm1') -Force
    $script:Setup = Join-Path (Get-RepoRoot) 'build/HostSetup.ps1'
    . $script:Setup
    $script:Release = Get-HostRelease

    function Get-Installed {
        $map = @{}
        foreach ($line in & dpkg-query -W -f '${db:Status-Abbrev} ${Package} ${Version}\n') {
            if ($line -match '^ii\s+(\S+) (\S+)$') { $map[$Matches[1]] = $Matches[2] }
        }
        $map
    }

    # What the host was before this run's Bootstrap: build.ps1 -Task Test records it before it
    # bootstraps (CONTAINERPS_TEST_HOST_BEFORE); a standalone run takes it now.
    $record = $env:CONTAINERPS_TEST_HOST_BEFORE
    if ($record -and (Test-Path $record)) {
        $script:Before = Get-Content -Raw $record | ConvertFrom-Json
    } else {
        $script:Before = Get-HostRecord
    }
}

Describe 'Bootstrap on this host' {
    It 'runs again without installing anything, and leaves /etc/os-release as it was' {
        $packages = Get-Installed
        $clock = [Diagnostics.Stopwatch]::StartNew()
        $pwsh = Get-PwshCommand
        $out = & $pwsh[0] @($pwsh[1..($pwsh.Count - 1)]) -File $script:Setup -Action Bootstrap 2>&1
        $LASTEXITCODE | Should -Be 0 -Because ($out -join "`n")
        ($out -join "`n") | Should -Not -Match 'Installing'
        $clock.Elapsed.TotalSeconds | Should -BeLessThan 60
        Compare-Object @($packages.GetEnumerator() | ForEach-Object { "$($_.Key) $($_.Value)" }) @((Get-Installed).GetEnumerator() | ForEach-Object { "$($_.Key) $($_.Value)" }) |
            Should -BeNullOrEmpty
        Get-Content -Raw /etc/os-release | Should -BeExactly $script:Before.OsRelease
    }

    It 'left no package of another Debian release that was not there before it ran' {
        $foreign = @(Get-ForeignPackages)
        Write-Host "Debian $($script:Release.Version): $($foreign.Count) installed packages of another release now, $(@($script:Before.Foreign).Count) before Bootstrap"
        @($foreign | Where-Object Package -NotIn @($script:Before.Foreign) | ForEach-Object { "$($_.Package) $($_.Version) ($($_.Release))" }) |
            Should -BeNullOrEmpty
        if (@($script:Before.Foreign).Count -eq 0) { $foreign | Should -BeNullOrEmpty }
    }

    It 'uses CRIU 4 from the running release, or built from source into its private prefix on Debian 12' {
        $criu = Get-CriuBinary
        Get-CriuMajor $criu | Should -BeGreaterOrEqual 4
        if ($script:Release.Version -eq 12) { $criu | Should -Be '/usr/local/lib/containerps/criu/sbin/criu' }
        Import-Module (Get-ModulePath) -Force
        (Test-ContainerCheckpoint).CriuPath | Should -Be $criu
    }

    It 'refuses a package apt could only take from another release, before apt changes anything' {
        # apt sees both releases here (a private configuration named by APT_CONFIG, as an operator's
        # extra source would); the package exists only in the other one.
        $dir = Join-Path '/tmp' ('cps-pester-apt-' + [guid]::NewGuid().ToString('N').Substring(0, 12))
        $null = New-Item -ItemType Directory -Force $dir
        try {
            $lists = Join-Path $HostCache 'release-check'   # both releases' indexes (Get-ForeignPackages keeps them)
            $null = Get-ForeignPackages
            @("Dir::Etc::SourceList `"$lists/sources.list`";", 'Dir::Etc::SourceParts "/dev/null";', "Dir::State::Lists `"$lists/lists`";") | Set-Content "$dir/apt.conf"
            # Small packages of one release only (architecture all, no dependencies): bash-unit is only in
            # Debian 13, alex4-data only in Debian 12.
            $other = if ($script:Release.Version -eq 12) { 'bash-unit' } else { 'alex4-data' }
            $packages = Get-Installed
            $env:APT_CONFIG = "$dir/apt.conf"
            { Install-ReleasePackages $script:Release @($other) 'a test package' } |
                Should -Throw "Refusing to install packages that are not from Debian $($script:Release.Version) ($($script:Release.Codename)): *$other*"
            Get-MissingPackages @($other) | Should -Be $other
            Compare-Object @($packages.Keys) @((Get-Installed).Keys) | Should -BeNullOrEmpty
        }
        finally {
            Remove-Item Env:APT_CONFIG -ErrorAction SilentlyContinue
            Remove-Item -Recurse -Force $dir
        }
    }

    It 'names only Debian 12 and 13 as hosts it installs on' {
        $os = Join-Path '/tmp' ('cps-pester-os-' + [guid]::NewGuid().ToString('N').Substring(0, 12))
        'ID=ubuntu', 'VERSION_CODENAME=noble', 'PRETTY_NAME="Ubuntu 24.04"' | Set-Content $os
        try { { Get-HostRelease -Path $os } | Should -Throw "*Debian 12 (bookworm) or 13 (trixie)*'Ubuntu 24.04'*" }
        finally { Remove-Item $os }
        (Get-HostRelease).Codename | Should -BeIn 'bookworm', 'trixie'
    }
}
