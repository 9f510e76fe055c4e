#Requires -Version 7.4
# Invoke-ContainerExec through real pwsh on the built module, against one running busybox container
# per Describe: exit codes ($LASTEXITCODE and -PassThru, 137 when the container is force-stopped),
# stdin/stdout round trips (sequential, concurrent, on a pty from a pipe and from a terminal), user,
# group, working directory and environment, background processes that must not keep the exec
# waiting, large and streamed output, stderr as errors, -Raw, pipeline input, error IDs, and signals
# (SIGTERM/SIGHUP/SIGUSR1/SIGUSR2 to pwsh, Stop-Job).
# Run it in a private mount namespace (unshare --mount --propagation private), as build.ps1 does.

BeforeAll {
    Import-Module (Join-Path $PSScriptRoot 'TestHelpers.psm1') -Force
    Import-Module (Get-ModulePath) -Force

    # The ErrorRecord of the first error Script writes (non-terminating errors made terminating), or $null.
    function Get-CommandError([scriptblock] $Script) {
        $ErrorActionPreference = 'Stop'
        try { $null = & $Script; $null } catch { $_ }
    }

    # A fresh test root with one running busybox container named c.
    function Initialize-ExecContainer {
        $script:t = New-ContainerTestRoot
        $null = New-Container -Name c -Image busybox -Start
    }

    <#
    Drives a child running 25 "go N / read a line / rc N EXIT" rounds: answers each with abcN and
    Enter, checks the command saw a pty and the line, and that the child ends cleanly.
    #>
    function Assert-PtyRoundTrip($Child, [string] $Enter) {
        for ($n = 1; $n -le 25; $n++) {
            # The first line waits for the child pwsh to start and load the module: about 10 s in the
            # stock-kernel guest under TCG, more while the host is busy (over 20 s once in CI).
            $null = Wait-ChildLine $Child "\bgo $n`$" -TimeoutSeconds $(if ($n -eq 1) { 120 } else { 20 })
            # Typed once the command has said it is on a pty: typed earlier, the terminal's echo of
            # the input can land inside that line ('ptyabc4', seen once in the lane).
            $null = Wait-ChildLine $Child '^pty$'
            $Child.Process.StandardInput.Write("abc$n$Enter")
            $Child.Process.StandardInput.Flush()
            $lines = Wait-ChildLine $Child "\brc $n "
            $lines | Should -Contain "got:abc$n"
            $lines[-1] | Should -Match "\brc $n 0$"
        }
        $r = Complete-ChildPwsh $Child
        $r.TimedOut | Should -BeFalse
        $r.ExitCode | Should -Be 0 -Because $r.Stderr
    }

    function Clear-ExecContainer {
        Stop-ChildPwsh
        Get-Job -ErrorAction SilentlyContinue | Where-Object PSJobTypeName -eq 'ContainerExecJob' | Remove-Job -Force -ErrorAction SilentlyContinue
        Remove-TestContainers
        Remove-TestRoot
    }

    # The command lines (args) of the processes in container c, without the ps and its exec shim.
    function Get-ContainerProcess {
        @(Invoke-ContainerExec c -- ps -o args | Select-Object -Skip 1 | Where-Object { $_ -notmatch '^(ps -o args|\[?cps-exec\]?)$' })
    }
}

Describe 'Invoke-ContainerExec exit codes' {
    BeforeAll { Initialize-ExecContainer }
    AfterAll { Clear-ExecContainer }

    It 'exit code <Expected> (<Why>) is in $LASTEXITCODE and on -PassThru' -TestCases @(
        @{ Expected = 0; Why = 'success'; Command = @('true') }
        @{ Expected = 1; Why = 'failure'; Command = @('false') }
        @{ Expected = 3; Why = 'its own code'; Command = @('sh', '-c', 'exit 3') }
        @{ Expected = 126; Why = 'a directory is not executable'; Command = @('/tmp') }
        @{ Expected = 127; Why = 'not found'; Command = @('no-such-command-here') }
        @{ Expected = 129; Why = 'SIGHUP'; Command = @('sh', '-c', 'kill -HUP $$') }
        @{ Expected = 137; Why = 'SIGKILL'; Command = @('sh', '-c', 'kill -KILL $$') }
        @{ Expected = 143; Why = 'SIGTERM'; Command = @('sh', '-c', 'kill -TERM $$') }
    ) {
        $global:LASTEXITCODE = -1
        Invoke-ContainerExec c -ErrorAction SilentlyContinue -Command $Command | Should -BeNullOrEmpty
        $LASTEXITCODE | Should -Be $Expected

        $global:LASTEXITCODE = -1
        $r = Invoke-ContainerExec c -PassThru -ErrorAction SilentlyContinue -Command $Command
        $r | Should -HaveCount 1
        $r | Should -BeOfType ([ContainerPS.ExecResult])
        $r.pstypenames[0] | Should -Be 'ContainerPS.ExecResult'
        $r.ExitCode | Should -Be $Expected
        $r.Container | Should -Be 'c'
        $r.Command | Should -Be $Command
        $r.Duration | Should -BeOfType ([TimeSpan])
        $r.Duration | Should -BeGreaterThan ([TimeSpan]::Zero)
        $r.Duration | Should -BeLessThan ([TimeSpan]::FromSeconds(10))
        $LASTEXITCODE | Should -Be $Expected
    }

    It 'a non-zero exit code is not an error' {
        $out = Invoke-ContainerExec c -ErrorVariable ev -- sh -c 'echo out; exit 9'
        $out | Should -Be 'out'
        $ev | Should -HaveCount 0
        $LASTEXITCODE | Should -Be 9
    }
}

