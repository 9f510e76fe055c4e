using ContainerPS.Engine.Migration;
using ContainerPS.Engine.Storage;

namespace ContainerPS.Engine.Runtime;

/// <summary>
/// Where a container's files are: its runtime directory (bundle, runc state, monitor files), runc's
/// root, its cgroup, and its checkpoints below the state root.
/// </summary>
internal sealed class ContainerPaths(string root, string runtimeDir)
{
    /// <summary>The state root.</summary>
    public string Root => root;
    /// <summary>Runtime files: /run/containerps, or ROOT/run (see <see cref="ContainerHost.RuntimeDir"/>).</summary>
    public string RuntimeDir => runtimeDir;

    internal string RuncRoot => Path.Join(runtimeDir, "runc");

    internal RuntimeDirectory Runtime(string name) => new(Path.Join(runtimeDir, "containers", name));

    /// <summary>The container's cgroup for one start, named by its runtime id (unique per start).</summary>
    internal static string CgroupsPath(string runcId) => $"/containerps/{runcId}";

    internal string CheckpointsDir(ContainerRow row) => Path.Join(root, "checkpoints", row.Uuid);

    /// <summary>
    /// Makes the container's checkpoints directory. ROOT/checkpoints is 0700: no host user but root
    /// reaches a CRIU image (memory pages included), though images are made readable for a restore
    /// into a user namespace (<see cref="Criu.PrepareForRestore"/>); CRIU opens them through the
    /// image directory's fd, so the directories above it need not be searchable.
    /// </summary>
    internal string EnsureCheckpointsDir(ContainerRow row)
    {
        VolumeLayout.MakePrivate(Path.Join(root, "checkpoints")); // 0711 before this version
        var dir = CheckpointsDir(row);
        Directory.CreateDirectory(dir, VolumeLayout.Mode0700);
        return dir;
    }

    internal string StopStateDir(ContainerRow row) => Path.Join(CheckpointsDir(row), "stop");

    internal string SnapshotStateDir(ContainerRow row, string snapshot) => Path.Join(CheckpointsDir(row), "snapshot-" + snapshot);
}
