#Requires -Version 7.4
# The host-side part of the stock-kernel lane (build.ps1 -Task TestVm starts the guest and sets
# CONTAINERPS_TESTVM=CACHE|RUNDIR|PORT): what needs a login session ending or a reboot of a systemd
# host, driven over ssh. The guest's logind has KillUserProcesses=yes.

BeforeAll {
    if (-not $env:CONTAINERPS_TESTVM) { throw 'Run through build.ps1 -Task TestVm, which boots the guest.' }
    $script:Cache, $script:Run, $script:Port = $env:CONTAINERPS_TESTVM -split '\|'
    $script:Vm = $PSScriptRoot
    $script:Pwsh = (Get-Content (Join-Path $script:Run 'pwsh-in-guest') -ErrorAction SilentlyContinue) ?? '/opt/dotnet/dotnet /opt/powershell/tools/net10.0/any/unix/pwsh.dll'

    # A shell command in the guest (a new ssh login, so a new logind session); output lines.
    function Invoke-Guest([string] $Command) {
        $out = & bash (Join-Path $script:Vm 'ssh.sh') $script:Cache $script:Port $Command 2>&1
        if ($LASTEXITCODE -ne 0) { throw "guest: '$Command' failed ($LASTEXITCODE): $($out -join "`n")" }
        $out
    }

    # A pwsh script in the guest with the module imported, on the guest's default state root; its
    # output as JSON, converted back.
    function Invoke-GuestPwsh([string] $Script) {
        $full = "`$ErrorActionPreference = 'Stop'; `$ProgressPreference = 'SilentlyContinue'; Import-Module /root/cps/ContainerPS.psd1; & { $Script } | ConvertTo-Json -Depth 3 -Compress"
        $encoded = [Convert]::ToBase64String([Text.Encoding]::Unicode.GetBytes($full))
        $json = (Invoke-Guest "cd /root && $script:Pwsh -NoProfile -NonInteractive -EncodedCommand $encoded") -join "`n"
        if ($json.Trim()) { $json | ConvertFrom-Json }
    }

    function Wait-Guest([scriptblock] $Condition, [int] $Seconds, [string] $Because) {
        $deadline = [DateTime]::UtcNow.AddSeconds($Seconds)
        while ([DateTime]::UtcNow -lt $deadline) {
            if (& $Condition) { return }
            Start-Sleep -Seconds 1
        }
        throw "timed out after $Seconds s waiting for $Because"
    }
}

Describe 'a systemd host (the stock-kernel guest)' {
    It 'a container started in an ssh login session keeps running after logind ends the session' {
        $mark = "sleep 1$(Get-Random -Minimum 10000 -Maximum 99999)"   # this run's control process
        # In one login session: a detached control process (its cgroup printed), and a container.
        $out = Invoke-Guest "setsid $mark </dev/null >/dev/null 2>&1 & cat /proc/`$!/cgroup; cd /root && $script:Pwsh -NoProfile -NonInteractive -Command `"Import-Module /root/cps/ContainerPS.psd1; (New-Container sess busybox -Start).Pid`""
        $out[0] | Should -Match '^0::/user.slice/.*session-.*\.scope$' -Because 'ssh logins are logind sessions here, and the control process is in its scope'
        # logind kills what the session left when it ends (KillUserProcesses=yes): the control process goes ...
        Wait-Guest { -not ((Invoke-Guest "pgrep -x -f '$mark' || true") -join '').Trim() } 60 'logind to end the closed session'
        # ... the container and its monitor stay.
        $c = Invoke-GuestPwsh 'Get-Container sess | Select-Object State, Pid'
        $c.State | Should -Be 'Running'
        (Invoke-Guest 'cat /proc/$(cut -d" " -f1 /run/containerps/containers/sess/monitor.pid)/cgroup') | Should -Be '0::/containerps.monitor'
        (Invoke-GuestPwsh 'Invoke-ContainerExec sess -- echo alive') | Should -Be 'alive'
        $null = Invoke-GuestPwsh 'Remove-Container sess -Force'
    }

    It 'after a reboot the boot unit has started the boot.autostart containers in priority order, and stopped them at shutdown' {
        $boot = Invoke-GuestPwsh @'
$null = New-Container first busybox -Config @{ 'boot.autostart' = $true; 'boot.autostart.priority' = 10; 'boot.autostart.delay' = 3 }
$null = New-Container second busybox -Config @{ 'boot.autostart' = $true }
$null = New-Container manual busybox -Start
Initialize-ContainerHost -BootUnit | Select-Object -Last 1
'@
        $boot.Systemd | Should -BeTrue
        $boot.Enabled | Should -BeTrue
        (Invoke-Guest 'systemctl is-enabled containerps.service') | Should -Be 'enabled'
        # Start the unit in this boot too, so that the shutdown runs its ExecStop (Stop-ContainerHost).
        $null = Invoke-Guest 'systemctl start containerps.service'
        (Invoke-GuestPwsh 'Get-Container first, second, manual | ForEach-Object State') | Should -Be @('Running', 'Running', 'Running')

        # Reboot: QEMU runs with -no-reboot, so the guest powers off and boot.sh starts it again on the same disk.
        & bash (Join-Path $script:Vm 'ssh.sh') $script:Cache $script:Port 'systemctl reboot' 2>$null
        $pidFile = Join-Path $script:Run 'qemu.pid'
        $deadline = [DateTime]::UtcNow.AddSeconds(120)
        while ((Test-Path $pidFile) -and (Test-Path "/proc/$((Get-Content $pidFile -ErrorAction SilentlyContinue) -join '')") -and [DateTime]::UtcNow -lt $deadline) { Start-Sleep 1 }
        & bash (Join-Path $script:Vm 'stop.sh') $script:Run
        $bootOut = & bash (Join-Path $script:Vm 'boot.sh') $script:Cache $script:Run $script:Port "stage=$(Join-Path $script:Run 'stage')" 2>&1
        $LASTEXITCODE | Should -Be 0 -Because ($bootOut -join "`n")
        Write-Host "TestVm reboot: $($bootOut -join ' ')"

        Wait-Guest { (Invoke-Guest 'systemctl is-active containerps.service || true') -eq 'active' } 300 'containerps.service to finish starting'
        $after = Invoke-GuestPwsh 'Get-Container first, second, manual | Select-Object Name, State, LastStartedAt'
        ($after | ForEach-Object { "$($_.Name)=$($_.State)" }) | Should -Be @('first=Running', 'second=Running', 'manual=Stopped')
        $first = [DateTime]($after | Where-Object Name -EQ first).LastStartedAt
        $second = [DateTime]($after | Where-Object Name -EQ second).LastStartedAt
        ($second - $first).TotalSeconds | Should -BeGreaterOrEqual 3 -Because 'first has boot.autostart.delay 3 and a higher priority'
        # The shutdown ran Stop-ContainerHost, which listed the containers it stopped (journal of the last boot).
        $journal = (Invoke-Guest 'journalctl -b -1 -u containerps.service -o cat --no-pager') -join "`n"
        $journal | Should -Match 'manual'
        $journal | Should -Match 'first'
        $null = Invoke-GuestPwsh 'Get-Container | Remove-Container -Force'
    }
}