Describe 'Invoke-ContainerExec stdin/stdout round trips' {
    BeforeAll { Initialize-ExecContainer }
    AfterAll { Clear-ExecContainer }

    It '25 sequential round trips through cat' {
        for ($n = 1; $n -le 25; $n++) {
            $global:LASTEXITCODE = -1
            $out = "abc$n" | Invoke-ContainerExec c -- cat
            $out | Should -Be "abc$n"
            $LASTEXITCODE | Should -Be 0
        }
    }

    It '25 concurrent round trips (ForEach-Object -Parallel, the module imported in each runspace)' {
        $modulePath = Get-ModulePath
        $results = 1..25 | ForEach-Object -ThrottleLimit 25 -Parallel {
            Import-Module $using:modulePath
            $global:LASTEXITCODE = -1
            $out = "abc$_" | Invoke-ContainerExec c -- cat
            [pscustomobject]@{ N = $_; Out = @($out); Code = $LASTEXITCODE }
        }
        $results | Should -HaveCount 25
        foreach ($r in $results) {
            $r.Out | Should -Be @("abc$($r.N)") -Because "exec $($r.N)"
            $r.Code | Should -Be 0 -Because "exec $($r.N)"
        }
    }

    It '25 concurrent -AsJob execs of echo abcN | cat' {
        $jobs = foreach ($n in 1..25) { Invoke-ContainerExec c -AsJob -- sh -c "echo abc$n | cat" }
        try {
            $jobs | Should -HaveCount 25
            $jobs[0].PSJobTypeName | Should -Be 'ContainerExecJob'
            $null = $jobs | Wait-Job -Timeout 30
            for ($n = 1; $n -le 25; $n++) {
                $j = $jobs[$n - 1]
                $j.State | Should -Be 'Completed' -Because "job $n"
                $j.ExitCode | Should -Be 0
                @(Receive-Job $j) | Should -Be @("abc$n")
            }
        } finally { $jobs | Remove-Job -Force -ErrorAction SilentlyContinue }
    }

    It 'pipeline input reaches the command''s stdin with -AsJob too' {
        $j = 'abc1', 'abc2' | Invoke-ContainerExec c -AsJob -- cat
        try {
            $null = $j | Wait-Job -Timeout 20
            $j.State | Should -Be 'Completed'
            @(Receive-Job $j) | Should -Be @('abc1', 'abc2')
        } finally { $j | Remove-Job -Force -ErrorAction SilentlyContinue }
    }

    It '25 round trips on a pty with -Interactive when pwsh''s stdin is a pipe, not a terminal' {
        # Interactive output goes to pwsh's own stdout (the terminal), not to the pipeline: a child's.
        $ch = Start-StreamingChildPwsh -Script @'
for ($n = 1; $n -le 25; $n++) {
    [Console]::Out.WriteLine("go $n")
    $global:LASTEXITCODE = -1
    Invoke-ContainerExec c -Interactive -- sh -c 'if [ -t 0 ] && [ -t 1 ]; then echo pty; fi; read l; echo "got:$l"'
    [Console]::Out.WriteLine("rc $n $LASTEXITCODE")
}
'@
        Assert-PtyRoundTrip $ch -Enter "`n"
    }

    It '25 round trips on a pty when pwsh runs on a terminal (interactive by default)' {
        $ch = Start-StreamingChildPwsh -Terminal -Script @'
for ($n = 1; $n -le 25; $n++) {
    [Console]::Out.WriteLine("go $n")
    $global:LASTEXITCODE = -1
    Invoke-ContainerExec c -- sh -c 'if [ -t 0 ] && [ -t 1 ]; then echo pty; fi; read l; echo "got:$l"'
    [Console]::Out.WriteLine("rc $n $LASTEXITCODE")
}
'@
        Assert-PtyRoundTrip $ch -Enter "`r"  # Enter on a terminal
    }
}

