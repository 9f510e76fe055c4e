using System.Text.Json.Nodes;
using ContainerPS.Engine.Network;

namespace ContainerPS.Engine.Tests.Networking;

/// <summary>Parsing and checking of conflists, and the per-plugin configuration built from them (no system changes).</summary>
public class CniConfigListTests
{
    private const string Conflist = """
        {
          "cniVersion": "1.0.0",
          "name": "net1",
          "plugins": [
            { "type": "bridge", "bridge": "cni0", "ipam": { "type": "host-local", "subnet": "10.88.0.0/16" } },
            { "type": "portmap", "capabilities": { "portMappings": true } }
          ]
        }
        """;

    private static ContainerPSException Fails(Action a) => Assert.Throws<ContainerPSException>(a);

    private static string ErrorOf(Action a) => Fails(a).ErrorId;

    private static IReadOnlyDictionary<string, JsonNode?> Caps(params (string Key, JsonNode? Value)[] caps) =>
        caps.ToDictionary(c => c.Key, c => c.Value, StringComparer.Ordinal);

    [Fact]
    public void A_conflist_is_kept()
    {
        var net = CniConfigList.Parse(Conflist);
        Assert.Equal("net1", net.Name);
        Assert.Equal("1.0.0", net.CniVersion);
        Assert.Equal(new[] { "bridge", "portmap" }, net.PluginTypes);
        Assert.Equal(2, net.Plugins.Count);
        Assert.Equal("cni0", (string?)net.Plugins[0]["bridge"]);
        Assert.False(net.DisableCheck);
        Assert.True(net.SupportsCheck);
        Assert.Equal("10.88.0.0/16", net.Subnet());
        Assert.True(JsonNode.DeepEquals(JsonNode.Parse(Conflist), net.Json));

        // What is stored parses back to the same list.
        var again = CniConfigList.Parse(net.ToJsonString());
        Assert.Equal(net.ToJsonString(), again.ToJsonString());
        Assert.Equal("net1", again.Name);
    }

    [Fact]
    public void Comments_and_trailing_commas_are_accepted()
    {
        var net = CniConfigList.Parse("""
            // a hand-written file
            { "cniVersion": "0.4.0", "name": "c", "type": "bridge", /* inline */ "bridge": "br1", }
            """);
        Assert.Equal("c", net.Name);
        Assert.Equal(new[] { "bridge" }, net.PluginTypes);
    }

    [Fact]
    public void A_single_plugin_configuration_is_wrapped_into_a_list()
    {
        var net = CniConfigList.Parse("""
            { "cniVersion": "0.4.0", "name": "single", "type": "bridge", "bridge": "br9", "disableCheck": true,
              "ipam": { "type": "host-local", "subnet": "10.99.0.0/24" } }
            """);
        Assert.Equal("single", net.Name);
        Assert.Equal("0.4.0", net.CniVersion);
        Assert.True(net.DisableCheck);
        Assert.False(net.SupportsCheck);
        Assert.Equal(new[] { "bridge" }, net.PluginTypes);

        // cniVersion, name and disableCheck moved to the list; everything else stays with the plugin.
        var json = net.Json;
        Assert.Equal("0.4.0", (string?)json["cniVersion"]);
        Assert.Equal("single", (string?)json["name"]);
        Assert.True((bool)json["disableCheck"]!);
        Assert.Null(json["type"]);
        Assert.Null(json["bridge"]);
        var plugin = Assert.IsType<JsonObject>(Assert.Single(json["plugins"]!.AsArray()));
        Assert.Equal(new[] { "bridge", "ipam", "type" }, plugin.Select(kv => kv.Key).Order(StringComparer.Ordinal));
        Assert.Equal("br9", (string?)plugin["bridge"]);
        Assert.Equal("10.99.0.0/24", net.Subnet());
        Assert.Same(net.Plugins[0], plugin);
    }

    [Fact]
    public void A_single_plugin_without_disableCheck_gets_none()
    {
        var net = CniConfigList.Parse("""{ "cniVersion": "1.0.0", "name": "s", "type": "bridge" }""");
        Assert.False(net.DisableCheck);
        Assert.Null(net.Json["disableCheck"]);
        Assert.True(net.SupportsCheck);
    }

