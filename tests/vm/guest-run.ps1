#!/usr/bin/env pwsh
# Runs in the TestVm guest (build/TestVm.ps1 starts it over ssh): the selected Pester tests of
# tests/pester, one file at a time, and writes the sums and each file's time to -Result as JSON.
# -Selection has one line per file: FILE=PATTERN|PATTERN... (Pester FullName wildcards).
param([Parameter(Mandatory)] [string] $Selection, [Parameter(Mandatory)] [string] $Result)
# (No $ErrorActionPreference = 'Stop' here: the tests run as they do on the host, with the default.)
Import-Module (Join-Path $PSScriptRoot '../../pester/Pester.psd1')
$files = foreach ($line in Get-Content $Selection) {
    if ($line -match '^([^=]+)=(.*)$') {
        $r = New-PesterConfiguration
        $r.Run.Path = Join-Path $PSScriptRoot "../pester/$($Matches[1])"
        $r.Run.PassThru = $true
        $r.Output.Verbosity = 'Detailed'
        $r.Filter.FullName = @($Matches[2] -split '\|')
        $clock = [Diagnostics.Stopwatch]::StartNew()
        $p = Invoke-Pester -Configuration $r
        [pscustomobject]@{
            Name    = $Matches[1]
            Passed  = $p.PassedCount
            Failed  = $p.FailedCount + $p.FailedBlocksCount + $p.FailedContainersCount
            Seconds = [math]::Round($clock.Elapsed.TotalSeconds, 1)
            Failures = @($p.Failed | ForEach-Object { "$($_.ExpandedPath): $($_.ErrorRecord | Select-Object -First 1)" }) + @($p.FailedBlocks + $p.FailedContainers | ForEach-Object { "$($_.Name) (setup): $($_.ErrorRecord | Select-Object -First 1)" })
        }
    }
}
[pscustomobject]@{
    Passed = ($files | Measure-Object Passed -Sum).Sum
    Failed = ($files | Measure-Object Failed -Sum).Sum
    Files  = @($files)
} | ConvertTo-Json -Depth 4 | Set-Content $Result
