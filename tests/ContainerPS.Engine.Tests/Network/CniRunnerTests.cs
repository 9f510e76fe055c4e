using System.Text.Json.Nodes;
using ContainerPS.Engine.Network;
using ContainerPS.Engine.Platform;

namespace ContainerPS.Engine.Tests.Networking;

/// <summary>
/// The real containernetworking plugins (/usr/lib/cni): VERSION, ADD, CHECK and DEL into a network
/// namespace of the test's own, on a bridge of the test's own (no gateway, no masquerading).
/// </summary>
public sealed class CniRunnerTests : IDisposable
{
    private readonly TempRoot dir = new();
    private readonly string bridge = NetTools.UniqueBridge();
    private readonly (string Subnet, string Prefix) subnet = NetTools.UniqueSubnet();
    private readonly RecordingLog log = new();
    private readonly CniRunner runner;
    private NetNamespace? ns;

    public CniRunnerTests() => runner = new CniRunner(new ExternalTool(log));

    private NetNamespace Ns => ns ??= new NetNamespace();

    private string DataDir => Path.Join(dir.Path, "ipam");

    private string NetName => "cps-" + bridge;

    private static readonly IReadOnlyDictionary<string, JsonNode?> NoCaps = new Dictionary<string, JsonNode?>();

    private CniConfigList BridgeNet(string version = "1.0.0", string bridgeExtra = "", string morePlugins = "") => CniConfigList.Parse($$"""
        { "cniVersion": "{{version}}", "name": "{{NetName}}", "plugins": [
          { "type": "bridge", "bridge": "{{bridge}}", "isGateway": false, "ipMasq": false {{bridgeExtra}},
            "ipam": { "type": "host-local", "subnet": "{{subnet.Subnet}}", "dataDir": "{{DataDir}}" } }
          {{morePlugins}} ] }
        """);

    private CniRuntime Runtime(string? args = null, IReadOnlyDictionary<string, JsonNode?>? caps = null) =>
        new(Guid.NewGuid().ToString("n"), Ns.Path, "eth0", caps ?? NoCaps, args);

    private string[] Reserved() => NetTools.HostLocalAddresses(DataDir, NetName);

    public void Dispose()
    {
        try { ns?.Dispose(); }
        finally
        {
            try { NetTools.DeleteLink(bridge); }
            finally { dir.Dispose(); }
        }
    }

    [Fact]
    public void Finds_installed_plugins_only()
    {
        Assert.EndsWith("/bridge", CniRunner.FindPlugin("bridge"));
        Assert.NotNull(CniRunner.FindPlugin("host-local"));
        Assert.Null(CniRunner.FindPlugin("cps-no-such-plugin"));
    }

    [Fact]
    public void Validate_fails_for_a_plugin_that_is_not_installed()
    {
        var net = BridgeNet(morePlugins: """, { "type": "cps-no-such-plugin" }""");
        var e = Assert.Throws<ContainerPSException>(() => runner.Validate(net));
        Assert.Equal("CniPluginNotFound", e.ErrorId);
        Assert.Equal(ErrorKind.NotFound, e.Kind);
        Assert.Equal("cps-no-such-plugin", e.Target);
        Assert.Contains(NetName, e.Message);
        Assert.Contains("CNI_PATH", e.Message);
    }

    [Fact]
    public void Validate_fails_for_an_ipam_plugin_that_is_not_installed()
    {
        // ENGINE GAP: Validate checks the chain's plugin types only, not ipam.type (libcni's ValidateNetworkList
        // checks both), so New-ContainerNetwork accepts a network whose every ADD then fails.
        var net = CniConfigList.Parse($$"""
            { "cniVersion": "1.0.0", "name": "{{NetName}}", "type": "bridge", "bridge": "{{bridge}}",
              "ipam": { "type": "cps-no-such-ipam", "subnet": "{{subnet.Subnet}}" } }
            """);
        var e = Assert.Throws<ContainerPSException>(() => runner.Validate(net));
        Assert.Equal("CniPluginNotFound", e.ErrorId);
        Assert.Equal("cps-no-such-ipam", e.Target);
    }

    [Theory]
    [InlineData("1.0.0")]
    [InlineData("0.4.0")]
    [InlineData("0.3.1")]
    public void Validate_passes_for_bridge_and_host_local(string version)
    {
        runner.Validate(BridgeNet(version, morePlugins: """, { "type": "portmap", "capabilities": { "portMappings": true } }"""));
        Assert.Contains(log.VerboseLines, l => l.Contains("CNI_COMMAND=VERSION") && l.Contains("/bridge"));
        Assert.Contains(log.VerboseLines, l => l.Contains("CNI_COMMAND=VERSION") && l.Contains("/portmap"));
    }