Describe 'Invoke-ContainerExec user, group, working directory and environment' {
    BeforeAll { Initialize-ExecContainer }
    AfterAll { Clear-ExecContainer }

    It '-User, -Group and -WorkingDirectory apply' {
        Invoke-ContainerExec c -User 1234 -Group 5678 -WorkingDirectory /tmp -- sh -c 'id -u; id -g; pwd' | Should -Be @('1234', '5678', '/tmp')
        $LASTEXITCODE | Should -Be 0
    }

    It 'defaults to root in /root' {
        Invoke-ContainerExec c -- sh -c 'id -u; id -g; pwd' | Should -Be @('0', '0', '/root')
    }

    It 'falls back to / without /root; a -WorkingDirectory that does not exist is an error' {
        Invoke-ContainerExec c -- sh -c 'mv /root /root.away' | Out-Null
        try {
            Invoke-ContainerExec c -- pwd | Should -Be '/'
            $LASTEXITCODE | Should -Be 0
            $err = Invoke-ContainerExec c -WorkingDirectory /nonexistent -ErrorVariable e -ErrorAction SilentlyContinue -- pwd 2>&1
            $LASTEXITCODE | Should -Be 255
            "$e" | Should -BeLike '*chdir /nonexistent*'
        } finally {
            Invoke-ContainerExec c -WorkingDirectory / -- sh -c 'mv /root.away /root' | Out-Null
        }
    }

    It '-Environment adds variables to the Incus defaults' {
        $vars = @(Invoke-ContainerExec c -Environment @{ FOO = 'bar' } -- env)
        $vars | Should -Contain 'FOO=bar'
        $vars | Should -Contain 'PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin'
        $vars | Should -Contain 'LANG=C.UTF-8'
        $vars | Should -Contain 'HOME=/root'
        $vars | Should -Contain 'USER=root'
        # nothing of the host's environment leaks in
        @($vars | Where-Object { $_ -like 'CONTAINERPS_ROOT=*' }) | Should -HaveCount 0
    }

    It '-Environment overrides a default' {
        Invoke-ContainerExec c -Environment @{ LANG = 'C' } -- sh -c 'echo $LANG' | Should -Be 'C'
    }
}

