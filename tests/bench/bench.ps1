#!/usr/bin/env pwsh
# Benchmarks (run by: dotnet pwsh ./build.ps1 -Task Bench). Medians from one warm pwsh session, so
# pwsh start-up is not measured. Peers (LXC 5, plain runc) run side by side on the same machine.
param([int] $Iterations = 30, [int] $ContainerIterations = 15)
$ErrorActionPreference = 'Stop'
Import-Module (Join-Path $PSScriptRoot '../../ContainerPS.psd1')
Import-Module (Join-Path $PSScriptRoot '../pester/TestHelpers.psm1')   # the zfs-fuse and sshd fixtures of the tests

$base = Join-Path ([IO.Path]::GetTempPath()) "cps-bench-$PID"
$root = (New-Item -ItemType Directory -Path $base).FullName
& chmod 711 $root
$env:CONTAINERPS_ROOT = $root
$runcRoot = Join-Path $root 'peer-runc'
$lxcPath = Join-Path $root 'peer-lxc'
$sshHost = $null

# Measure-Median and Get-Median, shared with the lane's benchmarks; runs are -Iterations unless told.
Import-Module (Join-Path $PSScriptRoot '../vm/bench/BenchHelpers.psm1') -Force
$PSDefaultParameterValues['Measure-Median:Count'] = $Iterations

# Medians of several bodies measured in turn (one of each per round), so that drift of the machine
# over the run falls on all of them alike; -PauseMs waits after each body and -Before runs before
# each one, both untimed.
function Measure-Interleaved([System.Collections.Specialized.OrderedDictionary] $Bodies, [int] $Count = $Iterations, [int] $PauseMs = 0, [scriptblock] $Before) {
    $times = @{}
    foreach ($k in $Bodies.Keys) { $times[$k] = [Collections.Generic.List[double]]::new() }
    foreach ($i in 1..$Count) {
        foreach ($k in $Bodies.Keys) {
            if ($Before) { & $Before }
            $sw = [Diagnostics.Stopwatch]::StartNew()
            & $Bodies[$k] $i
            $times[$k].Add($sw.Elapsed.TotalMilliseconds)
            if ($PauseMs) { Start-Sleep -Milliseconds $PauseMs }
        }
    }
    $medians = [ordered]@{}
    foreach ($k in $Bodies.Keys) { $medians[$k] = Get-Median $times[$k] }
    $medians
}

# Peers are started with Process.Start, the way ContainerPS starts its helpers (no shell wrapper in
# their figures): arguments split on spaces (no path here has one), stdin closed, stdout and stderr
# piped and not waited for (a detached container may hold them).
function Start-Peer([string] $Command) {
    $parts = $Command -split ' '
    $psi = [Diagnostics.ProcessStartInfo]::new($parts[0])
    foreach ($a in $parts | Select-Object -Skip 1) { $psi.ArgumentList.Add($a) }
    $psi.UseShellExecute = $false
    $psi.RedirectStandardInput = $true
    $psi.RedirectStandardOutput = $true
    $psi.RedirectStandardError = $true
    $p = [Diagnostics.Process]::Start($psi)
    $p.StandardInput.Close()
    $p
}
function Sh([string] $Command) {
    $p = Start-Peer $Command
    if (-not $p.WaitForExit([TimeSpan]::FromMinutes(5))) { $p.Kill(); throw "timed out: $Command" }
    if ($p.ExitCode -ne 0) { throw "failed ($($p.ExitCode)): $Command" }
}

$rows = [Collections.Generic.List[object]]::new()
function Add-Row([string] $Operation, [double] $Ms, [string] $Peer = '', [Nullable[double]] $PeerMs = $null) {
    $rows.Add([pscustomobject]@{
        Operation        = $Operation
        'ContainerPS ms' = [math]::Round($Ms, 2)
        Peer             = $Peer
        'Peer ms'        = if ($null -ne $PeerMs) { [math]::Round($PeerMs, 2) } else { $null }
        Ratio            = if ($PeerMs) { [math]::Round($Ms / $PeerMs, 2) } else { $null }
    })
}

