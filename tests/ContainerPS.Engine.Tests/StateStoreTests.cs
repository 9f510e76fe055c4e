using ContainerPS.Engine.State;
using ContainerPS.Engine.Platform;

namespace ContainerPS.Engine.Tests;

public class StateStoreTests
{
    [Fact]
    public void Row_states_are_stored_by_their_lower_case_names_and_an_unknown_one_reads_as_Unknown()
    {
        foreach (var state in Enum.GetValues<RowState>().Where(s => s != RowState.Unknown))
        {
            Assert.Equal(state.ToString().ToLowerInvariant(), state.ToDb());
            Assert.Equal(state, RowStates.Parse(state.ToDb()));
        }
        Assert.Equal(RowState.Unknown, RowStates.Parse("frobbing"));
        Assert.Throws<ArgumentOutOfRangeException>(() => RowState.Unknown.ToDb());

        using var root = new TempRoot();
        using var store = StateStore.Open(Path.Join(root.Path, "state.db"));
        var id = store.Write(() => store.InsertPool("p", "dir", "/x", false, "", new Dictionary<string, string>()));
        Assert.Equal(RowState.Creating, store.Pool("p")!.State);
        store.Write(() => store.Release("pools", id));
        Assert.True(store.Write(() => store.Claim("pools", id, RowState.Renaming, "q")));
        Assert.Equal((RowState.Renaming, "q"), (store.Pool("p")!.State, store.Pool("p")!.OpArg));
    }

    [Fact]
    public void Creates_a_versioned_WAL_database_readable_only_by_root()
    {
        using var root = new TempRoot();
        var db = Path.Join(root.Path, "state.db");
        using (var s = StateStore.Open(db))
        {
            Assert.Equal(Schema.Version, s.SchemaVersion);
            Assert.Equal("wal", s.Scalar("PRAGMA journal_mode"));
            Assert.Equal(30000L, s.Scalar("PRAGMA busy_timeout"));
        }
        Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite, File.GetUnixFileMode(db));
        using (var again = StateStore.Open(db))
            Assert.Equal(Schema.Version, again.SchemaVersion);
    }

    [Fact]
    public void A_connection_handed_back_serves_the_next_open_of_the_same_file_only()
    {
        using var root = new TempRoot();
        var db = Path.Join(root.Path, "state.db");
        var first = StateStore.Open(db);
        first.SetSetting("marker", "old");
        first.Dispose();
        Assert.Throws<ObjectDisposedException>(() => first.GetSetting("marker")); // its connection may serve another command now
        using (var again = StateStore.Open(db))
            Assert.Equal("old", again.GetSetting("marker"));

        // The state root removed and made again at the same path: a new file, never the idle connection to the old one.
        foreach (var f in Directory.GetFiles(root.Path, "state.db*"))
            File.Delete(f);
        using (var fresh = StateStore.Open(db))
        {
            Assert.Null(fresh.GetSetting("marker"));
            fresh.SetSetting("marker", "new");
        }
        using (var s = StateStore.Open(db))
            Assert.Equal("new", s.GetSetting("marker"));
    }

    [Fact]
    public void Prepared_statements_kept_for_reuse_hold_no_read_snapshot_and_nest()
    {
        using var root = new TempRoot();
        var db = Path.Join(root.Path, "state.db");
        using var a = StateStore.Open(db);
        using var b = StateStore.Open(db); // a second connection: a is not handed back yet
        a.SetSetting("k", "1");
        Assert.Equal("1", a.GetSetting("k"));
        Assert.Empty(a.Containers());
        b.SetSetting("k", "2");
        Assert.Equal("2", a.GetSetting("k")); // a's kept statements saw the new write: no old snapshot
        // A reader left open (a statement not reset) would make the checkpoint busy.
        Assert.Equal(0L, b.Query("PRAGMA wal_checkpoint(TRUNCATE)", r => r.GetInt64(0)).Single());
        // The same SQL used inside its own reader gets a command of its own.
        var nested = a.Query("SELECT value FROM settings WHERE key = $k", r => a.GetSetting("k") + r.GetString(0), ("$k", "k"));
        Assert.Equal("22", nested.Single());
    }

    [Fact]
    public void A_connection_in_a_transaction_is_not_handed_back()
    {
        using var root = new TempRoot();
        var db = Path.Join(root.Path, "state.db");
        var s = StateStore.Open(db);
        s.Exec("BEGIN IMMEDIATE");
        s.Dispose(); // closed: its transaction rolls back and its write lock goes
        using var other = StateStore.Open(db);
        other.Write(() => other.SetSetting("k", "v")); // would wait 30 s for the lock if the connection had been kept
        Assert.Equal("v", other.GetSetting("k"));
    }

    [Fact]
    public void Refuses_a_database_from_a_newer_version()
    {
        using var root = new TempRoot();
        var db = Path.Join(root.Path, "state.db");
        using (var s = StateStore.Open(db))
            s.Exec($"PRAGMA user_version = {Schema.Version + 1}");
        var e = Assert.Throws<ContainerPSException>(() => StateStore.Open(db));
        Assert.Equal("StateTooNew", e.ErrorId);
    }

    [Fact]
    public void A_failed_write_is_rolled_back()
    {
        using var root = new TempRoot();
        using var s = StateStore.Open(Path.Join(root.Path, "state.db"));
        Assert.Throws<InvalidOperationException>(() => s.Write(() =>
        {
            s.SetSetting("k", "v");
            throw new InvalidOperationException("boom");
        }));
        Assert.Null(s.GetSetting("k"));
        s.Write(() => s.SetSetting("k", "v"));
        Assert.Equal("v", s.GetSetting("k"));
    }

    [Fact]
    public void Settings_round_trip_and_unset()
    {
        using var root = new TempRoot();
        using var s = StateStore.Open(Path.Join(root.Path, "state.db"));
        s.SetSetting("default.pool", "a");
        s.SetSetting("default.pool", "b");
        Assert.Equal("b", s.GetSetting("default.pool"));
        s.SetSetting("default.pool", null);
        Assert.Null(s.GetSetting("default.pool"));
    }
}

