@{
    Synopsis    = 'Creates a CNI network from a conflist or a plugin configuration (lxc network create).'

    Description = @'
Creates a network that containers can be connected to, and writes it to the
pipeline as a ContainerPS.ContainerNetwork object. A network is a CNI
(Container Network Interface) configuration: ContainerPS is the CNI runtime
and runs the CNI plugins (bridge, macvlan, ipvlan, ptp, host-local,
portmap, tuning, firewall...) itself, with no daemon. It is the counterpart
of `lxc network create` (Incus: incus network create), and of a .conflist
file in /etc/cni/net.d for podman or containerd.

The configuration is JSON text (-Config '...' or -Path FILE) or a hashtable
shaped like the JSON (-Config @{ ... }): nested hashtables become objects,
arrays become arrays, $true/$false become booleans and numbers stay
numbers. Use [ordered] hashtables to keep the key order in the stored
JSON. JSON may contain comments and trailing commas.

Two shapes are accepted:
- a network configuration list (conflist): cniVersion, name (optional when
  -Name is given), an optional disableCheck, and plugins, an array of
  plugin configurations run in that order (for example bridge, then
  portmap);
- a single plugin configuration (a .conf file): cniVersion, name and type
  at the top level. It is wrapped into a list of one plugin, so it is
  stored and shown as a conflist.

cniVersion must be 1.0.0, 0.4.0 or 0.3.1; any other version fails with
UnsupportedCniVersion. -Name, when given, is the network's name and
replaces the configuration's own name; without -Name the configuration's
name is used. The stored configuration always carries the network's name,
which is the name CNI plugins see (host-local, for one, keeps its address
files in a directory of that name).

Plugins are executables found in the directories of the CNI_PATH
environment variable, /usr/lib/cni:/opt/cni/bin when it is not set
(Debian's containernetworking-plugins package installs them in
/usr/lib/cni). Before the network is stored, every plugin type of the list,
and every IPAM plugin they name (ipam.type, such as host-local), must be
found there (else CniPluginNotFound) and must report, through the CNI
VERSION command, that it supports the list's cniVersion (else
UnsupportedCniVersion). A plugin or IPAM type is a file name: a type with
'/' or '..' is refused with InvalidNetworkConfig.

Creating a network changes nothing on the host: no bridge or address
exists yet. The plugins create them when a container on the network
starts (CNI ADD; see New-Container -Network and Connect-ContainerNetwork).

Error IDs: InvalidNetworkConfig (not JSON, not an object, no cniVersion, no
name, neither plugins nor type, an empty plugins list, a bad plugin or
IPAM type, bad capabilities, a disableCheck that is not true or false),
UnsupportedCniVersion, CniPluginNotFound, CniPluginError (a plugin failed
the VERSION command), NetworkExists, InvalidName (-Name or the
configuration's name is not a valid name), NetworkConfigNotFound (-Path
names no file).
'@

    Parameters  = @{
        Name        = @'
The network's name: 1 to 63 letters, digits, '.', '_' and '-', starting
with a letter or digit, without '..'. It replaces the configuration's
own name. Default: the name in the configuration.
'@
        Config      = @'
The configuration: JSON text of a conflist or of a single plugin
configuration, or a hashtable (or [ordered] hashtable) of the same
shape, which is turned into JSON.
'@
        Path        = @'
A .conflist or .conf file holding the configuration as JSON, such as a
file from /etc/cni/net.d. A relative path is resolved against the
current location.
'@
        Description = @'
A free-text description of the network (its Description property).
'@
    }

    Inputs      = @(
        @{
            Type        = 'System.String'
            Description = 'Objects with a Name property bind to -Name by property name.'
        }
    )

    Outputs     = @{
        'ContainerPS.ContainerNetwork' = @'
The new network: Name, CniVersion, Plugins (the plugin types in ADD
order), Subnet (the first IPAM subnet or range, when one is named),
UsedBy, Description, DisableCheck, Config (the stored conflist as
JSON) and CreatedAt (UTC).
'@
    }

    Examples    = @(
        @{
            Title   = 'A bridge network with host-local addresses'
            Code    = @'
New-ContainerNetwork lan -Config @{
    cniVersion = '1.0.0'
    plugins    = @(
        @{
            type = 'bridge'; bridge = 'cps0'; isGateway = $true; ipMasq = $true
            ipam = @{ type = 'host-local'; subnet = '10.88.0.0/24'; routes = @(@{ dst = '0.0.0.0/0' }) }
        }
        @{ type = 'portmap'; capabilities = @{ portMappings = $true } }
    )
}
'@
            Remarks = @'
Creates the network lan: containers on it get an address from
10.88.0.0/24 on the bridge cps0, which is their gateway, with NAT to the
outside (ipMasq), and published ports through portmap (see
Connect-ContainerNetwork -PortMapping). The output shows lan, 1.0.0,
bridge,portmap and 10.88.0.0/24.
'@
        }
        @{
            Title   = 'A bridge only between containers, from JSON'
            Code    = @'
New-ContainerNetwork -Config '{
  "cniVersion": "0.4.0",
  "name": "backend",
  "type": "bridge",
  "bridge": "cps1",
  "isGateway": false,
  "ipMasq": false,
  "ipam": { "type": "host-local", "subnet": "10.89.0.0/24" }
}'
'@
            Remarks = @'
A single plugin configuration: it is wrapped into a conflist and its own
name, backend, is the network's name. The bridge has no address, so
containers on it reach each other and nothing else.
'@
        }
        @{
            Title   = 'Import the networks of /etc/cni/net.d'
            Code    = @'
Get-ChildItem /etc/cni/net.d -Include *.conflist, *.conf -Recurse | ForEach-Object { New-ContainerNetwork -Path $_.FullName }
'@
            Remarks = @'
Each file becomes a network named after the name inside it. Files whose
plugins are not installed in CNI_PATH fail with CniPluginNotFound and are
not stored.
'@
        }
        @{
            Title   = 'Plugins in another directory'
            Code    = @'
$env:CNI_PATH = '/opt/cni/bin'
New-ContainerNetwork mv -Config @{ cniVersion = '1.0.0'; type = 'macvlan'; master = 'eth1'; ipam = @{ type = 'host-local'; subnet = '192.168.50.0/24'; rangeStart = '192.168.50.200' } }
'@
            Remarks = @'
Plugins are looked up in CNI_PATH when the network is created and every
time it is used, so set CNI_PATH for every session that starts
containers on this network.
'@
        }
    )

    Notes       = @'
Give each network its own bridge name and subnet: two networks that name
the same bridge share one bridge on the host. host-local keeps its
reservations in DATADIR/NETWORK (dataDir defaults to
/var/lib/cni/networks).
'@

    Links       = @(
        'Get-ContainerNetwork'
        'Remove-ContainerNetwork'
        'Connect-ContainerNetwork'
        'New-Container'
        'about_ContainerPS'
        @{ Text = 'CNI specification'; Uri = 'https://www.cni.dev/docs/spec/' }
    )
}
