using System.Text.Json.Nodes;

namespace ContainerPS.Engine.Network;

/// <summary>
/// The parts of a CNI result (spec 0.3.1 to 1.0.0: interfaces, ips, routes, dns) that users see,
/// for the container-side interface named in the attachment.
/// </summary>
public sealed record CniResult(string? Mac, string[] Addresses, string[] Gateways, string[] Routes, string[] Nameservers, string? Domain, string[] Search)
{
    public static readonly CniResult Empty = new(null, Array.Empty<string>(), Array.Empty<string>(), Array.Empty<string>(), Array.Empty<string>(), null, Array.Empty<string>());

    public static CniResult Parse(string? json, string ifname)
    {
        if (string.IsNullOrEmpty(json) || JsonNode.Parse(json) is not JsonObject r)
            return Empty;
        var interfaces = r["interfaces"] as JsonArray ?? new JsonArray();
        // The container's interface is the one with a sandbox and our name; ips point at it by index.
        int? index = null;
        string? mac = null;
        for (var i = 0; i < interfaces.Count; i++)
        {
            if (interfaces[i] is JsonObject itf && Str(itf["name"]) == ifname && Str(itf["sandbox"]) is { Length: > 0 })
            {
                index = i;
                mac = Str(itf["mac"]);
                break;
            }
        }
        var addresses = new List<string>();
        var gateways = new List<string>();
        foreach (var ip in (r["ips"] as JsonArray ?? new JsonArray()).OfType<JsonObject>())
        {
            var at = ip["interface"] is JsonValue iv && iv.TryGetValue<int>(out var n) ? n : (int?)null;
            if (index is not null && at is not null && at != index)
                continue;
            if (Str(ip["address"]) is { } a)
                addresses.Add(a);
            if (Str(ip["gateway"]) is { } g)
                gateways.Add(g);
        }
        var routes = (r["routes"] as JsonArray ?? new JsonArray()).OfType<JsonObject>()
            .Select(rt => Str(rt["gw"]) is { } gw ? $"{Str(rt["dst"])} via {gw}" : Str(rt["dst"]) ?? "")
            .Where(s => s.Length > 0).ToArray();
        var dns = r["dns"] as JsonObject;
        return new CniResult(mac, addresses.ToArray(), gateways.ToArray(), routes, Strings(dns?["nameservers"]), Str(dns?["domain"]), Strings(dns?["search"]));
    }

    /// <summary>resolv.conf text for the result's dns, or null when it has no nameservers.</summary>
    public string? ResolvConf()
    {
        if (Nameservers.Length == 0)
            return null;
        var sb = new System.Text.StringBuilder("# written by ContainerPS from the CNI result\n");
        if (Domain is { Length: > 0 })
            sb.Append("domain ").Append(Domain).Append('\n');
        if (Search.Length > 0)
            sb.Append("search ").Append(string.Join(' ', Search)).Append('\n');
        foreach (var ns in Nameservers)
            sb.Append("nameserver ").Append(ns).Append('\n');
        return sb.ToString();
    }

    private static string? Str(JsonNode? n) => n is JsonValue v && v.TryGetValue<string>(out var s) ? s : null;

    private static string[] Strings(JsonNode? n) =>
        n is JsonArray a ? a.Select(Str).Where(s => s is not null).Select(s => s!).ToArray() : Array.Empty<string>();
}
