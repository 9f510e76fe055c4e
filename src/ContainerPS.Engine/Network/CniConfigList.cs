using System.Text.Json;
using System.Text.Json.Nodes;
using System.Text.RegularExpressions;

namespace ContainerPS.Engine.Network;

/// <summary>
/// A CNI network configuration list (conflist), parsed and checked: a single-plugin configuration
/// is wrapped into a list, the name is set, and cniVersion must be one this engine speaks.
/// </summary>
public sealed partial class CniConfigList
{
    /// <summary>The versions of the CNI spec this runtime speaks (results of all three share a shape).</summary>
    public static readonly string[] SupportedVersions = { "1.0.0", "0.4.0", "0.3.1" };

    private CniConfigList(JsonObject json, string name, string version, IReadOnlyList<JsonObject> plugins, bool disableCheck)
    {
        Json = json;
        Name = name;
        CniVersion = version;
        Plugins = plugins;
        DisableCheck = disableCheck;
    }

    public JsonObject Json { get; }
    public string Name { get; }
    public string CniVersion { get; }
    public IReadOnlyList<JsonObject> Plugins { get; }
    public bool DisableCheck { get; }
    public IEnumerable<string> PluginTypes => Plugins.Select(p => (string)p["type"]!);

    /// <summary>The plugins the list runs: the chain's types and the IPAM plugins they delegate to.</summary>
    public IEnumerable<string> AllPluginTypes =>
        PluginTypes.Concat(Plugins.Select(p => p["ipam"] is JsonObject ipam && ipam["type"] is JsonValue t && t.TryGetValue<string>(out var s) ? s : null)
            .Where(s => s is not null).Select(s => s!)).Distinct();

    /// <summary>CHECK exists from spec 0.4.0 on.</summary>
    public bool SupportsCheck => CniVersion != "0.3.1" && !DisableCheck;

    public string ToJsonString() => Json.ToJsonString();

    [GeneratedRegex("^[A-Za-z0-9][A-Za-z0-9_.-]*\\z", RegexOptions.CultureInvariant)]
    private static partial Regex PluginType();

