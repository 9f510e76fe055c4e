using System.Text.Json;

namespace ContainerPS.Engine.Migration;

/// <summary>One network of a moving container: the network's name on both hosts and the interface.</summary>
public sealed record MigrationNetwork(string Network, string Interface);

/// <summary>
/// One snapshot of a moving container, oldest first in the plan: its name, when it was taken,
/// whether it holds a CRIU state (stateful), and the id map its files are stored in (null: the
/// container's own ids).
/// </summary>
public sealed record MigrationSnapshot(string Name, DateTime CreatedAt, bool Stateful, string? Idmap);

/// <summary>
/// One custom storage volume mounted in the moving container: it travels with it, into the
/// destination's pool of the same name when there is one (else its default pool), and is mounted
/// there as it was here (device name, path, read-only). Size is its size limit (the volume's "size"
/// key), Idmap the id map its files are stored in (null: unshifted).
/// HandedOver: it is on an OSD pool both hosts share and goes as its RBD image, not copied, with
/// Config (its storage keys: size, filesystem, mount options).
/// </summary>
public sealed record MigrationVolume(string Pool, string Name, string Device, string Path, bool ReadOnly, string? Size, string? Idmap,
    bool HandedOver = false, IReadOnlyDictionary<string, string>? Config = null);

/// <summary>
/// A move between pools that share one Ceph OSD pool: the container's image (with its snapshots, RBD
/// snapshots of it) and the volumes marked HandedOver are not copied; their owner records go from
/// SourceOwner to TargetOwner (<see cref="Storage.CephOwnership"/>). RootfsConfig: the container
/// volume's storage keys. The destination checks it all.
/// </summary>
public sealed record MigrationShared(string Fsid, string OsdPool, string SourceOwner, string TargetOwner, IReadOnlyDictionary<string, string>? RootfsConfig = null);

/// <summary>
/// What the destination needs to know to take a container over: its name, image and config, its id
/// map (a running container keeps its map: CRIU restores its user namespace as dumped) and networks.
/// Sent as JSON through the remoting session. RootfsFormat names the storage driver stream the
/// filesystem comes as (btrfs or zfs send, when both hosts' pools have it), null for a tar;
/// RootfsIdmap is the id map the files are stored in (volatile.idmap.last: shifted storage), null
/// for files in the container's own ids. Snapshots (oldest first) and Volumes travel with it;
/// StopState says a stopped container comes with the running state Stop-Container -Stateful saved.
/// PreCopyRounds: a pre-copy move (Move-Container -Live) sends up to that many memory rounds
/// (parts round.I, CRIU pre-dumps) before its final dump, whose images refer to the last one sent.
/// </summary>
public sealed record MigrationPlan(
    string Name, string Image, IReadOnlyDictionary<string, string> Config, bool Privileged, bool Isolated,
    long? IdmapBase, long? IdmapSize, IReadOnlyList<MigrationNetwork> Networks, bool Running,
    string? RootfsFormat = null, string? RootfsIdmap = null,
    IReadOnlyList<MigrationSnapshot>? Snapshots = null, IReadOnlyList<MigrationVolume>? Volumes = null, bool StopState = false,
    MigrationShared? Shared = null, int PreCopyRounds = 0)
{
    /// <summary>The parts (archives) a move of this plan may send, in a fixed order: a part's index is its number on the data link.</summary>
    public const string PartRootfs = "rootfs", PartState = "state";

    /// <summary>The most pre-copy rounds a move makes (Move-Container -Iterations).</summary>
    public const int MaxPreCopyRounds = 64;

    public string ToJson() => JsonSerializer.Serialize(this);

    public static MigrationPlan FromJson(string json) =>
        JsonSerializer.Deserialize<MigrationPlan>(json) ?? throw new ContainerPSException(Errors.InvalidMigrationPlan, "Empty migration plan.");

    /// <summary>The snapshots (never null).</summary>
    public IReadOnlyList<MigrationSnapshot> SnapshotList => Snapshots ?? Array.Empty<MigrationSnapshot>();

    /// <summary>The volumes (never null).</summary>
    public IReadOnlyList<MigrationVolume> VolumeList => Volumes ?? Array.Empty<MigrationVolume>();

    /// <summary>Whether any saved CRIU state comes: the running container's, a stateful stop's, a stateful snapshot's.</summary>
    public bool CarriesState => Running || StopState || SnapshotList.Any(s => s.Stateful);

    /// <summary>
    /// Ends what a destination that takes snapshots, volumes and saved states answers to "what do you
    /// receive" (after its stream format, if any): one that does not say so would drop them unseen
    /// (it ignores plan fields it does not know), so the source does not send them there. (A source
    /// that does not know the marker sees a format it does not have, and sends a tar.)
    /// </summary>
    public const string CarriesMarker = ";carries";

    /// <summary>A destination's answer split: its stream format (null: tar only) and whether it takes what a container carries.</summary>
    public static (string? Format, bool Carries) ParseReceives(string? receives) =>
        receives is null ? (null, false)
        : receives.EndsWith(CarriesMarker, StringComparison.Ordinal) ? (receives[..^CarriesMarker.Length].Split(';')[0] is { Length: > 0 } f ? f : null, true)
        : (receives.Length > 0 ? receives : null, false);

    /// <summary>Before <see cref="CarriesMarker"/>: the pools a destination shares with others ("FSID/OSDPOOL/OWNER", comma-separated; see IStorageDriver.SharedIdentity).</summary>
    public const string SharedMarker = ";shared=";

    /// <summary>The shared pools (FSID/OSDPOOL/OWNER) a destination's answer names.</summary>
    public static IReadOnlyList<string> ParseShared(string? receives) =>
        receives is not null && receives.EndsWith(CarriesMarker, StringComparison.Ordinal) && receives.IndexOf(SharedMarker, StringComparison.Ordinal) is var i and >= 0
            ? receives[(i + SharedMarker.Length)..^CarriesMarker.Length].Split(',', StringSplitOptions.RemoveEmptyEntries)
            : Array.Empty<string>();

    /// <summary>
    /// Every part a move of this plan may send, by name: rootfs, state, snapshot.I and snapshot.I.state
    /// (I: the snapshot's index in the plan), volume.I, round.I (pre-copy). Names are made here, never taken from the
    /// source, so a part always lands at ROOT/incoming/TOKEN/NAME.tar.
    /// </summary>
    public IReadOnlyList<string> Parts()
    {
        var parts = new List<string> { PartRootfs, PartState };
        for (var i = 0; i < SnapshotList.Count; i++)
            parts.AddRange(new[] { SnapshotPart(i), SnapshotPart(i) + ".state" });
        for (var i = 0; i < VolumeList.Count; i++)
            parts.Add(VolumePart(i));
        for (var i = 0; i < PreCopyRounds; i++)
            parts.Add(RoundPart(i));
        return parts;
    }

    public static string SnapshotPart(int index) => "snapshot." + index.ToString(System.Globalization.CultureInfo.InvariantCulture);

    public static string SnapshotStatePart(int index) => SnapshotPart(index) + ".state";

    /// <summary>Pre-copy round I's memory (a CRIU pre-dump), unpacked on the destination at pre.I in the move's state directory.</summary>
    public static string RoundPart(int index) => "round." + index.ToString(System.Globalization.CultureInfo.InvariantCulture);

    public static string VolumePart(int index) => "volume." + index.ToString(System.Globalization.CultureInfo.InvariantCulture);
}
