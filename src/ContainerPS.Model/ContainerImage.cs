namespace ContainerPS;

/// <summary>An image containers are created from (ContainerPS.ContainerImage).</summary>
public sealed class ContainerImage
{
    /// <summary>SHA-256 (hex) of the image's normalised rootfs tarball.</summary>
    public required string Fingerprint { get; init; }
    /// <summary>The image's alias (busybox, bookworm, ...), or null.</summary>
    public string? Alias { get; init; }
    /// <summary>Where it came from: builtin, rootfs, lxd, oci or debootstrap.</summary>
    public required string Format { get; init; }
    public string Description { get; init; } = "";
    /// <summary>Image properties (os, release, architecture, stop.signal, ...), sorted by key.</summary>
    public required SortedDictionary<string, string> Properties { get; init; }
    /// <summary>Bytes of the stored rootfs tarball.</summary>
    public long Size { get; init; }
    public DateTime CreatedAt { get; init; }
    /// <summary>Containers created from the image.</summary>
    public required string[] UsedBy { get; init; }

    public override string ToString() => Alias ?? Fingerprint[..12];
}
