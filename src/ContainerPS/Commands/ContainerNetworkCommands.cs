using System.Collections;
using System.Globalization;
using System.Management.Automation;
using System.Text.Json.Nodes;
using ContainerPS.Engine;
using ContainerPS.Engine.Network;

namespace ContainerPS.Commands;

[Cmdlet(VerbsCommon.New, "ContainerNetwork", SupportsShouldProcess = true, DefaultParameterSetName = "Config")]
[OutputType(typeof(ContainerNetwork))]
public sealed class NewContainerNetworkCommand : ContainerPSCmdlet
{
    /// <summary>The network's name; defaults to the configuration's own name.</summary>
    [Parameter(Position = 0, ValueFromPipelineByPropertyName = true)]
    public string? Name { get; set; }

    /// <summary>A CNI conflist or single-plugin configuration: JSON text, or a hashtable shaped like it.</summary>
    [Parameter(Mandatory = true, Position = 1, ParameterSetName = "Config")]
    public object Config { get; set; } = "";

    /// <summary>A .conflist / .conf file.</summary>
    [Parameter(Mandatory = true, ParameterSetName = "Path")]
    public string Path { get; set; } = "";

    [Parameter]
    public string? Description { get; set; }

    protected override void ProcessRecord()
    {
        string text;
        if (ParameterSetName == "Path")
        {
            var file = GetUnresolvedProviderPathFromPSPath(Path);
            if (!File.Exists(file))
            {
                WriteError(Record(new FileNotFoundException($"Network configuration file '{file}' not found.", file),
                    Errors.NetworkConfigNotFound, Path));
                return;
            }
            text = File.ReadAllText(file);
        }
        else
        {
            text = Config is PSObject p ? ToJson(p.BaseObject) : ToJson(Config);
        }
        if (ShouldProcess(Name ?? "(name from the configuration)", "Create CNI network"))
            Try(() => WriteObject(Engine.Networks.Create(Name, text, Description)));
    }

    /// <summary>JSON text as given, or a hashtable/array/scalar tree turned into JSON.</summary>
    private static string ToJson(object? value) => value is string s ? s : (ToNode(value)?.ToJsonString() ?? "null");

    private static JsonNode? ToNode(object? value)
    {
        value = value is PSObject pso ? pso.BaseObject : value;
        switch (value)
        {
            case null: return null;
            case string s: return JsonValue.Create(s);
            case bool b: return JsonValue.Create(b);
            case IDictionary d:
                var o = new JsonObject();
                foreach (DictionaryEntry e in d)
                    o[Convert.ToString(e.Key is PSObject k ? k.BaseObject : e.Key, CultureInfo.InvariantCulture) ?? ""] = ToNode(e.Value);
                return o;
            case IEnumerable list:
                return new JsonArray(list.Cast<object?>().Select(ToNode).ToArray());
            case int or long or short or byte or uint or ulong or ushort or sbyte:
                return JsonValue.Create(Convert.ToInt64(value, CultureInfo.InvariantCulture));
            case double or float or decimal:
                return JsonValue.Create(Convert.ToDouble(value, CultureInfo.InvariantCulture));
            default: return JsonValue.Create(value.ToString());
        }
    }
}

[Cmdlet(VerbsCommon.Get, "ContainerNetwork")]
[OutputType(typeof(ContainerNetwork))]
public sealed class GetContainerNetworkCommand : ContainerPSCmdlet
{
    [Parameter(Position = 0, ValueFromPipelineByPropertyName = true)]
    [SupportsWildcards]
    [ArgumentCompleter(typeof(NetworkNameCompleter))]
    public string[]? Name { get; set; }

    [Parameter]
    [ArgumentCompleter(typeof(PropertyNameCompleter))]
    public string? Property { get; set; }

    protected override void ProcessRecord()
    {
        IReadOnlyList<ContainerNetwork> all = Array.Empty<ContainerNetwork>();
        if (!Try(() => all = Engine.Networks.List()))
            return;
        foreach (var n in Select(all, n => n.Name, Name,
                     n => new ContainerPSException(Errors.NetworkNotFound, $"Network '{n}' not found.", n)))
            WriteEntity(n, Property);
    }
}

[Cmdlet(VerbsCommon.Remove, "ContainerNetwork", SupportsShouldProcess = true)]
public sealed class RemoveContainerNetworkCommand : ContainerPSCmdlet
{
    [Parameter(Mandatory = true, Position = 0, ValueFromPipelineByPropertyName = true)]
    [ArgumentCompleter(typeof(NetworkNameCompleter))]
    public string[] Name { get; set; } = Array.Empty<string>();

    protected override void ProcessRecord()
    {
        foreach (var n in Name)
            if (ShouldProcess(n, "Remove CNI network"))
                Try(() => Engine.Networks.Remove(n));
    }
}

/// <summary>Cmdlets on one container's membership of one network: -Name is the container, -Network the network.</summary>
public abstract class ContainerNetworkCmdlet : ContainerPSCmdlet
{
    [Parameter(Mandatory = true, Position = 0, ValueFromPipelineByPropertyName = true)]
    [Alias("Container")]
    [ArgumentCompleter(typeof(ContainerNameCompleter))]
    public string Name { get; set; } = "";

    [Parameter(Mandatory = true, Position = 1)]
    [ArgumentCompleter(typeof(NetworkNameCompleter))]
    public string Network { get; set; } = "";
}

