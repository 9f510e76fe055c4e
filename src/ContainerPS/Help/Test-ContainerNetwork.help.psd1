@{
    Synopsis    = 'Checks the network interfaces of a running container with CNI CHECK; returns $true or $false.'

    Description = @'
Runs the CNI CHECK command for a running container's networks (all of
them, or the one named by -Network) and writes one Boolean: $true when
no CHECK failed, $false when one did. Each failure is also written as a
non-terminating error with the ID CniPluginError, whose exception carries
the plugin's own error: CniCode (the CNI error code, such as 999 for a
plugin-specific error) and CniMessage (its msg). There is no lxc
equivalent; it is the CHECK that `cnitool check` runs.

CHECK runs each plugin of the network's list in order, with the cached
result of the container's ADD as prevResult, in the container's network
namespace; plugins compare what they set up with what exists now (the
interface, its addresses, routes, the host side of a bridge or veth...).
CHECK exists from CNI 0.4.0 on: for networks of cniVersion 0.3.1, and for
networks whose conflist sets disableCheck to true, CHECK is skipped, the
network counts as passed and -Verbose says so.

The container must be running (else ContainerNotRunning).
A network named by -Network must be one the container is connected to
(else NetworkNotConnected).

Error IDs: ContainerNotFound, ContainerNotRunning, NetworkNotFound,
NetworkNotConnected, NetworkNotAttached (the container is connected but
its interface has not been set up, or was removed), CniPluginNotFound,
CniPluginError.
'@

    Parameters  = @{
        Name    = @'
The container to check. Containers from Get-Container bind by their
Name.
'@
        Network = @'
Check only this network. Default: every network the container is
connected to.
'@
    }

    Inputs      = @(
        @{
            Type        = 'ContainerPS.Container'
            Description = 'A container from Get-Container, bound by its Name property.'
        }
    )

    Outputs     = @{
        'System.Boolean' = @'
$true when every CHECK passed or was skipped, $false when one failed (the
failures are written as CniPluginError errors).
'@
    }

    Examples    = @(
        @{
            Title   = 'Check a container'
            Code    = 'Test-ContainerNetwork web1'
            Remarks = @'
Prints True when all of web1's interfaces are as the plugins set them up.
After `ip addr flush dev eth0` in the container it prints:

Test-ContainerNetwork: CNI plugin 'bridge' of network 'lan' failed CHECK
with error 999: Failed to match addr 10.77.0.3/24 on interface eth0
False
'@
        }
        @{
            Title   = 'Use the result in a script'
            Code    = @'
if (-not (Test-ContainerNetwork web1 lan -ErrorAction SilentlyContinue -ErrorVariable failed)) {
    $failed | ForEach-Object { '{0}: CNI error {1}: {2}' -f $_.Exception.Network, $_.Exception.CniCode, $_.Exception.CniMessage }
    Restart-Container web1 -Force
}
'@
            Remarks = @'
-ErrorAction SilentlyContinue keeps the errors off the screen (with
-ErrorAction Stop the first one would end the command before $false is
written); -ErrorVariable keeps them. A restart runs DEL and ADD again.
'@
        }
        @{
            Title   = 'Check every running container'
            Code    = @'
Get-Container | Where-Object { $_.State -eq 'Running' -and $_.Network } |
    ForEach-Object { [pscustomobject]@{ Name = $_.Name; Healthy = Test-ContainerNetwork $_.Name -ErrorAction SilentlyContinue } }
'@
            Remarks = 'A table of containers and whether their networks passed CHECK.'
        }
    )

    Notes       = @'
A Linux bridge without a MAC address of its own takes the lowest MAC of
its ports, so it can change when containers join or leave. The bridge
plugin's CHECK compares the bridge's MAC with the one in the ADD result
and then fails with "Bridge interface BRIDGE Mac doesn't match" for
containers attached earlier. The bridge plugin of containernetworking-
plugins 1.1.1 (Debian 12) sets no MAC on a bridge with isGateway false.
Create such a bridge beforehand with a fixed MAC (ip link add BRIDGE type
bridge; ip link set BRIDGE address 02:...), or use disableCheck.
'@

    Links       = @(
        'Get-ContainerNetworkAttachment'
        'Connect-ContainerNetwork'
        'New-ContainerNetwork'
        'about_ContainerPS'
        @{ Text = 'CNI specification: CHECK'; Uri = 'https://www.cni.dev/docs/spec/#check-check-containers-networking-is-as-expected' }
    )
}
