# Shared helpers for the ContainerPS Pester tests: a private state root per test, snapshots of
# everything a command could leave behind (files and database rows), and child pwsh processes
# that can never hang a test run.
Set-StrictMode -Version Latest

$script:RepoRoot = (Resolve-Path (Join-Path $PSScriptRoot '../..')).Path
$script:ModulePath = Join-Path $script:RepoRoot 'ContainerPS.psd1'
$script:Current = $null
$script:SavedRoot = $null
$script:Children = [System.Collections.Generic.List[object]]::new()
# Remove-StorageVolume asks (ConfirmImpact High: the data goes); tests run non-interactively and mean it.
$global:PSDefaultParameterValues['Remove-StorageVolume:Confirm'] = $false

function Get-ModulePath { $script:ModulePath }
function Get-RepoRoot { $script:RepoRoot }

<#
.SYNOPSIS
    Creates a fresh directory under /tmp holding root/ (the state root, set as $env:CONTAINERPS_ROOT)
    and ext/ (a place for -Source directories outside the root). Returns Base, Root and Ext.
#>
function New-TestRoot {
    $base = Join-Path '/tmp' ('cps-pester-' + [guid]::NewGuid().ToString('N').Substring(0, 12))
    $root = Join-Path $base 'root'
    $ext = Join-Path $base 'ext'
    $null = New-Item -ItemType Directory -Path $base, $root, $ext -Force
    if ($null -eq $script:Current) { $script:SavedRoot = $env:CONTAINERPS_ROOT }
    $env:CONTAINERPS_ROOT = $root
    $script:Current = [pscustomobject]@{ Base = $base; Root = $root; Ext = $ext; Db = (Join-Path $root 'state.db') }
    $script:Current
}

<# Removes the current test root (whatever state it is in) and restores $env:CONTAINERPS_ROOT. #>
function Remove-TestRoot {
    Stop-ChildPwsh
    if ($null -ne $script:Current) {
        $base = $script:Current.Base
        if ($base -like '/tmp/cps-pester-*' -and (Test-Path -LiteralPath $base)) {
            Remove-Item -LiteralPath $base -Recurse -Force -ErrorAction SilentlyContinue
            if (Test-Path -LiteralPath $base) { & rm -rf -- $base }
        }
    }
    $script:Current = $null
    $env:CONTAINERPS_ROOT = $script:SavedRoot
}

<# Relative paths (with d/f/l type) of every entry below Path, sorted; the database files are left out. #>
function Get-TreeSnapshot {
    param([Parameter(Mandatory)] [string] $Path)
    if (-not (Test-Path -LiteralPath $Path)) { return '<missing>' }
    $entries = Get-ChildItem -LiteralPath $Path -Recurse -Force |
        Where-Object { $_.Name -notlike 'state.db*' } |
        ForEach-Object {
            $kind = if ($_.LinkType) { 'l' } elseif ($_.PSIsContainer) { 'd' } else { 'f' }
            "$kind $($_.FullName.Substring($Path.Length))"
        } | Sort-Object
    ($entries -join "`n")
}

<# The pool and volume rows of a state database, read with the sqlite3 CLI (which never repairs anything). #>
function Get-DbSnapshot {
    param([string] $Db = $script:Current.Db)
    if (-not (Test-Path -LiteralPath $Db)) { return '<no database>' }
    $out = & sqlite3 -readonly $Db @'
select 'pool', id, name, driver, source, owns_source, description, config, state, ifnull(op_pid, ''), ifnull(op_arg, '') from pools order by id;
select 'volume', id, pool_id, name, type, description, config, state, ifnull(op_pid, ''), ifnull(op_arg, '') from volumes order by id;
'@
    if ($LASTEXITCODE -ne 0) { throw "sqlite3 failed on $Db" }
    ($out -join "`n")
}

<# One SQL query's rows from the current state database as strings. #>
function Invoke-DbQuery {
    param([Parameter(Mandatory)] [string] $Sql)
    $out = & sqlite3 -readonly $script:Current.Db $Sql
    if ($LASTEXITCODE -ne 0) { throw "sqlite3 failed: $Sql" }
    @($out)
}

<# Everything a command could change: the whole test directory tree and the database rows. #>
function Get-StateSnapshot {
    "TREE`n" + (Get-TreeSnapshot $script:Current.Base) + "`nDB`n" + (Get-DbSnapshot)
}

<# The error ID part (before the first comma) of an ErrorRecord's FullyQualifiedErrorId. #>
# A type of the engine (ContainerPS.Engine.dll), which loads into the module's own load context,
# where PowerShell's [type] names do not reach: (Get-EngineType ContainerPS.Engine.ContainerHost)::Open(...).
function Get-EngineType([string] $Name) {
    $context = [System.Runtime.Loader.AssemblyLoadContext]::All | Where-Object Name -eq 'ContainerPS'
    $engine = $context.Assemblies | Where-Object { $_.GetName().Name -eq 'ContainerPS.Engine' }
    if (-not $engine) { throw "The engine is not loaded in the ContainerPS load context (import ContainerPS and run a command first)." }
    $engine.GetType($Name, $true)
}

function Get-ErrorId {
    param([Parameter(Mandatory)] [System.Management.Automation.ErrorRecord] $ErrorRecord)
    ($ErrorRecord.FullyQualifiedErrorId -split ',')[0]
}

# ------------------------------------------------------------------ child processes

<# What every child pwsh script starts with: stop on errors, no progress, plain output, the built module (unless -NoImport). #>
function Get-ChildPrefix {
    param([switch] $NoImport)
    $prefix = "`$ErrorActionPreference = 'Stop'; `$ProgressPreference = 'SilentlyContinue'; `$PSStyle.OutputRendering = 'PlainText'; `$PSDefaultParameterValues['Remove-StorageVolume:Confirm'] = `$false; "
    if (-not $NoImport) { $prefix += "Import-Module '$($script:ModulePath)'; " }
    $prefix
}

<# This pwsh as a command line: its executable (dotnet + pwsh.dll when it runs as the dotnet tool), -NoProfile -NonInteractive. #>
function Get-PwshCommand {
    $self = [Environment]::ProcessPath
    $pwsh = @($self)
    if ([IO.Path]::GetFileNameWithoutExtension($self) -eq 'dotnet') { $pwsh += (Join-Path $PSHOME 'pwsh.dll') }
    $pwsh + @('-NoProfile', '-NonInteractive')
}