[Cmdlet(VerbsCommunications.Connect, "ContainerNetwork", SupportsShouldProcess = true)]
[OutputType(typeof(NetworkAttachment))]
public sealed class ConnectContainerNetworkCommand : ContainerNetworkCmdlet
{
    /// <summary>Interface name inside the container (default: the next free ethN).</summary>
    [Parameter]
    public string? Interface { get; set; }

    /// <summary>Addresses to ask for (CNI 'ips' capability, and IP= in CNI_ARGS for host-local).</summary>
    [Parameter]
    public string[]? IPAddress { get; set; }

    /// <summary>MAC address of the interface (CNI 'mac' capability).</summary>
    [Parameter]
    public string? MacAddress { get; set; }

    /// <summary>Ports to publish (CNI 'portMappings' capability): hashtables with HostPort, ContainerPort, Protocol (tcp), HostIP.</summary>
    [Parameter]
    public Hashtable[]? PortMapping { get; set; }

    [Parameter]
    public SwitchParameter PassThru { get; set; }

    protected override void ProcessRecord()
    {
        if (!ShouldProcess(Name, $"Connect to network '{Network}'"))
            return;
        Try(() =>
        {
            var ports = PortMapping?.Select(ToPortMapping).ToList();
            var a = Engine.ContainerNetworks.Connect(Name, Network, Interface, new AttachOptions(IPAddress, MacAddress, ports));
            if (PassThru)
                WriteObject(a);
        });
    }

    private static PortMapping ToPortMapping(Hashtable h)
    {
        var c = ConfigFrom(h).ToDictionary(kv => kv.Key.ToLowerInvariant(), kv => kv.Value);
        int Port(string key) => c.TryGetValue(key, out var v) && int.TryParse(v, NumberStyles.None, CultureInfo.InvariantCulture, out var n) ? n
            : throw new ContainerPSException(Errors.InvalidPortMapping, $"A port mapping needs a numeric {key} (keys: HostPort, ContainerPort, Protocol, HostIP).", h);
        return new PortMapping(Port("hostport"), Port("containerport"), c.GetValueOrDefault("protocol") ?? "tcp", c.GetValueOrDefault("hostip"));
    }
}

[Cmdlet(VerbsCommunications.Disconnect, "ContainerNetwork", SupportsShouldProcess = true)]
public sealed class DisconnectContainerNetworkCommand : ContainerNetworkCmdlet
{
    protected override void ProcessRecord()
    {
        if (ShouldProcess(Name, $"Disconnect from network '{Network}'"))
            Try(() => Engine.ContainerNetworks.Disconnect(Name, Network));
    }
}

[Cmdlet(VerbsCommon.Get, "ContainerNetworkAttachment")]
[OutputType(typeof(NetworkAttachment))]
public sealed class GetContainerNetworkAttachmentCommand : ContainerPSCmdlet
{
    /// <summary>Containers (wildcards allowed); all when omitted.</summary>
    [Parameter(Position = 0, ValueFromPipelineByPropertyName = true)]
    [Alias("Container")]
    [SupportsWildcards]
    [ArgumentCompleter(typeof(ContainerNameCompleter))]
    public string[]? Name { get; set; }

    /// <summary>Networks (wildcards allowed); all when omitted.</summary>
    [Parameter]
    [SupportsWildcards]
    [ArgumentCompleter(typeof(NetworkNameCompleter))]
    public string[]? Network { get; set; }

    protected override void ProcessRecord()
    {
        IReadOnlyList<NetworkAttachment> all = Array.Empty<NetworkAttachment>();
        IReadOnlyList<Container> containers = Array.Empty<Container>();
        if (!Try(() => { all = Engine.Networks.Attachments(); containers = Engine.Containers.List(); }))
            return;
        var names = Select(containers, c => c.Name, Name, ContainerPSException.ContainerNotFound).Select(c => c.Name).ToHashSet();
        var patterns = Network?.Select(p => new WildcardPattern(p, WildcardOptions.IgnoreCase)).ToList();
        foreach (var a in all.Where(a => names.Contains(a.Container) && (patterns is null || patterns.Any(p => p.IsMatch(a.Network)))))
            WriteObject(a);
    }
}

[Cmdlet(VerbsDiagnostic.Test, "ContainerNetwork")]
[OutputType(typeof(bool))]
public sealed class TestContainerNetworkCommand : ContainerPSCmdlet
{
    [Parameter(Mandatory = true, Position = 0, ValueFromPipelineByPropertyName = true)]
    [Alias("Container")]
    [ArgumentCompleter(typeof(ContainerNameCompleter))]
    public string Name { get; set; } = "";

    /// <summary>One network; all of the container's when omitted.</summary>
    [Parameter(Position = 1)]
    [ArgumentCompleter(typeof(NetworkNameCompleter))]
    public string? Network { get; set; }

    protected override void ProcessRecord()
    {
        IReadOnlyList<NetworkCheck> checks = Array.Empty<NetworkCheck>();
        if (!Try(() => checks = Engine.ContainerNetworks.Check(Name, Network)))
            return;
        foreach (var c in checks)
        {
            if (c.Error is not null)
                WriteError(ToErrorRecord(c.Error));
            else if (!c.Checked)
                WriteVerbose($"{Name}: CHECK of network '{c.Network}' skipped (disableCheck, or cniVersion 0.3.1).");
        }
        WriteObject(checks.All(c => c.Error is null));
    }
}