try {
    # ---------------------------------------------------------------- storage (dir)
    New-StoragePool bench -Driver dir | Out-Null
    foreach ($i in 1..5) { Add-StorageVolume bench "w$i" | Out-Null; Remove-StorageVolume bench "w$i" -Confirm:$false }
    $add = Measure-Median { param($i) Add-StorageVolume bench "v$i" | Out-Null }
    $mkdir = Measure-Median { param($i) $null = New-Item -ItemType Directory (Join-Path $root "plain$i") }
    Add-Row 'Add-StorageVolume (dir)' $add 'New-Item -ItemType Directory' $mkdir
    Add-Row 'Get-StorageVolume one (dir)' (Measure-Median { param($i) Get-StorageVolume bench "v$i" | Out-Null })
    $copy = Measure-Median { param($i) Copy-StorageVolume bench "v$i" "c$i" }
    $cp = Measure-Median { param($i) & cp -a --reflink=auto (Join-Path $root "plain$i") (Join-Path $root "plaincopy$i") }
    Add-Row 'Copy-StorageVolume (empty, dir)' $copy 'cp -a --reflink=auto' $cp
    $remove = Measure-Median { param($i) Remove-StorageVolume bench "v$i" -Confirm:$false; Remove-StorageVolume bench "c$i" -Confirm:$false }
    Add-Row 'Remove-StorageVolume x2 (dir)' $remove

    # ---------------------------------------------------------------- containers
    $n = $ContainerIterations
    foreach ($i in 1..3) { New-Container "warm$i" busybox -Start | Out-Null; Remove-Container "warm$i" -Force }
    $wrapper = Measure-Median { param($i) Sh "true" } $n

    $createStart = Measure-Median { param($i) New-Container "b$i" busybox -Start | Out-Null } $n
    $stopForce = Measure-Median { param($i) Stop-Container "b$i" -Force } $n
    $start = Measure-Median { param($i) Start-Container "b$i" } $n
    Measure-Median { param($i) Stop-Container "b$i" -Force } $n | Out-Null
    $delete = Measure-Median { param($i) Remove-Container "b$i" } $n

    # plain runc on the same busybox rootfs, shifted to the same map (runc cannot idmap by itself)
    New-Container spec busybox -Start | Out-Null
    $spec = Get-Content -Raw (Join-Path $root 'run/containers/spec/config.json') | ConvertFrom-Json -AsHashtable
    Stop-Container spec -Force
    $shifted = Join-Path $root 'peer-rootfs'
    & cp -a --reflink=auto (Get-StorageVolume -Pool default -Type container -Name spec).Path $shifted
    & chown -R 1000000:1000000 $shifted
    $bundles = foreach ($i in 1..$n) {
        $b = (New-Item -ItemType Directory (Join-Path $root "peer-bundle$i")).FullName
        $spec.root.path = $shifted
        $spec.hostname = "r$i"
        $spec.linux.cgroupsPath = "/containerps-bench/r$i"
        $spec | ConvertTo-Json -Depth 20 | Set-Content (Join-Path $b 'config.json')
        $b
    }
    $runcRun = Measure-Median { param($i) Sh "runc --root $runcRoot run -d --bundle $($bundles[$i - 1]) r$i" } $n
    $runcKill = Measure-Median { param($i) Sh "runc --root $runcRoot kill r$i KILL"; while ((& runc --root $runcRoot state "r$i" 2>$null | ConvertFrom-Json).status -eq 'running') { Start-Sleep -Milliseconds 1 } } $n
    $runcDelete = Measure-Median { param($i) Sh "runc --root $runcRoot delete --force r$i" } $n

    # LXC 5 with the same kind of map
    $lxc = Get-Command lxc-start -ErrorAction SilentlyContinue
    if ($lxc) {
        $null = New-Item -ItemType Directory $lxcPath
        $conf = Join-Path $root 'lxc.conf'
        "lxc.net.0.type = empty`nlxc.idmap = u 0 5000000 65536`nlxc.idmap = g 0 5000000 65536" | Set-Content $conf
        $lxcCreateStart = Measure-Median { param($i) Sh "lxc-create -P $lxcPath -n l$i -f $conf -t busybox"; Sh "lxc-start -P $lxcPath -n l$i" } $n
        $lxcStop = Measure-Median { param($i) Sh "lxc-stop -P $lxcPath -n l$i -k" } $n
        $lxcStart = Measure-Median { param($i) Sh "lxc-start -P $lxcPath -n l$i" } $n
        Measure-Median { param($i) Sh "lxc-stop -P $lxcPath -n l$i -k" } $n | Out-Null
        $lxcDestroy = Measure-Median { param($i) Sh "lxc-destroy -P $lxcPath -n l$i" } $n
    }

    Add-Row 'New-Container -Start (create+start)' $createStart 'lxc-create + lxc-start' $lxcCreateStart
    Add-Row 'Start-Container' $start 'runc run -d (userns)' $runcRun
    Add-Row 'Start-Container' $start 'lxc-start' $lxcStart
    Add-Row 'Stop-Container -Force' $stopForce 'runc kill KILL (until stopped)' $runcKill
    Add-Row 'Stop-Container -Force' $stopForce 'lxc-stop -k' $lxcStop
    Add-Row 'Remove-Container' $delete 'runc delete --force' $runcDelete
    Add-Row 'Remove-Container' $delete 'lxc-destroy' $lxcDestroy
    Add-Row "(starting a peer: Process.Start of true)" 0 "included in every peer figure" $wrapper

    # ---------------------------------------------------------------- start time vs files in the image
    foreach ($fileCount in 1000, 100000) {
        New-Container "f$fileCount" busybox | Out-Null
        $dir = Join-Path (Get-StorageVolume -Pool default -Type container -Name "f$fileCount").Path 'root/files'
        & bash -c "mkdir -p $dir && cd $dir && seq 1 $fileCount | xargs touch"
        $t = Measure-Median { param($i) Start-Container "f$fileCount" } 10 { param($i) Stop-Container "f$fileCount" -Force }
        Add-Row "Start-Container, $fileCount files in the rootfs" $t
    }

    # ---------------------------------------------------------------- copies and snapshots per driver
    # A container holding 100 MB in 1,000 files: Copy-Container and New-ContainerSnapshot on dir (cp
    # --reflink=auto: a full copy on ext4) and on btrfs (a subvolume snapshot: constant time).
    New-StoragePool benchbtrfs -Driver btrfs -Config @{ size = '3GiB' } | Out-Null
    $zfsd = Start-TestZfs
    New-StoragePool benchzfs -Driver zfs -Config @{ size = '3GiB'; 'zfs.pool_name' = "cpsbench$PID" } | Out-Null
    # ceph: the tests' throwaway one-node cluster (tests/ceph-cluster.sh: one mon, one memstore OSD on 127.0.0.1).
    $cephd = Start-TestCeph
    New-StoragePool benchceph -Driver ceph -Config @{ 'ceph.osd.pool_name' = "cpsbench$PID"; 'ceph.osd.pg_num' = 8; 'volume.size' = '1GiB' } | Out-Null
    foreach ($pool in 'default', 'benchbtrfs', 'benchzfs', 'benchceph') {
        New-Container "cp-$pool" busybox -StoragePool $pool | Out-Null
        $dir = Join-Path (Get-StorageVolume $pool "cp-$pool" -Type container).Path 'root/data'
        & bash -c "mkdir -p $dir && for i in `$(seq 1 1000); do head -c 102400 /dev/urandom > $dir/f`$i; done"
        $copy = Measure-Median { param($i) Copy-Container "cp-$pool" "cp-$pool-$i" } 5 { param($i) Remove-Container "cp-$pool-$i" }
        $snap = Measure-Median { param($i) New-ContainerSnapshot "cp-$pool" "s$i" | Out-Null } 5 { param($i) Remove-ContainerSnapshot "cp-$pool" "s$i" }
        $driver = (Get-StoragePool $pool).Driver
        $lxdCopy = @{ dir = 470; btrfs = 58 }[$driver]
        $lxdSnap = @{ dir = 1077; btrfs = 64 }[$driver]
        Add-Row "Copy-Container, 100 MB in 1000 files ($driver)" $copy $(if ($lxdCopy) { "lxc copy ($driver), published" }) $lxdCopy
        Add-Row "New-ContainerSnapshot, 100 MB in 1000 files ($driver)" $snap $(if ($lxdSnap) { "lxc snapshot ($driver), published" }) $lxdSnap
        Remove-Container "cp-$pool"
    }
    # The same clone done with the rbd tool alone (what Copy-Container on ceph does underneath, without the mount).
    $osd = "cpsbench$PID"
    & rbd create --size 1024 "$osd/peer" 2>&1 | Out-Null
    $rbdClone = Measure-Median { param($i) Sh "rbd snap create $osd/peer@s$i"; Sh "rbd snap protect $osd/peer@s$i"; Sh "rbd clone $osd/peer@s$i $osd/peer$i" } 5 {
        param($i) Sh "rbd rm --no-progress $osd/peer$i"; Sh "rbd snap unprotect $osd/peer@s$i"; Sh "rbd snap rm --no-progress $osd/peer@s$i" }
    & rbd rm --no-progress "$osd/peer" 2>&1 | Out-Null
    Add-Row 'rbd snap create + protect + clone (ceph, no mount)' $rbdClone
    $null = Add-StorageVolume benchceph bv -Config @{ size = '256MiB' }
    $volSnap = Measure-Median { param($i) New-StorageVolumeSnapshot benchceph bv "s$i" | Out-Null } 5 { param($i) Remove-StorageVolumeSnapshot benchceph bv "s$i" }
    Add-Row 'New-StorageVolumeSnapshot (ceph, mounted: fsfreeze + rbd snap)' $volSnap 'rbd snap create' (Measure-Median { param($i) Sh "rbd snap create $osd/custom_bv@p$i" } 5 { param($i) Sh "rbd snap rm --no-progress $osd/custom_bv@p$i" })
    $addVol = Measure-Median { param($i) Add-StorageVolume benchceph "av$i" -Config @{ size = '256MiB' } | Out-Null } 5 { param($i) Remove-StorageVolume benchceph "av$i" -Confirm:$false }
    Add-Row 'Add-StorageVolume (ceph: rbd create, rbd-fuse, loop, mkfs.ext4, mount)' $addVol
    Remove-StoragePool benchbtrfs -Force -Confirm:$false
    Remove-StoragePool benchzfs -Force -Confirm:$false
    Remove-StoragePool benchceph -Force -Confirm:$false
    Stop-TestZfs $zfsd; $zfsStopped = $true
    Stop-TestCeph $cephd; $cephStopped = $true

    # ---------------------------------------------------------------- volumes mounted into containers
    # Hot attach of a custom volume to a running container (idmapped mount, made by cps-mount inside
    # the container's namespaces), and giving a volume of N files to a container with another map:
    # idmapped (one mount, whatever N) vs the chown fallback on storage that cannot be idmapped
    # (overlayfs here, as zfs-fuse): every file is shifted.
    New-Container va busybox -Start | Out-Null
    New-Container vb busybox -IsolatedIdmap -Start | Out-Null
    Add-StorageVolume default hot | Out-Null
    $attach = Measure-Median { param($i) Mount-StorageVolume default hot va /hot } $n { param($i) Dismount-StorageVolume default hot va }
    Mount-StorageVolume default hot va /hot
    $detach = Measure-Median { param($i) Dismount-StorageVolume default hot va } $n { param($i) Mount-StorageVolume default hot va /hot }
    Add-Row 'Mount-StorageVolume (hot, running, idmapped)' $attach 'lxc storage volume attach (dir), published' 49
    Add-Row 'Dismount-StorageVolume (hot, running)' $detach
    $ov = "$root-ov" # a pool's source must be outside the state root
    foreach ($d in 'lower', 'upper', 'work', 'mnt') { New-Item -ItemType Directory (Join-Path $ov $d) | Out-Null }
    & mount -t overlay overlay -o "lowerdir=$ov/lower,upperdir=$ov/upper,workdir=$ov/work" "$ov/mnt"
    try {
        New-StoragePool ovbench -Driver dir -Source "$ov/mnt/pool" | Out-Null
        foreach ($fileCount in 10000, 100000) {
            foreach ($pool in 'default', 'ovbench') {
                $vol = Add-StorageVolume $pool "files$fileCount"
                & bash -c "mkdir -p $($vol.Path)/d && cd $($vol.Path)/d && seq 1 $fileCount | xargs touch"
                # Alternate the only user between the shared map (va) and an isolated one (vb).
                Mount-StorageVolume $pool "files$fileCount" va /files
                $give = Measure-Median { param($i)
                    $from, $to = if ($i % 2) { 'va', 'vb' } else { 'vb', 'va' }
                    Dismount-StorageVolume $pool "files$fileCount" $from
                    Mount-StorageVolume $pool "files$fileCount" $to /files
                } 3
                $how = if ($pool -eq 'default') { 'idmapped mount' } else { 'chown shift, overlayfs' }
                Add-Row "Give a $fileCount-file volume to a container with another map ($how)" $give
                Dismount-StorageVolume $pool "files$fileCount" (Get-StorageVolume $pool "files$fileCount").UsedBy[0]
                Remove-StorageVolume $pool "files$fileCount" -Confirm:$false
            }
        }
        Remove-StoragePool ovbench -Confirm:$false
    }
    finally {
        Get-Container va, vb -ErrorAction SilentlyContinue | Remove-Container -Force
        & umount -l "$ov/mnt"
        & rm -rf --one-file-system $ov
    }

    # ---------------------------------------------------------------- networking (CNI bridge + host-local)
    $bridge = 'cpsb' + ([guid]::NewGuid().ToString('N').Substring(0, 8))
    $netConf = @{ cniVersion = '1.0.0'; plugins = @(@{ type = 'bridge'; bridge = $bridge; isGateway = $false; isDefaultGateway = $false; ipMasq = $false
                ipam = @{ type = 'host-local'; dataDir = (Join-Path $root 'ipam'); ranges = @(, @(@{ subnet = '10.203.0.0/24' })) } }) }
    try {
        New-ContainerNetwork benchnet -Config $netConf | Out-Null
        New-Container n0 busybox | Out-Null
        New-Container n1 busybox -Network benchnet | Out-Null
        $noNet = Measure-Median { param($i) Start-Container n0 } $n { param($i) Stop-Container n0 -Force }
        $withNet = Measure-Median { param($i) Start-Container n1 } $n { param($i) Stop-Container n1 -Force }
        Add-Row 'Start-Container, one bridge network' $withNet 'Start-Container, no network' $noNet
        Start-Container n0
        $connect = Measure-Median { param($i) Connect-ContainerNetwork n0 benchnet } $n { param($i) Disconnect-ContainerNetwork n0 benchnet }
        Connect-ContainerNetwork n0 benchnet
        $disconnect = Measure-Median { param($i) Disconnect-ContainerNetwork n0 benchnet } $n { param($i) Connect-ContainerNetwork n0 benchnet }
        Add-Row 'Connect-ContainerNetwork (hot, running)' $connect
        Add-Row 'Disconnect-ContainerNetwork (hot, running)' $disconnect
        Remove-Container n0, n1 -Force
        Remove-ContainerNetwork benchnet
    }
    finally {
        & ip link del $bridge 2>$null
    }

    # ---------------------------------------------------------------- exec
    New-Container ex busybox -Start | Out-Null
    $initPid = (Get-Container ex).Pid
    $runcId = Get-RuncId ex -Run (Join-Path $root 'run')
    $helper = Join-Path $PSScriptRoot '../../bin/cps-exec'
    foreach ($i in 1..10) { Invoke-ContainerExec ex -NonInteractive -- true }
    # Round robin (one of each in turn), so that the machine's drift over the run falls on every row alike.
    $execs = Measure-Interleaved ([ordered]@{
        exec    = { Invoke-ContainerExec ex -NonInteractive -- true }
        nsenter = { Sh "nsenter -t $initPid -a true" }
        runc    = { Sh "runc --root $(Join-Path $root 'run/runc') exec $runcId true" }
        alone   = { Sh "$helper --pid $initPid -- true" }
    }) 100
    $exec = $execs.exec
    Add-Row 'Invoke-ContainerExec ex true' $exec 'nsenter -t PID -a true (floor)' $execs.nsenter
    Add-Row 'Invoke-ContainerExec ex true' $exec 'runc exec' $execs.runc
    Add-Row 'Invoke-ContainerExec ex true' $exec 'cps-exec --pid PID -- true alone (the helper without the cmdlet)' $execs.alone
    # An exec after a quiet spell (300 ms apart): joining cgroup v1 hierarchies waits out an RCU grace
    # period then (cgroup_threadgroup_rwsem); nsenter joins no cgroup.
    $cold = Measure-Interleaved ([ordered]@{
        exec    = { Invoke-ContainerExec ex -NonInteractive -- true }
        nsenter = { Sh "nsenter -t $initPid -a true" }
    }) 15 -PauseMs 300
    Add-Row 'Invoke-ContainerExec ex true, 300 ms after the last (cold)' $cold.exec 'nsenter -t PID -a true, the same' $cold.nsenter
    if ($lxc) {
        Sh "lxc-create -P $lxcPath -n la -f $conf -t busybox"; Sh "lxc-start -P $lxcPath -n la"
        $attach = Measure-Median { param($i) Sh "lxc-attach -P $lxcPath -n la -- true" } 100
        Add-Row 'Invoke-ContainerExec ex true' $exec 'lxc-attach -- true' $attach
        Sh "lxc-stop -P $lxcPath -n la -k"; Sh "lxc-destroy -P $lxcPath -n la"
    }
    if (Get-Command sshd -ErrorAction SilentlyContinue) {
        # One throwaway sshd on 127.0.0.1: the ssh peer here, and the second host of Move-Container below.
        $dst = (New-Item -ItemType Directory (Join-Path $root 'dest')).FullName
        & chmod 711 $dst
        $sshHost = Start-TestSshHost -Root $dst -Dir (Join-Path $root 'ssh')
        $sshArgs = @('-q', '-i', $sshHost.KeyFile, '-p', $sshHost.Port, '-o', 'StrictHostKeyChecking=no', '-o', 'UserKnownHostsFile=/dev/null', '-o', 'BatchMode=yes', 'root@127.0.0.1', 'true')
        & ssh @sshArgs
        if ($LASTEXITCODE -eq 0) {
            $ssh = Measure-Median { param($i) Sh "ssh $($sshArgs -join ' ')" } 20
            Add-Row 'Invoke-ContainerExec ex true' $exec 'ssh root@127.0.0.1 true' $ssh
        }
    }
    Invoke-ContainerExec ex -- sh -c 'dd if=/dev/zero bs=1M count=256 2>/dev/null | tr "\000" x > /root/big'
    $sw = [Diagnostics.Stopwatch]::StartNew()
    $bytes = (Invoke-ContainerExec ex -Raw -NonInteractive -- cat /root/big).Length
    $sw.Stop()
    Add-Row ("cat of a 256 MB file, -Raw: {0:N0} MB/s" -f ($bytes / 1MB / $sw.Elapsed.TotalSeconds)) $sw.Elapsed.TotalMilliseconds
    # 256 MB of stdout as bytes, into a file and counted only, beside cps-exec alone (Process.Start)
    # and beside writing 256 MB from memory into the same file (what the file system costs here). Each
    # starts with the file removed and the page cache written back (untimed): no run pays for the last.
    $out = Join-Path $root 'bytes.out'
    $dd = "$helper --pid $initPid -- dd if=/dev/zero bs=1M count=256 status=none"
    $zeros = [byte[]]::new(1MB)
    $script:counted = 0
    $bytesRows = Measure-Interleaved ([ordered]@{
        file      = { $fs = [IO.File]::Create($out); Invoke-ContainerExec ex -AsByteStream -- dd if=/dev/zero bs=1M count=256 status=none | ForEach-Object { $fs.Write($_, 0, $_.Length) }; $fs.Close()
                      if ((Get-Item $out).Length -ne 256MB) { throw "-AsByteStream wrote $((Get-Item $out).Length) bytes" } }
        outFile   = { Invoke-ContainerExec ex -OutFile $out -- dd if=/dev/zero bs=1M count=256 status=none
                      if ((Get-Item $out).Length -ne 256MB) { throw "-OutFile wrote $((Get-Item $out).Length) bytes" } }
        aloneFile = { $p = Start-Peer $dd; $fs = [IO.File]::Create($out); $p.StandardOutput.BaseStream.CopyTo($fs, 1MB); $fs.Close(); $p.WaitForExit() }
        write     = { $fs = [IO.File]::Create($out); foreach ($k in 1..256) { $fs.Write($zeros, 0, $zeros.Length) }; $fs.Close() }
        counted   = { $script:counted = 0; Invoke-ContainerExec ex -AsByteStream -- dd if=/dev/zero bs=1M count=256 status=none | ForEach-Object { $script:counted += $_.Length }
                      if ($script:counted -ne 256MB) { throw "-AsByteStream gave $($script:counted) bytes" } }
        aloneNull = { $p = Start-Peer $dd; $p.StandardOutput.BaseStream.CopyTo([IO.Stream]::Null, 1MB); $p.WaitForExit() }
    }) 5 -Before { Remove-Item $out -ErrorAction Ignore; & sync }
    Remove-Item $out -ErrorAction Ignore
    $mbs = { param($ms) '{0:N0} MB/s' -f (256 / ($ms / 1000)) }
    Add-Row "256 MB stdout to a file, -OutFile: $(& $mbs $bytesRows.outFile) (goal 1,000)" $bytesRows.outFile 'cps-exec alone, stdout copied to the file' $bytesRows.aloneFile
    Add-Row "256 MB stdout to a file, -AsByteStream | ForEach-Object { FileStream.Write }: $(& $mbs $bytesRows.file)" $bytesRows.file 'cps-exec alone, stdout copied to the file' $bytesRows.aloneFile
    Add-Row "256 MB stdout to a file, -AsByteStream" $bytesRows.file "256 MB written to the file from memory: $(& $mbs $bytesRows.write) (the file system)" $bytesRows.write
    Add-Row "256 MB stdout, -AsByteStream, counted (no file): $(& $mbs $bytesRows.counted)" $bytesRows.counted 'cps-exec alone, stdout read and dropped' $bytesRows.aloneNull

    # Fleet exec: one command in 20 containers at once, beside 20 nsenter started at once.
    foreach ($k in 1..20) { New-Container "fleet$k" busybox -Start | Out-Null }
    $fleetPids = @(Get-Container fleet* | ForEach-Object Pid)
    $fleet = Measure-Median { param($i) Get-Container fleet* | Invoke-ContainerExec -ThrottleLimit 20 -- true } 10
    $fleetSeq = Measure-Median { param($i) Get-Container fleet* | Invoke-ContainerExec -ThrottleLimit 1 -- true } 10
    $fleetPeer = Measure-Median { param($i) $ps = foreach ($p in $fleetPids) { Start-Peer "nsenter -t $p -a true" }; foreach ($p in $ps) { $p.WaitForExit() } } 10
    Add-Row 'Get-Container fleet* | Invoke-ContainerExec -ThrottleLimit 20 -- true (20 containers)' $fleet '20 nsenter -a true at once' $fleetPeer
    Add-Row 'Get-Container fleet* | Invoke-ContainerExec -ThrottleLimit 1 -- true (20 containers)' $fleetSeq 'the same, 20 at once' $fleet
    Get-Container fleet* | Remove-Container -Force
    Remove-Container ex -Force

    # ---------------------------------------------------------------- CRIU: checkpoint, restore, move
    $ck = (New-Item -ItemType Directory (Join-Path $root 'ck')).FullName
    $dirty = Join-Path $root 'dirty'
    & gcc -static -O2 -o $dirty (Join-Path $PSScriptRoot '../pester/workloads/dirty.c')
    function Measure-CheckpointRestore([string] $Name, [int] $Count) {
        $c = @(); $r = @()
        foreach ($i in 1..$Count) {
            $sw = [Diagnostics.Stopwatch]::StartNew(); Checkpoint-Container $Name -Path "$ck/$Name$i"; $c += $sw.Elapsed.TotalMilliseconds
            $sw = [Diagnostics.Stopwatch]::StartNew(); Restore-Container $Name -Path "$ck/$Name$i"; $r += $sw.Elapsed.TotalMilliseconds
            Remove-Item -Recurse -Force "$ck/$Name$i"
        }
        (Get-Median $c), (Get-Median $r)
    }
    New-Container idle busybox -Start | Out-Null
    $idleCk, $idleRs = Measure-CheckpointRestore idle 7
    New-Container big busybox -Start | Out-Null
    Copy-Item $dirty (Join-Path (Get-StorageVolume -Pool default -Type container -Name big).Path 'root/dirty')
    Invoke-ContainerExec big -- sh -c '/root/dirty 256 /tmp/dirty </dev/null >/dev/null 2>&1 &' | Out-Null
    while ((Invoke-ContainerExec big -ErrorAction SilentlyContinue -- cat /tmp/dirty) -notmatch '^ok') { Start-Sleep -Milliseconds 100 }
    $bigCk, $bigRs = Measure-CheckpointRestore big 3
    # plain runc + CRIU on the same rootfs (userns, no network, no exec helper), with the CRIU
    # ContainerPS runs (runc's default is criu from PATH, which a Debian 12 host does not have)
    $criu = (Test-ContainerCheckpoint).CriuPath
    Sh "runc --root $runcRoot run -d --bundle $($bundles[0]) rck"
    $rc = @(); $rr = @()
    foreach ($i in 1..7) {
        $img = "$ck/runc$i"
        $sw = [Diagnostics.Stopwatch]::StartNew(); Sh "runc --criu $criu --root $runcRoot checkpoint --image-path $img rck"; $rc += $sw.Elapsed.TotalMilliseconds
        & chmod -R a+rX $img   # CRIU reads some images before the restored task has its uid map (see Criu.PrepareForRestore)
        $sw = [Diagnostics.Stopwatch]::StartNew(); Sh "runc --criu $criu --root $runcRoot restore -d --image-path $img --bundle $($bundles[0]) rck"; $rr += $sw.Elapsed.TotalMilliseconds
    }
    & runc --root $runcRoot kill rck KILL 2>$null
    Start-Sleep -Milliseconds 200
    & runc --root $runcRoot delete --force rck
    Add-Row 'Checkpoint-Container -Path, idle busybox' $idleCk 'runc checkpoint (same rootfs, userns)' (Get-Median $rc)
    Add-Row 'Restore-Container -Path, idle busybox' $idleRs 'runc restore -d' (Get-Median $rr)
    Add-Row 'Checkpoint-Container -Path, 256 MB resident' $bigCk
    Add-Row 'Restore-Container -Path, 256 MB resident' $bigRs
    Remove-Container idle -Force

    # Move-Container to the second host on this machine (the sshd above, with the powershell subsystem)
    if ($sshHost) {
        $session = $null
        try {
            $session = New-TestSshSession $sshHost
            # The same 256 MB dirtying workload moved both ways, in this run: stop-and-copy, then post-copy.
            # Throughput = the workload's rounds (each checks and rewrites all 256 MB) per second across
            # the move, against its rate just before.
            New-Container big2 busybox -Start | Out-Null
            Copy-Item $dirty (Join-Path (Get-StorageVolume -Pool default -Type container -Name big2).Path 'root/dirty')
            Invoke-ContainerExec big2 -- sh -c '/root/dirty 256 /tmp/dirty </dev/null >/dev/null 2>&1 &' | Out-Null
            while ((Invoke-ContainerExec big2 -ErrorAction SilentlyContinue -- cat /tmp/dirty) -notmatch '^ok') { Start-Sleep -Milliseconds 100 }
            function Get-Round([string] $Name, $Session) {
                $line = if ($Session) { Invoke-Command -Session $Session { param($n) Invoke-ContainerExec $n -Command cat, /tmp/dirty } -ArgumentList $Name } else { Invoke-ContainerExec $Name -Command cat, /tmp/dirty }
                [long](($line -split ' ')[1])
            }
            function Measure-Move([string] $Name, [string] $Mode) {
                $r0 = Get-Round $Name; $t0 = [Diagnostics.Stopwatch]::StartNew(); Start-Sleep -Seconds 2
                $base = ((Get-Round $Name) - $r0) / $t0.Elapsed.TotalSeconds
                $r1 = Get-Round $Name; $t1 = [Diagnostics.Stopwatch]::StartNew()
                $m = Move-Container $Name -Destination $session -Mode $Mode -PassThru
                $during = ((Get-Round $Name $session) - $r1) / $t1.Elapsed.TotalSeconds
                [pscustomobject]@{ Move = $m; Base = $base; During = $during }
            }
            $sc = Measure-Move big StopAndCopy
            $pc = Measure-Move big2 PostCopy
            Add-Row ("Move-Container, 256 MB dirty (stop-and-copy): total {0:N0} ms; workload {1:N1} rounds/s across the move (before: {2:N1})" -f $sc.Move.MoveTotalMs, $sc.During, $sc.Base) $sc.Move.MoveDowntimeMs 'downtime = frozen time'
            Add-Row ("Move-Container -Mode PostCopy, 256 MB dirty: total {0:N0} ms; workload {1:N1} rounds/s across the move (before: {2:N1})" -f $pc.Move.MoveTotalMs, $pc.During, $pc.Base) $pc.Move.MoveDowntimeMs 'stop-and-copy downtime, same run' $sc.Move.MoveDowntimeMs
            Add-Row 'Move-Container -Live (pre-copy), 1/3/8 iterations' 0 'not possible on this kernel: no CONFIG_MEM_SOFT_DIRTY (the lane measures it: tests/vm/bench/precopy.ps1)'

            # Shared ceph: a container with 100 MB in 1000 files on a ceph pool whose OSD pool the
            # destination's pool shares (its RBD images handed over), against the same container on a
            # ceph pool of another OSD pool (copied as a tar to the destination's default pool), same run.
            $cephm = Start-TestCeph
            New-StoragePool mvshared -Driver ceph -Config @{ 'ceph.osd.pool_name' = "cpsmvs$PID"; 'ceph.osd.pg_num' = 8; 'volume.size' = '1GiB' } | Out-Null
            New-StoragePool mvcopied -Driver ceph -Config @{ 'ceph.osd.pool_name' = "cpsmvc$PID"; 'ceph.osd.pg_num' = 8; 'volume.size' = '1GiB' } | Out-Null
            Invoke-Command -Session $session {
                param($conf, $osd) $env:CEPH_CONF = $conf
                New-StoragePool mvshared -Driver ceph -Source $osd -Config @{ 'ceph.osd.shared' = 'true'; 'volume.size' = '1GiB' } | Out-Null
            } -ArgumentList $env:CEPH_CONF, "cpsmvs$PID"
            $moves = [ordered]@{}
            foreach ($pool in 'mvshared', 'mvcopied') {
                foreach ($state in 'stopped', 'running') {
                    $name = "$pool-$state"
                    New-Container $name busybox -StoragePool $pool | Out-Null
                    $dir = Join-Path (Get-StorageVolume $pool $name -Type container).Path 'root/data'
                    & bash -c "mkdir -p $dir && for i in `$(seq 1 1000); do head -c 102400 /dev/urandom > $dir/f`$i; done; sync"
                    if ($state -eq 'running') { Start-Container $name }
                    $moves["$pool-$state"] = Move-Container $name -Destination $session -PassThru
                }
            }
            foreach ($state in 'stopped', 'running') {
                $h = $moves["mvshared-$state"]; $c = $moves["mvcopied-$state"]
                $what = if ($state -eq 'stopped') { 'total' } else { 'downtime' }
                $hMs = if ($state -eq 'stopped') { $h.MoveTotalMs } else { $h.MoveDowntimeMs }
                $cMs = if ($state -eq 'stopped') { $c.MoveTotalMs } else { $c.MoveDowntimeMs }
                Add-Row ("Move-Container, $state busybox + 100 MB in 1000 files, ceph OSD pool shared by both hosts (handed over, {0:N0} bytes sent): $what" -f $h.MoveBytesSent) $hMs `
                    ("ceph pool on another OSD pool, copied ({0:N0} bytes sent), same run" -f $c.MoveBytesSent) $cMs
            }
        }
        finally {
            if ($session) {
                Invoke-Command -Session $session {
                    Get-Container | Remove-Container -Force
                    Get-StoragePool mvshared -ErrorAction SilentlyContinue | Remove-StoragePool -Force -Confirm:$false
                } -ErrorAction SilentlyContinue
                Remove-PSSession $session
            }
        }
    }

    $rows | Format-Table -AutoSize | Out-String -Width 240 | Write-Host
    Write-Host "Medians in one warm pwsh session ($Iterations storage / $n container iterations); ratio = ContainerPS / peer."
    Write-Host 'ContainerPS starts through an idmapped mount (no chown), so its start time does not depend on the number of files.'
    Write-Host 'Published anchor for networking (not measured here): LXD start with a NIC 217 ms vs 173 ms without; a bridge CNI ADD alone about 10 ms.'
    Write-Host 'Published anchors for CRIU (not measured here): podman/runc checkpoint of a small container 55 ms; LXC here 123 ms dump, 195 ms restore; LXD here 824 ms dump, restore fails.'
    Write-Host 'Published anchors for live migration (not measured here): pre-copy of Redis 483-690 ms downtime; podman stop-and-copy of 128 MB 1.47 s. No peer here ships post-copy for containers (podman has no lazy pages; LXD/Incus use pre-copy).'
}
finally {
    if ($sshHost) { Stop-TestSshHost $sshHost }
    Get-Container -ErrorAction SilentlyContinue | Remove-Container -Force -ErrorAction SilentlyContinue
    & runc --root $runcRoot delete --force rck 2>$null
    foreach ($i in 1..$ContainerIterations) {
        & bash -c "runc --root $runcRoot delete --force r$i >/dev/null 2>&1; lxc-stop -P $lxcPath -n l$i -k >/dev/null 2>&1; lxc-destroy -P $lxcPath -n l$i >/dev/null 2>&1; true"
    }
    Get-StoragePool -ErrorAction SilentlyContinue | Remove-StoragePool -Force -Confirm:$false -ErrorAction SilentlyContinue
    # the test daemons, also when the bench stopped before its own Stop-* (they are started once)
    if ($zfsd -and -not $zfsStopped) { Stop-TestZfs $zfsd }
    if ($cephd -and -not $cephStopped) { Stop-TestCeph $cephd }
    if ($cephm) { Stop-TestCeph $cephm }
    # the plain-runc peers' parent cgroup (runc removes each container's own cgroup, not the parent)
    Get-ChildItem /sys/fs/cgroup/*/containerps-bench, /sys/fs/cgroup/unified/containerps-bench -Directory -ErrorAction SilentlyContinue |
        ForEach-Object {
            $dir = $_.FullName
            try { [IO.Directory]::Delete($dir) }
            catch { Write-Warning "Could not remove the peers' cgroup $dir (a peer still runs?): $_" }
        }
    & rm -rf --one-file-system $root
}