<# The ProcessStartInfo of a child pwsh: redirected stdio, the repo (or WorkingDirectory) as working directory, this test's state root, no fault injection. #>
function New-ChildPwshStartInfo {
    param([hashtable] $Environment = @{}, [switch] $Terminal, [string] $WorkingDirectory = $script:RepoRoot)
    $psi = [System.Diagnostics.ProcessStartInfo]::new()
    $psi.UseShellExecute = $false
    $psi.RedirectStandardOutput = $true
    $psi.RedirectStandardError = $true
    $psi.RedirectStandardInput = $true
    $psi.WorkingDirectory = $WorkingDirectory
    foreach ($k in 'CONTAINERPS_FAULT', 'CONTAINERPS_FAULT_SIGNAL') { $null = $psi.Environment.Remove($k) }
    $psi.Environment['CONTAINERPS_ROOT'] = $env:CONTAINERPS_ROOT
    $psi.Environment['POWERSHELL_TELEMETRY_OPTOUT'] = '1'
    $psi.Environment['POWERSHELL_UPDATECHECK'] = 'Off'
    $psi.Environment['NO_COLOR'] = '1'
    if ($Terminal -and -not $psi.Environment['TERM']) { $psi.Environment['TERM'] = 'xterm' }
    foreach ($k in $Environment.Keys) { $psi.Environment[$k] = [string]$Environment[$k] }
    $psi
}

<#
.SYNOPSIS
    Starts pwsh in a child process running Script after importing the built module.