    [Fact]
    public void The_given_name_overrides_the_configurations_own()
    {
        var list = CniConfigList.Parse(Conflist, "other");
        Assert.Equal("other", list.Name);
        Assert.Equal("other", (string?)list.Json["name"]);

        var single = CniConfigList.Parse("""{ "cniVersion": "1.0.0", "name": "mine", "type": "bridge" }""", "given");
        Assert.Equal("given", single.Name);
        Assert.Equal("given", (string?)single.Json["name"]);

        // A configuration without a name needs one given.
        var unnamed = """{ "cniVersion": "1.0.0", "type": "bridge" }""";
        Assert.Equal("n2", CniConfigList.Parse(unnamed, "n2").Name);
        Assert.Equal("InvalidNetworkConfig", ErrorOf(() => CniConfigList.Parse(unnamed)));
    }

    [Theory]
    [InlineData("not json")]
    [InlineData("{")]
    [InlineData("")]
    [InlineData("null")]
    [InlineData("[1, 2]")]
    [InlineData("\"a string\"")]
    [InlineData("42")]
    [InlineData("""{ "name": "n", "type": "bridge" }""")] // no cniVersion
    [InlineData("""{ "cniVersion": 1, "name": "n", "type": "bridge" }""")] // not a string
    [InlineData("""{ "cniVersion": "1.0.0", "name": "n" }""")] // neither plugins nor type
    [InlineData("""{ "cniVersion": "1.0.0", "name": "n", "plugins": [] }""")]
    [InlineData("""{ "cniVersion": "1.0.0", "name": "n", "plugins": {} }""")]
    [InlineData("""{ "cniVersion": "1.0.0", "name": "n", "plugins": [ 1 ] }""")]
    [InlineData("""{ "cniVersion": "1.0.0", "name": "n", "plugins": [ { "bridge": "b" } ] }""")] // no type
    [InlineData("""{ "cniVersion": "1.0.0", "name": "n", "plugins": [ { "type": 7 } ] }""")]
    [InlineData("""{ "cniVersion": "1.0.0", "name": "n", "plugins": [ { "type": "" } ] }""")]
    [InlineData("""{ "cniVersion": "1.0.0", "name": "n", "plugins": [ { "type": "../../bin/sh" } ] }""")]
    [InlineData("""{ "cniVersion": "1.0.0", "name": "n", "plugins": [ { "type": "/bin/sh" } ] }""")]
    [InlineData("""{ "cniVersion": "1.0.0", "name": "n", "plugins": [ { "type": "a/b" } ] }""")]
    [InlineData("""{ "cniVersion": "1.0.0", "name": "n", "plugins": [ { "type": "a..b" } ] }""")]
    [InlineData("""{ "cniVersion": "1.0.0", "name": "n", "plugins": [ { "type": "bridge" }, { "type": "x/../y" } ] }""")]
    [InlineData("""{ "cniVersion": "1.0.0", "name": "n", "type": "../bridge" }""")]
    [InlineData("""{ "cniVersion": "1.0.0", "name": "n", "plugins": [ { "type": "bridge", "capabilities": [ "ips" ] } ] }""")]
    [InlineData("""{ "cniVersion": "1.0.0", "name": "n", "disableCheck": "maybe", "plugins": [ { "type": "bridge" } ] }""")]
    [InlineData("""{ "cniVersion": "1.0.0", "name": "n", "disableCheck": 1, "plugins": [ { "type": "bridge" } ] }""")]
    public void Rejects_invalid_configurations(string text)
    {
        var e = Fails(() => CniConfigList.Parse(text));
        Assert.Equal("InvalidNetworkConfig", e.ErrorId);
        Assert.Equal(ErrorKind.InvalidArgument, e.Kind);
    }

    [Fact]
    public void A_bad_plugin_type_is_named_printably()
    {
        var e = Fails(() => CniConfigList.Parse("""{ "cniVersion": "1.0.0", "name": "n", "type": "a/\u0001b" }"""));
        Assert.Equal("InvalidNetworkConfig", e.ErrorId);
        Assert.Contains("a/\\x01b", e.Message);
        Assert.DoesNotContain('\u0001', e.Message);
    }

