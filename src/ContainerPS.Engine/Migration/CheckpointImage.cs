using System.Text.Json;
using ContainerPS.Engine.Network;

namespace ContainerPS.Engine.Migration;

/// <summary>
/// A directory of CRIU images made by Checkpoint-Container, with ContainerPS's own record next to
/// them (containerps-checkpoint.json): which container it is of, when, and the addresses it had on
/// each network (a restore asks CNI for the same ones, since its sockets are bound to them).
/// </summary>
public sealed class CheckpointImage
{
    public const string MetadataFile = "containerps-checkpoint.json";

    private sealed record Metadata(string Container, string Uuid, DateTime CreatedAt, Dictionary<string, InterfaceIdentity> Interfaces);

    private CheckpointImage(string path, Metadata m)
    {
        Path = path;
        Container = m.Container;
        Uuid = m.Uuid;
        CreatedAt = m.CreatedAt;
        Interfaces = m.Interfaces;
    }

    public string Path { get; }
    public string Container { get; }
    public string Uuid { get; }
    public DateTime CreatedAt { get; }
    /// <summary>The interface (addresses in CIDR form, MAC) the container had on each network, by network name.</summary>
    public IReadOnlyDictionary<string, InterfaceIdentity> Interfaces { get; }

    public static void Write(string path, string container, string uuid, IReadOnlyDictionary<string, InterfaceIdentity> interfaces) =>
        File.WriteAllText(System.IO.Path.Join(path, MetadataFile),
            JsonSerializer.Serialize(new Metadata(container, uuid, DateTime.UtcNow, interfaces.ToDictionary(kv => kv.Key, kv => kv.Value))));

    /// <summary>Opens a checkpoint directory; a directory without CRIU's inventory or our record is not one.</summary>
    /// <param name="lazy">A post-copy dump: everything but memory, its pages still served by the source (CRIU's dump ends only after the last one).</param>
    public static CheckpointImage Open(string path, bool lazy = false)
    {
        var meta = System.IO.Path.Join(path, MetadataFile);
        if (!Directory.Exists(path) || !File.Exists(meta) || !File.Exists(System.IO.Path.Join(path, "inventory.img")))
            throw new ContainerPSException(Errors.CheckpointNotFound,
                $"'{path}' is not a checkpoint made by Checkpoint-Container (no {MetadataFile} and CRIU inventory there).", path);
        Metadata? m;
        try { m = JsonSerializer.Deserialize<Metadata>(File.ReadAllText(meta)); }
        catch (JsonException e)
        {
            throw new ContainerPSException(Errors.InvalidCheckpoint, $"{meta} is not valid: {e.Message}", path);
        }
        if (!(lazy ? Criu.LazyDumpServing(path) : Criu.DumpFinished(path)))
            throw new ContainerPSException(Errors.InvalidCheckpoint,
                $"'{path}' holds a dump that did not finish (its dump.log does not end in CRIU's success line: was the checkpoint killed?); it cannot be restored.", path);
        return new CheckpointImage(path, m ?? throw new ContainerPSException(Errors.InvalidCheckpoint, $"{meta} is empty.", path));
    }
}