.PARAMETER ViaDotnetTool
    Start it exactly as a user would (dotnet pwsh, the repository's local tool), which runs pwsh in
    a second process below the dotnet muxer. Without it the child is one process (dotnet pwsh.dll),
    so its Id is the pid of the process that runs the engine.
.PARAMETER WorkingDirectory
    Where the child starts (the repository by default).
#>
function Start-ChildPwsh {
    param(
        [Parameter(Mandatory)] [string] $Script,
        [hashtable] $Environment = @{},
        [switch] $ViaDotnetTool,
        [switch] $NoImport,
        [string] $WorkingDirectory = $script:RepoRoot
    )
    $psi = New-ChildPwshStartInfo -Environment $Environment -WorkingDirectory $WorkingDirectory
    $pwsh = if ($ViaDotnetTool) { @('dotnet', 'pwsh', '-NoProfile', '-NonInteractive') } else { Get-PwshCommand }
    $psi.FileName = $pwsh[0]
    foreach ($a in @($pwsh | Select-Object -Skip 1) + @('-Command', ((Get-ChildPrefix -NoImport:$NoImport) + $Script))) { $psi.ArgumentList.Add($a) }
    $p = [System.Diagnostics.Process]::Start($psi)
    $p.StandardInput.Close()
    $child = [pscustomobject]@{
        Process = $p
        Id      = $p.Id
        Stdout  = $p.StandardOutput.ReadToEndAsync()
        Stderr  = $p.StandardError.ReadToEndAsync()
    }
    $script:Children.Add($child)
    $child
}

<# Waits for a child to exit (killing it after TimeoutSeconds); returns ExitCode, Stdout, Stderr, TimedOut. #>
function Wait-ChildPwsh {
    param([Parameter(Mandatory)] $Child, [int] $TimeoutSeconds = 60)
    $timedOut = -not $Child.Process.WaitForExit($TimeoutSeconds * 1000)
    if ($timedOut) {
        try { $Child.Process.Kill($true) } catch { }
        $null = $Child.Process.WaitForExit(10000)
    }
    $Child.Process.WaitForExit() # flushes the redirected streams
    [pscustomobject]@{
        ExitCode = $Child.Process.ExitCode
        Stdout   = $Child.Stdout.Result
        Stderr   = $Child.Stderr.Result
        TimedOut = $timedOut
    }
}

<# Kills (by pid) every child this module started that still runs, and reaps it. #>
function Stop-ChildPwsh {
    foreach ($c in $script:Children) {
        try {
            if (-not $c.Process.HasExited) {
                $c.Process.Kill($true)
                $null = $c.Process.WaitForExit(10000)
            }
        } catch { }
        $c.Process.Dispose()
    }
    $script:Children.Clear()
}

<# Waits until File exists (the engine's fault signal), failing early if the child exits first. #>
function Wait-SignalFile {
    param([Parameter(Mandatory)] [string] $File, [Parameter(Mandatory)] $Child, [int] $TimeoutSeconds = 60)
    $deadline = [DateTime]::UtcNow.AddSeconds($TimeoutSeconds)
    while (-not (Test-Path -LiteralPath $File)) {
        if ($Child.Process.HasExited) {
            $r = Wait-ChildPwsh $Child
            throw "The child exited ($($r.ExitCode)) before reaching the fault point. stdout: $($r.Stdout) stderr: $($r.Stderr)"
        }
        if ([DateTime]::UtcNow -gt $deadline) { throw "The child did not reach the fault point within $TimeoutSeconds s." }
        Start-Sleep -Milliseconds 50
    }
    Get-Content -LiteralPath $File -Raw
}

<# SIGKILLs one child by its pid and waits until it is gone (reaped, so /proc no longer shows it). #>
function Stop-ChildHard {
    param([Parameter(Mandatory)] $Child)
    & /usr/bin/kill -9 $Child.Id
    if (-not $Child.Process.WaitForExit(30000)) { throw "Process $($Child.Id) did not die after SIGKILL." }
    $Child.Process.WaitForExit()
    $Child.Process.ExitCode
}

# ------------------------------------------------------------------ containers

<#
.SYNOPSIS
    New-TestRoot for container tests: the same Base/Root/Ext (plus Run, the runtime dir ROOT/run),
    with Base and Root at mode 0711 so the container's mapped ids can traverse to its bundle.
#>
function New-ContainerTestRoot {
    $t = New-TestRoot
    & chmod 0711 -- $t.Base $t.Root
    if ($LASTEXITCODE -ne 0) { throw "chmod 0711 $($t.Base) failed" }
    $t | Add-Member -NotePropertyName Run -NotePropertyValue (Join-Path $t.Root 'run') -PassThru
}

<# Polls Condition every 20 ms until it returns a true value (which is returned) or TimeoutSeconds pass (then throws Because). #>
function Wait-Until {
    param([Parameter(Mandatory)] [scriptblock] $Condition, [double] $TimeoutSeconds = 10, [string] $Because = 'the condition')
    $deadline = [DateTime]::UtcNow.AddSeconds($TimeoutSeconds)
    while ($true) {
        $r = & $Condition
        if ($r) { return $r }
        if ([DateTime]::UtcNow -gt $deadline) { throw "Timed out after $TimeoutSeconds s waiting for $Because." }
        Start-Sleep -Milliseconds 20
    }
}

<# The pid of a container's monitor: the first field of RUNTIME/containers/NAME/monitor.pid ("PID STARTTIME"), or $null. #>
function Get-MonitorPid {
    param([Parameter(Mandatory)] [string] $Name, [string] $Run = (Join-Path $env:CONTAINERPS_ROOT 'run'))
    $file = Join-Path $Run "containers/$Name/monitor.pid"
    if (-not (Test-Path -LiteralPath $file)) { return $null }
    [int]((Get-Content -LiteralPath $file -Raw).Trim() -split ' ')[0]
}

<# Mount points (from /proc/self/mountinfo) at or below Path. #>
function Get-MountsBelow {
    param([Parameter(Mandatory)] [string] $Path)
    @(Get-Content /proc/self/mountinfo | ForEach-Object { ($_ -split ' ')[4] } |
            Where-Object { $_ -eq $Path -or $_.StartsWith($Path.TrimEnd('/') + '/') })
}

<# Container ids runc knows in the runtime dir's runc root (runc --root RUN/runc list -q). #>
function Get-RuncContainer {
    param([string] $Run = (Join-Path $env:CONTAINERPS_ROOT 'run'))
    $runcRoot = Join-Path $Run 'runc'
    if (-not (Test-Path -LiteralPath $runcRoot)) { return @() }
    @(& runc --root $runcRoot list -q 2>$null | Where-Object { $_ })
}

<# The runc id of a container's current (or last) start: runc knows each start as NAME-XXXXXXXX. #>
function Get-RuncId {
    param([Parameter(Mandatory)] [string] $Container, [string] $Run = (Join-Path $env:CONTAINERPS_ROOT 'run'))
    (Get-Content -LiteralPath (Join-Path $Run "containers/$Container/runtime-id")).Trim()
}

<# The cgroup directories of one start (runc id) that exist, in every hierarchy (v1) or the unified one (v2). #>
function Get-RuncCgroup {
    param([Parameter(Mandatory)] [string] $RuncId)
    @(Get-ChildItem "/sys/fs/cgroup/*/containerps/$RuncId", "/sys/fs/cgroup/containerps/$RuncId" -Directory -ErrorAction SilentlyContinue)
}

<#
.SYNOPSIS
    Everything a container command could change: the test directory tree, the rows of every table
    (op columns included) and, for each container directory in the runtime dir, whether it runs and
    under which pid.
.PARAMETER IgnoreLocks
    Leave out the per-container lock files (ROOT/locks/NAME.lock), which the engine keeps.
#>
function Get-ContainerStateSnapshot {
    param([switch] $IgnoreLocks)
    $db = $script:Current.Db
    $rows = if (Test-Path -LiteralPath $db) {
        & sqlite3 -readonly $db @'
select 'setting', key, value from settings order by key;
select 'pool', id, name, driver, source, config, state, ifnull(op_pid, '') from pools order by id;
select 'volume', id, pool_id, name, type, config, state, ifnull(op_pid, '') from volumes order by id;
select 'image', id, fingerprint, ifnull(alias, ''), state, ifnull(op_pid, '') from images order by id;
select 'container', id, name, uuid, image, pool_id, privileged, isolated, ifnull(idmap_base, ''), ifnull(idmap_size, ''), config, devices, ifnull(last_started_at, ''), state, ifnull(op_pid, '') from containers order by id;
select 'snapshot', id, container_id, name, stateful, state, ifnull(op_pid, '') from snapshots order by id;
select 'network', id, name, config from networks order by id;
select 'attachment', container_id, network_id, ifname, options, ifnull(add_config, ''), ifnull(result, '') from container_networks order by container_id, network_id;
select 'device', container_id, volume_id, name, path, readonly from container_volumes order by container_id, volume_id;
'@
    } else { '<no database>' }
    $run = Join-Path $script:Current.Root 'run'
    $procs = foreach ($dir in @(Get-ChildItem -LiteralPath (Join-Path $run 'containers') -Directory -ErrorAction SilentlyContinue | Sort-Object Name)) {
        $pidFile = Join-Path $dir.FullName 'init.pid'
        $initPid = if (Test-Path -LiteralPath $pidFile) { (Get-Content -LiteralPath $pidFile -Raw).Trim() } else { '' }
        "run $($dir.Name) init=$initPid alive=$(if ($initPid) { Test-Path "/proc/$initPid" } else { $false })"
    }
    $tree = Get-TreeSnapshot $script:Current.Base
    if ($IgnoreLocks) { $tree = ($tree -split "`n" | Where-Object { $_ -notmatch '^f /root/locks/[^/]+\.lock$' }) -join "`n" }
    "TREE`n" + $tree + "`nDB`n" + ($rows -join "`n") + "`nRUNTIME`n" + ($procs -join "`n") +
    "`nRUNC`n" + ((Get-RuncContainer $run) -join "`n") + "`nMOUNTS`n" + ((Get-MountsBelow $script:Current.Base) -join "`n")
}

<#
.SYNOPSIS
    Removes every container of the current test root whatever state it is in: Remove-Container -Force
    first, then (for what that could not handle) runc kill/delete, the monitors and inits by their pid
    files, and lazy unmounts of anything still mounted below the test directory.
#>
function Remove-TestContainers {
    if ($null -eq $script:Current) { return }
    $run = Join-Path $script:Current.Root 'run'
    try {
        $names = @(Get-Container -ErrorAction SilentlyContinue | ForEach-Object Name)
        foreach ($n in $names) { Remove-Container -Name $n -Force -Confirm:$false -ErrorAction SilentlyContinue -WarningAction SilentlyContinue }
    } catch { }
    foreach ($id in @(Get-RuncContainer $run)) {
        & runc --root (Join-Path $run 'runc') kill $id KILL 2>$null
        & runc --root (Join-Path $run 'runc') delete --force $id 2>$null
    }
    foreach ($dir in @(Get-ChildItem -LiteralPath (Join-Path $run 'containers') -Directory -ErrorAction SilentlyContinue)) {
        foreach ($file in 'init.pid', 'monitor.pid') {
            $path = Join-Path $dir.FullName $file
            if (-not (Test-Path -LiteralPath $path)) { continue }
            $p = ((Get-Content -LiteralPath $path -Raw).Trim() -split ' ')[0]
            if ($p -notmatch '^\d+$' -or [int]$p -le 1 -or -not (Test-Path "/proc/$p")) { continue }
            # Only what is really ours: the monitor by its name, an init by its container cgroup.
            $ours = if ($file -eq 'monitor.pid') { (Get-Content "/proc/$p/comm" -ErrorAction SilentlyContinue) -eq 'cps-monitor' }
            else { [bool](Get-Content "/proc/$p/cgroup" -ErrorAction SilentlyContinue | Select-String -SimpleMatch ':/containerps/') }
            if ($ours) { & /usr/bin/kill -9 $p 2>$null }
        }
    }
    foreach ($m in @(Get-MountsBelow $script:Current.Base | Sort-Object Length -Descending)) { & umount -l -- $m 2>$null }
}

# ------------------------------------------------------------------ streaming children (exec tests)

<#
.SYNOPSIS
    Like Start-ChildPwsh, but the child's stdin stays open (write to .Process.StandardInput) and its
    stdout is read line by line as it comes (Read-ChildLine, Wait-ChildLine, Complete-ChildPwsh).
.PARAMETER Terminal
    Run the child under script(1), so its stdin, stdout and stderr are a pty (a terminal). Its Id is
    then script's pid, not pwsh's; stdout carries the terminal's output (CRLF line ends).
#>
function Start-StreamingChildPwsh {
    param(
        [Parameter(Mandatory)] [string] $Script,
        [hashtable] $Environment = @{},
        [switch] $Terminal
    )
    $prefix = Get-ChildPrefix
    $pwsh = Get-PwshCommand
    $psi = New-ChildPwshStartInfo -Environment $Environment -Terminal:$Terminal
    if ($Terminal) {
        # script runs its command with sh -c: single-quoted words, the script itself base64-encoded.
        $encoded = [Convert]::ToBase64String([Text.Encoding]::Unicode.GetBytes($prefix + $Script))
        $line = (($pwsh | ForEach-Object { "'" + ($_ -replace "'", "'\''") + "'" }) -join ' ') + " -EncodedCommand $encoded"
        $psi.FileName = 'script'
        foreach ($a in '-qefc', $line, '/dev/null') { $psi.ArgumentList.Add($a) }
    } else {
        # SIGHUP at its default, whoever started this run: a runner under nohup passes SIGHUP on
        # ignored, and .NET then never reports it, so a test sending it would wait in vain.
        # env execs pwsh (the same pid).
        $psi.FileName = 'env'
        foreach ($a in @('--default-signal=HUP') + $pwsh + @('-Command', ($prefix + $Script))) { $psi.ArgumentList.Add($a) }
    }
    $p = [System.Diagnostics.Process]::Start($psi)
    $child = [pscustomobject]@{
        Process = $p
        Id      = $p.Id
        Lines   = [System.Collections.Generic.List[string]]::new()
        Pending = $null
        Stderr  = $p.StandardError.ReadToEndAsync()
    }
    $script:Children.Add($child)
    $child
}

<# The child's next stdout line ($null at end of file); throws after TimeoutSeconds. Lines read are also kept in .Lines. #>
function Read-ChildLine {
    param([Parameter(Mandatory)] $Child, [double] $TimeoutSeconds = 20)
    if ($null -eq $Child.Pending) { $Child.Pending = $Child.Process.StandardOutput.ReadLineAsync() }
    if (-not $Child.Pending.Wait([TimeSpan]::FromSeconds($TimeoutSeconds))) {
        throw "No line from child $($Child.Id) within $TimeoutSeconds s. So far:`n$($Child.Lines -join "`n")"
    }
    $line = $Child.Pending.Result
    $Child.Pending = $null
    if ($null -ne $line) { $Child.Lines.Add($line) }
    $line
}

<# Reads the child's stdout lines until one matches Pattern; returns the lines read (the match last). Throws at end of file or timeout. #>
function Wait-ChildLine {
    param([Parameter(Mandatory)] $Child, [Parameter(Mandatory)] [string] $Pattern, [double] $TimeoutSeconds = 20)
    $deadline = [DateTime]::UtcNow.AddSeconds($TimeoutSeconds)
    $got = [System.Collections.Generic.List[string]]::new()
    while ($true) {
        $left = ($deadline - [DateTime]::UtcNow).TotalSeconds
        if ($left -le 0) { throw "No line matching '$Pattern' from child $($Child.Id) within $TimeoutSeconds s. So far:`n$($Child.Lines -join "`n")" }
        $line = Read-ChildLine $Child -TimeoutSeconds $left
        if ($null -eq $line) {
            $null = $Child.Process.WaitForExit(10000)
            $err = if ($Child.Stderr.IsCompleted) { $Child.Stderr.Result } else { '' }
            throw "The child ended before a line matching '$Pattern'. stdout:`n$($Child.Lines -join "`n")`nstderr:`n$err"
        }
        $got.Add($line)
        if ($line -match $Pattern) { return , $got.ToArray() }
    }
}

<# Closes the child's stdin, reads the rest of its stdout and waits for it to exit (killing it after TimeoutSeconds); returns ExitCode, Lines (all of them), Stderr, TimedOut. #>
function Complete-ChildPwsh {
    param([Parameter(Mandatory)] $Child, [double] $TimeoutSeconds = 30)
    try { $Child.Process.StandardInput.Close() } catch { }
    $deadline = [DateTime]::UtcNow.AddSeconds($TimeoutSeconds)
    $timedOut = $false
    try {
        while ($null -ne (Read-ChildLine $Child -TimeoutSeconds ([Math]::Max(0.1, ($deadline - [DateTime]::UtcNow).TotalSeconds)))) { }
    } catch { $timedOut = $true }
    if ($timedOut -or -not $Child.Process.WaitForExit([int][Math]::Max(100, ($deadline - [DateTime]::UtcNow).TotalMilliseconds))) {
        $timedOut = $true
        try { $Child.Process.Kill($true) } catch { }
        $null = $Child.Process.WaitForExit(10000)
    }
    [pscustomobject]@{
        ExitCode = if ($Child.Process.HasExited) { $Child.Process.ExitCode } else { $null }
        Lines    = $Child.Lines.ToArray()
        Stderr   = if ($Child.Stderr.Wait(5000)) { $Child.Stderr.Result } else { '' }
        TimedOut = $timedOut
    }
}

# ------------------------------------------------------------------ errors, workloads and networks

<#
.SYNOPSIS
    The first error Script writes or throws, or $null. Non-terminating errors are taken from the
    error stream (2>&1), so this works from a module whatever the caller's ErrorActionPreference.
#>
function Get-CommandError {
    param([Parameter(Mandatory)] [scriptblock] $Script)
    try {
        & $Script 2>&1 | Where-Object { $_ -is [System.Management.Automation.ErrorRecord] } | Select-Object -First 1
    }
    catch { $_ }
}

<# Runs sh -c Command in a running container (as -User) and returns its output; throws when it exits non-zero. #>
function Invoke-In {
    param([Parameter(Mandatory)] [string] $Container, [Parameter(Mandatory)] [string] $Command, [int] $User = 0)
    $out = Invoke-ContainerExec -Name $Container -User $User -Command sh, -c, $Command
    if ($LASTEXITCODE -ne 0) { throw "'$Command' in $Container exited with $LASTEXITCODE" }
    $out
}

<# Writes a script into the container's /root and starts it in the background with Invoke-ContainerExec. #>
function Start-ContainerWorkload {
    param([Parameter(Mandatory)] [string] $Container, [Parameter(Mandatory)] [string] $Name, [Parameter(Mandatory)] [string] $Script,
        [string] $Pool = 'default')
    $path = Join-Path (Get-StorageVolume -Pool $Pool -Type container -Name $Container).Path "root/$Name.sh"
    Set-Content -LiteralPath $path -Value $Script -NoNewline
    Invoke-ContainerExec -Name $Container -Command sh, -c, "sh /root/$Name.sh </dev/null >/dev/null 2>&1 &" | Out-Null
}

<# A file inside a running container, or $null while it does not exist. #>
function Read-ContainerFile {
    param([Parameter(Mandatory)] [string] $Container, [Parameter(Mandatory)] [string] $File)
    $out = Invoke-ContainerExec -Name $Container -Command cat, $File -ErrorAction SilentlyContinue
    if ($LASTEXITCODE -ne 0) { return $null }
    $out -join "`n"
}

# ------------------------------------------------------------------ filesystems

$script:LoopFiles = [System.Collections.Generic.List[string]]::new()

<#
.SYNOPSIS
    Formats a sparse loop file (ext4 or btrfs, 256 MB) under the test directory and mounts it at
    Path (created), with mount -o loop; Remove-TestFilesystem unmounts it and frees the loop device.
    Call it inside the private mount namespace the tests run in.
#>
function New-TestFilesystem {
    param([Parameter(Mandatory)] [ValidateSet('ext4', 'btrfs')] [string] $Type, [Parameter(Mandatory)] [string] $Path)
    $file = Join-Path $script:Current.Base ("$Type-" + [guid]::NewGuid().ToString('N').Substring(0, 8) + '.img')
    & truncate -s 256M -- $file
    $out = if ($Type -eq 'ext4') { & mkfs.ext4 -q -F -- $file 2>&1 } else { & mkfs.btrfs -q -f -- $file 2>&1 }
    if ($LASTEXITCODE -ne 0) { throw "mkfs.$Type failed: $out" }
    $null = New-Item -ItemType Directory -Force -Path $Path
    $out = & mount -o loop -- $file $Path 2>&1
    if ($LASTEXITCODE -ne 0) { throw "mount -o loop $file failed: $out" }
    $script:LoopFiles.Add($file)
    & chmod 0711 -- $Path
}

<# Unmounts what New-TestFilesystem mounted and detaches their loop devices (also after a failed test). #>
function Remove-TestFilesystem {
    foreach ($file in @($script:LoopFiles)) {
        foreach ($line in @(& losetup -j $file 2>$null)) {
            $dev = ($line -split ':')[0]
            foreach ($m in @(Get-Content /proc/self/mountinfo | Where-Object { ($_ -split ' ')[9] -eq $dev } | ForEach-Object { ($_ -split ' ')[4] } | Sort-Object Length -Descending)) {
                & umount -l -- $m 2>$null
            }
            & losetup -d $dev 2>$null
        }
    }
    $script:LoopFiles.Clear()
}

<#
.SYNOPSIS
    Mounts an overlayfs at Path whose upper and work directories are in Under: a filesystem that
    refuses idmapped mounts (EINVAL), like zfs-fuse, for the chown fallback.
#>
function New-TestOverlay {
    param([Parameter(Mandatory)] [string] $Path, [Parameter(Mandatory)] [string] $Under)
    foreach ($d in 'lower', 'upper', 'work') { $null = New-Item -ItemType Directory -Force -Path (Join-Path $Under $d) }
    $null = New-Item -ItemType Directory -Force -Path $Path
    $opts = "lowerdir=$(Join-Path $Under 'lower'),upperdir=$(Join-Path $Under 'upper'),workdir=$(Join-Path $Under 'work')"
    $out = & mount -t overlay overlay -o $opts -- $Path 2>&1
    if ($LASTEXITCODE -ne 0) { throw "mount -t overlay failed: $out" }
    & chmod 0711 -- $Path
}

<#
.SYNOPSIS
    The zfs-fuse daemon for the tests: started with its own pidfile (a stale one deleted first) and
    xattr support, unless a zfs daemon already answers (then it is used and left alone). Returns an
    object for Stop-TestZfs.
#>
function Start-TestZfs {
    $probe = { & zpool list -H 2>&1 | Out-Null; $LASTEXITCODE -eq 0 }
    if (& $probe) {
        # A daemon in another mount namespace (Debian's zfs-fuse.service, when the tests run in a
        # private one) mounts datasets where this process cannot see them: files would go under the mountpoints.
        $here = & readlink /proc/self/ns/mnt
        $daemons = @(Get-ChildItem /proc -Directory | Where-Object { $_.Name -match '^\d+$' -and (Get-Content "$($_.FullName)/comm" -ErrorAction SilentlyContinue) -eq 'zfs-fuse' })
        if ($daemons -and -not ($daemons | Where-Object { (& readlink "$($_.FullName)/ns/mnt") -eq $here })) {
            throw "The zfs-fuse daemon (pid $($daemons.Name -join ', ')) runs in another mount namespace: its mounts are not visible here. Stop it (systemctl stop zfs-fuse) so that the tests start their own."
        }
        return [pscustomobject]@{ PidFile = $null }
    }
    $pidFile = Join-Path ([IO.Path]::GetTempPath()) "cps-zfs-fuse-$PID.pid"
    Remove-Item -LiteralPath $pidFile -Force -ErrorAction SilentlyContinue
    & zfs-fuse --no-kstat-mount --pidfile $pidFile -x 2>&1 | Out-Null
    if ($LASTEXITCODE -ne 0) { throw "zfs-fuse did not start ($LASTEXITCODE)" }
    Wait-Until -TimeoutSeconds 20 -Because 'zfs-fuse to answer' { (Test-Path -LiteralPath $pidFile) -and (& $probe) } | Out-Null
    [pscustomobject]@{ PidFile = $pidFile }
}

<# Stops the daemon Start-TestZfs started, by the pid in its pidfile, and waits until it is gone. #>
function Stop-TestZfs {
    param($Zfs)
    if ($null -eq $Zfs -or $null -eq $Zfs.PidFile -or -not (Test-Path -LiteralPath $Zfs.PidFile)) { return }
    $zpid = [int](Get-Content -LiteralPath $Zfs.PidFile -Raw).Trim()
    if ((Get-Content "/proc/$zpid/comm" -ErrorAction SilentlyContinue) -eq 'zfs-fuse') {
        & /usr/bin/kill -TERM $zpid
        $deadline = [DateTime]::UtcNow.AddSeconds(30)
        while ((Test-Path "/proc/$zpid") -and (Get-Content "/proc/$zpid/stat" -Raw -ErrorAction SilentlyContinue) -notmatch '\) Z ' -and [DateTime]::UtcNow -lt $deadline) { Start-Sleep -Milliseconds 100 }
        if ((Test-Path "/proc/$zpid") -and (Get-Content "/proc/$zpid/stat" -Raw -ErrorAction SilentlyContinue) -notmatch '\) Z ') { & /usr/bin/kill -KILL $zpid }
    }
    Remove-Item -LiteralPath $Zfs.PidFile -Force -ErrorAction SilentlyContinue
}

# ------------------------------------------------------------------ ceph

<#
.SYNOPSIS
    The throwaway Ceph cluster the ceph tests use: the one build.ps1 started for the whole run
    ($env:CEPH_CONF, marked by $env:CONTAINERPS_TEST_CEPH_DIR), else one started here with
    tests/ceph-cluster.sh (one mon, one memstore OSD on 127.0.0.1) and stopped by Stop-TestCeph.
    Sets $env:CEPH_CONF; returns Conf and Dir (Dir only when this call started it).
#>
function Start-TestCeph {
    if ($env:CONTAINERPS_TEST_CEPH_DIR -and $env:CEPH_CONF -and (Test-Path -LiteralPath $env:CEPH_CONF)) {
        return [pscustomobject]@{ Conf = $env:CEPH_CONF; Dir = $null; Saved = $env:CEPH_CONF }
    }
    $saved = $env:CEPH_CONF
    $dir = Join-Path '/tmp' ('cps-ceph-' + [guid]::NewGuid().ToString('N').Substring(0, 8))
    $conf = & bash (Join-Path $script:RepoRoot 'tests/ceph-cluster.sh') start $dir
    if ($LASTEXITCODE -ne 0) { throw "the test Ceph cluster did not start ($LASTEXITCODE)" }
    $env:CEPH_CONF = "$conf".Trim()
    [pscustomobject]@{ Conf = $env:CEPH_CONF; Dir = $dir; Saved = $saved }
}

<# Stops a cluster Start-TestCeph started (by the pids in its pid files) and restores $env:CEPH_CONF. #>
function Stop-TestCeph {
    param($Ceph)
    if ($null -eq $Ceph) { return }
    if ($Ceph.Dir) { & bash (Join-Path $script:RepoRoot 'tests/ceph-cluster.sh') stop $Ceph.Dir }
    $env:CEPH_CONF = $Ceph.Saved
}

<#
.SYNOPSIS
    What a ceph pool maps below the current test directory, torn down whatever state it is in:
    volume mounts, then loop devices on rbd-fuse files, then the rbd-fuse mounts (their daemons
    exit when unmounted). Run before Remove-TestContainers' lazy unmounts, which would leave the
    loop devices attached.
#>
function Remove-TestCephMappings {
    if ($null -eq $script:Current) { return }
    $base = $script:Current.Base
    $mounts = @(Get-Content /proc/self/mountinfo | ForEach-Object { $f = $_ -split ' '; [pscustomobject]@{ Path = $f[4]; Type = ($_ -split ' - ')[1].Split(' ')[0] } } |
            Where-Object { $_.Path.StartsWith($base + '/') })
    foreach ($m in @($mounts | Where-Object Type -NotLike 'fuse*' | Sort-Object { $_.Path.Length } -Descending)) { & umount -l -- $m.Path 2>$null }
    foreach ($line in @(& losetup -l -n -O NAME,BACK-FILE 2>$null)) {
        $dev, $file = "$line".Trim() -split '\s+', 2
        if ($file -and $file.StartsWith($base + '/')) { & losetup -d $dev 2>$null }
    }
    foreach ($m in @($mounts | Where-Object Type -Like 'fuse*')) { & umount -- $m.Path 2>$null; if ($LASTEXITCODE -ne 0) { & umount -l -- $m.Path 2>$null } }
}

<# RBD images (and image@snapshot) of an OSD pool, from rbd ls -l --format json. #>
function Get-RbdImages {
    param([Parameter(Mandatory)] [string] $OsdPool)
    $json = & rbd ls -l --format json $OsdPool 2>$null
    if (-not $json) { return @() }
    @($json | ConvertFrom-Json | ForEach-Object { if ($_.PSObject.Properties['snapshot']) { "$($_.image)@$($_.snapshot)" } else { $_.image } } | Sort-Object)
}

<# The parent (pool/image@snapshot) of an RBD image, or '' for one that is not a clone. #>
function Get-RbdParent {
    param([Parameter(Mandatory)] [string] $Spec)
    $info = & rbd info --format json $Spec | ConvertFrom-Json
    if ($info.PSObject.Properties['parent']) { "$($info.parent.pool)/$($info.parent.image)@$($info.parent.snapshot)" } else { '' }
}

$script:Bridges = [System.Collections.Generic.List[string]]::new()

<#
.SYNOPSIS
    A bridge + host-local network for tests: a bridge name unique to this run (deleted by
    Remove-TestBridge), no gateway and no NAT, IPAM files under the current state root. Returns the
    network; -Extra appends plugins (after bridge) to the conflist.
#>
function New-TestBridgeNetwork {
    param([Parameter(Mandatory)] [string] $Name, [Parameter(Mandatory)] [string] $Subnet, [string[]] $Nameserver,
        [string] $Version = '1.0.0', [hashtable[]] $Extra = @())
    $bridge = 'cpt' + [guid]::NewGuid().ToString('N').Substring(0, 8)
    $script:Bridges.Add($bridge)
    $bridgeConf = [ordered]@{
        type = 'bridge'; bridge = $bridge; isGateway = $false; isDefaultGateway = $false; ipMasq = $false
        ipam = [ordered]@{ type = 'host-local'; dataDir = (Join-Path $env:CONTAINERPS_ROOT 'ipam'); ranges = @(, @(@{ subnet = $Subnet })) }
    }
    if ($Nameserver) { $bridgeConf.dns = @{ nameservers = $Nameserver } }
    New-ContainerNetwork -Name $Name -Config ([ordered]@{ cniVersion = $Version; plugins = @($bridgeConf) + $Extra })
}

<# Removes the test root's CNI networks (DEL already done by Remove-TestContainers), then the bridges the tests made. #>
function Remove-TestNetworks {
    Get-ContainerNetwork -ErrorAction SilentlyContinue | Remove-ContainerNetwork -ErrorAction SilentlyContinue
    Remove-TestBridge
}

<# Registers a bridge a test made by hand, so Remove-TestBridge deletes it too. #>
function Add-TestBridge { param([Parameter(Mandatory)] [string] $Name) $script:Bridges.Add($Name) }

<# Deletes the bridges the tests made (host-wide devices). #>
function Remove-TestBridge {
    foreach ($b in $script:Bridges) { & ip link del $b 2>$null }
    $script:Bridges.Clear()
}

# ------------------------------------------------------------------ a second host over SSH

<#
.SYNOPSIS
    Starts a throwaway sshd on 127.0.0.1 whose 'powershell' subsystem runs this pwsh with
    CONTAINERPS_ROOT set to Root: a second ContainerPS host with its own state and runtime dirs,
    on the same kernel. Returns Port, KeyFile, PidFile and Dir; Stop-TestSshHost stops it by PID.
#>
function Start-TestSshHost {
    param([Parameter(Mandatory)] [string] $Root, [Parameter(Mandatory)] [string] $Dir)
    $null = New-Item -ItemType Directory -Force -Path $Dir
    & ssh-keygen -q -t ed25519 -N '' -f "$Dir/host" | Out-Null
    & ssh-keygen -q -t ed25519 -N '' -f "$Dir/user" | Out-Null
    $dotnet = (Get-Process -Id $PID).Path
    @('#!/bin/sh', "export CONTAINERPS_ROOT='$Root'", "exec '$dotnet' '$PSHOME/pwsh.dll' -sshs -NoLogo -NoProfile") | Set-Content "$Dir/pwsh-subsystem"
    & chmod 0755 "$Dir/pwsh-subsystem"
    $null = New-Item -ItemType Directory -Force /run/sshd   # sshd's privilege-separation directory
    $sshd = (Get-Command sshd -CommandType Application | Select-Object -First 1).Source
    foreach ($attempt in 1..5) {
        $port = Get-Random -Minimum 30000 -Maximum 60000
        @("Port $port", 'ListenAddress 127.0.0.1', "HostKey $Dir/host", "PidFile $Dir/sshd.pid", "AuthorizedKeysFile $Dir/user.pub",
            'PermitRootLogin prohibit-password', 'PasswordAuthentication no', 'KbdInteractiveAuthentication no', 'UsePAM no', 'StrictModes no',
            "Subsystem powershell $Dir/pwsh-subsystem") | Set-Content "$Dir/sshd_config"
        Remove-Item "$Dir/sshd.pid" -ErrorAction SilentlyContinue
        & $sshd -f "$Dir/sshd_config" -E "$Dir/sshd.log"
        $deadline = [DateTime]::UtcNow.AddSeconds(5)
        while (-not (Test-Path "$Dir/sshd.pid") -and [DateTime]::UtcNow -lt $deadline) { Start-Sleep -Milliseconds 20 }
        if (Test-Path "$Dir/sshd.pid") {
            return [pscustomobject]@{ Port = $port; KeyFile = "$Dir/user"; PidFile = "$Dir/sshd.pid"; Dir = $Dir }
        }
    }
    throw "sshd did not start: $(Get-Content "$Dir/sshd.log" -Raw -ErrorAction SilentlyContinue)"
}

<# A PSSession to a Start-TestSshHost host, with the built module imported there. #>
function New-TestSshSession {
    param([Parameter(Mandatory)] $SshHost)
    $s = New-PSSession -HostName 127.0.0.1 -Port $SshHost.Port -UserName root -KeyFilePath $SshHost.KeyFile `
        -Options @{ StrictHostKeyChecking = 'no'; UserKnownHostsFile = '/dev/null'; LogLevel = 'ERROR' } -ErrorAction Stop
    Invoke-Command -Session $s -ScriptBlock { param($m) Import-Module $m -ErrorAction Stop } -ArgumentList $script:ModulePath
    $s
}

<# Stops the sshd (by the pid in its pid file; the sessions it serves end with their clients). #>
function Stop-TestSshHost {
    param($SshHost)
    if ($null -eq $SshHost -or -not (Test-Path $SshHost.PidFile)) { return }
    $p = (Get-Content $SshHost.PidFile -Raw).Trim()
    if ($p -match '^\d+$') { & kill -TERM $p 2>$null }
}


<# Writes an MBR (dos) partition table into File, a disk image: one Linux partition from sector 2048 to the end, and the 0x55AA signature. #>
function Write-TestMbr([Parameter(Mandatory)] [string] $File) {
    $fs = [IO.File]::OpenWrite($File)
    try {
        $fs.Position = 446; $fs.Write([byte[]](0, 0, 0, 0, 0x83, 0, 0, 0, 0x00, 0x08, 0, 0, 0x00, 0xF8, 0x01, 0), 0, 16)
        $fs.Position = 510; $fs.Write([byte[]](0x55, 0xAA), 0, 2)
    }
    finally { $fs.Close() }
}

# ------------------------------------------------------------------ two hosts (Move-Container)

<#
.SYNOPSIS
    Two ContainerPS hosts on this machine for Move-Container: a container test root (the source:
    this pwsh), a destination state root reached by PowerShell remoting over SSH to 127.0.0.1 (a
    throwaway sshd with the powershell subsystem), and the dirty-memory workload built
    (workloads/dirty.c, static). Returns T (the test root), DstRoot, Ssh, Session and Dirty.
#>
function New-TestMoveHosts {
    $t = New-ContainerTestRoot
    $dst = Join-Path $t.Base 'dest'
    $null = New-Item -ItemType Directory -Path $dst
    & chmod 0711 $dst
    $ssh = Start-TestSshHost -Root $dst -Dir (Join-Path $t.Base 'ssh')
    $hosts = [pscustomobject]@{ T = $t; DstRoot = $dst; Ssh = $ssh; Session = $null; Dirty = (Join-Path $t.Ext 'dirty') }
    $hosts.Session = New-TestSshSession $ssh
    & gcc -static -O2 -o $hosts.Dirty (Join-Path $PSScriptRoot 'workloads/dirty.c')
    if ($LASTEXITCODE -ne 0) { throw 'could not build the dirty-memory workload' }
    $hosts
}

<# What a move test leaves on one host: its containers, custom volumes (with their snapshots) and networks. #>
$script:ClearMoveHost = {
    Get-Container -ErrorAction SilentlyContinue -WarningAction SilentlyContinue | Remove-Container -Force -ErrorAction SilentlyContinue -WarningAction SilentlyContinue
    Get-StorageVolume -Type custom -ErrorAction SilentlyContinue | ForEach-Object {
        foreach ($snap in $_.Snapshots) { Remove-StorageVolumeSnapshot -Pool $_.Pool -Volume $_.Name -Name $snap -Confirm:$false -ErrorAction SilentlyContinue }
        Remove-StorageVolume -Pool $_.Pool -Name $_.Name -Confirm:$false -ErrorAction SilentlyContinue
    }
    Get-ContainerNetwork -ErrorAction SilentlyContinue | Remove-ContainerNetwork -ErrorAction SilentlyContinue
}

<# After one move test (AfterEach): the children it started stop; this host and the one of Session lose their containers, custom volumes and networks. #>
function Clear-TestMoveHosts([Parameter(Mandatory)] $Session) {
    Stop-ChildPwsh
    Invoke-Command -Session $Session -ScriptBlock $script:ClearMoveHost
    & $script:ClearMoveHost
}

<# Ends New-TestMoveHosts: children stop, both hosts are cleared as by Clear-TestMoveHosts (the destination from here too, should its session be dead: it is the same kernel), the sshd stops, the test root goes. #>
function Remove-TestMoveHosts($Hosts) {
    Stop-ChildPwsh
    if ($Hosts -and $Hosts.Session) {
        Invoke-Command -Session $Hosts.Session -ScriptBlock $script:ClearMoveHost -ErrorAction SilentlyContinue
        Remove-PSSession $Hosts.Session
    }
    if ($Hosts) {
        Stop-TestSshHost $Hosts.Ssh
        $saved = $env:CONTAINERPS_ROOT
        $env:CONTAINERPS_ROOT = $Hosts.DstRoot
        & $script:ClearMoveHost
        $env:CONTAINERPS_ROOT = $saved
    }
    Remove-TestContainers
    Remove-TestBridge
    Remove-TestRoot
}

<# A file inside a running container of the host Session reaches ($null while missing). #>
function Read-RemoteContainerFile {
    param([Parameter(Mandatory)] $Session, [Parameter(Mandatory)] [string] $Container, [Parameter(Mandatory)] [string] $File)
    Invoke-Command -Session $Session -ScriptBlock {
        param($c, $f)
        $out = Invoke-ContainerExec -Name $c -Command cat, $f -ErrorAction SilentlyContinue
        if ($LASTEXITCODE -eq 0) { $out -join "`n" }
    } -ArgumentList $Container, $File
}

<# criu and runc processes working below Base (a test's state roots): none may outlive a move. #>
function Get-TestMoveProcesses([Parameter(Mandatory)] [string] $Base) {
    Get-Process | Where-Object { $_.ProcessName -in 'criu', 'runc' -and ((Get-Content "/proc/$($_.Id)/cmdline" -Raw -ErrorAction SilentlyContinue) -replace "`0", ' ') -match [regex]::Escape($Base) }
}

<# True when /sys/fs/cgroup is cgroup v2 alone (a systemd host's unified hierarchy), false on v1 or hybrid. #>
function Test-CgroupV2 { Test-Path /sys/fs/cgroup/cgroup.controllers }

<#
.SYNOPSIS
    The cgroup of a host process that limits what it does: on cgroup v2 its one cgroup (the 0:: line
    of /proc/PID/cgroup), on v1 its cgroup in the hierarchy of Controller (default memory).
#>
function Get-ProcessCgroup([int] $ProcessId, [string] $Controller = 'memory') {
    $lines = Get-Content "/proc/$ProcessId/cgroup"
    if (Test-CgroupV2) { return (($lines | Where-Object { $_ -like '0::*' }) -split ':', 3)[2] }
    $line = $lines | Where-Object { ($_ -split ':')[1] -split ',' -contains $Controller } | Select-Object -First 1
    ($line -split ':', 3)[2]
}

<#
.SYNOPSIS
    A cgroup file of the cgroup a host process is in, on either cgroup version: V1File of the
    Controller hierarchy on v1, V2File (default: the same name) on v2. Example: memory,
    memory.limit_in_bytes, memory.max.
#>
function Get-ProcessCgroupValue([int] $ProcessId, [string] $Controller, [string] $V1File, [string] $V2File = $V1File) {
    $path = Get-ProcessCgroup $ProcessId $Controller
    $file = if (Test-CgroupV2) { "/sys/fs/cgroup$path/$V2File" } else { "/sys/fs/cgroup/$Controller$path/$V1File" }
    (Get-Content -Raw $file).Trim()
}

<#
.SYNOPSIS
    Runs Command in a child pwsh armed at fault point Point, waits until it stops there, runs
    WhileAlive (checks while the owner lives: nothing may be repaired yet), and SIGKILLs it.
    TimeoutSeconds: how long the child may take to get there (the lane's emulated CPU needs minutes).
#>
function Invoke-KilledAtFault {
    param([Parameter(Mandatory)] [string] $Point, [Parameter(Mandatory)] [string] $Command, [Parameter(Mandatory)] [string] $SignalFile,
        [scriptblock] $WhileAlive, [int] $TimeoutSeconds = 60)
    $child = Start-ChildPwsh -Script $Command -Environment @{ CONTAINERPS_FAULT = $Point; CONTAINERPS_FAULT_SIGNAL = $SignalFile }
    try {
        $reached = Wait-SignalFile -File $SignalFile -Child $child -TimeoutSeconds $TimeoutSeconds
        if ($reached -ne $Point) { throw "The child stopped at '$reached', not at '$Point'." }
        if ($WhileAlive) { & $WhileAlive }
    } finally {
        if (-not $child.Process.HasExited) { $null = Stop-ChildHard $child }
    }
}
<#
.SYNOPSIS
    Runs Script (text: it sees none of the caller's variables) in a runspace of its own with the
    module loaded, and returns the progress records it wrote: Activity, StatusDescription,
    PercentComplete, RecordType. The script's first error is thrown.
#>
function Get-ProgressRecord {
    param([Parameter(Mandatory)] [string] $Script)
    $ps = [powershell]::Create()
    try {
        $null = $ps.AddCommand('Import-Module').AddArgument($script:ModulePath).AddStatement()
        $null = $ps.AddScript("& { `$ProgressPreference = 'Continue'; $Script }").Invoke()
        if ($ps.Streams.Error.Count -gt 0) { throw $ps.Streams.Error[0] }
        @($ps.Streams.Progress)
    } finally { $ps.Dispose() }
}

Export-ModuleMember -Function *
