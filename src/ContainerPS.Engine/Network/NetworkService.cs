using System.Text.Json;
using System.Text.Json.Nodes;

namespace ContainerPS.Engine.Network;

/// <summary>What a container asks of one network at attach time (the CNI capabilities it fills in).</summary>
public sealed record AttachOptions(string[]? Addresses = null, string? MacAddress = null, IReadOnlyList<PortMapping>? PortMappings = null)
{
    public static readonly AttachOptions None = new();
}

/// <summary>The interface a restored container had on a network: its addresses and MAC, asked for again.</summary>
public sealed record InterfaceIdentity(string[] Addresses, string? MacAddress);

/// <summary>One CNI CHECK: <see cref="Checked"/> is false when CHECK was skipped (disableCheck, 0.3.1); <see cref="Error"/> when it failed.</summary>
public sealed record NetworkCheck(string Network, string Interface, bool Checked, ContainerPSException? Error);

/// <summary>A port published through the portMappings capability (portmap plugin).</summary>
public sealed record PortMapping(int HostPort, int ContainerPort, string Protocol = "tcp", string? HostIP = null);

/// <summary>
/// CNI networks: stored conflists, the containers attached to them, and the ADD/DEL/CHECK runs that
/// give a container its interfaces. Every ADD is recorded before it runs, so a crash half-way is
/// cleaned up by DEL at the next start or removal and host-local never leaks addresses.
/// </summary>
public sealed class NetworkService
{
    private readonly StateStore store;
    private readonly CniRunner runner;
    private readonly IEngineLog log;

    public NetworkService(StateStore store, ExternalTool tool, IEngineLog log)
    {
        this.store = store;
        runner = new CniRunner(tool);
        this.log = log;
    }

    // ------------------------------------------------------------------ networks

    public ContainerNetwork Create(string? name, string config, string? description)
    {
        if (name is not null)
            Names.Validate(name, "network");
        var net = CniConfigList.Parse(config, name);
        if (store.Network(net.Name) is not null)
            throw new ContainerPSException(Errors.NetworkExists, $"Network '{net.Name}' already exists.", net.Name);
        runner.Validate(net);
        store.Write(() => store.InsertNetwork(net.Name, net.ToJsonString(), description ?? ""));
        return Get(net.Name);
    }

    public IReadOnlyList<ContainerNetwork> List() => store.Networks().Select(ToNetwork).ToList();

    public ContainerNetwork Get(string name) => ToNetwork(Row(name));

    internal NetworkRow Row(string name) =>
        store.Network(Names.Validate(name, "network")) ?? throw new ContainerPSException(Errors.NetworkNotFound, $"Network '{name}' not found.", name);

    private ContainerNetwork ToNetwork(NetworkRow row)
    {
        var net = CniConfigList.Parse(row.Config);
        return new ContainerNetwork
        {
            Name = row.Name,
            CniVersion = net.CniVersion,
            Plugins = net.PluginTypes.ToArray(),
            Subnet = net.Subnet(),
            UsedBy = store.NetworkUsers(row.Id).ToArray(),
            Description = row.Description,
            DisableCheck = net.DisableCheck,
            Config = row.Config,
            CreatedAt = row.CreatedAt,
        };
    }

    public void Remove(string name)
    {
        var removed = store.Write(() =>
        {
            var row = Row(name);
            var users = store.NetworkUsers(row.Id);
            if (users.Count > 0)
                throw new ContainerPSException(Errors.NetworkInUse,
                    $"Network '{name}' is used by container(s) {string.Join(", ", users)}; disconnect them first.", name);
            store.DeleteNetworkRow(row.Id);
            return row.Config;
        });
        RemoveIpamState(CniConfigList.Parse(removed));
    }