Describe 'Invoke-ContainerExec output, input and background processes' {
    BeforeAll { Initialize-ExecContainer }
    AfterAll { Clear-ExecContainer }

    It 'returns at once when the command leaves a background process; the process keeps running' {
        $sw = [Diagnostics.Stopwatch]::StartNew()
        Invoke-ContainerExec c -- sh -c 'sleep 1000 &' | Should -BeNullOrEmpty
        $sw.Elapsed.TotalSeconds | Should -BeLessThan 5
        $LASTEXITCODE | Should -Be 0
        Get-ContainerProcess | Should -Contain 'sleep 1000'
    }

    It 'returns with the output when a busy background process is left behind' {
        $sw = [Diagnostics.Stopwatch]::StartNew()
        try {
            Invoke-ContainerExec c -- sh -c 'yes >/dev/null & echo done' | Should -Be 'done'
            $sw.Elapsed.TotalSeconds | Should -BeLessThan 5
            $LASTEXITCODE | Should -Be 0
        } finally {
            Invoke-ContainerExec c -ErrorAction SilentlyContinue -- sh -c 'kill $(pidof yes)'
        }
    }

    It 'returns when a background process keeps writing to the inherited stdout' {
        $sw = [Diagnostics.Stopwatch]::StartNew()
        $out = @(Invoke-ContainerExec c -- sh -c '(while :; do echo bg; sleep 0.1; done) & echo fg')
        $sw.Elapsed.TotalSeconds | Should -BeLessThan 5
        $out | Should -Contain 'fg'
        $LASTEXITCODE | Should -Be 0
    }

    It 'delivers large output in full: seq 1 200000' {
        $lines = @(Invoke-ContainerExec c -- seq 1 200000)
        $LASTEXITCODE | Should -Be 0
        $lines.Count | Should -Be 200000
        $lines[0] | Should -Be '1'
        $lines[-1] | Should -Be '200000'
        ($lines -join ',') | Should -BeExactly ((1..200000) -join ',')
    }

    It 'delivers what the command wrote before exiting in full, though a background writer goes on' {
        for ($i = 1; $i -le 3; $i++) {
            $sw = [Diagnostics.Stopwatch]::StartNew()
            $out = @(Invoke-ContainerExec c -- sh -c 'seq 1 50000; (while :; do echo bg; sleep 0.1; done) &')
            $sw.Elapsed.TotalSeconds | Should -BeLessThan 5
            $numbers = @($out | Where-Object { $_ -ne 'bg' })
            $numbers.Count | Should -Be 50000 -Because "round $i"
            ($numbers -join ',') | Should -BeExactly ((1..50000) -join ',')
        }
    }

    It 'does not truncate: a last line without newline, a 300000-character line, UTF-8, -Raw of 200000 lines' {
        Invoke-ContainerExec c -- printf 'a\nno newline' | Should -Be @('a', 'no newline')
        $long = @(Invoke-ContainerExec c -- sh -c "head -c 300000 /dev/zero | tr '\0' x")
        $long | Should -HaveCount 1
        $long[0] | Should -BeExactly ('x' * 300000)
        Invoke-ContainerExec c -- printf '\303\244\342\202\254\n' | Should -BeExactly 'ä€'
        $raw = @(Invoke-ContainerExec c -Raw -- seq 1 200000)
        $raw | Should -HaveCount 1
        $raw[0] | Should -BeExactly (((1..200000) -join "`n") + "`n")
    }

    It 'streams stdout lines into the pipeline while the command runs' {
        $stamps = @(Invoke-ContainerExec c -- sh -c 'echo a; sleep 2; echo b' | ForEach-Object { [datetime]::UtcNow })
        $stamps | Should -HaveCount 2
        ($stamps[1] - $stamps[0]).TotalSeconds | Should -BeGreaterOrEqual 1.5
    }

    It 'writes each stderr line as a non-terminating ContainerExecStderr error' {
        $out = Invoke-ContainerExec c -ErrorVariable ev -ErrorAction SilentlyContinue -- sh -c 'echo out1; echo err1 >&2; echo out2; echo err2 >&2; exit 4'
        $out | Should -Be @('out1', 'out2')
        $ev | Should -HaveCount 2
        $ev | ForEach-Object { $_.FullyQualifiedErrorId | Should -BeLike 'ContainerExecStderr*' }
        $ev[0].Exception.Message | Should -Be 'err1'
        $ev[1].Exception.Message | Should -Be 'err2'
        $LASTEXITCODE | Should -Be 4
    }

    It 'stderr errors are non-terminating, and -ErrorAction SilentlyContinue silences them' {
        $out = & { Invoke-ContainerExec c -- sh -c 'echo e >&2; echo after' } 2>&1
        $out | Should -HaveCount 2
        $errors = @($out | Where-Object { $_ -is [System.Management.Automation.ErrorRecord] })
        $errors | Should -HaveCount 1
        $errors[0].FullyQualifiedErrorId | Should -BeLike 'ContainerExecStderr*'
        $out | Should -Contain 'after'

        Invoke-ContainerExec c -ErrorAction SilentlyContinue -- sh -c 'echo e1 >&2; echo e2 >&2; echo ok' | Should -Be 'ok'
        $LASTEXITCODE | Should -Be 0
    }

    It 'every stderr line of the command is ContainerExecStderr, even one that looks like a helper message' {
        $null = Invoke-ContainerExec c -ErrorVariable ev -ErrorAction SilentlyContinue -- sh -c 'echo "cps-exec: not really" >&2'
        $ev | Should -HaveCount 1
        $ev[0].FullyQualifiedErrorId | Should -BeLike 'ContainerExecStderr*'
        $ev[0].Exception.Message | Should -Be 'cps-exec: not really'
    }

    It 'the helper failing to enter the container is ExecFailed, in the foreground and in an -AsJob job alike' {
        $null = Invoke-ContainerExec c -WorkingDirectory /nonexistent -ErrorVariable ev -ErrorAction SilentlyContinue -- pwd
        $LASTEXITCODE | Should -Be 255
        $ev | Should -HaveCount 1
        $ev[0].FullyQualifiedErrorId | Should -BeLike 'ExecFailed*'
        $ev[0].CategoryInfo.Category | Should -Be 'OperationStopped'

        $job = Invoke-ContainerExec c -AsJob -WorkingDirectory /nonexistent -- pwd
        $null = $job | Wait-Job -Timeout 30
        $job.ExitCode | Should -Be 255
        $job.Error | Should -HaveCount 1
        $job.Error[0].FullyQualifiedErrorId | Should -BeLike 'ExecFailed*'
        "$($job.Error[0])" | Should -BeLike '*chdir /nonexistent*'

        $job2 = Invoke-ContainerExec c -AsJob -- sh -c 'echo "cps-exec: not really" >&2; exit 3'
        $null = $job2 | Wait-Job -Timeout 30
        $job2.ExitCode | Should -Be 3
        $job2.Error | Should -HaveCount 1
        $job2.Error[0].FullyQualifiedErrorId | Should -BeLike 'ContainerExecStderr*'
        $job, $job2 | Remove-Job -Force
    }

    It '-Raw writes stdout as one string with its newlines' {
        $r = @(Invoke-ContainerExec c -Raw -- sh -c 'printf "a\nb\n\nc"')
        $r | Should -HaveCount 1
        $r[0] | Should -BeOfType ([string])
        $r[0] | Should -BeExactly "a`nb`n`nc"
    }

    It 'pipeline input goes to stdin, one line per object, then stdin is closed' {
        'one', 'two', 'three' | Invoke-ContainerExec c -- sort -r | Should -Be @('two', 'three', 'one')
        1, 2, 3 | Invoke-ContainerExec c -- wc -l | ForEach-Object Trim | Should -Be '3'
        , [byte[]](104, 105, 10) | Invoke-ContainerExec c -- od -An -tx1 | ForEach-Object Trim | Should -Be '68 69 0a'
    }

    It 'without pipeline input the command''s stdin is at end of file' {
        $sw = [Diagnostics.Stopwatch]::StartNew()
        Invoke-ContainerExec c -- sh -c 'cat; echo eof' | Should -Be 'eof'
        $sw.Elapsed.TotalSeconds | Should -BeLessThan 5
    }
}

