using ContainerPS.Engine.Network;

namespace ContainerPS.Engine.Tests.Networking;

/// <summary>What users see of a CNI result: the container interface's mac, addresses, routes and dns.</summary>
public class CniResultTests
{
    // A bridge result as the bridge plugin prints it: the bridge, the host-side veth, then the container's interface.
    private const string Bridge100 = """
        {
          "cniVersion": "1.0.0",
          "interfaces": [
            { "name": "cni0", "mac": "62:af:89:95:80:e8" },
            { "name": "veth64731186", "mac": "62:af:89:95:80:e9" },
            { "name": "eth0", "mac": "c6:32:94:50:2c:da", "sandbox": "/var/run/netns/c1" }
          ],
          "ips": [
            { "interface": 2, "address": "10.202.77.2/24", "gateway": "10.202.77.1" },
            { "interface": 1, "address": "10.202.77.254/24", "gateway": "10.202.77.253" },
            { "interface": 2, "address": "fd00:77::2/64" }
          ],
          "dns": {}
        }
        """;

    [Fact]
    public void A_100_result_gives_the_container_interface_and_its_addresses()
    {
        var r = CniResult.Parse(Bridge100, "eth0");
        Assert.Equal("c6:32:94:50:2c:da", r.Mac);
        // The address on the host-side veth (interface 1) is not the container's.
        Assert.Equal(new[] { "10.202.77.2/24", "fd00:77::2/64" }, r.Addresses);
        Assert.Equal(new[] { "10.202.77.1" }, r.Gateways);
        Assert.Empty(r.Routes);
        Assert.Empty(r.Nameservers);
        Assert.Null(r.Domain);
        Assert.Empty(r.Search);
        Assert.Null(r.ResolvConf());
    }

    [Fact]
    public void A_host_interface_with_the_same_name_but_no_sandbox_is_not_the_container_interface()
    {
        const string json = """
            {
              "cniVersion": "1.0.0",
              "interfaces": [
                { "name": "eth1", "mac": "aa:aa:aa:aa:aa:aa" },
                { "name": "eth1", "mac": "bb:bb:bb:bb:bb:bb", "sandbox": "/proc/1/ns/net" }
              ],
              "ips": [
                { "interface": 0, "address": "192.0.2.1/24" },
                { "interface": 1, "address": "192.0.2.2/24" }
              ]
            }
            """;
        var r = CniResult.Parse(json, "eth1");
        Assert.Equal("bb:bb:bb:bb:bb:bb", r.Mac);
        Assert.Equal(new[] { "192.0.2.2/24" }, r.Addresses);
    }

    [Fact]
    public void A_040_result_with_versions_routes_and_dns()
    {
        const string json = """
            {
              "cniVersion": "0.4.0",
              "interfaces": [
                { "name": "br0", "mac": "02:00:00:00:00:01" },
                { "name": "eth0", "mac": "02:00:00:00:00:02", "sandbox": "/proc/42/ns/net" }
              ],
              "ips": [
                { "version": "4", "interface": 1, "address": "10.1.0.5/16", "gateway": "10.1.0.1" },
                { "version": "6", "interface": 1, "address": "fd00:1::5/64", "gateway": "fd00:1::1" }
              ],
              "routes": [
                { "dst": "0.0.0.0/0", "gw": "10.1.0.1" },
                { "dst": "10.2.0.0/16" },
                { "dst": "::/0", "gw": "fd00:1::1" }
              ],
              "dns": { "nameservers": [ "10.1.0.1", "1.1.1.1" ], "domain": "example.test", "search": [ "a.test", "b.test" ], "options": [ "ndots:2" ] }
            }
            """;
        var r = CniResult.Parse(json, "eth0");
        Assert.Equal("02:00:00:00:00:02", r.Mac);
        Assert.Equal(new[] { "10.1.0.5/16", "fd00:1::5/64" }, r.Addresses);
        Assert.Equal(new[] { "10.1.0.1", "fd00:1::1" }, r.Gateways);
        Assert.Equal(new[] { "0.0.0.0/0 via 10.1.0.1", "10.2.0.0/16", "::/0 via fd00:1::1" }, r.Routes);
        Assert.Equal(new[] { "10.1.0.1", "1.1.1.1" }, r.Nameservers);
        Assert.Equal("example.test", r.Domain);
        Assert.Equal(new[] { "a.test", "b.test" }, r.Search);
        Assert.Equal(
            "# written by ContainerPS from the CNI result\n" +
            "domain example.test\n" +
            "search a.test b.test\n" +
            "nameserver 10.1.0.1\n" +
            "nameserver 1.1.1.1\n",
            r.ResolvConf());
    }

    [Fact]
    public void ResolvConf_with_only_nameservers()
    {
        var r = CniResult.Parse("""{ "cniVersion": "1.0.0", "dns": { "nameservers": [ "10.9.0.1" ] } }""", "eth0");
        Assert.Equal("# written by ContainerPS from the CNI result\nnameserver 10.9.0.1\n", r.ResolvConf());
    }

    [Fact]
    public void A_031_result_without_interfaces_keeps_every_address()
    {
        // interface is optional in ips (e.g. an IPAM-only result): nothing to filter by.
        const string json = """
            { "cniVersion": "0.3.1", "ips": [ { "version": "4", "address": "10.3.0.7/24" }, { "version": "4", "address": "10.4.0.7/24", "interface": 0 } ] }
            """;
        var r = CniResult.Parse(json, "eth0");
        Assert.Null(r.Mac);
        Assert.Equal(new[] { "10.3.0.7/24", "10.4.0.7/24" }, r.Addresses);
        Assert.Empty(r.Gateways);
    }

    [Theory]
    [InlineData(null)]
    [InlineData("")]
    [InlineData("null")]
    [InlineData("[]")]
    public void Nothing_parses_to_the_empty_result(string? json)
    {
        var r = CniResult.Parse(json, "eth0");
        Assert.Same(CniResult.Empty, r);
        Assert.Null(r.Mac);
        Assert.Empty(r.Addresses);
        Assert.Null(r.ResolvConf());
    }
}
