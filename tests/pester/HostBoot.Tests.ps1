#Requires -Version 7.4
# What a host does at boot and at shutdown: boot.autostart (and .priority, .delay, LXD's keys),
# Start-ContainerHost and Stop-ContainerHost, and the systemd unit Initialize-ContainerHost -BootUnit
# writes, whose command lines are run here as systemd would run them. The real boot (a rebooted
# systemd guest) is tested in the stock-kernel lane (build.ps1 -Task TestVm, tests/vm/lane.ps1).
# Run it in a private mount namespace (unshare --mount --propagation private), as build.ps1 does.

BeforeAll {
    Import-Module (Join-Path $PSScriptRoot 'TestHelpers.psm1') -Force
    Import-Module (Get-ModulePath) -Force

    # The words of a systemd command line as Initialize-ContainerHost writes them (each "double
    # quoted", with \\ \" $$ %% escapes), unquoted.
    function Split-UnitCommand([string] $Line) {
        [regex]::Matches($Line, '"((?:[^"\\]|\\.)*)"') | ForEach-Object {
            $_.Groups[1].Value -replace '\\(.)', '$1' -replace '\$\$', '$' -replace '%%', '%'
        }
    }
}

Describe 'boot.autostart' {
    BeforeEach { $script:t = New-ContainerTestRoot }
    AfterEach { Remove-TestContainers; Remove-TestRoot }

    It 'Start-ContainerHost starts the autostart containers by priority, waits each delay, goes on past a failure and skips running ones' {
        $null = New-Container low busybox -Config @{ 'boot.autostart' = $true; 'boot.autostart.priority' = -5 }
        $null = New-Container high busybox -Config @{ 'boot.autostart' = $true; 'boot.autostart.priority' = 10; 'boot.autostart.delay' = 2 }
        $null = New-Container mid busybox -Config @{ 'boot.autostart' = $true }
        $null = New-Container broken busybox -Config @{ 'boot.autostart' = $true; 'boot.autostart.priority' = 5 }
        $null = New-Container manual busybox
        $null = New-Container running busybox -Start -Config @{ 'boot.autostart' = $true; 'boot.autostart.priority' = 20 }
        # broken cannot start: its init is gone from its rootfs.
        $volume = (Get-StorageVolume -Pool default -Type container -Name broken).Path
        Remove-Item (Join-Path $volume 'sbin/init') -Force
        $before = (Get-Container running).Pid

        $clock = [Diagnostics.Stopwatch]::StartNew()
        $started = @(Start-ContainerHost -ErrorVariable failures -ErrorAction SilentlyContinue)
        $clock.Elapsed.TotalSeconds | Should -BeGreaterOrEqual 2 -Because 'high waits its delay of 2 s before the next one'

        $started.Name | Should -Be @('high', 'mid', 'low')
        $started | Should -BeOfType ([ContainerPS.Container])
        @($failures) | Should -HaveCount 1
        $failures[0].TargetObject | Should -Be 'broken'
        (Get-Container high, mid, low, running).State | Should -Be @('Running', 'Running', 'Running', 'Running')
        (Get-Container manual).State | Should -Be 'Stopped'
        (Get-Container running).Pid | Should -Be $before
        $high = (Get-Container high).LastStartedAt; $mid = (Get-Container mid).LastStartedAt; $low = (Get-Container low).LastStartedAt
        ($mid - $high).TotalSeconds | Should -BeGreaterOrEqual 2
        $low | Should -BeGreaterThan $mid

        # A second run has nothing left to start but broken.
        @(Start-ContainerHost -ErrorAction SilentlyContinue) | Should -BeNullOrEmpty

        $stopped = @(Stop-ContainerHost -Timeout 10 -Confirm:$false)
        $stopped.Name | Should -Be @('low', 'mid', 'high', 'running') -Because 'containers stop in the reverse of the start order'
        @(Get-Container | Where-Object State -EQ 'Running') | Should -BeNullOrEmpty
    }

    It 'bad values of the boot.autostart keys are refused and change nothing' -ForEach @(
        @{ Key = 'boot.autostart'; Value = 'yes' }
        @{ Key = 'boot.autostart.priority'; Value = '1.5' }
        @{ Key = 'boot.autostart.delay'; Value = '-1' }
        @{ Key = 'boot.autostart.delay'; Value = 'soon' }
    ) {
        $null = New-Container c1 busybox
        $e = Get-CommandError { Set-Container c1 -Config @{ $Key = $Value } }
        Get-ErrorId $e | Should -Be 'InvalidConfigValue'
        "$($e.CategoryInfo.Category)" | Should -Be 'InvalidArgument'
        (Get-Container c1).Config.Keys | Should -Not -Contain $Key
    }

    It 'Initialize-ContainerHost -BootUnit writes a unit whose ExecStart and ExecStop start and stop the containers' {
        $units = Join-Path $t.Base 'units'
        $null = New-Container web busybox -Config @{ 'boot.autostart' = $true }
        $out = @(Initialize-ContainerHost -BootUnit -UnitDirectory $units -WarningVariable warnings -WarningAction SilentlyContinue)
        $out[0] | Should -BeOfType ([ContainerPS.StoragePool])
        $boot = $out[1]
        $boot | Should -BeOfType ([ContainerPS.ContainerHostBoot])
        $boot.Path | Should -Be (Join-Path $units 'containerps.service')
        $boot.Changed | Should -BeTrue
        $boot.Enabled | Should -BeFalse -Because 'only /etc/systemd/system is enabled'
        if (-not (Test-Path /run/systemd/system)) { "$warnings" | Should -Match 'systemd is not the init here' }
        $unit = Get-Content $boot.Path
        $unit | Should -Contain 'Type=oneshot'
        $unit | Should -Contain 'KillMode=process'
        $unit | Should -Contain 'WantedBy=multi-user.target'
        $unit | Should -Contain "Environment=`"CONTAINERPS_ROOT=$($t.Root)`""
        (Initialize-ContainerHost -BootUnit -UnitDirectory $units -WarningAction SilentlyContinue)[1].Changed | Should -BeFalse

        # Run ExecStart and ExecStop as systemd would: the words, no shell, the unit's environment.
        $start = Split-UnitCommand (($unit | Where-Object { $_ -like 'ExecStart=*' }) -replace '^ExecStart=')
        $stop = Split-UnitCommand (($unit | Where-Object { $_ -like 'ExecStop=*' }) -replace '^ExecStop=')
        $start[-1] | Should -BeLike "Import-Module '*ContainerPS.psd1'; Start-ContainerHost"
        & $start[0] @($start[1..($start.Count - 1)])
        $LASTEXITCODE | Should -Be 0
        (Get-Container web).State | Should -Be 'Running'
        & $stop[0] @($stop[1..($stop.Count - 1)])
        $LASTEXITCODE | Should -Be 0
        (Get-Container web).State | Should -Be 'Stopped'
    }
}