Describe 'Invoke-ContainerExec errors' {
    BeforeAll {
        Initialize-ExecContainer
        $null = New-Container -Name stopped -Image busybox
    }
    AfterAll { Clear-ExecContainer }

    It 'a stopped container: ContainerNotRunning, and nothing is run' {
        $global:LASTEXITCODE = 42
        $e = Get-CommandError { Invoke-ContainerExec stopped -- touch /tmp/ran }
        $e | Should -Not -BeNullOrEmpty
        Get-ErrorId $e | Should -Be 'ContainerNotRunning'
        $e.FullyQualifiedErrorId | Should -BeLike 'ContainerNotRunning,*InvokeContainerExecCommand'
        (Get-Container stopped).State | Should -Be 'Stopped'
        $path = (Get-StorageVolume -Pool default -Type container -Name stopped).Path
        Join-Path $path 'tmp/ran' | Should -Not -Exist
        # and once started, the file really is not there
        Start-Container stopped
        Invoke-ContainerExec stopped -- test -e /tmp/ran
        $LASTEXITCODE | Should -Be 1
    }

    It 'an unknown container: ContainerNotFound' {
        $e = Get-CommandError { Invoke-ContainerExec nosuch -- true }
        Get-ErrorId $e | Should -Be 'ContainerNotFound'
    }

    It 'an empty command: EmptyCommand (<Form>)' -TestCases @(
        @{ Form = "c ''"; Script = { Invoke-ContainerExec c '' } }
        @{ Form = "c -- ''"; Script = { Invoke-ContainerExec c -- '' } }
        @{ Form = "-Command ''"; Script = { Invoke-ContainerExec -Name c -Command '' } }
    ) {
        $e = Get-CommandError $Script
        $e | Should -Not -BeNullOrEmpty
        Get-ErrorId $e | Should -Be 'EmptyCommand'
    }

    It 'no command at all is EmptyCommand (no host to prompt), not a run' {
        $ps = [powershell]::Create()
        try {
            $null = $ps.AddCommand('Import-Module').AddArgument((Get-ModulePath)).AddStatement()
            $null = $ps.AddCommand('Invoke-ContainerExec').AddParameter('Name', 'c')
            $out = $ps.Invoke()
            $out | Should -BeNullOrEmpty
            $ps.Streams.Error | Should -HaveCount 1
            $ps.Streams.Error[0].FullyQualifiedErrorId | Should -BeLike 'EmptyCommand,*InvokeContainerExecCommand' -Because '-Command is not mandatory for the binder (with containers piped in, its first word binds to -Name by position)'
        } finally { $ps.Dispose() }
    }
}