    /// <summary>
    /// Parses a conflist or a single network configuration. <paramref name="name"/>, when given,
    /// becomes the network's name (else the configuration's own name is used).
    /// </summary>
    public static CniConfigList Parse(string text, string? name = null)
    {
        JsonNode? node;
        try { node = JsonNode.Parse(text, documentOptions: new JsonDocumentOptions { CommentHandling = JsonCommentHandling.Skip, AllowTrailingCommas = true }); }
        catch (JsonException e)
        {
            throw Invalid($"The network configuration is not valid JSON: {e.Message}", name);
        }
        if (node is not JsonObject root)
            throw Invalid("The network configuration must be a JSON object (a conflist with 'plugins', or one plugin's configuration with 'type').", name);
        root = (JsonObject)root.DeepClone();

        var version = root["cniVersion"] is JsonValue v && v.TryGetValue<string>(out var s) ? s : null;
        if (version is null)
            throw Invalid("The network configuration has no cniVersion.", name);
        if (!SupportedVersions.Contains(version))
            throw new ContainerPSException(Errors.UnsupportedCniVersion,
                $"cniVersion '{Names.Printable(version)}' is not supported: use {string.Join(", ", SupportedVersions)}.", version);

        var own = root["name"] is JsonValue nv && nv.TryGetValue<string>(out var n) ? n : null;
        var finalName = name ?? own ?? throw Invalid("The network configuration has no name: give -Name.", null);
        Names.Validate(finalName, "network");

        if (root["plugins"] is null)
        {
            if (root["type"] is null)
                throw Invalid("The network configuration has neither 'plugins' (a conflist) nor 'type' (a plugin configuration).", finalName);
            var plugin = new JsonObject();
            foreach (var (k, value) in root.ToList())
                if (k is not ("cniVersion" or "name" or "disableCheck"))
                    plugin[k] = value?.DeepClone();
            var disable = root["disableCheck"]?.DeepClone();
            root = new JsonObject { ["cniVersion"] = version, ["name"] = finalName, ["plugins"] = new JsonArray(plugin) };
            if (disable is not null)
                root["disableCheck"] = disable;
        }
        root["name"] = finalName;

        if (root["plugins"] is not JsonArray list || list.Count == 0)
            throw Invalid("'plugins' must be a non-empty array of plugin configurations.", finalName);
        var plugins = new List<JsonObject>();
        foreach (var p in list)
        {
            if (p is not JsonObject po)
                throw Invalid("Each entry of 'plugins' must be a JSON object.", finalName);
            var type = po["type"] is JsonValue tv && tv.TryGetValue<string>(out var t) ? t : null;
            if (type is null || !PluginType().IsMatch(type) || type.Contains("..", StringComparison.Ordinal))
                throw Invalid($"Plugin type '{Names.Printable(type ?? "(missing)")}' is not a plugin name.", finalName);
            if (po["ipam"] is JsonObject ipam && ipam["type"] is { } it &&
                (it is not JsonValue iv || !iv.TryGetValue<string>(out var ipamType) || !PluginType().IsMatch(ipamType) || ipamType.Contains("..", StringComparison.Ordinal)))
                throw Invalid($"IPAM type '{Names.Printable(it.ToString())}' of plugin '{type}' is not a plugin name.", finalName);
            if (po["capabilities"] is { } caps && caps is not JsonObject)
                throw Invalid($"'capabilities' of plugin '{type}' must be an object.", finalName);
            // Host interface names the plugins create (the bridge plugin's bridge): Linux takes at most 15 bytes.
            foreach (var key in new[] { "bridge", "master" })
                if (po[key] is JsonValue bv && bv.TryGetValue<string>(out var ifname)
                    && (System.Text.Encoding.UTF8.GetByteCount(ifname) is 0 or > 15 || ifname.Any(c => char.IsControl(c) || c is '/' or ' ')))
                    throw Invalid($"'{key}' of plugin '{type}' is '{Names.Printable(ifname)}': a Linux interface name is 1 to 15 bytes, without '/', spaces or control characters.", finalName);
            plugins.Add(po);
        }
        var disableCheck = root["disableCheck"] switch
        {
            null => false,
            JsonValue dv when dv.TryGetValue<bool>(out var b) => b,
            JsonValue dv when dv.TryGetValue<string>(out var ds) && bool.TryParse(ds, out var b2) => b2,
            _ => throw Invalid("'disableCheck' must be true or false.", finalName),
        };
        return new CniConfigList(root, finalName, version, plugins, disableCheck);
    }

    /// <summary>The first subnet (or range) any plugin's ipam names, for display.</summary>
    public string? Subnet()
    {
        foreach (var p in Plugins)
        {
            if (p["ipam"] is not JsonObject ipam)
                continue;
            if (ipam["subnet"] is JsonValue sv && sv.TryGetValue<string>(out var s))
                return s;
            if (ipam["ranges"] is JsonArray { Count: > 0 } ranges && ranges[0] is JsonArray { Count: > 0 } set &&
                set[0] is JsonObject range && range["subnet"] is JsonValue rv && rv.TryGetValue<string>(out var rs))
                return rs;
        }
        return null;
    }

    /// <summary>
    /// The configuration given to plugin <paramref name="index"/>: the plugin's object plus name and
    /// cniVersion, runtimeConfig for the capabilities it declares that the runtime has values for, and prevResult.
    /// </summary>
    public JsonObject PluginConfig(int index, IReadOnlyDictionary<string, JsonNode?> capabilityArgs, JsonNode? prevResult)
    {
        var conf = (JsonObject)Plugins[index].DeepClone();
        conf["cniVersion"] = CniVersion;
        conf["name"] = Name;
        if (conf["capabilities"] is JsonObject caps)
        {
            var runtimeConfig = new JsonObject();
            foreach (var (cap, enabled) in caps)
                if (enabled is JsonValue ev && ev.TryGetValue<bool>(out var on) && on && capabilityArgs.TryGetValue(cap, out var value) && value is not null)
                    runtimeConfig[cap] = value.DeepClone();
            if (runtimeConfig.Count > 0)
                conf["runtimeConfig"] = runtimeConfig;
        }
        if (prevResult is not null)
            conf["prevResult"] = prevResult.DeepClone();
        return conf;
    }

    private static ContainerPSException Invalid(string message, string? target) =>
        new(Errors.InvalidNetworkConfig, message, target);
}