    /// <summary>
    /// After a network is removed: the host-local IPAM directory of each of its plugins (DATADIR/NAME)
    /// goes when it holds only the plugin's own bookkeeping (lock, last_reserved_ip.N); a directory
    /// that still holds an address reservation, or anything else, is left as it is.
    /// </summary>
    private static void RemoveIpamState(CniConfigList net)
    {
        foreach (var plugin in net.Plugins)
        {
            if (plugin["ipam"] is not JsonObject ipam || (string?)ipam["type"] != "host-local")
                continue;
            var dir = Path.Join((string?)ipam["dataDir"] ?? "/var/lib/cni/networks", net.Name);
            if (!Directory.Exists(dir) || HostPath.IsSymlink(dir))
                continue;
            var entries = Directory.GetFileSystemEntries(dir).Select(Path.GetFileName).ToList();
            if (!entries.All(e => e == "lock" || e!.StartsWith("last_reserved_ip.", StringComparison.Ordinal)))
                continue;
            foreach (var e in entries)
                File.Delete(Path.Join(dir, e));
            try { Directory.Delete(dir); }
            catch (IOException) { } // a reservation arrived meanwhile
        }
    }

    // ------------------------------------------------------------------ memberships

    /// <summary>Records that a container uses a network, on the next free ethN unless <paramref name="ifname"/> is given.</summary>
    public AttachmentRow AddMembership(ContainerRow container, string network, string? ifname, AttachOptions options)
    {
        if (ifname is not null && (!System.Text.RegularExpressions.Regex.IsMatch(ifname, "^[A-Za-z0-9_.-]{1,15}\\z") || ifname is "lo" or "." or ".."))
            throw new ContainerPSException(Errors.InvalidInterfaceName,
                $"Invalid interface name '{Names.Printable(ifname)}': 1 to 15 letters, digits, '.', '_' or '-', and not 'lo'.", ifname);
        var opts = OptionsJson(options);
        return store.Write(() =>
        {
            var net = Row(network);
            var existing = store.Attachments(container.Id);
            if (existing.Any(a => a.NetworkId == net.Id))
                throw new ContainerPSException(Errors.NetworkAlreadyConnected,
                    $"Container '{container.Name}' is already connected to network '{network}'.", network);
            if (ifname is not null && existing.Any(a => a.IfName == ifname))
                throw new ContainerPSException(Errors.InterfaceExists,
                    $"Container '{container.Name}' already has an interface named '{ifname}'.", ifname);
            var name = ifname ?? Enumerable.Range(0, 1000).Select(i => $"eth{i}").First(n => existing.All(a => a.IfName != n));
            store.InsertAttachment(container.Id, net.Id, name, opts);
            return store.Attachments(container.Id).Single(a => a.NetworkId == net.Id);
        });
    }

    public void RemoveMembership(AttachmentRow a) => store.Write(() => store.DeleteAttachment(a.ContainerId, a.NetworkId));

    public AttachmentRow Membership(ContainerRow container, string network)
    {
        var net = Row(network);
        return store.Attachments(container.Id).FirstOrDefault(a => a.NetworkId == net.Id)
            ?? throw new ContainerPSException(Errors.NetworkNotConnected,
                $"Container '{container.Name}' is not connected to network '{network}'.", network);
    }

    public IReadOnlyList<AttachmentRow> Memberships(long containerId) => store.Attachments(containerId);

    public IReadOnlyList<NetworkAttachment> Attachments(string? container = null) =>
        (container is null ? store.Attachments() : store.Attachments(ContainerRowId(container))).Select(ToAttachment).ToList();

    private long ContainerRowId(string name) =>
        (store.Container(Names.Validate(name, "container")) ?? throw ContainerPSException.ContainerNotFound(name)).Id;

    internal static NetworkAttachment ToAttachment(AttachmentRow a)
    {
        var r = CniResult.Parse(a.Result, a.IfName);
        var opts = ParseOptions(a.Options);
        return new NetworkAttachment
        {
            Container = a.Container,
            Network = a.Network,
            Interface = a.IfName,
            Attached = a.Result is not null,
            MacAddress = r.Mac,
            Addresses = r.Addresses,
            Gateways = r.Gateways,
            Routes = r.Routes,
            Nameservers = r.Nameservers,
            DnsDomain = r.Domain,
            DnsSearch = r.Search,
            RequestedAddresses = opts.Addresses ?? Array.Empty<string>(),
            Result = a.Result,
        };
    }

    // ------------------------------------------------------------------ ADD / DEL / CHECK

