using ContainerPS.Engine.Images;
using ContainerPS.Engine.Network;
using ContainerPS.Engine.Runtime;
using ContainerPS.Engine.Storage;

namespace ContainerPS.Engine;

/// <summary>
/// One ContainerPS host: a state root with its database, and the services that act on it. Opened per
/// command by the cmdlets (cheap), or held for longer by tests and the benchmark. Opening repairs
/// operations that a dead process left half-done.
/// </summary>
public sealed class ContainerHost : IDisposable
{
    public const string DefaultRoot = "/var/lib/containerps";
    public const string RootVariable = "CONTAINERPS_ROOT";

    private ContainerHost(string root, StateStore store, IEngineLog log)
    {
        Root = root;
        State = store;
        Log = log;
        Tool = new ExternalTool(log);
        Storage = new StorageService(store, root, Tool, log);
        Images = new ImageService(store, Storage, Tool, log, root);
        RuntimeDir = ResolveRuntimeDir(root);
        Networks = new NetworkService(store, Tool, log);
        // The container services, each on the ones below it (records and paths at the bottom).
        var paths = new ContainerPaths(root, RuntimeDir);
        Idmaps = new ContainerIdmaps(store, paths);
        var records = new ContainerRecords(store, paths, Idmaps, Networks);
        Config = new ContainerConfig(store, Storage, log, records, paths, Idmaps);
        var presenter = new VolumePresenter(store, Storage, log, Idmaps);
        var launcher = new ContainerLauncher(store, Storage, Networks, Tool, log, paths, Idmaps, presenter);
        Snapshots = new ContainerSnapshots(store, Storage, log, records, paths, launcher);
        Checkpoints = new ContainerCheckpoints(store, Storage, Networks, Tool, log, records, paths, launcher, Snapshots);
        Containers = new ContainerService(store, Storage, Images, Networks, log, records, paths, Idmaps, Config, launcher, Snapshots, Checkpoints);
        Copies = new ContainerCopies(store, Storage, Networks, records, paths, Idmaps, launcher, Snapshots, Checkpoints, Containers);
        Exec = new ContainerExec(records, paths);
        ContainerNetworks = new ContainerNetworks(Storage, Networks, records, paths);
        VolumeMounts = new ContainerVolumes(store, Storage, Tool, log, records, paths, Idmaps, presenter);
        Files = new ContainerFileCopy(Storage, log, records, Idmaps, presenter);
        Autostart = new HostAutostart(store, log, records, Containers);
        Outgoing = new OutgoingMoves(store, Storage, Networks, Tool, records, paths, Idmaps, launcher, Checkpoints, Containers);
        Incoming = new IncomingMoves(store, Storage, Networks, Tool, log, records, paths, Idmaps, Config, launcher, Containers);
        repair = new ContainerRepair(store, log, paths, records, Containers, Snapshots, Checkpoints, VolumeMounts, ContainerNetworks, Outgoing, Incoming, Copies);
    }

    public string Root { get; }
    public StateStore State { get; }
    public IEngineLog Log { get; }
    public ExternalTool Tool { get; }
    public StorageService Storage { get; }
    public ImageService Images { get; }
    public NetworkService Networks { get; }
    /// <summary>Container lifecycle: create, start, stop, rename, remove, and what containers are and use.</summary>
    public ContainerService Containers { get; }
    /// <summary>Copy-Container: stopped or running containers, or their snapshots, to new containers.</summary>
    public ContainerCopies Copies { get; }
    public ContainerSnapshots Snapshots { get; }
    public ContainerCheckpoints Checkpoints { get; }
    public ContainerExec Exec { get; }
    /// <summary>Networks of containers (connect, disconnect, check); <see cref="Networks"/> are the networks themselves.</summary>
    public ContainerNetworks ContainerNetworks { get; }
    /// <summary>Custom volumes mounted into containers.</summary>
    public ContainerVolumes VolumeMounts { get; }
    public ContainerFileCopy Files { get; }
    public ContainerIdmaps Idmaps { get; }
    /// <summary>Container config keys, Set-Container, and the host's default pool.</summary>
    public ContainerConfig Config { get; }
    public HostAutostart Autostart { get; }
    /// <summary>Both ends of Move-Container on this host.</summary>
    public OutgoingMoves Outgoing { get; }
    public IncomingMoves Incoming { get; }
    private readonly ContainerRepair repair;

    /// <summary>
    /// Runtime files (bundles, runc state, monitor files): $CONTAINERPS_RUNTIME_DIR, else
    /// /run/containerps for the default root, else ROOT/run (so test roots and several "hosts" on one
    /// machine never share runtime state).
    /// </summary>
    public string RuntimeDir { get; }

    public const string RuntimeVariable = "CONTAINERPS_RUNTIME_DIR";

    private static string ResolveRuntimeDir(string root)
    {
        var r = Environment.GetEnvironmentVariable(RuntimeVariable);
        if (!string.IsNullOrEmpty(r) && Path.IsPathRooted(r))
            return Path.GetFullPath(r);
        return root == DefaultRoot ? "/run/containerps" : Path.Join(root, "run");
    }

    /// <summary>The state root: <paramref name="root"/>, else $CONTAINERPS_ROOT, else /var/lib/containerps.</summary>
    public static string ResolveRoot(string? root = null)
    {
        var r = root ?? Environment.GetEnvironmentVariable(RootVariable);
        if (string.IsNullOrEmpty(r))
            r = DefaultRoot;
        if (!Path.IsPathRooted(r) || r.Any(char.IsControl))
            throw new ContainerPSException(Errors.InvalidRoot,
                $"The state root '{Names.Printable(r)}' ({RootVariable}) must be an absolute path.", r);
        return Path.GetFullPath(r);
    }

    public static ContainerHost Open(string? root = null, IEngineLog? log = null)
    {
        var dir = ResolveRoot(root);
        StateStore store;
        try
        {
            Directory.CreateDirectory(dir, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute | UnixFileMode.GroupExecute | UnixFileMode.OtherExecute);
            store = StateStore.Open(Path.Join(dir, "state.db"));
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or Microsoft.Data.Sqlite.SqliteException or DllNotFoundException)
        {
            throw new ContainerPSException(Errors.StateUnavailable, Environment.IsPrivilegedProcess // else the usual cause: say so first
                ? $"The state in {dir} cannot be opened: {e.Message}"
                : $"ContainerPS commands must run as root; the state in {dir} cannot be opened by this user ({e.Message}).", dir, e);
        }
        var host = new ContainerHost(dir, store, log ?? NullEngineLog.Instance);
        try
        {
            host.Storage.RepairInterrupted();
            host.Images.RepairInterrupted();
            host.repair.Run();
        }
        catch
        {
            host.Dispose();
            throw;
        }
        return host;
    }

    public void Dispose()
    {
        Storage.Dispose();
        State.Dispose();
    }
}
