@{
    Synopsis    = 'Gets the network interfaces of containers: network, interface, addresses (lxc list -c n4).'

    Description = @'
Gets the connections of containers to networks as
ContainerPS.NetworkAttachment objects, one per container and network, in
the order of the containers' names and then of their interfaces. It is the
network part of `lxc info CONTAINER` and `lxc list -c n4` (Incus: incus
info), and of `podman inspect --format '{{.NetworkSettings}}'`.

An attachment has Container, Network, Interface (the name inside the
container: eth0, eth1, ...), Attached, RequestedAddresses (the
-IPAddress values of Connect-ContainerNetwork) and, from the result of
the last CNI ADD, MacAddress, Addresses (CIDR, 10.77.0.2/24), Gateways,
Routes ("DST via GW", or DST), Nameservers, DnsDomain, DnsSearch and
Result (the whole CNI result as JSON).

Attached is True from the ADD that gave the container its interface (at
start, or by Connect-ContainerNetwork) to the DEL that removed it (at
stop or removal, by Disconnect-ContainerNetwork, or by the next command
after a crash). While it is False, the result properties are empty. The
same objects are in the Network property of a container from
Get-Container.

-Name and -Network take names and wildcard patterns. A literal container
name that does not exist is reported as ContainerNotFound; networks are
only a filter (a network that does not exist matches nothing).

Error IDs: ContainerNotFound, InvalidName.
'@

    Parameters  = @{
        Name    = @'
Containers whose attachments to get; wildcards are allowed. Default:
all containers. Containers from Get-Container bind by their Name.
'@
        Network = @'
Only attachments to these networks; wildcards are allowed. Default: all
networks.
'@
    }

    Inputs      = @(
        @{
            Type        = 'ContainerPS.Container'
            Description = 'Containers from Get-Container, bound by their Name property to -Name.'
        }
    )

    Outputs     = @{
        'ContainerPS.NetworkAttachment' = @'
One per container and network. The table view shows Container, Network,
Interface, Attached, Addresses and MacAddress.
'@
    }

    Examples    = @(
        @{
            Title   = 'Every interface of every container'
            Code    = 'Get-ContainerNetworkAttachment'
            Remarks = @'
For example:

Container Network Interface Attached Addresses    MacAddress
--------- ------- --------- -------- ---------    ----------
a         lan     eth0      True     10.77.0.2/24 46:34:bf:8b:88:5b
b         lan     eth0      True     10.77.0.3/24 aa:20:73:ee:ec:0b
'@
        }
        @{
            Title   = 'The address of one container'
            Code    = '(Get-ContainerNetworkAttachment web1 -Network lan).Addresses[0] -replace ''/\d+$'''
            Remarks = @'
Prints web1's IPv4 address on lan without the prefix length, for
example 10.77.0.2, ready for ping or a connection string.
'@
        }
        @{
            Title   = 'Routes and DNS from the CNI result'
            Code    = 'Get-ContainerNetworkAttachment web1 | Format-List Network, Interface, Addresses, Gateways, Routes, Nameservers, DnsSearch'
            Remarks = 'Shows everything the plugins returned for each of web1''s interfaces.'
        }
        @{
            Title   = 'Containers on a network that are not attached now'
            Code    = 'Get-ContainerNetworkAttachment -Network lan | Where-Object { -not $_.Attached } | ForEach-Object Container'
            Remarks = 'Lists the stopped containers connected to lan.'
        }
    )

    Links       = @(
        'Connect-ContainerNetwork'
        'Disconnect-ContainerNetwork'
        'Test-ContainerNetwork'
        'Get-Container'
        'about_ContainerPS'
    )
}