    /// <summary>
    /// Brings loopback up (the loopback plugin) in a network namespace runc did not set up itself:
    /// the empty one a CRIU restore makes.
    /// </summary>
    public void LoopbackUp(string containerId, string netns) =>
        runner.Add(CniConfigList.Parse("""{"cniVersion":"1.0.0","name":"containerps-loopback","type":"loopback"}"""),
            new CniRuntime(containerId, netns, "lo", new Dictionary<string, JsonNode?>()));

    /// <summary>
    /// ADD for one membership. The conflist is recorded first (so DEL runs for it even after a crash
    /// half-way); when ADD fails, DEL runs at once and the error is thrown.
    /// </summary>
    public CniResult Attach(AttachmentRow a, string netns, InterfaceIdentity? identity = null)
    {
        var net = CniConfigList.Parse(store.Network(a.Network)?.Config ?? throw new ContainerPSException(Errors.NetworkNotFound, $"Network '{a.Network}' not found.", a.Network));
        var rt = Runtime(a, netns, identity);
        store.Write(() => store.SetAttachmentResult(a.ContainerId, a.NetworkId, net.ToJsonString(), null));
        JsonObject result;
        try
        {
            result = runner.Add(net, rt);
            FaultPoints.Hit("network.attach.after-add");
        }
        catch (ContainerPSException)
        {
            TryDel(net, rt, null, a);
            store.Write(() => store.SetAttachmentResult(a.ContainerId, a.NetworkId, null, null));
            throw;
        }
        var json = result.ToJsonString();
        store.Write(() => store.SetAttachmentResult(a.ContainerId, a.NetworkId, net.ToJsonString(), json));
        return CniResult.Parse(json, a.IfName);
    }

    /// <summary>
    /// ADD for every membership in interface order; on a failure the ones done are detached again and
    /// the error is thrown. <paramref name="addresses"/> (by network) asks for given addresses, as a
    /// restore does for the interfaces the container had (same addresses, same MAC, so peers' ARP caches stay right).
    /// </summary>
    public IReadOnlyList<CniResult> AttachAll(ContainerRow container, string netns, IReadOnlyDictionary<string, InterfaceIdentity>? identities = null)
    {
        var done = new List<CniResult>();
        try
        {
            foreach (var a in store.Attachments(container.Id))
                done.Add(Attach(a, netns, identities?.GetValueOrDefault(a.Network)));
        }
        catch (ContainerPSException)
        {
            DetachAll(container.Id, netns);
            throw;
        }
        return done;
    }

    /// <summary>
    /// DEL for one membership that has an ADD recorded (idempotent: nothing recorded, nothing run), with
    /// the cached result as prevResult; the record is cleared even when a plugin fails (a warning says so).
    /// </summary>
    public void Detach(AttachmentRow a, string? netns)
    {
        if (a.AddConfig is null)
            return;
        var net = CniConfigList.Parse(a.AddConfig);
        var prev = a.Result is null ? null : JsonNode.Parse(a.Result);
        TryDel(net, Runtime(a, netns), prev, a);
        store.Write(() => store.SetAttachmentResult(a.ContainerId, a.NetworkId, null, null));
    }

    /// <summary>DEL for every recorded ADD of a container, last interface first.</summary>
    public void DetachAll(long containerId, string? netns)
    {
        foreach (var a in store.Attachments(containerId).AsEnumerable().Reverse())
            Detach(a, netns);
    }

    /// <summary>CHECK for one attached membership (Test-ContainerNetwork); throws the plugin's error.</summary>
    public bool Check(AttachmentRow a, string netns)
    {
        if (a.AddConfig is null || a.Result is null)
            throw new ContainerPSException(Errors.NetworkNotAttached,
                $"Container '{a.Container}' has no interface on network '{a.Network}' (it is not running, or was never started).", a.Network);
        var net = CniConfigList.Parse(a.AddConfig);
        if (!net.SupportsCheck)
        {
            log.Verbose($"network {a.Network}: CHECK skipped ({(net.DisableCheck ? "disableCheck is set" : "cniVersion 0.3.1 has no CHECK")}).");
            return false;
        }
        runner.Check(net, Runtime(a, netns), JsonNode.Parse(a.Result)!);
        return true;
    }

