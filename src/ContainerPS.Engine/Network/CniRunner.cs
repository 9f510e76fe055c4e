using System.Text.Json.Nodes;

namespace ContainerPS.Engine.Network;

/// <summary>What one plugin invocation is about: the container, its network namespace and interface.</summary>
public sealed record CniRuntime(string ContainerId, string? NetNs, string IfName,
    IReadOnlyDictionary<string, JsonNode?> Capabilities, string? Args = null);

/// <summary>
/// Runs CNI plugins as the spec says (1.0.0, also 0.4.0/0.3.1 conflists): the configuration on stdin,
/// CNI_* variables in the environment, the result or an error object on stdout. ADD chains
/// prevResult through the list; DEL runs the list backwards with the cached result.
/// </summary>
public sealed class CniRunner
{
    public const string DefaultPath = "/usr/lib/cni:/opt/cni/bin";
    private static readonly TimeSpan PluginTimeout = TimeSpan.FromSeconds(60);
    private readonly ExternalTool tool;

    public CniRunner(ExternalTool tool) => this.tool = tool;

    /// <summary>Where plugins are looked for: $CNI_PATH, else /usr/lib/cni:/opt/cni/bin.</summary>
    public static string SearchPath =>
        Environment.GetEnvironmentVariable("CNI_PATH") is { Length: > 0 } p ? p : DefaultPath;

    public static string? FindPlugin(string type)
    {
        foreach (var dir in SearchPath.Split(':', StringSplitOptions.RemoveEmptyEntries))
        {
            var file = Path.Join(dir, type);
            if (File.Exists(file) && (File.GetUnixFileMode(file) & (UnixFileMode.UserExecute | UnixFileMode.GroupExecute | UnixFileMode.OtherExecute)) != 0)
                return file;
        }
        return null;
    }

    private static string Plugin(string type, string network) =>
        FindPlugin(type) ?? throw new ContainerPSException(Errors.CniPluginNotFound,
            $"CNI plugin '{type}' of network '{network}' was not found in {SearchPath} (CNI_PATH). Install containernetworking-plugins or set CNI_PATH.", type);

    /// <summary>Checks that every plugin exists and supports the list's cniVersion (the VERSION command).</summary>
    public void Validate(CniConfigList net)
    {
        foreach (var type in net.AllPluginTypes)
        {
            var output = Invoke(Plugin(type, net.Name), "VERSION", new JsonObject { ["cniVersion"] = net.CniVersion }, null, net.Name);
            var supported = output?["supportedVersions"] as JsonArray;
            if (supported is not null && !supported.Any(v => v?.GetValue<string>() == net.CniVersion))
                throw new ContainerPSException(Errors.UnsupportedCniVersion,
                    $"CNI plugin '{type}' does not support cniVersion {net.CniVersion} (it supports {string.Join(", ", supported.Select(v => v?.ToString()))}).", type);
        }
    }

    /// <summary>ADD through the whole list; returns the last plugin's result. The caller runs DEL when this throws.</summary>
    public JsonObject Add(CniConfigList net, CniRuntime rt)
    {
        VethMacPolicy.Ensure(tool);
        JsonNode? prev = null;
        for (var i = 0; i < net.Plugins.Count; i++)
        {
            var conf = net.PluginConfig(i, rt.Capabilities, prev);
            prev = Invoke(Plugin((string)conf["type"]!, net.Name), "ADD", conf, rt, net.Name)
                ?? throw new ContainerPSException(Errors.CniPluginError,
                    $"CNI plugin '{conf["type"]}' of network '{net.Name}' returned no result for ADD.", net.Name);
        }
        return (JsonObject)prev!;
    }

    /// <summary>DEL in reverse order with the cached result; every plugin runs even when one fails (the first failure is thrown after).</summary>
    public void Del(CniConfigList net, CniRuntime rt, JsonNode? cachedResult)
    {
        ContainerPSException? first = null;
        for (var i = net.Plugins.Count - 1; i >= 0; i--)
        {
            try
            {
                var conf = net.PluginConfig(i, rt.Capabilities, cachedResult);
                Invoke(Plugin((string)conf["type"]!, net.Name), "DEL", conf, rt, net.Name);
            }
            catch (ContainerPSException e)
            {
                first ??= e;
            }
        }
        if (first is not null)
            throw first;
    }

    /// <summary>CHECK in order with the cached result (spec 0.4.0 and later, unless disableCheck).</summary>
    public void Check(CniConfigList net, CniRuntime rt, JsonNode cachedResult)
    {
        for (var i = 0; i < net.Plugins.Count; i++)
        {
            var conf = net.PluginConfig(i, rt.Capabilities, cachedResult);
            Invoke(Plugin((string)conf["type"]!, net.Name), "CHECK", conf, rt, net.Name);
        }
    }

    private JsonNode? Invoke(string plugin, string command, JsonObject conf, CniRuntime? rt, string network)
    {
        var env = new Dictionary<string, string?>(StringComparer.Ordinal)
        {
            ["CNI_COMMAND"] = command,
            ["CNI_PATH"] = SearchPath,
        };
        if (rt is not null)
        {
            env["CNI_CONTAINERID"] = rt.ContainerId;
            env["CNI_NETNS"] = rt.NetNs ?? "";
            env["CNI_IFNAME"] = rt.IfName;
            env["CNI_ARGS"] = rt.Args ?? "";
        }
        var result = tool.Execute(plugin, Array.Empty<string>(), conf.ToJsonString(), env, PluginTimeout);
        var stdout = result.StandardOutput.Trim();
        JsonNode? output = null;
        if (stdout.Length > 0)
        {
            try { output = JsonNode.Parse(stdout); }
            catch (System.Text.Json.JsonException)
            {
                if (result.ExitCode == 0)
                    throw new ContainerPSException(Errors.CniPluginError,
                        $"CNI plugin '{Path.GetFileName(plugin)}' of network '{network}' ({command}) printed something that is not JSON: {Trim(stdout)}", network);
            }
        }
        if (result.ExitCode == 0)
            return output;
        throw PluginError(Path.GetFileName(plugin), command, network, output as JsonObject, result.ExitCode, result.StandardError.Trim().Length > 0 ? result.StandardError : stdout);
    }

    /// <summary>A plugin's error object (code, msg, details) as an engine error that keeps the CNI code.</summary>
    internal static CniPluginException PluginError(string plugin, string command, string network, JsonObject? error, int exitCode, string text)
    {
        var code = error?["code"] is JsonValue cv && cv.TryGetValue<int>(out var c) ? c : (int?)null;
        var msg = error?["msg"]?.ToString();
        var details = error?["details"]?.ToString();
        var message = msg is not null
            ? $"CNI plugin '{plugin}' of network '{network}' failed {command} with error {code}: {msg}{(string.IsNullOrEmpty(details) ? "" : $" ({details})")}"
            : $"CNI plugin '{plugin}' of network '{network}' failed {command} with exit code {exitCode}: {Trim(text)}";
        return new CniPluginException(code, msg ?? Trim(text), message, network);
    }

    private static string Trim(string s) => s.Length > 2000 ? s[..2000] + "..." : s.Trim();
}

/// <summary>A CNI plugin's error: <see cref="CniCode"/> and <see cref="CniMessage"/> are the plugin's own.</summary>
public sealed class CniPluginException : ContainerPSException
{
    public CniPluginException(int? code, string cniMessage, string message, string network)
        : base(Errors.CniPluginError, message, network)
    {
        CniCode = code;
        CniMessage = cniMessage;
        Network = network;
    }

    public int? CniCode { get; }
    public string CniMessage { get; }
    public string Network { get; }
}