    [Fact]
    public void Add_check_and_del_round_trip_through_bridge_and_host_local()
    {
        var net = BridgeNet();
        var rt = Runtime();
        var result = runner.Add(net, rt);
        Assert.Equal("1.0.0", (string?)result["cniVersion"]);

        var r = CniResult.Parse(result.ToJsonString(), "eth0");
        var address = Assert.Single(r.Addresses);
        Assert.StartsWith(subnet.Prefix, address);
        Assert.EndsWith("/24", address);
        Assert.Matches("^([0-9a-f]{2}:){5}[0-9a-f]{2}$", r.Mac);
        Assert.True(NetTools.LinkExists(bridge));

        // host-local reserved exactly that address, one file for it.
        Assert.Equal(new[] { address.Split('/')[0] }, Reserved());
        // ... and the interface is in the namespace with it.
        var (code, output) = Ns.Run("ip", "-o", "addr", "show", "dev", "eth0");
        Assert.True(code == 0, output);
        Assert.Contains(address, output);

        runner.Check(net, rt, result);

        runner.Del(net, rt, result);
        Assert.Empty(Reserved());
        Assert.NotEqual(0, Ns.Run("ip", "link", "show", "dev", "eth0").ExitCode);

        // DEL again (with and without the cached result) finds nothing to do and succeeds.
        runner.Del(net, rt, result);
        runner.Del(net, rt, null);
    }

    [Fact]
    public void A_031_list_adds_and_deletes_too()
    {
        var net = BridgeNet("0.3.1");
        var rt = Runtime();
        var result = runner.Add(net, rt);
        Assert.Equal("0.3.1", (string?)result["cniVersion"]);
        var address = Assert.Single(CniResult.Parse(result.ToJsonString(), "eth0").Addresses);
        Assert.Equal(new[] { address.Split('/')[0] }, Reserved());
        runner.Del(net, rt, result);
        Assert.Empty(Reserved());
    }

    [Fact]
    public void Requested_addresses_reach_host_local_through_the_ips_capability_or_CNI_ARGS()
    {
        // Declared on the bridge, the ips capability becomes runtimeConfig (which host-local reads).
        var withCap = BridgeNet(bridgeExtra: """, "capabilities": { "ips": true }""");
        var wanted = subnet.Prefix + "77/24";
        var rt = Runtime(caps: new Dictionary<string, JsonNode?> { ["ips"] = new JsonArray(wanted), ["mac"] = "02:00:00:00:00:77" });
        var result = runner.Add(withCap, rt);
        Assert.Equal(new[] { wanted }, CniResult.Parse(result.ToJsonString(), "eth0").Addresses);
        Assert.Equal(new[] { subnet.Prefix + "77" }, Reserved());
        runner.Del(withCap, rt, result);
        Assert.Empty(Reserved());

        // Without the capability, host-local takes IP= from CNI_ARGS.
        var plain = BridgeNet();
        var rt2 = Runtime(args: $"IgnoreUnknown=1;IP={subnet.Prefix}78");
        var result2 = runner.Add(plain, rt2);
        Assert.Equal(new[] { subnet.Prefix + "78/24" }, CniResult.Parse(result2.ToJsonString(), "eth0").Addresses);
        runner.Del(plain, rt2, result2);
        Assert.Empty(Reserved());
    }

    [Fact]
    public void A_plugin_error_keeps_the_cni_code_and_names_the_plugin()
    {
        var net = BridgeNet(morePlugins: """, { "type": "tuning", "sysctl": { "net.ipv4.conf.eth0.cps_no_such_sysctl": "1" } }""");
        var rt = Runtime();
        var e = Assert.Throws<CniPluginException>(() => runner.Add(net, rt));
        Assert.Equal("CniPluginError", e.ErrorId);
        Assert.Equal(ErrorKind.OperationFailed, e.Kind);
        Assert.NotNull(e.CniCode);
        Assert.True(e.CniCode > 0);
        Assert.Contains("cps_no_such_sysctl", e.CniMessage);
        Assert.Equal(NetName, e.Network);
        Assert.Equal(NetName, e.Target);
        Assert.Contains("'tuning'", e.Message);
        Assert.Contains(NetName, e.Message);
        Assert.Contains("ADD", e.Message);
        Assert.Contains($"error {e.CniCode}", e.Message);

        // bridge ran before tuning failed: its address is reserved until the caller's DEL.
        Assert.Single(Reserved());
        runner.Del(net, rt, null);
        Assert.Empty(Reserved());
    }

    [Fact]
    public void A_plugin_that_rejects_its_configuration_is_a_plugin_error()
    {
        // host-local refuses a subnet that is not one.
        var net = CniConfigList.Parse($$"""
            { "cniVersion": "1.0.0", "name": "{{NetName}}", "type": "bridge", "bridge": "{{bridge}}",
              "ipam": { "type": "host-local", "subnet": "not-a-subnet", "dataDir": "{{DataDir}}" } }
            """);
        var e = Assert.Throws<CniPluginException>(() => runner.Add(net, Runtime()));
        Assert.Equal("CniPluginError", e.ErrorId);
        Assert.Contains("'bridge'", e.Message);
        Assert.False(string.IsNullOrWhiteSpace(e.CniMessage));
    }
}
