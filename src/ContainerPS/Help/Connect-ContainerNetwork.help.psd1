@{
    Synopsis    = 'Connects a container to a CNI network, at once when it runs (lxc network attach).'

    Description = @'
Connects a container to a network created with New-ContainerNetwork. It
is the equivalent of `lxc network attach NETWORK CONTAINER [DEVICE]`
(Incus: incus network attach), and of `podman network connect`.

The connection is recorded in the container's configuration: from then
on every Start-Container runs CNI ADD for it, like the networks given to
New-Container -Network. The interface inside the container is -Interface,
by default the first free name of eth0, eth1, eth2...

If the container is running, the network is attached at once: CNI ADD
runs the network's plugins into the container's network namespace, and
the new interface appears in the running container. The addresses,
routes and DNS settings of the CNI result are recorded (see
Get-ContainerNetworkAttachment); when the result names DNS nameservers,
the container's /etc/resolv.conf is written from it. If ADD fails, CNI
DEL cleans up what the plugins did, the connection is not recorded and
the plugin's error (CniPluginError) is written. A stopped container is
attached when it next starts.

-IPAddress, -MacAddress and -PortMapping are kept with the connection and
used at every ADD. They reach the plugins as CNI capability arguments
(runtimeConfig ips, mac and portMappings), which a plugin receives only
when its configuration declares the capability, for example
capabilities = @{ mac = $true } on bridge or
capabilities = @{ portMappings = $true } on portmap. -IPAddress is also
passed as IP= in CNI_ARGS (with IgnoreUnknown=1), which host-local
honours without a declared capability.

Error IDs: ContainerNotFound, NetworkNotFound, NetworkAlreadyConnected (a
container has one interface per network), InterfaceExists (the container
already has an interface of that name), InvalidInterfaceName,
InvalidIPAddress, InvalidMacAddress, InvalidPortMapping, CniPluginNotFound,
CniPluginError, ContainerBusy (another session is changing the
container).
'@

    Parameters  = @{
        Name       = @'
The container to connect. Containers from Get-Container, and objects
with a Container property, bind by property name.
'@
        Network    = 'The network to connect the container to.'
        Interface  = @'
The interface name inside the container (CNI_IFNAME): 1 to 15 letters,
digits, '.', '_' or '-', other than lo. Default: the first of eth0,
eth1, ... that the container does not use yet.
'@
        IPAddress  = @'
Addresses to ask for, with or without a prefix length (10.88.0.5 or
10.88.0.5/24). Passed as the ips capability and as IP= in CNI_ARGS;
host-local gives exactly these addresses or fails.
'@
        MacAddress = @'
The MAC address of the interface (aa:bb:cc:dd:ee:ff), passed as the mac
capability; the plugin must declare capabilities @{ mac = $true }.
'@
        PortMapping = @'
Ports to publish, as hashtables with HostPort and ContainerPort (1 to
65535), Protocol (tcp, udp or sctp; default tcp) and an optional
HostIP. Passed as the portMappings capability, used by the portmap
plugin when it declares capabilities @{ portMappings = $true }.
'@
        PassThru   = @'
Write the new attachment (a ContainerPS.NetworkAttachment) to the
pipeline.
'@
    }

    Inputs      = @(
        @{
            Type        = 'ContainerPS.Container'
            Description = 'A container from Get-Container, bound by its Name property.'
        }
    )

    Outputs     = @{
        'ContainerPS.NetworkAttachment' = @'
With -PassThru, the attachment: Container, Network, Interface, Attached
(True once ADD ran) and, when attached, the Addresses, MacAddress,
Gateways, Routes and DNS settings of the CNI result. Otherwise nothing.
'@
    }

    Examples    = @(
        @{
            Title   = 'Connect a running container'
            Code    = 'Connect-ContainerNetwork web1 lan -PassThru'
            Remarks = @'
Like `lxc network attach lan web1`. The container gets eth0 (or the next
free ethN) at once; the output shows its address, for example:

Container Network Interface Attached Addresses    MacAddress
--------- ------- --------- -------- ---------    ----------
web1      lan     eth0      True     10.77.0.4/24 5a:0c:3e:19:a2:7d
'@
        }
        @{
            Title   = 'A fixed address on a second interface'
            Code    = 'Connect-ContainerNetwork db1 back -Interface eth1 -IPAddress 10.77.1.10'
            Remarks = @'
host-local reserves 10.77.1.10 for db1 (it fails if another container
holds it). The address is asked for again at every start.
'@
        }
        @{
            Title   = 'Publish a port'
            Code    = @'
Connect-ContainerNetwork web1 lan -PortMapping @{ HostPort = 8080; ContainerPort = 80 }, @{ HostPort = 5353; ContainerPort = 53; Protocol = 'udp' }
'@
            Remarks = @'
The network must end with a portmap plugin that declares
capabilities @{ portMappings = $true } (see New-ContainerNetwork); it
forwards host ports 8080/tcp and 5353/udp to the container.
'@
        }
        @{
            Title   = 'Connect several containers'
            Code    = 'Get-Container web* | Connect-ContainerNetwork -Network lan'
            Remarks = @'
Running containers are attached at once, stopped ones at their next
start.
'@
        }
    )

    Links       = @(
        'Disconnect-ContainerNetwork'
        'Get-ContainerNetworkAttachment'
        'Test-ContainerNetwork'
        'New-ContainerNetwork'
        'New-Container'
        'about_ContainerPS'
    )
}
