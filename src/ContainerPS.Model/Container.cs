namespace ContainerPS;

/// <summary>A system container (ContainerPS.Container).</summary>
public sealed class Container
{
    public required string Name { get; init; }
    /// <summary>Running, Stopped, Error (see <see cref="StatusReason"/>), or Creating/Deleting while an operation is under way.</summary>
    public required string State { get; init; }
    /// <summary>Host pid of the container's init while it runs.</summary>
    public int? Pid { get; init; }
    /// <summary>The image it was created from, as given (alias or fingerprint).</summary>
    public required string Image { get; init; }
    public required string Pool { get; init; }
    /// <summary>The id map in use, e.g. "0 1000000 65536" (uid and gid), or "privileged".</summary>
    public required string Idmap { get; init; }
    public bool Privileged { get; init; }
    public DateTime CreatedAt { get; init; }
    public DateTime? LastStartedAt { get; init; }
    public required SortedDictionary<string, string> Config { get; init; }
    /// <summary>Storage volumes mounted into the container (Mount-StorageVolume).</summary>
    public ContainerDevice[] Devices { get; init; } = Array.Empty<ContainerDevice>();
    /// <summary>The container's network interfaces, one per attached CNI network (addresses while it runs).</summary>
    public NetworkAttachment[] Network { get; init; } = Array.Empty<NetworkAttachment>();
    /// <summary>The addresses of its attached interfaces, without prefix length (10.88.0.2), while it runs.</summary>
    public string[] Addresses => Network.Where(n => n.Attached).SelectMany(n => n.Addresses).Select(a => a.Split('/')[0]).ToArray();
    /// <summary>Why the container is in Error, or how it last exited.</summary>
    public string? StatusReason { get; init; }
    /// <summary>True when Stop-Container -Stateful saved its running state: the next Start-Container restores it.</summary>
    public bool Stateful { get; init; }
    /// <summary>Exit code of the last run's init (128+N when killed by signal N), when known.</summary>
    public int? LastExitCode { get; init; }

    public override string ToString() => Name;
}

/// <summary>A snapshot of a container (ContainerPS.ContainerSnapshot).</summary>
public sealed class ContainerSnapshot
{
    public required string Container { get; init; }
    public required string Name { get; init; }
    /// <summary>True when the snapshot holds the running state (CRIU), not just the filesystem.</summary>
    public bool Stateful { get; init; }
    public DateTime CreatedAt { get; init; }

    public override string ToString() => $"{Container}/{Name}";
}
