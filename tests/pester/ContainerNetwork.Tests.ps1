#Requires -Version 7.4
# CNI networking through the real cmdlets and the real plugins (/usr/lib/cni): bridge + host-local
# networks with ipMasq false and no default gateway, so traffic stays between the test's own
# namespaces. Two busybox containers ping each other, a container with two networks has eth0 and
# eth1, hot connect/disconnect, DEL frees host-local's address files (also after a SIGKILLed monitor
# and after the runtime directory vanished as in a reboot), a failing ADD is rolled back completely,
# CHECK, and bad configurations that change nothing.
# Run it in a private mount namespace (unshare --mount --propagation private), as build.ps1 does.

BeforeAll {
    Import-Module (Join-Path $PSScriptRoot 'TestHelpers.psm1') -Force
    Import-Module (Get-ModulePath) -Force

    function Get-IpamDir { Join-Path $env:CONTAINERPS_ROOT 'ipam' }

    <# The addresses host-local has reserved on a network (one file per address). #>
    function Get-ReservedAddress([string] $Network) {
        @(Get-ChildItem -LiteralPath (Join-Path (Get-IpamDir) $Network) -File -ErrorAction SilentlyContinue |
                Where-Object Name -Match '^\d+\.\d+\.\d+\.\d+$' | ForEach-Object Name | Sort-Object)
    }

    <# Runs a command in a container and returns its output lines (fails the test on a non-zero exit). #>
    function Invoke-In([string] $Container, [string[]] $Command) {
        $out = Invoke-ContainerExec -Name $Container -Command $Command
        if ($LASTEXITCODE -ne 0) { throw "'$($Command -join ' ')' in $Container exited with $LASTEXITCODE" }
        $out
    }

    function Get-InterfaceNames([string] $Container) {
        @(Invoke-In $Container @('ls', '/sys/class/net') | ForEach-Object { $_ -split '\s+' } | Where-Object { $_ } | Sort-Object)
    }

    <# The hook FIFOs a start makes in the runtime directory (none once the start has finished). #>
    function Get-HookFifo { @(Get-ChildItem -Path (Join-Path $env:CONTAINERPS_ROOT 'run/containers/*/hook.*') -ErrorAction SilentlyContinue) }
}

