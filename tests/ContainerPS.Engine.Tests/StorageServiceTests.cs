using ContainerPS.Engine.State;
using ContainerPS.Engine.Platform;

namespace ContainerPS.Engine.Tests;

public sealed class StorageServiceTests : IDisposable
{
    private readonly TempRoot root = new();
    private readonly RecordingLog log = new();
    private readonly ContainerHost host;

    public StorageServiceTests() => host = root.Open(log);

    public void Dispose()
    {
        host.Dispose();
        root.Dispose();
    }

    private static ContainerPSException Fails(Action a) => Assert.Throws<ContainerPSException>(a);

    private static Dictionary<string, string?> C(params (string K, string? V)[] kv) => kv.ToDictionary(x => x.K, x => x.V);

    private string PoolDir(string pool) => Path.Join(root.Path, "storage-pools", pool);

    [Fact]
    public void Pool_and_volume_lifecycle_on_disk_and_in_state()
    {
        var pool = host.Storage.CreatePool("p1", "dir", null, null, "first");
        Assert.Equal("dir", pool.Driver);
        Assert.Equal(PoolDir("p1"), pool.Source);
        Assert.Equal(PoolDir("p1"), pool.Config["source"]);
        Assert.Equal("first", pool.Description);
        Assert.True(pool.Size > 0);
        Assert.True(Directory.Exists(Path.Join(PoolDir("p1"), "custom")));

        var v = host.Storage.CreateVolume("p1", "v1", C(("user.k", "x")));
        Assert.Equal(Path.Join(PoolDir("p1"), "custom", "v1"), v.Path);
        Assert.True(Directory.Exists(v.Path));
        Assert.Equal("x", v.Config["user.k"]);
        File.WriteAllBytes(Path.Join(v.Path!, "data"), new byte[64 * 1024]);
        Assert.True(host.Storage.GetVolume("p1", VolumeType.Custom, "v1").Used >= 64 * 1024);
        Assert.Equal(new[] { "custom/v1" }, host.Storage.GetPool("p1").UsedBy);

        var copy = host.Storage.CopyVolume("p1", VolumeType.Custom, "v1", null, "v2");
        Assert.Equal(64 * 1024, new FileInfo(Path.Join(copy.Path!, "data")).Length);
        Assert.Equal("x", copy.Config["user.k"]);

        var renamed = host.Storage.RenameVolume("p1", VolumeType.Custom, "v2", "v3");
        Assert.False(Directory.Exists(copy.Path));
        Assert.True(File.Exists(Path.Join(renamed.Path!, "data")));

        var updated = host.Storage.UpdateVolume("p1", VolumeType.Custom, "v3", C(("user.k", null), ("user.j", "y")), "d");
        Assert.False(updated.Config.ContainsKey("user.k"));
        Assert.Equal("y", updated.Config["user.j"]);
        Assert.Equal("d", updated.Description);

        Assert.Equal("PoolInUse", Fails(() => host.Storage.RemovePool("p1", force: false)).ErrorId);
        host.Storage.RemoveVolume("p1", VolumeType.Custom, "v1");
        Assert.False(Directory.Exists(v.Path));
        host.Storage.RemovePool("p1", force: true);
        Assert.Empty(host.Storage.ListPools());
        Assert.False(Directory.Exists(PoolDir("p1")));
        Assert.Empty(host.State.Volumes());
    }

    [Fact]
    public void Pool_volume_defaults_apply_to_new_volumes_only()
    {
        host.Storage.CreatePool("p", "dir", null, C(("volume.size", "2GiB")));
        var a = host.Storage.CreateVolume("p", "a", null);
        Assert.Equal(2L << 30, a.Size);
        Assert.False(a.SizeEnforced);
        Assert.Contains(log.Warnings, w => w.Contains("not enforced"));
        var b = host.Storage.CreateVolume("p", "b", C(("size", "1GiB")));
        Assert.Equal(1L << 30, b.Size);
        host.Storage.UpdatePool("p", C(("volume.size", null)));
        Assert.Null(host.Storage.CreateVolume("p", "c", null).Size);
        Assert.Equal(2L << 30, host.Storage.GetVolume("p", VolumeType.Custom, "a").Size);
    }

