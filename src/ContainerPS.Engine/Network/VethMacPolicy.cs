namespace ContainerPS.Engine.Network;

/// <summary>
/// On systemd hosts udevd gives every new network interface a "persistent" MAC address (Debian's
/// 99-default.link says MACAddressPolicy=persistent), the host end of a CNI bridge's veth pair too,
/// after the plugin has put its own MAC in the result: CNI CHECK then fails with "Mac doesn't match"
/// (containernetworking/plugins#805) and the bridge forwards to a stale address until it relearns.
/// A .link file in /run/systemd/network tells udevd to leave veth MACs alone (Flatcar ships the same
/// rule). It is written once per boot, before the first ADD.
/// </summary>
public static class VethMacPolicy
{
    public const string LinkFile = "/run/systemd/network/90-containerps-veth.link";

    public const string Text = "# Written by ContainerPS: veth MAC addresses are the CNI plugins' (see containernetworking/plugins#805).\n[Match]\nDriver=veth\n\n[Link]\nMACAddressPolicy=none\n";

    /// <summary>Writes the .link file and makes udevd reload, where systemd runs and the file is not there yet.</summary>
    public static void Ensure(ExternalTool tool)
    {
        if (!Directory.Exists("/run/systemd/system") || File.Exists(LinkFile))
            return;
        Directory.CreateDirectory(Path.GetDirectoryName(LinkFile)!);
        var temp = LinkFile + ".new";
        File.WriteAllText(temp, Text);
        File.Move(temp, LinkFile, overwrite: true);
        tool.Run("udevadm", new[] { "control", "--reload" }, TimeSpan.FromSeconds(30));
    }
}