Describe 'CNI networks' {
    BeforeEach { $script:t = New-ContainerTestRoot }
    AfterEach {
        Remove-TestContainers
        Remove-TestNetworks
        Remove-TestRoot
    }

    Context 'networks as objects' {
        It 'New-ContainerNetwork stores a conflist (hashtable or JSON) and Get-ContainerNetwork returns typed objects' {
            $n = New-TestBridgeNetwork -Name lan -Subnet 10.201.1.0/24
            $n | Should -BeOfType ([ContainerPS.ContainerNetwork])
            $n.Name | Should -Be 'lan'
            $n.CniVersion | Should -Be '1.0.0'
            $n.Plugins | Should -Be @('bridge')
            $n.Subnet | Should -Be '10.201.1.0/24'
            $n.UsedBy | Should -HaveCount 0
            ($n.Config | ConvertFrom-Json).name | Should -Be 'lan'

            # A single plugin configuration in JSON is wrapped into a list, and its own name is used.
            $json = '{"cniVersion":"0.4.0","name":"single","type":"bridge","bridge":"cpt-single","isGateway":false,"ipMasq":false,' +
                '"ipam":{"type":"host-local","dataDir":"' + (Get-IpamDir) + '","subnet":"10.201.2.0/24"}}'
            Add-TestBridge 'cpt-single'
            $s = New-ContainerNetwork -Config $json
            $s.Name | Should -Be 'single'
            $s.CniVersion | Should -Be '0.4.0'
            ($s.Config | ConvertFrom-Json).plugins[0].type | Should -Be 'bridge'
            $s.Subnet | Should -Be '10.201.2.0/24'

            # -Path reads a .conflist file.
            $file = Join-Path $script:t.Ext 'p.conflist'
            $json.Replace('"single"', '"fromfile"') | Set-Content $file
            (New-ContainerNetwork -Path $file).Name | Should -Be 'fromfile'

            @(Get-ContainerNetwork).Name | Should -Be @('fromfile', 'lan', 'single')
            Get-ContainerNetwork -Name 'l*' | ForEach-Object Name | Should -Be 'lan'
            Get-ContainerNetwork -Name lan -Property subnet | Should -Be '10.201.1.0/24'
            (Get-ContainerNetwork -Name lan -Property config | ConvertFrom-Json).name | Should -Be 'lan'
            (Get-ContainerNetwork lan | Out-String) | Should -Match 'lan\s+1\.0\.0\s+bridge\s+10\.201\.1\.0/24'
        }

        It 'bad configurations give clear errors and change nothing' {
            $null = New-TestBridgeNetwork -Name lan -Subnet 10.201.3.0/24
            $before = Get-ContainerStateSnapshot -IgnoreLocks

            $e = Get-CommandError { New-ContainerNetwork -Name bad -Config '{"cniVersion":"1.0.0","plugins":[{"type":"no-such-plugin"}]}' }
            $e.FullyQualifiedErrorId | Should -BeLike 'CniPluginNotFound,*'
            $e.CategoryInfo.Category | Should -Be 'ObjectNotFound'
            $e.Exception.Message | Should -Match "no-such-plugin.*not found in /usr/lib/cni"

            $e = Get-CommandError { New-ContainerNetwork -Name bad -Config '{"cniVersion":"1.0.0", "plugins": [' }
            $e.FullyQualifiedErrorId | Should -BeLike 'InvalidNetworkConfig,*'
            $e.Exception.Message | Should -Match 'not valid JSON'

            $e = Get-CommandError { New-ContainerNetwork -Name bad -Config '{"cniVersion":"1.1.0","plugins":[{"type":"bridge"}]}' }
            $e.FullyQualifiedErrorId | Should -BeLike 'UnsupportedCniVersion,*'
            $e.Exception.Message | Should -Match "'1.1.0' is not supported: use 1.0.0, 0.4.0, 0.3.1"

            $e = Get-CommandError { New-ContainerNetwork -Name lan -Config '{"cniVersion":"1.0.0","plugins":[{"type":"bridge"}]}' }
            $e.FullyQualifiedErrorId | Should -BeLike 'NetworkExists,*'
            $e.CategoryInfo.Category | Should -Be 'ResourceExists'

            $e = Get-CommandError { New-ContainerNetwork -Name '../x' -Config '{"cniVersion":"1.0.0","plugins":[{"type":"bridge"}]}' }
            $e.FullyQualifiedErrorId | Should -BeLike 'InvalidName,*'
            $e = Get-CommandError { New-ContainerNetwork -Name x -Config '{"cniVersion":"1.0.0","plugins":[{"type":"../../bin/sh"}]}' }
            $e.FullyQualifiedErrorId | Should -BeLike 'InvalidNetworkConfig,*'
            # A bridge name the kernel would refuse (IFNAMSIZ: 15 bytes) is refused when the network is made.
            $e = Get-CommandError { New-ContainerNetwork -Name x -Config '{"cniVersion":"1.0.0","plugins":[{"type":"bridge","bridge":"a-bridge-name-of-16"}]}' }
            $e.FullyQualifiedErrorId | Should -BeLike 'InvalidNetworkConfig,*'
            $e.Exception.Message | Should -Match "'bridge' of plugin 'bridge'.*1 to 15 bytes"
            $e = Get-CommandError { New-ContainerNetwork -Name x -Path (Join-Path $script:t.Ext 'missing.conflist') }
            $e.FullyQualifiedErrorId | Should -BeLike 'NetworkConfigNotFound,*'

            # A container naming a missing network is not created.
            $e = Get-CommandError { New-Container -Name c1 -Image busybox -Network lan, nope }
            $e.FullyQualifiedErrorId | Should -BeLike 'NetworkNotFound,*'
            $e = Get-CommandError { Remove-ContainerNetwork -Name nope }
            $e.FullyQualifiedErrorId | Should -BeLike 'NetworkNotFound,*'

            Get-ContainerStateSnapshot -IgnoreLocks | Should -Be $before
        }
    }

    Context 'containers on networks' {
        It 'two unprivileged busybox containers on a bridge network ping each other; addresses, resolv.conf and DEL' {
            $null = New-TestBridgeNetwork -Name lan -Subnet 10.201.10.0/24 -Nameserver 10.201.10.53
            $a = New-Container -Name a -Image busybox -Network lan -Start
            $b = New-Container -Name b -Image busybox -Network lan -Start
            $a.Network | Should -HaveCount 1
            $a.Network[0] | Should -BeOfType ([ContainerPS.NetworkAttachment])
            $a.Network[0].Interface | Should -Be 'eth0'
            $a.Network[0].Attached | Should -BeTrue
            $a.Network[0].Addresses | Should -Match '^10\.201\.10\.\d+/24$'
            $a.Network[0].MacAddress | Should -Match '^([0-9a-f]{2}:){5}[0-9a-f]{2}$'
            $a.Network[0].Nameservers | Should -Be '10.201.10.53'
            $ipA = $a.Network[0].Addresses[0] -replace '/24$'
            $ipB = $b.Network[0].Addresses[0] -replace '/24$'
            $ipA | Should -Not -Be $ipB
            Get-ReservedAddress lan | Should -Be (@($ipA, $ipB) | Sort-Object)
            (Get-ContainerNetwork lan).UsedBy | Should -Be @('a', 'b')

            # Inside: the address on eth0, loopback up, the map of an unprivileged container, resolv.conf from the result.
            (Invoke-In a @('ip', 'addr', 'show', 'eth0')) -join "`n" | Should -Match "inet $([regex]::Escape($ipA))/24"
            (Invoke-In a @('ping', '-c', '1', '-W', '2', '127.0.0.1')) -join "`n" | Should -Match '1 packets received'
            (Invoke-In a @('cat', '/proc/self/uid_map')) -join '' | Should -Match '^\s*0\s+\d+\s+65536\s*$'
            Invoke-In a @('cat', '/etc/resolv.conf') | Should -Contain 'nameserver 10.201.10.53'
            (Invoke-In a @('ping', '-c', '2', '-W', '2', $ipB)) -join "`n" | Should -Match '2 packets received'
            (Invoke-In b @('ping', '-c', '2', '-W', '2', $ipA)) -join "`n" | Should -Match '2 packets received'
            # The network namespace belongs to the container's user namespace: its root administers it.
            (& readlink "/proc/$($a.Pid)/ns/net") | Should -Not -Be (& readlink /proc/self/ns/net)
            Invoke-In a @('ip', 'link', 'set', 'eth0', 'mtu', '1400')
            (Invoke-In a @('cat', '/sys/class/net/eth0/mtu')) | Should -Be '1400'

            # The table view shows the addresses; Get-ContainerNetworkAttachment lists both.
            (Get-Container a | Out-String) | Should -Match ([regex]::Escape($ipA))
            $att = @(Get-ContainerNetworkAttachment)
            $att.Container | Should -Be @('a', 'b')
            @(Get-ContainerNetworkAttachment -Name a).Addresses | Should -Be "$ipA/24"
            Get-Container a | Select-Object -ExpandProperty Network | ForEach-Object Interface | Should -Be 'eth0'

            # Stop runs DEL: the addresses are free again, the interfaces and pins are gone.
            Stop-Container -Name a, b -Force
            Get-ReservedAddress lan | Should -HaveCount 0
            (Get-Container a).Network[0].Attached | Should -BeFalse
            (Get-Container a).Network[0].Addresses | Should -HaveCount 0
            Get-HookFifo | Should -HaveCount 0

            # Removal is refused while containers use the network, and works once they are gone.
            $e = Get-CommandError { Remove-ContainerNetwork -Name lan }
            $e.FullyQualifiedErrorId | Should -BeLike 'NetworkInUse,*'
            $e.Exception.Message | Should -Match 'a, b'
            Remove-Container -Name a, b
            Remove-ContainerNetwork -Name lan
            Get-ContainerNetwork | Should -BeNullOrEmpty
        }

        It 'a container with two networks has eth0 and eth1, and a privileged container is networked too' {
            $null = New-TestBridgeNetwork -Name front -Subnet 10.201.20.0/24
            $null = New-TestBridgeNetwork -Name back -Subnet 10.201.21.0/24 -Version 0.3.1
            $c = New-Container -Name two -Image busybox -Network front, back -Start
            $c.Network.Interface | Should -Be @('eth0', 'eth1')
            $c.Network.Network | Should -Be @('front', 'back')
            $c.Network[1].Addresses | Should -Match '^10\.201\.21\.\d+/24$'
            Get-InterfaceNames two | Should -Be @('eth0', 'eth1', 'lo')
            (Invoke-In two @('ip', 'addr', 'show', 'eth1')) -join "`n" | Should -Match 'inet 10\.201\.21\.\d+/24'

            $p = New-Container -Name priv -Image busybox -Privileged -Network front -Start -WarningAction SilentlyContinue
            $p.Network[0].Addresses | Should -Match '^10\.201\.20\.\d+/24$'
            $target = $c.Network[0].Addresses[0] -replace '/24$'
            (Invoke-In priv @('ping', '-c', '1', '-W', '2', $target)) -join "`n" | Should -Match '1 packets received'

            Stop-Container -Name two, priv -Force
            Get-ReservedAddress front | Should -HaveCount 0
            Get-ReservedAddress back | Should -HaveCount 0
            # A copy is on the same networks, with interfaces of its own at its next start.
            $copy = Copy-Container -Name two -NewName two-copy -PassThru
            $copy.Network.Network | Should -Be @('front', 'back')
            $copy.Network.Interface | Should -Be @('eth0', 'eth1')
            $copy.Network.Attached | Should -Be @($false, $false)
            # Restart: the same interfaces again.
            Start-Container -Name two
            Get-InterfaceNames two | Should -Be @('eth0', 'eth1', 'lo')
            Get-ReservedAddress front | Should -HaveCount 1
        }

        It 'Connect-/Disconnect-ContainerNetwork attach and detach a running container, with a requested address' {
            $null = New-TestBridgeNetwork -Name lan -Subnet 10.201.30.0/24
            $null = New-TestBridgeNetwork -Name extra -Subnet 10.201.31.0/24
            $null = New-Container -Name hot -Image busybox -Start
            Get-InterfaceNames hot | Should -Be @('lo')

            $a = Connect-ContainerNetwork -Name hot -Network lan -IPAddress 10.201.30.77 -PassThru
            $a.Interface | Should -Be 'eth0'
            $a.Addresses | Should -Be '10.201.30.77/24'
            $a.RequestedAddresses | Should -Be '10.201.30.77'
            Get-InterfaceNames hot | Should -Be @('eth0', 'lo')
            Get-ReservedAddress lan | Should -Be '10.201.30.77'
            Get-Container hot | Connect-ContainerNetwork -Network extra -Interface net1
            Get-InterfaceNames hot | Should -Be @('eth0', 'lo', 'net1')

            $e = Get-CommandError { Connect-ContainerNetwork -Name hot -Network lan }
            $e.FullyQualifiedErrorId | Should -BeLike 'NetworkAlreadyConnected,*'
            $e = Get-CommandError { Connect-ContainerNetwork -Name hot -Network extra -Interface 'bad/name' }
            $e.FullyQualifiedErrorId | Should -BeLike 'InvalidInterfaceName,*'
            $e = Get-CommandError { Disconnect-ContainerNetwork -Name hot -Network nope }
            $e.FullyQualifiedErrorId | Should -BeLike 'NetworkNotFound,*'

            Test-ContainerNetwork -Name hot | Should -BeTrue

            Disconnect-ContainerNetwork -Name hot -Network lan
            Get-InterfaceNames hot | Should -Be @('lo', 'net1')
            Get-ReservedAddress lan | Should -HaveCount 0
            $e = Get-CommandError { Disconnect-ContainerNetwork -Name hot -Network lan }
            $e.FullyQualifiedErrorId | Should -BeLike 'NetworkNotConnected,*'

            # Persistent: after a restart the remaining network is attached again.
            Restart-Container -Name hot -Force
            Get-InterfaceNames hot | Should -Be @('lo', 'net1')
            (Get-Container hot).Network.Network | Should -Be 'extra'
        }

        It 'runtimeConfig carries the capabilities a plugin declares: mac (bridge) and ips (host-local)' {
            $bridge = 'cpt' + [guid]::NewGuid().ToString('N').Substring(0, 8)
            Add-TestBridge $bridge
            $null = New-ContainerNetwork -Name caps -Config ([ordered]@{ cniVersion = '1.0.0'; plugins = @([ordered]@{
                        type = 'bridge'; bridge = $bridge; isGateway = $false; ipMasq = $false; capabilities = @{ mac = $true; ips = $true }
                        ipam = @{ type = 'host-local'; dataDir = (Get-IpamDir); ranges = @(, @(@{ subnet = '10.201.35.0/24' })) } }) })
            $null = New-Container -Name capc -Image busybox -Start
            $a = Connect-ContainerNetwork -Name capc -Network caps -MacAddress 02:42:0a:c9:23:2a -IPAddress 10.201.35.42/24 -PassThru
            $a.MacAddress | Should -Be '02:42:0a:c9:23:2a'
            $a.Addresses | Should -Be '10.201.35.42/24'
            (Invoke-In capc @('cat', '/sys/class/net/eth0/address')) | Should -Be '02:42:0a:c9:23:2a'
            ($a.Result | ConvertFrom-Json).ips[0].address | Should -Be '10.201.35.42/24'

            $e = Get-CommandError { Connect-ContainerNetwork -Name capc -Network caps -Interface eth9 -MacAddress 'zz' }
            $e.FullyQualifiedErrorId | Should -BeLike 'InvalidMacAddress,*'
            $e = Get-CommandError { Connect-ContainerNetwork -Name capc -Network caps -Interface eth9 -IPAddress '10.1.2' }
            $e.FullyQualifiedErrorId | Should -BeLike 'InvalidIPAddress,*'
        }

        It 'Test-ContainerNetwork runs CHECK and reports a plugin error with its CNI code' {
            $null = New-TestBridgeNetwork -Name lan -Subnet 10.201.40.0/24
            $null = New-Container -Name chk -Image busybox -Network lan -Start
            Test-ContainerNetwork -Name chk | Should -BeTrue
            Invoke-In chk @('ip', 'addr', 'flush', 'dev', 'eth0')
            $r = Test-ContainerNetwork -Name chk -ErrorVariable errs -ErrorAction SilentlyContinue
            $r | Should -BeFalse
            $errs | Should -HaveCount 1
            $errs[0].FullyQualifiedErrorId | Should -BeLike 'CniPluginError,*'
            $errs[0].Exception.CniMessage | Should -Not -BeNullOrEmpty
            $errs[0].Exception.Message | Should -Match "plugin 'bridge' of network 'lan' failed CHECK"
        }

        It 'a start whose ADD fails is rolled back completely: DEL of what succeeded, nothing running, nothing left' {
            # The second plugin fails its ADD (a sysctl that does not exist) after bridge has added eth0.
            $null = New-TestBridgeNetwork -Name broken -Subnet 10.201.50.0/24 -Extra @(@{ type = 'tuning'; sysctl = @{ 'net.ipv4.conf.eth0.no_such_key' = '1' } })
            $null = New-Container -Name rb -Image busybox -Network broken
            $e = Get-CommandError { Start-Container -Name rb }
            $e.FullyQualifiedErrorId | Should -BeLike 'CniPluginError,*'
            $e.Exception.Message | Should -Match "plugin 'tuning' of network 'broken' failed ADD"
            $c = Get-Container rb
            $c.State | Should -Be 'Stopped'
            $c.Network[0].Attached | Should -BeFalse
            Get-ReservedAddress broken | Should -HaveCount 0
            Get-RuncContainer | Should -HaveCount 0
            Get-HookFifo | Should -HaveCount 0
            Get-MountsBelow $env:CONTAINERPS_ROOT | Should -HaveCount 0
            (& sqlite3 -readonly $script:t.Db 'select count(*) from container_networks where add_config is not null or result is not null') | Should -Be '0'
        }
    }

    Context 'crashes never leak addresses' {
        It 'a SIGKILLed monitor, then Start-Container: the stale attachment is deleted first, one address in use' {
            $null = New-TestBridgeNetwork -Name lan -Subnet 10.201.60.0/24
            $c = New-Container -Name k -Image busybox -Network lan -Start
            $first = $c.Network[0].Addresses[0]
            $monitor = Get-MonitorPid k
            & kill -KILL $monitor
            Wait-Until { (Get-Container k).State -eq 'Error' } -Because 'the container to be in Error'
            Get-ReservedAddress lan | Should -HaveCount 1

            $c = Start-Container -Name k -PassThru
            $c.State | Should -Be 'Running'
            Get-ReservedAddress lan | Should -HaveCount 1
            (Get-ReservedAddress lan) | Should -Be ($c.Network[0].Addresses[0] -replace '/24$')
            $c.Network[0].Addresses[0] | Should -Not -BeNullOrEmpty
            $first | Should -Not -BeNullOrEmpty

            Remove-Container -Name k -Force
            Get-ReservedAddress lan | Should -HaveCount 0
            Get-HookFifo | Should -HaveCount 0
        }

        It 'an init that exits by itself keeps its address until the next Stop- or Start-Container, which free it' {
            $null = New-TestBridgeNetwork -Name lan -Subnet 10.201.65.0/24
            $null = New-Container -Name ex -Image busybox -Network lan -Start
            Invoke-ContainerExec -Name ex -Command kill, -USR2, 1   # busybox init: power off
            Wait-Until { (Get-Container ex).State -eq 'Stopped' } -Because 'the init to exit'
            Get-ReservedAddress lan | Should -HaveCount 1
            (Get-Container ex).Network[0].Attached | Should -BeTrue
            $e = Get-CommandError { Stop-Container -Name ex }
            $e.FullyQualifiedErrorId | Should -BeLike 'ContainerNotRunning,*'
            Get-ReservedAddress lan | Should -HaveCount 0
            Get-HookFifo | Should -HaveCount 0
            (Get-Container ex).Network[0].Attached | Should -BeFalse
        }

        It 'after a "reboot" (processes killed, runtime directory gone) Start-Container frees the old address before ADD' {
            $null = New-TestBridgeNetwork -Name lan -Subnet 10.201.70.0/24
            $c = New-Container -Name r -Image busybox -Network lan -Start
            $old = $c.Network[0].Addresses[0] -replace '/24$'
            # Simulate the reboot: the monitor and the init die, the runtime directory (tmpfs /run) is empty.
            $runcId = Get-RuncId r
            & kill -KILL (Get-MonitorPid r) $c.Pid
            # A reboot empties the cgroup filesystems too.
            Wait-Until { -not (Test-Path "/proc/$($c.Pid)") } -Because 'the init to die' | Out-Null
            foreach ($cg in Get-RuncCgroup $runcId) {
                Wait-Until { -not (Get-Content (Join-Path $cg.FullName 'cgroup.procs')) } -Because "$cg to empty" | Out-Null
                [IO.Directory]::Delete($cg.FullName)
            }
            $run = Join-Path $env:CONTAINERPS_ROOT 'run'
            foreach ($m in @(Get-MountsBelow $run | Sort-Object Length -Descending)) { & umount -l $m }
            & runc --root (Join-Path $run 'runc') delete --force r 2>$null
            Remove-Item -Recurse -Force (Join-Path $run 'containers/r'), (Join-Path $run 'runc') -ErrorAction SilentlyContinue
            Get-ReservedAddress lan | Should -Be $old

            $c = Start-Container -Name r -PassThru
            Get-ReservedAddress lan | Should -HaveCount 1
            Get-ReservedAddress lan | Should -Be ($c.Network[0].Addresses[0] -replace '/24$')
        }
    }

    Context 'remoting' {
        It 'containers with networks and attachments survive serialization with their type names and views' {
            $null = New-TestBridgeNetwork -Name lan -Subnet 10.201.80.0/24
            $null = New-Container -Name s -Image busybox -Network lan -Start
            $copy = [System.Management.Automation.PSSerializer]::Deserialize([System.Management.Automation.PSSerializer]::Serialize((Get-Container s)))
            $copy.pstypenames[0] | Should -Be 'Deserialized.ContainerPS.Container'
            $copy.Network[0].pstypenames[0] | Should -Be 'Deserialized.ContainerPS.NetworkAttachment'
            $copy.Network[0].Addresses | Should -Match '^10\.201\.80\.\d+/24$'
            ($copy | Out-String) | Should -Match '10\.201\.80\.\d+'
            $n = [System.Management.Automation.PSSerializer]::Deserialize([System.Management.Automation.PSSerializer]::Serialize((Get-ContainerNetwork lan)))
            ($n | Out-String) | Should -Match 'lan\s+1\.0\.0\s+bridge\s+10\.201\.80\.0/24\s+s'
        }
    }
}