    [Fact]
    public void Source_checks_happen_before_anything_is_created()
    {
        var outside = Directory.CreateTempSubdirectory("cps-src-").FullName;
        try
        {
            var file = Path.Join(outside, "file");
            File.WriteAllText(file, "x");
            Assert.Equal("InvalidSource", Fails(() => host.Storage.CreatePool("p", "dir", file, null)).ErrorId);
            Assert.Equal("InvalidSource", Fails(() => host.Storage.CreatePool("p", "dir", "relative/dir", null)).ErrorId);
            Assert.Equal("InvalidSource", Fails(() => host.Storage.CreatePool("p", "dir", Path.Join(outside, "no", "such"), null)).ErrorId);
            Assert.Equal("SourceInsideRoot", Fails(() => host.Storage.CreatePool("p", "dir", Path.Join(root.Path, "x"), null)).ErrorId);
            Assert.Equal("SourceNotEmpty", Fails(() => host.Storage.CreatePool("p", "dir", outside, null)).ErrorId);
            // a symlink that points into the root is resolved first
            var link = Path.Join(outside, "link");
            File.CreateSymbolicLink(link, root.Path);
            Assert.Equal("SourceInsideRoot", Fails(() => host.Storage.CreatePool("p", "dir", Path.Join(link, "sub"), null)).ErrorId);
            Assert.Empty(host.Storage.ListPools());
            Assert.False(Directory.Exists(Path.Join(root.Path, "x")));
            Assert.False(Directory.Exists(Path.Join(root.Path, "storage-pools")));

            var empty = Path.Join(outside, "empty");
            Directory.CreateDirectory(empty);
            var pool = host.Storage.CreatePool("p", "dir", empty, null);
            Assert.Equal(empty, pool.Source);
            Assert.Equal("SourceInUse", Fails(() => host.Storage.CreatePool("q", "dir", Path.Join(empty, "."), null)).ErrorId);
            host.Storage.RemovePool("p", force: false);
            Assert.True(Directory.Exists(empty)); // not ours: emptied, kept
            Assert.Empty(Directory.EnumerateFileSystemEntries(empty));

            var fresh = Path.Join(outside, "fresh");
            host.Storage.CreatePool("p", "dir", fresh, null);
            host.Storage.RemovePool("p", force: false);
            Assert.False(Directory.Exists(fresh)); // ours: removed
        }
        finally
        {
            Directory.Delete(outside, recursive: true);
        }
    }

    [Fact]
    public void Bad_input_changes_nothing()
    {
        host.Storage.CreatePool("p", "dir", null, null);
        Assert.Equal("InvalidName", Fails(() => host.Storage.CreatePool("a/b", "dir", null, null)).ErrorId);
        Assert.Equal("PoolExists", Fails(() => host.Storage.CreatePool("p", "dir", null, null)).ErrorId);
        Assert.Equal("UnknownDriver", Fails(() => host.Storage.CreatePool("q", "nope", null, null)).ErrorId);
        Assert.Equal("DriverNotSupported", Fails(() => host.Storage.CreatePool("q", "lvm", null, null)).ErrorId);
        Assert.Equal("InvalidConfigKey", Fails(() => host.Storage.CreatePool("q", "dir", null, C(("zfs.pool_name", "x")))).ErrorId);
        Assert.Equal("InvalidName", Fails(() => host.Storage.CreateVolume("p", "..", null)).ErrorId);
        Assert.Equal("PoolNotFound", Fails(() => host.Storage.CreateVolume("nope", "v", null)).ErrorId);
        Assert.Equal("InvalidConfigValue", Fails(() => host.Storage.CreateVolume("p", "v", C(("size", "-1")))).ErrorId);
        host.Storage.CreateVolume("p", "v", null);
        Assert.Equal("VolumeExists", Fails(() => host.Storage.CreateVolume("p", "v", null)).ErrorId);
        Assert.Equal("VolumeNotFound", Fails(() => host.Storage.RemoveVolume("p", VolumeType.Custom, "w")).ErrorId);
        Assert.Equal("VolumeTypeNotRemovable", Fails(() => host.Storage.RemoveVolume("p", VolumeType.Container, "v")).ErrorId);
        Assert.Equal("VolumeExists", Fails(() => host.Storage.CopyVolume("p", VolumeType.Custom, "v", null, null)).ErrorId);
        Assert.Equal("InvalidName", Fails(() => host.Storage.RenameVolume("p", VolumeType.Custom, "v", "x/y")).ErrorId);
        Assert.Equal("ConfigKeyReadOnly", Fails(() => host.Storage.UpdatePool("p", C(("source", "/tmp")))).ErrorId);

        Assert.Equal(new[] { "p" }, host.Storage.ListPools().Select(p => p.Name));
        Assert.Equal(new[] { "v" }, host.Storage.ListVolumes("p").Select(v => v.Name));
        Assert.Equal(new[] { "v" }, Directory.GetDirectories(Path.Join(PoolDir("p"), "custom")).Select(Path.GetFileName));
        Assert.Equal(new[] { "p" }, Directory.GetDirectories(Path.Join(root.Path, "storage-pools")).Select(Path.GetFileName));
    }

