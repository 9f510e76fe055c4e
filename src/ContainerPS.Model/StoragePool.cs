namespace ContainerPS;

/// <summary>A storage pool as users see it (ContainerPS.StoragePool).</summary>
public sealed class StoragePool
{
    public required string Name { get; init; }
    public required string Driver { get; init; }
    /// <summary>Where the pool lives: a directory for dir.</summary>
    public required string Source { get; init; }
    public string Description { get; init; } = "";
    /// <summary>The pool's configuration keys, sorted by key.</summary>
    public required SortedDictionary<string, string> Config { get; init; }
    /// <summary>Bytes used on the pool's backing store, where known.</summary>
    public long? Used { get; init; }
    /// <summary>Total bytes of the pool's backing store, where known.</summary>
    public long? Size { get; init; }
    /// <summary>How a ceph pool maps its RBD images on this host from now on: krbd (the kernel's rbd, /dev/rbdN) or fuse (rbd-fuse + a loop device), as its ceph.rbd.map says (auto: krbd where the kernel has rbd); null for other drivers.</summary>
    public string? RbdMap { get; init; }
    public DateTime CreatedAt { get; init; }
    /// <summary>What uses the pool: volumes as TYPE/NAME (custom/v1, container/c1, image/busybox).</summary>
    public required string[] UsedBy { get; init; }
    /// <summary>Created, or Creating/Deleting while an operation on it is under way.</summary>
    public string Status { get; init; } = "Created";

    public override string ToString() => Name;
}