Describe 'Invoke-ContainerExec signals' {
    BeforeAll { Initialize-ExecContainer }
    AfterAll { Clear-ExecContainer }

    It 'SIGTERM sent to pwsh reaches the command' {
        $ch = Start-StreamingChildPwsh -Script @'
Invoke-ContainerExec c -- sh -c 'trap "echo got TERM; exit 5" TERM; echo ready; sleep 100 & wait'
"rc=$LASTEXITCODE"
'@
        $null = Wait-ChildLine $ch '^ready$'
        & /usr/bin/kill -TERM $ch.Id
        $r = Complete-ChildPwsh $ch -TimeoutSeconds 20
        $r.TimedOut | Should -BeFalse
        $r.Lines | Should -Contain 'got TERM'
        $r.Lines | Should -Contain 'rc=5'
        $r.ExitCode | Should -Be 0 -Because $r.Stderr
    }

    It 'SIGHUP, SIGUSR1 and SIGUSR2 sent to pwsh reach the command' {
        $ch = Start-StreamingChildPwsh -Script @'
# The shell reports the background sleep killed by SIGHUP on stderr ("Hangup"): not an error here.
Invoke-ContainerExec c -ErrorAction SilentlyContinue -- sh -c 'for s in HUP USR1 USR2; do trap "echo got $s" $s; done; trap "echo got TERM; exit 6" TERM; echo ready; while :; do sleep 100 & wait $!; done'
"rc=$LASTEXITCODE"
'@
        $null = Wait-ChildLine $ch '^ready$'
        foreach ($s in 'HUP', 'USR1', 'USR2') {
            & /usr/bin/kill "-$s" $ch.Id
            $null = Wait-ChildLine $ch "^got $s`$" -TimeoutSeconds 10
        }
        & /usr/bin/kill -TERM $ch.Id
        $r = Complete-ChildPwsh $ch -TimeoutSeconds 20
        $r.TimedOut | Should -BeFalse
        $r.Lines | Should -Contain 'rc=6'
        $r.ExitCode | Should -Be 0 -Because $r.Stderr
    }

    It 'Stop-Job on an -AsJob exec delivers SIGTERM to the command' {
        $j = Invoke-ContainerExec c -AsJob -- sh -c 'trap "touch /tmp/got-term; exit 7" TERM; echo ready; sleep 100 & wait'
        try {
            $null = Wait-Until { @($j.Output) -contains 'ready' } -TimeoutSeconds 10 -Because 'the job to print ready'
            $sw = [Diagnostics.Stopwatch]::StartNew()
            Stop-Job $j
            $sw.Elapsed.TotalSeconds | Should -BeLessThan 4   # the command exited; no kill after the grace period
            $null = Wait-Until { $j.State -ne 'Running' } -TimeoutSeconds 5 -Because 'the job to end'
            $j.State | Should -Be 'Stopped'
            $j.ExitCode | Should -Be 7
            Invoke-ContainerExec c -- test -f /tmp/got-term
            $LASTEXITCODE | Should -Be 0
        } finally { $j | Remove-Job -Force -ErrorAction SilentlyContinue }
    }

    It 'Stop-Job returns with the job Stopped (20 times)' {
        for ($i = 1; $i -le 20; $i++) {
            $j = Invoke-ContainerExec c -AsJob -- sh -c 'trap "exit 7" TERM; echo ready; sleep 100 & wait'
            try {
                $null = Wait-Until { @($j.Output) -contains 'ready' } -TimeoutSeconds 10 -Because 'the job to print ready'
                Stop-Job $j
                "$($j.State) exit $($j.ExitCode)" | Should -Be 'Stopped exit 7' -Because "the state right after Stop-Job returned (round $i)"
            } finally {
                $null = Wait-Until { $j.State -ne 'Running' } -TimeoutSeconds 10 -Because 'the job to end'
                $j | Remove-Job -Force -ErrorAction SilentlyContinue
            }
        }
    }

    It 'Stop-Job right after -AsJob stops the command too' {
        $j = Invoke-ContainerExec c -AsJob -- sh -c 'echo started; sleep 6; echo finished'
        try {
            Stop-Job $j
            $sw = [Diagnostics.Stopwatch]::StartNew()
            $null = $j | Wait-Job -Timeout 15
            $sw.Elapsed.TotalSeconds | Should -BeLessThan 4 -Because 'the command was stopped, not left to run its 6 s'
            @($j.Output) | Should -Not -Contain 'finished'
            $j.State | Should -Be 'Stopped'
        } finally { $j | Remove-Job -Force -ErrorAction SilentlyContinue }
    }

    It 'Stop-Job kills a command that ignores SIGTERM after the grace period' {
        $j = Invoke-ContainerExec c -AsJob -- sh -c 'trap "" TERM; echo ready; exec sleep 1234'
        try {
            $null = Wait-Until { @($j.Output) -contains 'ready' } -TimeoutSeconds 10 -Because 'the job to print ready'
            $sw = [Diagnostics.Stopwatch]::StartNew()
            Stop-Job $j
            $sw.Elapsed.TotalSeconds | Should -BeGreaterThan 4
            $sw.Elapsed.TotalSeconds | Should -BeLessThan 10
            $null = Wait-Until { $j.State -ne 'Running' } -TimeoutSeconds 5 -Because 'the job to end'
            $j.State | Should -Be 'Stopped'
            $j.ExitCode | Should -Be 137
            $null = Wait-Until { (Get-ContainerProcess) -notcontains 'sleep 1234' } -TimeoutSeconds 5 -Because 'the command to be killed'
        } finally { $j | Remove-Job -Force -ErrorAction SilentlyContinue }
    }
}

Describe 'Invoke-ContainerExec when the container is force-stopped' {
    BeforeAll { Initialize-ExecContainer }
    AfterAll { Clear-ExecContainer }

    It 'an -AsJob exec ends with 137' {
        $j = Invoke-ContainerExec c -AsJob -- sh -c 'echo ready; sleep 100'
        try {
            $null = Wait-Until { @($j.Output) -contains 'ready' } -TimeoutSeconds 10 -Because 'the job to print ready'
            Stop-Container c -Force
            $null = $j | Wait-Job -Timeout 20
            $j.State | Should -BeIn 'Completed', 'Failed'
            $j.ExitCode | Should -Be 137
        } finally { $j | Remove-Job -Force -ErrorAction SilentlyContinue }
    }

    It 'an exec in another pwsh ends with 137 in $LASTEXITCODE and on -PassThru' {
        if ((Get-Container c).State -ne 'Running') { Start-Container c }
        $ch = Start-StreamingChildPwsh -Script @'
$r = Invoke-ContainerExec c -PassThru -- sh -c 'echo ready; sleep 100' | ForEach-Object { if ($_ -is [string]) { [Console]::Out.WriteLine($_) } else { $_ } }
"rc=$LASTEXITCODE passthru=$($r.ExitCode)"
'@
        $null = Wait-ChildLine $ch '^ready$'
        Stop-Container c -Force
        $r = Complete-ChildPwsh $ch -TimeoutSeconds 20
        $r.TimedOut | Should -BeFalse
        $r.Lines | Should -Contain 'rc=137 passthru=137'
        $r.ExitCode | Should -Be 0 -Because $r.Stderr
        (Get-Container c).State | Should -Be 'Stopped'
    }
}

