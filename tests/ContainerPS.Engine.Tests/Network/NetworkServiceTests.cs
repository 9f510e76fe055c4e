using ContainerPS.Engine.Network;
using ContainerPS.Engine.State;

namespace ContainerPS.Engine.Tests.Networking;

/// <summary>
/// Networks and memberships in a real state database on a temp root (Create validates with the real
/// plugins' VERSION; nothing is attached, so no interface is made).
/// </summary>
public sealed class NetworkServiceTests : HostOnTempRoot
{
    private NetworkService Networks => Host.Networks;

    private static ContainerPSException Fails(Action a) => Assert.Throws<ContainerPSException>(a);

    private static string Conflist(string name, string subnet = "10.203.0.0/24") => $$"""
        { "cniVersion": "1.0.0", "name": "{{name}}", "plugins": [
          { "type": "bridge", "bridge": "cpx-unused", "isGateway": true, "ipMasq": true,
            "ipam": { "type": "host-local", "subnet": "{{subnet}}" } },
          { "type": "portmap", "capabilities": { "portMappings": true } } ] }
        """;

    private ContainerRow Container(string name = "c1")
    {
        Host.Containers.Create(name, "busybox", null, null, isolated: false, privileged: false);
        return Host.State.Container(name)!;
    }

    [Fact]
    public void Creates_lists_gets_and_removes_networks()
    {
        var n = Networks.Create("net-b", Conflist("ignored"), "second");
        Assert.Equal("net-b", n.Name);
        Assert.Equal("1.0.0", n.CniVersion);
        Assert.Equal(new[] { "bridge", "portmap" }, n.Plugins);
        Assert.Equal("10.203.0.0/24", n.Subnet);
        Assert.Empty(n.UsedBy);
        Assert.False(n.DisableCheck);
        Assert.Equal("net-b", CniConfigList.Parse(n.Config).Name);
        Assert.InRange(n.CreatedAt, DateTime.UtcNow.AddMinutes(-5), DateTime.UtcNow.AddMinutes(1));
        Assert.Equal("second", Host.State.Network("net-b")!.Description);

        // A single plugin configuration keeps its own name when none is given, and is stored as a list.
        var a = Networks.Create(null, """{ "cniVersion": "0.4.0", "name": "net-a", "type": "bridge", "disableCheck": true, "bridge": "cpx-unused2" }""", null);
        Assert.Equal("net-a", a.Name);
        Assert.Equal("0.4.0", a.CniVersion);
        Assert.True(a.DisableCheck);
        Assert.Null(a.Subnet);
        Assert.Contains("\"plugins\"", a.Config);
        Assert.Equal("", Host.State.Network("net-a")!.Description);

        Assert.Equal(new[] { "net-a", "net-b" }, Networks.List().Select(x => x.Name));
        Assert.Equal(n.Config, Networks.Get("net-b").Config);

        Networks.Remove("net-b");
        Assert.Equal("NetworkNotFound", Fails(() => Networks.Get("net-b")).ErrorId);
        Assert.Equal("NetworkNotFound", Fails(() => Networks.Remove("net-b")).ErrorId);
        Assert.Equal(new[] { "net-a" }, Networks.List().Select(x => x.Name));
        Networks.Remove("net-a");
        Assert.Empty(Networks.List());
    }

    [Fact]
    public void A_duplicate_name_is_refused()
    {
        Networks.Create("dup", Conflist("x"), null);
        var e = Fails(() => Networks.Create("dup", Conflist("y"), null));
        Assert.Equal("NetworkExists", e.ErrorId);
        Assert.Equal(ErrorKind.AlreadyExists, e.Kind);
        // Also when the name comes from the configuration.
        Assert.Equal("NetworkExists", Fails(() => Networks.Create(null, Conflist("dup"), null)).ErrorId);
        Assert.Single(Networks.List());
    }

    [Fact]
    public void Nothing_is_stored_when_the_configuration_or_a_plugin_is_wrong()
    {
        Assert.Equal("InvalidName", Fails(() => Networks.Create("bad/name", Conflist("x"), null)).ErrorId);
        Assert.Equal("InvalidNetworkConfig", Fails(() => Networks.Create("n", "{", null)).ErrorId);
        Assert.Equal("UnsupportedCniVersion", Fails(() => Networks.Create("n", """{ "cniVersion": "1.1.0", "type": "bridge" }""", null)).ErrorId);
        Assert.Equal("CniPluginNotFound", Fails(() => Networks.Create("n", """{ "cniVersion": "1.0.0", "type": "cps-no-such-plugin" }""", null)).ErrorId);
        Assert.Empty(Networks.List());
        Assert.Equal("InvalidName", Fails(() => Networks.Get("../x")).ErrorId);
    }

