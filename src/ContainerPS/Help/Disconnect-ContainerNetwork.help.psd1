@{
    Synopsis    = 'Disconnects a container from a CNI network (lxc network detach).'

    Description = @'
Disconnects a container from a network. It is the equivalent of
`lxc network detach NETWORK CONTAINER` (Incus: incus network detach), and
of `podman network disconnect`. Nothing is written to the pipeline.

If the container's interface on the network exists (ADD ran: the
container is running, or it crashed and its attachment was not cleaned up
yet), CNI DEL runs first: the network's plugins run in reverse order with
the cached result of the ADD, remove the interface from the container's
network namespace and free its addresses (host-local deletes its
reservation). Then the connection is forgotten: later starts no longer
attach the network, and the container leaves the network's UsedBy. For a
stopped container only the connection is forgotten.

A plugin that fails DEL does not stop the others, nor the
disconnection: a warning names the failure, and the cached result is
dropped anyway.

Error IDs: ContainerNotFound, NetworkNotFound, NetworkNotConnected (the
container is not connected to that network), ContainerBusy.
'@

    Parameters  = @{
        Name    = @'
The container to disconnect. Containers from Get-Container, and
attachments from Get-ContainerNetworkAttachment (by their Container
property), bind by property name.
'@
        Network = 'The network to disconnect the container from.'
    }

    Inputs      = @(
        @{
            Type        = 'ContainerPS.NetworkAttachment'
            Description = @'
Attachments from Get-ContainerNetworkAttachment (their Container
property binds to -Name), or containers from Get-Container.
'@
        }
    )

    Examples    = @(
        @{
            Title   = 'Disconnect a container'
            Code    = 'Disconnect-ContainerNetwork web1 lan'
            Remarks = @'
Like `lxc network detach lan web1`: if web1 runs, its interface on lan
disappears at once and its address is free again.
'@
        }
        @{
            Title   = 'Empty a network before removing it'
            Code    = @'
Get-ContainerNetworkAttachment -Network lan | Disconnect-ContainerNetwork -Network lan
Remove-ContainerNetwork lan
'@
            Remarks = @'
Disconnects every container from lan; Remove-ContainerNetwork then no
longer fails with NetworkInUse.
'@
        }
        @{
            Title   = 'See what would be disconnected'
            Code    = 'Get-Container web* | Disconnect-ContainerNetwork -Network lan -WhatIf'
            Remarks = @'
Each container is shown with "Disconnect from network 'lan'"; containers
not connected to lan would fail with NetworkNotConnected.
'@
        }
    )

    Links       = @(
        'Connect-ContainerNetwork'
        'Get-ContainerNetworkAttachment'
        'Remove-ContainerNetwork'
        'about_ContainerPS'
    )
}