Describe 'Invoke-ContainerExec on piped containers (fleet) and with bytes' {
    BeforeAll {
        Initialize-ExecContainer
        foreach ($n in 'web1', 'web2', 'web3') { $null = New-Container -Name $n -Image busybox -Start }
    }
    AfterAll { Clear-ExecContainer }

    It 'Get-Container web* | Invoke-ContainerExec -- hostname runs in each, every line tagged with its container' {
        $out = @(Get-Container web* | Invoke-ContainerExec -- hostname)
        $out.Count | Should -Be 3
        foreach ($line in $out) { $line | Should -Be $line.Container }
        ($out.Container | Sort-Object) | Should -Be @('web1', 'web2', 'web3')
    }

    It '-Command with piped containers, -PassThru one ExecResult each, $LASTEXITCODE the first failure, -ThrottleLimit 1 in order' {
        $r = @(Get-Container web* | Invoke-ContainerExec -Command sh, -c, 'echo $(hostname); [ $(hostname) = web2 ] && exit 4; exit 0' -PassThru -ThrottleLimit 1)
        $LASTEXITCODE | Should -Be 4
        $results = @($r | Where-Object { $_ -is [ContainerPS.ExecResult] })
        ($results | ForEach-Object { "$($_.Container):$($_.ExitCode)" }) | Should -Be @('web1:0', 'web2:4', 'web3:0')
        @($r | Where-Object { $_ -is [string] }) | Should -Be @('web1', 'web2', 'web3')
    }

    It 'a container name from any object with a Name property, and stderr errors naming their container' {
        $e = @()
        $out = @([pscustomobject]@{ Name = 'web1' }, [pscustomobject]@{ Name = 'web3' } | Invoke-ContainerExec -Command sh, -c, 'hostname; echo oops >&2' -ErrorVariable e -ErrorAction SilentlyContinue)
        ($out | Sort-Object) | Should -Be @('web1', 'web3') -Because 'both run, at once (their order is not fixed)'
        ($e.TargetObject | Sort-Object) | Should -Be @('web1', 'web3')
    }

    It 'twenty runs at once finish (-ThrottleLimit 20)' {
        $names = 1..20 | ForEach-Object { "web$(($_ % 3) + 1)" }
        $out = @($names | ForEach-Object { [pscustomobject]@{ Name = $_ } } | Invoke-ContainerExec -Command sh, -c, 'sleep 0.2; hostname' -ThrottleLimit 20)
        $out.Count | Should -Be 20
    }

    It 'a byte array piped (enumerated byte by byte) or given with -InputObject arrives as its bytes' {
        $bytes = [byte[]]::new(300000); [Random]::new(7).NextBytes($bytes)
        $sha = (Get-FileHash -InputStream ([IO.MemoryStream]::new($bytes)) -Algorithm SHA256).Hash.ToLowerInvariant()
        $bytes | Invoke-ContainerExec c -- sh -c 'cat > /tmp/blob'
        Invoke-ContainerExec c -- sh -c 'wc -c < /tmp/blob' | Should -Be '300000'
        (Invoke-ContainerExec c -- sha256sum /tmp/blob) -split ' ' | Select-Object -First 1 | Should -Be $sha
        Invoke-ContainerExec c -InputObject $bytes -- sh -c 'cat > /tmp/blob2'
        (Invoke-ContainerExec c -- sha256sum /tmp/blob2) -split ' ' | Select-Object -First 1 | Should -Be $sha
        $file = Join-Path $t.Ext 'blob.bin'
        [IO.File]::WriteAllBytes($file, $bytes)
        Get-Content $file -AsByteStream -ReadCount 0 | Invoke-ContainerExec c -- sh -c 'cat > /tmp/blob3'
        (Invoke-ContainerExec c -- sha256sum /tmp/blob3) -split ' ' | Select-Object -First 1 | Should -Be $sha
    }

    It '-AsByteStream writes stdout as byte[] chunks that Set-Content -AsByteStream and WriteAllBytes take' {
        Invoke-ContainerExec c -- sh -c 'head -c 3000000 /dev/urandom > /tmp/r'
        $sha = ((Invoke-ContainerExec c -- sha256sum /tmp/r) -split ' ')[0]
        $chunks = @(Invoke-ContainerExec c -AsByteStream -- cat /tmp/r)
        $chunks | ForEach-Object { $_.GetType().Name } | Select-Object -Unique | Should -Be 'Byte[]'
        $chunks.Count | Should -BeGreaterOrEqual 46 -Because 'chunks of at most 64 KiB'
        ($chunks | Measure-Object Length -Maximum).Maximum | Should -BeLessOrEqual 64KB
        $out = Join-Path $t.Ext 'r1'
        Invoke-ContainerExec c -AsByteStream -- cat /tmp/r | Set-Content -AsByteStream $out
        (Get-FileHash $out -Algorithm SHA256).Hash.ToLowerInvariant() | Should -Be $sha
        [IO.File]::WriteAllBytes((Join-Path $t.Ext 'r2'), [byte[]]($chunks | ForEach-Object { $_ }))
        (Get-FileHash (Join-Path $t.Ext 'r2') -Algorithm SHA256).Hash.ToLowerInvariant() | Should -Be $sha
        Get-ErrorId (Get-CommandError { Invoke-ContainerExec c -Raw -AsByteStream -- true }) | Should -Be 'InvalidExecOutput'
    }

    It '-OutFile writes stdout into a file (relative to the current location); bad input creates nothing; a full disk is OutFileWriteFailed and ends the command' {
        Invoke-ContainerExec c -- sh -c 'head -c 3000000 /dev/urandom > /tmp/r'
        $sha = ((Invoke-ContainerExec c -- sha256sum /tmp/r) -split ' ')[0]
        Push-Location $t.Ext
        try { Invoke-ContainerExec c -OutFile r.out -- sh -c 'cat /tmp/r; exit 3' | Should -BeNullOrEmpty } finally { Pop-Location }
        $LASTEXITCODE | Should -Be 3
        (Get-FileHash (Join-Path $t.Ext 'r.out') -Algorithm SHA256).Hash.ToLowerInvariant() | Should -Be $sha
        Get-ErrorId (Get-CommandError { Invoke-ContainerExec nosuch -OutFile (Join-Path $t.Ext 'n.out') -- true }) | Should -Be 'ContainerNotFound'
        Join-Path $t.Ext 'n.out' | Should -Not -Exist
        Get-ErrorId (Get-CommandError { Invoke-ContainerExec c -OutFile (Join-Path $t.Ext 'no/such/dir') -- true }) | Should -Be 'OutFileUnavailable'
        Get-ErrorId (Get-CommandError { Invoke-ContainerExec c -Raw -OutFile x -- true }) | Should -Be 'InvalidExecOutput'
        Get-ErrorId (Get-CommandError { Get-Container web1, web2 | Invoke-ContainerExec -OutFile x -- true }) | Should -Be 'InvalidExecOutput'
        $small = (New-Item -ItemType Directory (Join-Path $t.Ext 'small')).FullName
        & mount -t tmpfs -o size=1m tmpfs $small
        try {
            Invoke-ContainerExec c -OutFile (Join-Path $small 'r') -ErrorVariable ev -ErrorAction SilentlyContinue -- head -c 20000000 /dev/zero
            @($ev).Count | Should -Be 1
            Get-ErrorId $ev[0] | Should -Be 'OutFileWriteFailed'
            $LASTEXITCODE | Should -Be 141 -Because 'head got EPIPE/SIGPIPE once the file could take no more (no hang; the pipes hold 3 MiB)'
        }
        finally { & umount $small }
        Invoke-ContainerExec c -- rm /tmp/r
    }

    It 'cps-exec moves stdout pipe to pipe (splice): 48 MiB arrive whole, and a reader that goes away ends the command with SIGPIPE' {
        $helper = Join-Path (Split-Path (Get-ModulePath)) 'bin/cps-exec'
        $init = (Get-Container c).Pid
        Invoke-ContainerExec c -- sh -c 'head -c 50331648 /dev/urandom > /tmp/big'
        $sha = ((Invoke-ContainerExec c -- sha256sum /tmp/big) -split ' ')[0]
        (& bash -c "'$helper' --pid $init -- cat /tmp/big | sha256sum") -split ' ' | Select-Object -First 1 | Should -Be $sha
        # The same through a file (not a pipe: read and write), and stderr beside it.
        $file = Join-Path $t.Ext 'big'
        & bash -c "'$helper' --pid $init -- sh -c 'cat /tmp/big; echo done >&2' > '$file' 2> '$file.err'"
        (Get-FileHash $file -Algorithm SHA256).Hash.ToLowerInvariant() | Should -Be $sha
        Get-Content "$file.err" | Should -Be 'done'
        & bash -c "'$helper' --pid $init -- yes | head -c 4 >/dev/null; echo `${PIPESTATUS[0]}" | Should -Be '141' -Because 'yes got EPIPE/SIGPIPE (128+13) once head was gone'
        Invoke-ContainerExec c -- rm /tmp/big
    }

    It '-AsJob -PassThru ends its output with an ExecResult; with piped containers, one job each' {
        $r = Invoke-ContainerExec c -AsJob -PassThru -- sh -c 'echo hi; exit 2' | Wait-Job | Receive-Job
        $r[0] | Should -Be 'hi'
        $r[-1].ExitCode | Should -Be 2
        $r[-1].Container | Should -Be 'c'
        $jobs = @(Get-Container web1, web2 | Invoke-ContainerExec -AsJob -- hostname)
        $jobs.Count | Should -Be 2
        ($jobs | Wait-Job | Receive-Job | Sort-Object) | Should -Be @('web1', 'web2')
        $jobs | Remove-Job
    }
}