    [Fact]
    public void A_network_in_use_is_not_removed()
    {
        Networks.Create("used", Conflist("used"), null);
        var row = Container("c1");
        var a = Networks.AddMembership(row, "used", null, AttachOptions.None);
        Assert.Equal(new[] { "c1" }, Networks.Get("used").UsedBy);

        var e = Fails(() => Networks.Remove("used"));
        Assert.Equal("NetworkInUse", e.ErrorId);
        Assert.Equal(ErrorKind.InUse, e.Kind);
        Assert.Contains("c1", e.Message);
        Assert.Single(Networks.List());

        Networks.RemoveMembership(a);
        Assert.Empty(Networks.Get("used").UsedBy);
        Networks.Remove("used");
        Assert.Empty(Networks.List());
    }

    [Fact]
    public void A_container_created_on_networks_is_a_member_in_the_order_given()
    {
        Networks.Create("n1", Conflist("n1"), null);
        Networks.Create("n2", Conflist("n2", "10.204.0.0/24"), null);
        var c = Host.Containers.Create("c1", "busybox", null, null, isolated: false, privileged: false, networkNames: new[] { "n2", "n1" });
        Assert.Equal(new[] { ("n2", "eth0"), ("n1", "eth1") }, c.Network.Select(x => (x.Network, x.Interface)));
        Assert.All(c.Network, x => Assert.False(x.Attached));
        Assert.Equal("NetworkInUse", Fails(() => Networks.Remove("n1")).ErrorId);

        // Removing the container ends its memberships.
        Host.Containers.Remove("c1", force: true);
        Assert.Empty(Networks.Attachments());
        Networks.Remove("n1");
        Networks.Remove("n2");
    }

    [Fact]
    public void Memberships_get_the_next_free_ethN()
    {
        foreach (var n in new[] { "n1", "n2", "n3", "n4" })
            Networks.Create(n, Conflist(n), null);
        var c = Container("c1");

        Assert.Equal("eth0", Networks.AddMembership(c, "n1", null, AttachOptions.None).IfName);
        Assert.Equal("eth1", Networks.AddMembership(c, "n2", null, AttachOptions.None).IfName);
        Assert.Equal(new[] { "eth0", "eth1" }, Networks.Memberships(c.Id).Select(m => m.IfName));

        // A freed name is taken again; a given name is used as is.
        Networks.RemoveMembership(Networks.Membership(c, "n1"));
        Assert.Equal("NetworkNotConnected", Fails(() => Networks.Membership(c, "n1")).ErrorId);
        Assert.Equal("eth0", Networks.AddMembership(c, "n3", null, AttachOptions.None).IfName);
        var named = Networks.AddMembership(c, "n4", "lan9", AttachOptions.None);
        Assert.Equal("lan9", named.IfName);
        Assert.Equal("n4", named.Network);
        Assert.Equal("c1", named.Container);
        Assert.Equal(c.Uuid, named.ContainerUuid);
        Assert.Null(named.AddConfig);
        Assert.Null(named.Result);
        Assert.Equal(new[] { "eth0", "eth1", "lan9" }, Networks.Memberships(c.Id).Select(m => m.IfName));
        Assert.Equal(new[] { "n3", "n2", "n4" }, Networks.Attachments("c1").Select(m => m.Network));
    }

    [Fact]
    public void Interface_order_is_numeric()
    {
        var names = Enumerable.Range(0, 12).Select(i => $"n{i}").ToArray();
        foreach (var n in names)
            Networks.Create(n, Conflist(n), null);
        var c = Container("c1");
        foreach (var n in names)
            Networks.AddMembership(c, n, null, AttachOptions.None);
        Assert.Equal(Enumerable.Range(0, 12).Select(i => $"eth{i}"), Networks.Memberships(c.Id).Select(m => m.IfName));
        Assert.Equal(names, Networks.Memberships(c.Id).Select(m => m.Network));
    }

