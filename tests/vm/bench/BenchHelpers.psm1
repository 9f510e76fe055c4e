# Measuring helpers shared by the host's benchmarks (tests/bench/bench.ps1) and the lane's
# (tests/vm/bench/*.ps1, which run in the guest where tests/bench is not staged).

<# The median time in ms of Count runs of Body (given the run's number); After runs after each, untimed. #>
function Measure-Median([scriptblock] $Body, [Parameter(Mandatory)] [int] $Count, [scriptblock] $After) {
    $times = foreach ($i in 1..$Count) {
        $sw = [Diagnostics.Stopwatch]::StartNew()
        & $Body $i
        $sw.Stop()
        $sw.Elapsed.TotalMilliseconds
        if ($After) { & $After $i }
    }
    Get-Median $times
}

function Get-Median([double[]] $Values) {
    $sorted = @($Values | Sort-Object)
    $sorted[[int][math]::Floor($sorted.Count / 2)]
}

Export-ModuleMember -Function Measure-Median, Get-Median
