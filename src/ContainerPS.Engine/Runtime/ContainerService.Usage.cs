using ContainerPS.Engine.State;

namespace ContainerPS.Engine.Runtime;

public sealed partial class ContainerService
{
    /// <summary>
    /// What a container uses now (lxc info, podman stats): memory, CPU time and tasks of its cgroup,
    /// its interfaces' counters, its root volume's bytes. A container that does not run has null
    /// counters (its disk usage is still given); one that stops while it is read too.
    /// </summary>
    public ContainerState Usage(string name)
    {
        var row = Row(name);
        var (rt, state) = StatusOf(row);
        var pid = rt is { IsRunning: true, Pid: int p } ? p : (int?)null;
        var cgroup = pid is int cp ? ContainerUsage.ReadCgroup(cp) : null;
        var net = pid is int np ? ContainerUsage.ReadNetwork(np) : null;
        long? disk = null;
        if (row.State == RowState.Ready)
        {
            try { disk = storage.VolumeUsage(row.Pool, VolumeTypes.Container, row.Name); }
            catch (ContainerPSException e) { log.Verbose($"disk usage of container {row.Name}: {e.Message}"); }
        }
        return new ContainerState
        {
            Name = row.Name,
            State = state,
            Pid = pid,
            MemoryUsage = cgroup?.MemoryUsage,
            MemoryPeak = cgroup?.MemoryPeak,
            CpuTime = cgroup?.CpuTime,
            Processes = cgroup?.Processes,
            Network = net,
            RxBytes = net?.Where(i => !i.Loopback).Sum(i => i.RxBytes),
            TxBytes = net?.Where(i => !i.Loopback).Sum(i => i.TxBytes),
            RootDiskUsage = disk,
            Timestamp = DateTime.UtcNow,
        };
    }
}
