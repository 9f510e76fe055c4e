namespace ContainerPS;

/// <summary>A CNI network (ContainerPS.ContainerNetwork): a named conflist that containers attach to.</summary>
public sealed class ContainerNetwork
{
    public required string Name { get; init; }
    /// <summary>The conflist's cniVersion (1.0.0, 0.4.0 or 0.3.1).</summary>
    public required string CniVersion { get; init; }
    /// <summary>The plugin types of the chain, in ADD order (bridge, portmap, ...).</summary>
    public required string[] Plugins { get; init; }
    /// <summary>The first IPAM subnet or range the configuration names, when it names one.</summary>
    public string? Subnet { get; init; }
    /// <summary>Containers configured to attach to this network.</summary>
    public required string[] UsedBy { get; init; }
    public string Description { get; init; } = "";
    /// <summary>True when the conflist sets disableCheck (Test-ContainerNetwork then skips CHECK).</summary>
    public bool DisableCheck { get; init; }
    /// <summary>The stored conflist (JSON), with name set to <see cref="Name"/>.</summary>
    public required string Config { get; init; }
    public DateTime CreatedAt { get; init; }

    public override string ToString() => Name;
}

/// <summary>
/// One container's interface on one network (ContainerPS.NetworkAttachment): what the last CNI ADD
/// returned, cached until DEL.
/// </summary>
public sealed class NetworkAttachment
{
    public required string Container { get; init; }
    public required string Network { get; init; }
    /// <summary>The interface name inside the container (eth0, eth1, ...).</summary>
    public required string Interface { get; init; }
    /// <summary>True while the interface exists (ADD done, DEL not yet run).</summary>
    public bool Attached { get; init; }
    public string? MacAddress { get; init; }
    /// <summary>Addresses in CIDR form (10.88.0.2/24).</summary>
    public required string[] Addresses { get; init; }
    public string[] Gateways { get; init; } = Array.Empty<string>();
    /// <summary>Routes as "DST via GW" (or just DST).</summary>
    public string[] Routes { get; init; } = Array.Empty<string>();
    public string[] Nameservers { get; init; } = Array.Empty<string>();
    public string? DnsDomain { get; init; }
    public string[] DnsSearch { get; init; } = Array.Empty<string>();
    /// <summary>Addresses asked for at attach time (the ips capability / CNI_ARGS IP=), if any.</summary>
    public string[] RequestedAddresses { get; init; } = Array.Empty<string>();
    /// <summary>The full cached CNI result (JSON), or null when not attached.</summary>
    public string? Result { get; init; }

    public override string ToString() => $"{Container}/{Network}/{Interface}";
}