    [Theory]
    [InlineData("1.1.0")]
    [InlineData("0.2.0")]
    [InlineData("0.1.0")]
    [InlineData("2.0.0")]
    [InlineData("1.0")]
    public void Rejects_cni_versions_it_does_not_speak(string version)
    {
        var e = Fails(() => CniConfigList.Parse($$"""{ "cniVersion": "{{version}}", "name": "n", "type": "bridge" }"""));
        Assert.Equal("UnsupportedCniVersion", e.ErrorId);
        Assert.Equal(ErrorKind.NotSupported, e.Kind);
        Assert.Contains(version, e.Message);
        Assert.Contains("1.0.0", e.Message);
    }

    [Theory]
    [InlineData("bad/name")]
    [InlineData("-lead")]
    [InlineData("a..b")]
    [InlineData("has space")]
    [InlineData("x\ny")]
    public void Rejects_bad_network_names(string name)
    {
        Assert.Equal("InvalidName", ErrorOf(() => CniConfigList.Parse(Conflist, name)));
        // The configuration's own name is checked the same way.
        var own = new JsonObject { ["cniVersion"] = "1.0.0", ["name"] = name, ["type"] = "bridge" }.ToJsonString();
        Assert.Equal("InvalidName", ErrorOf(() => CniConfigList.Parse(own)));
    }

    [Theory]
    [InlineData("1.0.0", null, true)]
    [InlineData("0.4.0", null, true)]
    [InlineData("0.3.1", null, false)]
    [InlineData("1.0.0", "true", false)]
    [InlineData("1.0.0", "false", true)]
    [InlineData("0.4.0", "\"true\"", false)]
    [InlineData("0.3.1", "false", false)]
    public void Check_is_supported_from_040_unless_disabled(string version, string? disableCheck, bool supported)
    {
        var extra = disableCheck is null ? "" : $"\"disableCheck\": {disableCheck},";
        var net = CniConfigList.Parse($$"""{ "cniVersion": "{{version}}", "name": "n", {{extra}} "plugins": [ { "type": "bridge" } ] }""");
        Assert.Equal(supported, net.SupportsCheck);
        Assert.Equal(disableCheck is "true" or "\"true\"", net.DisableCheck);
    }

    [Fact]
    public void Subnet_comes_from_ipam_subnet_or_the_first_range()
    {
        var ranges = CniConfigList.Parse("""
            { "cniVersion": "1.0.0", "name": "r", "plugins": [
              { "type": "loopback" },
              { "type": "bridge", "ipam": { "type": "host-local",
                "ranges": [ [ { "subnet": "10.77.1.0/24" }, { "subnet": "10.77.2.0/24" } ], [ { "subnet": "fd00:77::/64" } ] ] } } ] }
            """);
        Assert.Equal("10.77.1.0/24", ranges.Subnet());

        var none = CniConfigList.Parse("""{ "cniVersion": "1.0.0", "name": "d", "type": "bridge", "ipam": { "type": "dhcp" } }""");
        Assert.Null(none.Subnet());
        Assert.Null(CniConfigList.Parse("""{ "cniVersion": "1.0.0", "name": "l", "type": "loopback" }""").Subnet());
    }