    private void TryDel(CniConfigList net, CniRuntime rt, JsonNode? prev, AttachmentRow a)
    {
        try { runner.Del(net, rt, prev); }
        catch (ContainerPSException e)
        {
            log.Warning($"DEL of container '{a.Container}' from network '{a.Network}' ({a.IfName}) failed: {e.Message}");
        }
    }

    private static CniRuntime Runtime(AttachmentRow a, string? netns, InterfaceIdentity? identity = null)
    {
        var options = ParseOptions(a.Options);
        var caps = new Dictionary<string, JsonNode?>(StringComparer.Ordinal);
        var args = new List<string>();
        if ((identity?.Addresses is { Length: > 0 } ? identity.Addresses : options.Addresses) is { Length: > 0 } ips)
        {
            caps["ips"] = new JsonArray(ips.Select(ip => (JsonNode)ip).ToArray());
            // For conflists that do not declare the ips capability, host-local also reads IP= from CNI_ARGS.
            args.Add("IP=" + string.Join(',', ips.Select(ip => ip.Split('/')[0])));
        }
        if ((identity?.MacAddress ?? options.MacAddress) is { } mac)
        {
            caps["mac"] = mac;
            args.Add("MAC=" + mac); // bridge reads it from CNI_ARGS too
        }
        if (options.PortMappings is { Count: > 0 } ports)
            caps["portMappings"] = new JsonArray(ports.Select(p =>
            {
                var o = new JsonObject { ["hostPort"] = p.HostPort, ["containerPort"] = p.ContainerPort, ["protocol"] = p.Protocol };
                if (p.HostIP is not null)
                    o["hostIP"] = p.HostIP;
                return (JsonNode)o;
            }).ToArray());
        return new CniRuntime(a.ContainerUuid, netns, a.IfName, caps, args.Count == 0 ? null : "IgnoreUnknown=1;" + string.Join(';', args));
    }

    // ------------------------------------------------------------------ options

    private static readonly JsonSerializerOptions OptionJson = new() { DefaultIgnoreCondition = System.Text.Json.Serialization.JsonIgnoreCondition.WhenWritingNull };

    private static string OptionsJson(AttachOptions o)
    {
        foreach (var ip in o.Addresses ?? Array.Empty<string>())
            if (!IsAddress(ip))
                throw new ContainerPSException(Errors.InvalidIPAddress, $"'{Names.Printable(ip)}' is not an IP address (10.88.0.5 or 10.88.0.5/24).", ip);
        if (o.MacAddress is { } mac && !System.Text.RegularExpressions.Regex.IsMatch(mac, "^([0-9A-Fa-f]{2}:){5}[0-9A-Fa-f]{2}\\z"))
            throw new ContainerPSException(Errors.InvalidMacAddress, $"'{Names.Printable(mac)}' is not a MAC address (aa:bb:cc:dd:ee:ff).", mac);
        foreach (var p in o.PortMappings ?? Array.Empty<PortMapping>())
            if (p.HostPort is < 1 or > 65535 || p.ContainerPort is < 1 or > 65535 || p.Protocol is not ("tcp" or "udp" or "sctp"))
                throw new ContainerPSException(Errors.InvalidPortMapping,
                    $"Invalid port mapping {p.HostPort}->{p.ContainerPort}/{p.Protocol}: ports are 1-65535, protocol tcp, udp or sctp.", p);
        return JsonSerializer.Serialize(o, OptionJson);
    }

    /// <summary>An IPv4 (four dotted numbers) or IPv6 address, with an optional prefix length.</summary>
    private static bool IsAddress(string text)
    {
        var parts = text.Split('/');
        if (parts.Length > 2 || !System.Net.IPAddress.TryParse(parts[0], out var ip))
            return false;
        var v4 = ip.AddressFamily == System.Net.Sockets.AddressFamily.InterNetwork;
        if (v4 && parts[0].Count(c => c == '.') != 3) // IPAddress also takes inet_aton's short forms (10.1.2)
            return false;
        return parts.Length == 1 || (int.TryParse(parts[1], System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out var bits) && bits <= (v4 ? 32 : 128));
    }

    private static AttachOptions ParseOptions(string json) => JsonSerializer.Deserialize<AttachOptions>(json, OptionJson) ?? AttachOptions.None;
}
