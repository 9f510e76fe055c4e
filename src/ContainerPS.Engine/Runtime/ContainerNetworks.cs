using ContainerPS.Engine.Network;
using ContainerPS.Engine.Storage;

namespace ContainerPS.Engine.Runtime;

/// <summary>
/// A container's networks (Connect-/Disconnect-ContainerNetwork, Test-ContainerNetwork): recorded
/// for every start, and attached or detached at once (CNI ADD/DEL) while it runs.
/// </summary>
public sealed class ContainerNetworks
{
    private readonly StorageService storage;
    private readonly NetworkService networks;
    private readonly ContainerRecords records;
    private readonly ContainerPaths paths;

    internal ContainerNetworks(StorageService storage, NetworkService networks, ContainerRecords records, ContainerPaths paths) =>
        (this.storage, this.networks, this.records, this.paths) = (storage, networks, records, paths);

    /// <summary>Connects a container to a network: recorded for every start, and attached at once (CNI ADD) when it runs.</summary>
    public NetworkAttachment Connect(string name, string network, string? ifname, AttachOptions options)
    {
        using var _ = records.Lock(name);
        var row = records.ReadyRow(name);
        if (paths.Runtime(name).Inspect() is not { IsRunning: true, Pid: int pid })
        {
            var added = networks.AddMembership(row, network, ifname, options);
            return networks.Attachments(name).Single(x => x.Network == added.Network);
        }
        var a = records.InStep(row, new ContainerStep(ContainerStep.Connect, Name: network), () =>
        {
            var a = networks.AddMembership(row, network, ifname, options);
            try
            {
                ContainerLauncher.WriteResolvConf(storage.VolumePath(row.Pool, VolumeType.Container, name), new[] { networks.Attach(a, ContainerLauncher.NetNsOf(pid)) });
            }
            catch
            {
                networks.RemoveMembership(a);
                throw;
            }
            return a;
        });
        return networks.Attachments(name).Single(x => x.Network == a.Network);
    }

    /// <summary>Disconnects a container from a network: CNI DEL when attached, and the membership is forgotten.</summary>
    public void Disconnect(string name, string network)
    {
        using var _ = records.Lock(name);
        var row = records.ReadyRow(name);
        var a = networks.Membership(row, network);
        records.InStep(row, new ContainerStep(ContainerStep.Disconnect, Name: a.Network), () =>
        {
            networks.Detach(a, paths.Runtime(name).Inspect() is { IsRunning: true, Pid: int pid } ? ContainerLauncher.NetNsOf(pid) : null);
            FaultPoints.Hit("network.disconnect.after-del");
            networks.RemoveMembership(a);
        });
    }

    /// <summary>
    /// A network change of a running container whose process died: a connection whose ADD finished
    /// is kept, one that did not is undone (DEL, membership forgotten); a disconnection is finished.
    /// </summary>
    internal string RepairNetworkStep(ContainerRow row, ContainerStep step)
    {
        var a = networks.Memberships(row.Id).FirstOrDefault(m => m.Network == step.Name);
        var connect = step.Op == ContainerStep.Connect;
        if (connect && a?.Result is not null)
            return $"finished the unfinished connection of container '{row.Name}' to network '{step.Name}'";
        if (a is not null)
        {
            networks.Detach(a, paths.Runtime(row.Name).Inspect() is { IsRunning: true, Pid: int pid } ? ContainerLauncher.NetNsOf(pid) : null);
            networks.RemoveMembership(a);
        }
        return connect
            ? $"rolled back the unfinished connection of container '{row.Name}' to network '{step.Name}'"
            : $"finished the unfinished disconnection of container '{row.Name}' from network '{step.Name}'";
    }

    /// <summary>Runs CNI CHECK for a running container's networks (all, or the one named); one entry per network.</summary>
    public IReadOnlyList<NetworkCheck> Check(string name, string? network)
    {
        var row = records.ReadyRow(Names.Validate(name, "container"));
        if (paths.Runtime(name).Inspect() is not { IsRunning: true, Pid: int pid })
            throw new ContainerPSException(Errors.ContainerNotRunning, $"Container '{name}' is not running.", name);
        var list = network is null ? networks.Memberships(row.Id) : new[] { networks.Membership(row, network) };
        var checks = new List<NetworkCheck>();
        foreach (var a in list)
        {
            try { checks.Add(new NetworkCheck(a.Network, a.IfName, networks.Check(a, ContainerLauncher.NetNsOf(pid)), null)); }
            catch (ContainerPSException e) { checks.Add(new NetworkCheck(a.Network, a.IfName, true, e)); }
        }
        return checks;
    }
}
