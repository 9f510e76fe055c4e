@{
    Synopsis    = 'Removes CNI networks that no container uses (lxc network delete).'

    Description = @'
Removes networks created with New-ContainerNetwork. It is the equivalent
of `lxc network delete NETWORK` (Incus: incus network delete).

A network is refused with NetworkInUse while containers use it: every
container connected to it, running or stopped (the network's UsedBy),
is named in the error. Disconnect them first with
Disconnect-ContainerNetwork, or remove them. Nothing is removed from a
network that is refused, and the other networks named are still removed.

Removing a network forgets its stored configuration; no CNI plugin runs.
What the plugins created on the host stays: a bridge made by the bridge
plugin (remove it with `ip link del BRIDGE`), and the files of host-local
in its dataDir (DATADIR/NETWORK, /var/lib/cni/networks/NETWORK by
default). Addresses are not held there once every container was stopped
or disconnected, because those run CNI DEL.

The cmdlet supports -WhatIf and -Confirm. Nothing is written to the
pipeline.

Error IDs: NetworkNotFound, NetworkInUse, InvalidName.
'@

    Parameters  = @{
        Name = @'
The names of the networks to remove (exact names, no wildcards).
Networks from Get-ContainerNetwork bind by their Name.
'@
    }

    Inputs      = @(
        @{
            Type        = 'ContainerPS.ContainerNetwork'
            Description = 'Networks from Get-ContainerNetwork, bound by their Name property to -Name.'
        }
    )

    Examples    = @(
        @{
            Title   = 'Remove a network'
            Code    = 'Remove-ContainerNetwork lan'
            Remarks = @'
Like `lxc network delete lan`. While containers use it, it fails:
Remove-ContainerNetwork: Network 'lan' is used by container(s) a, b;
disconnect them first.
'@
        }
        @{
            Title   = 'Disconnect the users first, then remove the network and its bridge'
            Code    = @'
Get-ContainerNetworkAttachment -Network lan | Disconnect-ContainerNetwork -Network lan
Remove-ContainerNetwork lan
ip link del cps0
'@
            Remarks = @'
Disconnecting runs CNI DEL for running containers, which removes their
interfaces and frees their addresses. The bridge cps0 (the network's
bridge) is left on the host by CNI and is deleted by hand.
'@
        }
        @{
            Title   = 'Remove every network matching a pattern'
            Code    = 'Get-ContainerNetwork test-* | Remove-ContainerNetwork -WhatIf'
            Remarks = @'
Remove-ContainerNetwork takes no wildcards itself: select the networks
with Get-ContainerNetwork and pipe them.
'@
        }
    )

    Links       = @(
        'New-ContainerNetwork'
        'Get-ContainerNetwork'
        'Disconnect-ContainerNetwork'
        'about_ContainerPS'
    )
}
