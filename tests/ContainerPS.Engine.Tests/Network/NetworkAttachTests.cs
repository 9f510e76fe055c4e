using ContainerPS.Engine.Network;
using ContainerPS.Engine.State;

namespace ContainerPS.Engine.Tests.Networking;

/// <summary>
/// NetworkService ADD/CHECK/DEL for stored memberships, with the real plugins, into a namespace of the
/// test's own (not a container's: the container is never started).
/// </summary>
public sealed class NetworkAttachTests : HostOnTempRoot, IDisposable
{
    private readonly List<string> bridges = new();
    private readonly NetNamespace ns = new();

    private NetworkService Networks => Host.Networks;

    private string DataDir => Path.Join(Root.Path, "ipam");

    /// <summary>A network on a bridge of its own; returns the subnet's prefix ("10.202.X.").</summary>
    private string CreateNetwork(string name, string version = "1.0.0", string more = "", bool disableCheck = false)
    {
        var bridge = NetTools.UniqueBridge();
        bridges.Add(bridge);
        var (subnet, prefix) = NetTools.UniqueSubnet();
        Networks.Create(name, $$"""
            { "cniVersion": "{{version}}", "name": "{{name}}", "disableCheck": {{(disableCheck ? "true" : "false")}}, "plugins": [
              { "type": "bridge", "bridge": "{{bridge}}", "isGateway": false, "ipMasq": false,
                "ipam": { "type": "host-local", "subnet": "{{subnet}}", "dataDir": "{{DataDir}}",
                          "routes": [ { "dst": "192.0.2.0/24", "gw": "{{prefix}}1" } ] },
                "capabilities": { "ips": true } }
              {{more}} ] }
            """, null);
        return prefix;
    }

    private ContainerRow Container(string name = "c1")
    {
        Host.Containers.Create(name, "busybox", null, null, isolated: false, privileged: false);
        return Host.State.Container(name)!;
    }

    private AttachmentRow Row(ContainerRow c, string network) => Networks.Membership(c, network);

    public new void Dispose()
    {
        try
        {
            ns.Dispose();
            foreach (var b in bridges)
                NetTools.DeleteLink(b);
        }
        finally
        {
            base.Dispose();
        }
    }

    [Fact]
    public void Attach_records_the_result_check_passes_and_detach_forgets_it()
    {
        var prefix = CreateNetwork("n1");
        var c = Container();
        Networks.AddMembership(c, "n1", null, new AttachOptions(new[] { prefix + "42/24" }));

        var r = Networks.Attach(Row(c, "n1"), ns.Path);
        Assert.Equal(new[] { prefix + "42/24" }, r.Addresses);
        Assert.Equal(new[] { $"192.0.2.0/24 via {prefix}1" }, r.Routes);
        Assert.Contains($"192.0.2.0/24 via {prefix}1", ns.Run("ip", "route").Output);
        Assert.Equal(new[] { prefix + "42" }, NetTools.HostLocalAddresses(DataDir, "n1"));

        var shown = Assert.Single(Networks.Attachments("c1"));
        Assert.True(shown.Attached);
        Assert.Equal("eth0", shown.Interface);
        Assert.Equal(new[] { prefix + "42/24" }, shown.Addresses);
        Assert.Equal(r.Mac, shown.MacAddress);
        Assert.NotNull(shown.Result);
        Assert.NotNull(Row(c, "n1").AddConfig);

        Assert.True(Networks.Check(Row(c, "n1"), ns.Path));

        Networks.Detach(Row(c, "n1"), ns.Path);
        var after = Row(c, "n1");
        Assert.Null(after.AddConfig);
        Assert.Null(after.Result);
        Assert.Empty(NetTools.HostLocalAddresses(DataDir, "n1"));
        Assert.NotEqual(0, ns.Run("ip", "link", "show", "dev", "eth0").ExitCode);
        Assert.Equal("NetworkNotAttached", Assert.Throws<ContainerPSException>(() => Networks.Check(after, ns.Path)).ErrorId);

        // Nothing recorded, nothing run.
        Networks.Detach(after, ns.Path);
        Assert.Empty(Log.Warnings);
    }

    [Fact]
    public void Check_is_skipped_when_disabled()
    {
        CreateNetwork("n1", disableCheck: true);
        var c = Container();
        Networks.AddMembership(c, "n1", null, AttachOptions.None);
        Networks.Attach(Row(c, "n1"), ns.Path);
        Assert.False(Networks.Check(Row(c, "n1"), ns.Path));
        Assert.Contains(Log.VerboseLines, l => l.Contains("CHECK skipped") && l.Contains("disableCheck"));
        Networks.DetachAll(c.Id, ns.Path);
        Assert.Empty(NetTools.HostLocalAddresses(DataDir, "n1"));
    }

    [Fact]
    public void A_failed_attach_is_undone_and_leaves_nothing_recorded()
    {
        CreateNetwork("bad", more: """, { "type": "tuning", "sysctl": { "net.ipv4.conf.eth0.cps_no_such_sysctl": "1" } }""");
        var c = Container();
        Networks.AddMembership(c, "bad", null, AttachOptions.None);

        var e = Assert.Throws<CniPluginException>(() => Networks.Attach(Row(c, "bad"), ns.Path));
        Assert.Contains("'tuning'", e.Message);
        var row = Row(c, "bad");
        Assert.Null(row.AddConfig);
        Assert.Null(row.Result);
        // The bridge's part was deleted again: no address held, no interface left.
        Assert.Empty(NetTools.HostLocalAddresses(DataDir, "bad"));
        Assert.NotEqual(0, ns.Run("ip", "link", "show", "dev", "eth0").ExitCode);
        Assert.Empty(Log.Warnings);
    }

    [Fact]
    public void AttachAll_in_interface_order_and_a_failure_detaches_the_ones_done()
    {
        var p1 = CreateNetwork("n1");
        var p2 = CreateNetwork("n2", "0.4.0");
        var c = Container();
        Networks.AddMembership(c, "n1", null, AttachOptions.None);
        Networks.AddMembership(c, "n2", null, AttachOptions.None);

        var results = Networks.AttachAll(c, ns.Path);
        Assert.Equal(2, results.Count);
        Assert.StartsWith(p1, Assert.Single(results[0].Addresses));
        Assert.StartsWith(p2, Assert.Single(results[1].Addresses));
        Assert.Equal(0, ns.Run("ip", "link", "show", "dev", "eth1").ExitCode);
        Networks.DetachAll(c.Id, ns.Path);
        Assert.All(Networks.Memberships(c.Id), a => Assert.Null(a.Result));
        Assert.Empty(NetTools.HostLocalAddresses(DataDir, "n1"));
        Assert.Empty(NetTools.HostLocalAddresses(DataDir, "n2"));

        // A third network that fails: the two before it are detached again.
        CreateNetwork("n3", more: """, { "type": "tuning", "sysctl": { "net.ipv4.conf.eth2.cps_no_such_sysctl": "1" } }""");
        Networks.AddMembership(c, "n3", null, AttachOptions.None);
        Assert.Throws<CniPluginException>(() => Networks.AttachAll(c, ns.Path));
        Assert.All(Networks.Memberships(c.Id), a => Assert.Null(a.AddConfig));
        foreach (var n in new[] { "n1", "n2", "n3" })
            Assert.Empty(NetTools.HostLocalAddresses(DataDir, n));
        foreach (var ifname in new[] { "eth0", "eth1", "eth2" })
            Assert.NotEqual(0, ns.Run("ip", "link", "show", "dev", ifname).ExitCode);
    }
}
