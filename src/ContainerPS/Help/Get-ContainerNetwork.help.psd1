@{
    Synopsis    = 'Gets CNI networks, or one property of them (lxc network list/show/get).'

    Description = @'
Gets the networks created with New-ContainerNetwork as
ContainerPS.ContainerNetwork objects, sorted by name. It covers
`lxc network list`, `lxc network show NETWORK` and, with -Property,
`lxc network get NETWORK KEY` (Incus: incus network ...).

Without -Name, all networks are returned. -Name takes network names and
wildcard patterns; a literal name that does not exist is reported as a
NetworkNotFound error, a pattern that matches nothing returns nothing.

A network object has Name, CniVersion (1.0.0, 0.4.0 or 0.3.1), Plugins
(the plugin types of the list, in the order ADD runs them, such as
bridge, portmap), Subnet (the first subnet, or first range's subnet, that
a plugin's ipam names; empty when none does), UsedBy (the containers
connected to it, running or not), Description, DisableCheck (true when
the conflist sets disableCheck, so Test-ContainerNetwork skips CHECK),
Config (the stored conflist as JSON, with name set to the network's
name; a single plugin configuration appears wrapped in a list) and
CreatedAt (UTC). The
table view shows Name, CniVersion, Plugins, Subnet and UsedBy.

-Property returns the bare value of one property instead of the object,
matched ignoring case, '_' and '-' (subnet, cni_version, used_by,
plugins, description, disable_check, created_at, config), with its type kept: UsedBy and
Plugins are string arrays, CreatedAt a DateTime, Config the conflist's JSON text.

Error IDs: NetworkNotFound (a literal -Name that does not exist),
PropertyNotFound (-Property names no property), InvalidName.
'@

    Parameters  = @{
        Name     = @'
Names of the networks to get. Wildcards (*, ?, [a-z]) are allowed.
When omitted, all networks are returned.
'@
        Property = @'
Return only this property's bare value, such as subnet, cni_version,
plugins or used_by (case, '_' and '-' ignored).
'@
    }

    Inputs      = @(
        @{
            Type        = 'System.String[]'
            Description = 'Objects with a Name property, bound by property name to -Name.'
        }
    )

    Outputs     = @{
        'ContainerPS.ContainerNetwork' = @'
A network. With -Property, the bare value of the property instead.
'@
    }

    Examples    = @(
        @{
            Title   = 'List the networks'
            Code    = 'Get-ContainerNetwork'
            Remarks = @'
Like `lxc network list`, for example:

Name CniVersion Plugins Subnet       UsedBy
---- ---------- ------- ------       ------
lan  1.0.0      bridge  10.77.0.0/24 a, b
'@
        }
        @{
            Title   = 'Show the stored configuration'
            Code    = '(Get-ContainerNetwork lan).Config | ConvertFrom-Json | ConvertTo-Json -Depth 10'
            Remarks = @'
Prints the conflist as the plugins receive it, indented. Like
`lxc network show lan`.
'@
        }
        @{
            Title   = 'One value for a script'
            Code    = 'Get-ContainerNetwork lan -Property subnet'
            Remarks = 'Prints 10.77.0.0/24.'
        }
        @{
            Title   = 'Networks no container uses'
            Code    = 'Get-ContainerNetwork | Where-Object { $_.UsedBy.Count -eq 0 } | Remove-ContainerNetwork -WhatIf'
            Remarks = @'
Networks bind to Remove-ContainerNetwork by their Name. Remove -WhatIf to
remove them.
'@
        }
        @{
            Title   = 'The containers of a network'
            Code    = 'Get-Container | Where-Object { $_.Network.Network -contains ''lan'' }'
            Remarks = @'
Gets the containers connected to lan, the ones UsedBy names. Each
container's Network property lists its network attachments.
'@
        }
    )

    Links       = @(
        'New-ContainerNetwork'
        'Remove-ContainerNetwork'
        'Get-ContainerNetworkAttachment'
        'about_ContainerPS'
    )
}
