namespace ContainerPS;

/// <summary>
/// What a container uses at one moment (ContainerPS.ContainerState), as lxc info / podman stats
/// show it. Counters are null when the container does not run or the host does not keep them
/// (MemoryPeak on cgroup v2 before Linux 5.19). Plain types only, so remoting keeps it usable.
/// </summary>
public sealed class ContainerState
{
    public required string Name { get; init; }
    /// <summary>As Get-Container's: Running, Stopped, Error, Starting, Stopping, Creating, Deleting.</summary>
    public required string State { get; init; }
    /// <summary>Host pid of the container's init while it runs.</summary>
    public int? Pid { get; init; }
    /// <summary>Bytes of memory charged to the container's cgroup (memory.usage_in_bytes on v1, memory.current on v2; page cache and tmpfs included).</summary>
    public long? MemoryUsage { get; init; }
    /// <summary>The most memory charged since the start (memory.max_usage_in_bytes on v1, memory.peak on v2 where the kernel has it).</summary>
    public long? MemoryPeak { get; init; }
    /// <summary>CPU time of all its processes since the start (cpuacct.usage on v1, cpu.stat usage_usec on v2).</summary>
    public TimeSpan? CpuTime { get; init; }
    /// <summary>Tasks in the container's cgroup (pids.current).</summary>
    public long? Processes { get; init; }
    /// <summary>The interfaces of the container's network namespace (loopback included, marked) with their counters.</summary>
    public InterfaceCounters[]? Network { get; init; }
    /// <summary>Bytes received on all interfaces but loopback.</summary>
    public long? RxBytes { get; init; }
    /// <summary>Bytes sent on all interfaces but loopback.</summary>
    public long? TxBytes { get; init; }
    /// <summary>Bytes used by the container's root volume (what Get-StorageVolume reports as Used); known for stopped containers too.</summary>
    public long? RootDiskUsage { get; init; }
    /// <summary>When the figures were read (UTC).</summary>
    public DateTime Timestamp { get; init; }

    public override string ToString() => Name;
}

/// <summary>Counters of one network interface inside a container (ContainerPS.InterfaceCounters), from /proc/PID/net/dev.</summary>
public sealed record InterfaceCounters
{
    public required string Name { get; init; }
    public bool Loopback { get; init; }
    public long RxBytes { get; init; }
    public long RxPackets { get; init; }
    public long TxBytes { get; init; }
    public long TxPackets { get; init; }

    public override string ToString() => $"{Name}: rx {RxBytes} B, tx {TxBytes} B";
}