    [Fact]
    public void PluginConfig_adds_name_version_and_only_declared_and_provided_capabilities()
    {
        var net = CniConfigList.Parse("""
            { "cniVersion": "0.4.0", "name": "caps", "plugins": [
              { "type": "bridge", "capabilities": { "ips": true, "portMappings": true, "bandwidth": false },
                "ipam": { "type": "host-local", "subnet": "10.66.0.0/24" } },
              { "type": "portmap", "capabilities": { "portMappings": true } },
              { "type": "tuning" } ] }
            """);
        var before = net.ToJsonString();
        var ips = new JsonArray("10.66.0.9/24");
        var caps = Caps(("ips", ips), ("mac", "02:00:00:00:00:01"), ("bandwidth", new JsonObject { ["ingressRate"] = 1 }), ("portMappings", null));

        var bridge = net.PluginConfig(0, caps, null);
        Assert.Equal("caps", (string?)bridge["name"]);
        Assert.Equal("0.4.0", (string?)bridge["cniVersion"]);
        Assert.Equal("bridge", (string?)bridge["type"]);
        Assert.Equal("10.66.0.0/24", (string?)bridge["ipam"]!["subnet"]);
        // ips: declared and provided; mac: provided, not declared; bandwidth: declared false; portMappings: no value.
        var runtimeConfig = Assert.IsType<JsonObject>(bridge["runtimeConfig"]);
        Assert.Equal(new[] { "ips" }, runtimeConfig.Select(kv => kv.Key));
        Assert.True(JsonNode.DeepEquals(ips, runtimeConfig["ips"]));
        Assert.Null(bridge["prevResult"]);

        // Nothing declared that the runtime has: no runtimeConfig at all.
        Assert.Null(net.PluginConfig(1, caps, null)["runtimeConfig"]);
        Assert.Null(net.PluginConfig(2, caps, null)["runtimeConfig"]);
        Assert.Null(net.PluginConfig(0, Caps(), null)["runtimeConfig"]);

        // The runtime's values are copied, never shared.
        runtimeConfig["ips"]!.AsArray().Add("10.66.0.10/24");
        Assert.Single(ips);

        Assert.Equal(before, net.ToJsonString());
    }

    [Fact]
    public void PluginConfig_includes_the_previous_result_and_leaves_the_stored_plugins_alone()
    {
        var net = CniConfigList.Parse(Conflist);
        var before = net.ToJsonString();
        var prev = JsonNode.Parse("""{ "cniVersion": "1.0.0", "ips": [ { "address": "10.88.0.2/16", "interface": 0 } ] }""")!;

        var conf = net.PluginConfig(1, Caps(("portMappings", new JsonArray(new JsonObject { ["hostPort"] = 8080, ["containerPort"] = 80, ["protocol"] = "tcp" }))), prev);
        Assert.True(JsonNode.DeepEquals(prev, conf["prevResult"]));
        Assert.NotSame(prev, conf["prevResult"]);
        Assert.Equal(8080, (int)conf["runtimeConfig"]!["portMappings"]![0]!["hostPort"]!);
        Assert.Equal("net1", (string?)conf["name"]);

        // Changing what was handed out changes nothing stored.
        conf["type"] = "changed";
        conf["capabilities"]!["portMappings"] = false;
        conf["prevResult"]!["ips"]!.AsArray().Clear();
        Assert.Equal(before, net.ToJsonString());
        Assert.Single(prev["ips"]!.AsArray());
        foreach (var p in net.Plugins)
        {
            Assert.Null(p["name"]);
            Assert.Null(p["cniVersion"]);
            Assert.Null(p["runtimeConfig"]);
            Assert.Null(p["prevResult"]);
        }
        Assert.Equal("portmap", (string?)net.Plugins[1]["type"]);
        Assert.True((bool)net.Plugins[1]["capabilities"]!["portMappings"]!);
    }

    // ENGINE BUG: the name and plugin-type patterns end with '$', which in .NET also matches before a final
    // '\n': "net1\n" is a valid network name (Names.IsValid, shared by every entity) and "bridge\n" a plugin type.
    [Fact]
    public void A_trailing_newline_makes_a_network_name_invalid()
    {
        Assert.Equal("InvalidName", ErrorOf(() => CniConfigList.Parse(Conflist, "net1\n")));
        var own = new JsonObject { ["cniVersion"] = "1.0.0", ["name"] = "net1\n", ["type"] = "bridge" }.ToJsonString();
        Assert.Equal("InvalidName", ErrorOf(() => CniConfigList.Parse(own)));
    }

    [Fact]
    public void A_trailing_newline_makes_a_plugin_type_invalid()
    {
        var text = new JsonObject { ["cniVersion"] = "1.0.0", ["name"] = "n", ["type"] = "bridge\n" }.ToJsonString();
        Assert.Equal("InvalidNetworkConfig", ErrorOf(() => CniConfigList.Parse(text)));
    }
}