    [Fact]
    public void Pools_cannot_share_or_nest_sources()
    {
        var outside = Directory.CreateTempSubdirectory("cps-src-").FullName;
        try
        {
            host.Storage.CreatePool("a", "dir", Path.Join(outside, "a"), null);
            Assert.Equal("SourceInUse", Fails(() => host.Storage.CreatePool("b", "dir", Path.Join(outside, "a", "custom", "x"), null)).ErrorId);
            Assert.Equal("SourceInUse", Fails(() => host.Storage.CreatePool("b", "dir", Path.Join(outside, "a"), null)).ErrorId);
            Assert.Equal("SourceInUse", Fails(() => host.Storage.CreatePool("b", "dir", outside, null)).ErrorId);
            Assert.Equal(new[] { "a" }, host.Storage.ListPools().Select(p => p.Name));
            host.Storage.RemovePool("a", force: false);
        }
        finally
        {
            Directory.Delete(outside, recursive: true);
        }
    }

    [Fact]
    public void Removing_a_pool_keeps_files_it_did_not_create_and_does_not_get_stuck()
    {
        var pool = host.Storage.CreatePool("p", "dir", null, null);
        File.WriteAllText(Path.Join(pool.Source, "readme.txt"), "mine");
        host.Storage.RemovePool("p", force: false);
        Assert.Empty(host.Storage.ListPools());
        Assert.True(File.Exists(Path.Join(pool.Source, "readme.txt")));
        Assert.Contains(log.Warnings, w => w.Contains("Kept"));
        using (root.Open()) { } // later hosts open fine
    }

    [Fact]
    public void A_disk_failure_releases_the_volume_with_a_stable_error()
    {
        var v = host.Storage.CreateVolume(host.Storage.CreatePool("p", "dir", null, null).Name, "v", null);
        Directory.Delete(v.Path!); // removed behind ContainerPS's back
        Assert.Equal("StorageIOError", Fails(() => host.Storage.RenameVolume("p", VolumeType.Custom, "v", "w")).ErrorId);
        Assert.Equal("Created", host.Storage.GetVolume("p", VolumeType.Custom, "v").Status);
        host.Storage.RemoveVolume("p", VolumeType.Custom, "v"); // idempotent removal still works
        Assert.Empty(host.Storage.ListVolumes());
    }

    [Fact]
    public void A_foreign_directory_in_the_way_is_not_taken_or_deleted()
    {
        host.Storage.CreatePool("p", "dir", null, null);
        var squatter = Path.Join(PoolDir("p"), "custom", "v");
        Directory.CreateDirectory(squatter);
        File.WriteAllText(Path.Join(squatter, "keep"), "x");
        Assert.Equal("VolumeExists", Fails(() => host.Storage.CreateVolume("p", "v", null)).ErrorId);
        Assert.True(File.Exists(Path.Join(squatter, "keep")));
        Assert.Empty(host.State.Volumes());
    }