public class UtilTests
{
    [Fact]
    public void The_current_process_is_alive_and_a_wrong_start_time_is_not()
    {
        var me = ProcessIdentity.Current;
        Assert.True(me.StartTime > 0);
        Assert.True(me.IsAlive);
        Assert.False((me with { StartTime = me.StartTime + 1 }).IsAlive);
        Assert.False(new ProcessIdentity(int.MaxValue, 1).IsAlive);
    }

    [Fact]
    public void A_zombie_is_not_alive_and_odd_command_names_parse()
    {
        const string zombie = "4242 (a) b (c)) Z 1 4242 4242 0 -1 4194624 0 0 0 0 0 0 0 0 20 0 1 0 987654 0 0";
        var parsed = ProcessIdentity.Parse(zombie);
        Assert.Equal(('Z', 987654L), parsed);
        Assert.False(ProcessIdentity.IsLive(parsed!.Value, 987654));
        Assert.True(ProcessIdentity.IsLive(('S', 987654), 987654));
        Assert.False(ProcessIdentity.IsLive(('S', 987654), 987655));
        Assert.Null(ProcessIdentity.Parse("garbage"));
    }

    [Fact]
    public void Disk_usage_counts_hard_links_once_and_does_not_follow_symlinks()
    {
        using var root = new TempRoot();
        var dir = Path.Join(root.Path, "t");
        Directory.CreateDirectory(dir);
        var baseline = DiskUsage.Tree(dir)!.Value;
        File.WriteAllBytes(Path.Join(dir, "a"), new byte[1 << 20]);
        var withFile = DiskUsage.Tree(dir)!.Value;
        Assert.InRange(withFile - baseline, 1 << 20, (1 << 20) + 64 * 1024);
        File.CreateSymbolicLink(Path.Join(dir, "b"), "/usr");
        var link = Path.Join(dir, "c");
        Assert.Equal(0, LinkCount(Path.Join(dir, "a"), link));
        Assert.InRange(DiskUsage.Tree(dir)!.Value - withFile, 0, 64 * 1024);
        Assert.Null(DiskUsage.Tree(Path.Join(root.Path, "missing")));
    }

    private static int LinkCount(string target, string link)
    {
        using var p = System.Diagnostics.Process.Start("ln", new[] { target, link });
        p.WaitForExit();
        return p.ExitCode;
    }

    [Fact]
    public void Canonical_paths_resolve_symlinks_in_the_existing_part()
    {
        using var root = new TempRoot();
        var real = Path.Join(root.Path, "real");
        Directory.CreateDirectory(real);
        File.CreateSymbolicLink(Path.Join(root.Path, "link"), real);
        var canonicalRoot = HostPath.Canonical(root.Path);
        Assert.Equal(Path.Join(canonicalRoot, "real", "x", "y"), HostPath.Canonical(Path.Join(root.Path, "link", "x", "y")));
        Assert.True(HostPath.IsWithin(Path.Join(canonicalRoot, "real"), canonicalRoot));
        Assert.False(HostPath.IsWithin(canonicalRoot + "x", canonicalRoot));
    }
}
