# Shared helpers for the ContainerPS Pester tests: a private state root per test, snapshots of
# everything a command could leave behind (files and database rows), and child pwsh processes
# that can never hang a test run.
Set-StrictMode -Version Latest

$script:RepoRoot = (Resolve-Path (Join-Path $PSScriptRoot '../..')).Path
$script:ModulePath = Join-Path $script:RepoRoot 'ContainerPS.psd1'
$script:Current = $null
$script:SavedRoot = $null
$script:Children = [System.Collections.Generic.List[object]]::new()

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
function Get-ErrorId {
    param([Parameter(Mandatory)] [System.Management.Automation.ErrorRecord] $ErrorRecord)
    ($ErrorRecord.FullyQualifiedErrorId -split ',')[0]
}

# ------------------------------------------------------------------ child processes

<#
.SYNOPSIS
    Starts pwsh in a child process running Script after importing the built module.
.PARAMETER ViaDotnetTool
    Start it exactly as a user would (dotnet pwsh, the repository's local tool), which runs pwsh in
    a second process below the dotnet muxer. Without it the child is one process (dotnet pwsh.dll),
    so its Id is the pid of the process that runs the engine.
#>
function Start-ChildPwsh {
    param(
        [Parameter(Mandatory)] [string] $Script,
        [hashtable] $Environment = @{},
        [switch] $ViaDotnetTool,
        [switch] $NoImport
    )
    $prefix = "`$ErrorActionPreference = 'Stop'; `$ProgressPreference = 'SilentlyContinue'; `$PSStyle.OutputRendering = 'PlainText'; "
    if (-not $NoImport) { $prefix += "Import-Module '$($script:ModulePath)'; " }
    $psi = [System.Diagnostics.ProcessStartInfo]::new()
    $psi.UseShellExecute = $false
    $psi.RedirectStandardOutput = $true
    $psi.RedirectStandardError = $true
    $psi.RedirectStandardInput = $true
    $psi.WorkingDirectory = $script:RepoRoot
    if ($ViaDotnetTool) {
        $psi.FileName = 'dotnet'
        $psi.ArgumentList.Add('pwsh')
    } else {
        $self = [Environment]::ProcessPath
        $psi.FileName = $self
        if ([IO.Path]::GetFileNameWithoutExtension($self) -eq 'dotnet') { $psi.ArgumentList.Add((Join-Path $PSHOME 'pwsh.dll')) }
    }
    foreach ($a in '-NoProfile', '-NonInteractive', '-Command', ($prefix + $Script)) { $psi.ArgumentList.Add($a) }
    foreach ($k in 'CONTAINERPS_FAULT', 'CONTAINERPS_FAULT_SIGNAL') { $null = $psi.Environment.Remove($k) }
    $psi.Environment['CONTAINERPS_ROOT'] = $env:CONTAINERPS_ROOT
    $psi.Environment['POWERSHELL_TELEMETRY_OPTOUT'] = '1'
    $psi.Environment['POWERSHELL_UPDATECHECK'] = 'Off'
    $psi.Environment['NO_COLOR'] = '1'
    foreach ($k in $Environment.Keys) { $psi.Environment[$k] = [string]$Environment[$k] }
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

Export-ModuleMember -Function *