    [Fact]
    public void Properties_return_bare_typed_values()
    {
        host.Storage.CreatePool("p", "dir", null, C(("user.tier", "ssd")));
        host.Storage.CreateVolume("p", "v", C(("size", "1GiB")));
        var pool = host.Storage.GetPool("p");
        var vol = host.Storage.GetVolume("p", VolumeType.Custom, "v");
        Assert.Equal(1L << 30, EntityProperties.Get(vol, "size"));
        Assert.IsType<long>(EntityProperties.Get(vol, "used"));
        Assert.Equal("1GiB", vol.Config["size"]);
        Assert.Equal(pool.Source, EntityProperties.Get(pool, "source"));
        Assert.Equal("ssd", EntityProperties.Get(pool, "user.tier"));
        Assert.Equal(pool.CreatedAt, EntityProperties.Get(pool, "created_at"));
        Assert.Equal(false, EntityProperties.Get(vol, "size_enforced"));
        Assert.Equal("PropertyNotFound", Fails(() => EntityProperties.Get(pool, "nope")).ErrorId);
    }

    private static readonly ProcessIdentity DeadProcess = new(int.MaxValue, 1);

    private void OrphanVolume(long id) =>
        host.State.Exec("UPDATE volumes SET op_pid = $p, op_start = $s WHERE id = $id", ("$p", DeadProcess.Pid), ("$s", DeadProcess.StartTime), ("$id", id));

    [Fact]
    public void Repair_rolls_back_a_create_whose_process_died()
    {
        var pool = host.Storage.CreatePool("p", "dir", null, null);
        var row = host.State.Write(() => host.State.InsertVolume(host.State.Pool("p")!.Id, "p", "v", VolumeType.Custom, "", new Dictionary<string, string>()));
        Directory.CreateDirectory(Path.Join(pool.Source, "custom", "v"));
        OrphanVolume(row);

        var log2 = new RecordingLog();
        using (var again = root.Open(log2))
        {
            Assert.Empty(again.Storage.ListVolumes());
            Assert.Contains(log2.Warnings, w => w.Contains("rolled back the unfinished creation"));
        }
        Assert.False(Directory.Exists(Path.Join(pool.Source, "custom", "v")));
        host.Storage.CreateVolume("p", "v", null); // the name is free again
    }

    [Fact]
    public void Repair_finishes_a_delete_and_a_rename_and_ignores_live_owners()
    {
        var pool = host.Storage.CreatePool("p", "dir", null, null);
        host.Storage.CreateVolume("p", "gone", null);
        host.Storage.CreateVolume("p", "old", null);
        host.Storage.CreateVolume("p", "busy", null);
        var ids = host.State.Volumes().ToDictionary(v => v.Name, v => v.Id);

        Assert.True(host.State.Claim("volumes", ids["gone"], RowState.Deleting));
        OrphanVolume(ids["gone"]);
        Assert.True(host.State.Claim("volumes", ids["old"], RowState.Renaming, "new"));
        Directory.Move(Path.Join(pool.Source, "custom", "old"), Path.Join(pool.Source, "custom", "new"));
        OrphanVolume(ids["old"]);
        Assert.True(host.State.Claim("volumes", ids["busy"], RowState.Deleting)); // owned by this live process

        using (var again = root.Open())
        {
            var names = again.Storage.ListVolumes("p").ToDictionary(v => v.Name);
            Assert.Equal(new[] { "busy", "new" }, names.Keys.Order());
            Assert.Equal("Deleting", names["busy"].Status);
            Assert.Equal("VolumeBusy", Fails(() => again.Storage.RemoveVolume("p", VolumeType.Custom, "busy")).ErrorId);
        }
        Assert.False(Directory.Exists(Path.Join(pool.Source, "custom", "gone")));
    }

    [Fact]
    public void Two_hosts_add_volumes_at_the_same_time_without_losing_any()
    {
        host.Storage.CreatePool("p", "dir", null, null);
        var errors = new List<Exception>();
        var threads = Enumerable.Range(0, 2).Select(t => new Thread(() =>
        {
            try
            {
                using var h = root.Open();
                for (var i = 0; i < 25; i++)
                    h.Storage.CreateVolume("p", $"t{t}-{i}", null);
            }
            catch (Exception e) { lock (errors) errors.Add(e); }
        })).ToList();
        threads.ForEach(t => t.Start());
        threads.ForEach(t => t.Join());
        Assert.Empty(errors);
        Assert.Equal(50, host.Storage.ListVolumes("p").Count);
        Assert.Equal(50, Directory.GetDirectories(Path.Join(PoolDir("p"), "custom")).Length);
    }
}