    [Fact]
    public void Membership_errors()
    {
        Networks.Create("n1", Conflist("n1"), null);
        Networks.Create("n2", Conflist("n2"), null);
        var c = Container("c1");
        Networks.AddMembership(c, "n1", null, AttachOptions.None);

        var again = Fails(() => Networks.AddMembership(c, "n1", "eth5", AttachOptions.None));
        Assert.Equal("NetworkAlreadyConnected", again.ErrorId);
        Assert.Equal(ErrorKind.AlreadyExists, again.Kind);

        var taken = Fails(() => Networks.AddMembership(c, "n2", "eth0", AttachOptions.None));
        Assert.Equal("InterfaceExists", taken.ErrorId);
        Assert.Equal(ErrorKind.AlreadyExists, taken.Kind);

        Assert.Equal("NetworkNotFound", Fails(() => Networks.AddMembership(c, "nope", null, AttachOptions.None)).ErrorId);

        foreach (var bad in new[] { "", "a/b", "sixteen-chars-ab", "eth 0", "\neth0", "ü" })
        {
            var e = Fails(() => Networks.AddMembership(c, "n2", bad, AttachOptions.None));
            Assert.Equal("InvalidInterfaceName", e.ErrorId);
            Assert.Equal(ErrorKind.InvalidArgument, e.Kind);
            Assert.DoesNotContain('\n', e.Message);
        }

        foreach (var bad in new[] { "not-an-ip", "10.88.0.300", "10.88.0.5/33", "10.88.0.5/", "fd00::1/129", "" })
        {
            var e = Fails(() => Networks.AddMembership(c, "n2", null, new AttachOptions(Addresses: new[] { bad })));
            Assert.Equal("InvalidIPAddress", e.ErrorId);
            Assert.Equal(ErrorKind.InvalidArgument, e.Kind);
        }

        foreach (var bad in new[] { "02:00:00:00:00", "02-00-00-00-00-01", "zz:00:00:00:00:01", "02:00:00:00:00:01:02", "" })
        {
            var e = Fails(() => Networks.AddMembership(c, "n2", null, new AttachOptions(MacAddress: bad)));
            Assert.Equal("InvalidMacAddress", e.ErrorId);
            Assert.Equal(ErrorKind.InvalidArgument, e.Kind);
        }

        Assert.Equal("InvalidPortMapping", Fails(() => Networks.AddMembership(c, "n2", null,
            new AttachOptions(PortMappings: new[] { new PortMapping(0, 80) }))).ErrorId);
        Assert.Equal("InvalidPortMapping", Fails(() => Networks.AddMembership(c, "n2", null,
            new AttachOptions(PortMappings: new[] { new PortMapping(8080, 80, "icmp") }))).ErrorId);

        // None of the refused ones left a membership behind.
        Assert.Equal(new[] { "n1" }, Networks.Memberships(c.Id).Select(m => m.Network));
    }

    [Fact]
    public void Valid_options_are_kept_with_the_membership()
    {
        Networks.Create("n1", Conflist("n1"), null);
        Networks.Create("n2", Conflist("n2"), null);
        var c = Container("c1");
        var a = Networks.AddMembership(c, "n1", "eth3",
            new AttachOptions(new[] { "10.203.0.9", "fd00:203::9" }, "02:00:00:00:00:09", new[] { new PortMapping(8080, 80), new PortMapping(5353, 53, "udp", "127.0.0.1") }));
        Assert.Equal("eth3", a.IfName);
        Assert.Contains("02:00:00:00:00:09", a.Options);
        Assert.Contains("8080", a.Options);
        var shown = Assert.Single(Networks.Attachments("c1"));
        Assert.Equal(new[] { "10.203.0.9", "fd00:203::9" }, shown.RequestedAddresses);
        Assert.Equal("eth3", shown.Interface);
        Assert.False(shown.Attached);
        Assert.Empty(shown.Addresses);

        // The form the error message itself suggests: an address with its prefix length.
        var b = Networks.AddMembership(c, "n2", null, new AttachOptions(new[] { "10.203.0.5/24" }));
        Assert.Equal("eth0", b.IfName);
    }

    [Fact]
    public void A_trailing_newline_is_not_part_of_a_valid_interface_name()
    {
        // ENGINE BUG: the check ends its pattern with '$', which in .NET also matches before a final '\n', so
        // "eth0\n" passes, is stored next to eth0, and later goes to the plugins as CNI_IFNAME. '\z' closes it.
        Networks.Create("n1", Conflist("n1"), null);
        var c = Container("c1");
        var e = Fails(() => Networks.AddMembership(c, "n1", "eth0\n", AttachOptions.None));
        Assert.Equal("InvalidInterfaceName", e.ErrorId);
        Assert.Empty(Networks.Memberships(c.Id));
    }
}
