using ContainerPS.Engine.Migration;

namespace ContainerPS.Engine.Tests;

/// <summary>
/// What a move carries besides the container (snapshots, volumes, a stateful stop's state), as the
/// destination sees the plan: part names made from it, and a hostile source's plan refused before
/// anything is created.
/// </summary>
public sealed class MigrationPartsTests : HostOnTempRoot
{
    private static MigrationPlan Plan(IReadOnlyList<MigrationSnapshot>? snapshots = null, IReadOnlyList<MigrationVolume>? volumes = null) =>
        new("mover", "busybox", new Dictionary<string, string>(), Privileged: true, Isolated: false, null, null, Array.Empty<MigrationNetwork>(), Running: false,
            Snapshots: snapshots, Volumes: volumes);

    private static MigrationSnapshot Snap(string name, bool stateful = false) => new(name, new DateTime(2026, 1, 2, 3, 4, 5, DateTimeKind.Utc), stateful, null);

    private static MigrationVolume Volume(string name, string path = "/data", string device = "data", string pool = "default", string? size = null) =>
        new(pool, name, device, path, false, size, null);

    [Fact]
    public void A_plan_names_its_parts_by_index_and_survives_JSON()
    {
        var plan = Plan(new[] { Snap("a"), Snap("b", stateful: true) }, new[] { Volume("v") }) with { StopState = true };
        Assert.Equal(new[] { "rootfs", "state", "snapshot.0", "snapshot.0.state", "snapshot.1", "snapshot.1.state", "volume.0" }, plan.Parts());
        var back = MigrationPlan.FromJson(plan.ToJson());
        Assert.Equal(new[] { "a", "b" }, back.SnapshotList.Select(s => s.Name));
        Assert.True(back.SnapshotList[1].Stateful);
        Assert.Equal(new DateTime(2026, 1, 2, 3, 4, 5, DateTimeKind.Utc), back.SnapshotList[0].CreatedAt.ToUniversalTime());
        Assert.Equal("/data", back.VolumeList[0].Path);
        Assert.True(back.StopState);
        Assert.True(back.CarriesState);
        // A plan from a host that carries nothing of the kind reads as one without them.
        var old = MigrationPlan.FromJson(Plan().ToJson().Replace(",\"Snapshots\":null,\"Volumes\":null,\"StopState\":false", "", StringComparison.Ordinal));
        Assert.Empty(old.SnapshotList);
        Assert.Empty(old.VolumeList);
        Assert.Equal(new[] { "rootfs", "state" }, old.Parts());
        Assert.False(old.CarriesState);
    }

    [Fact]
    public void A_pre_copy_plan_names_its_rounds_after_the_other_parts_and_the_destination_refuses_impossible_rounds()
    {
        var plan = Plan(volumes: new[] { Volume("v") }) with { Running = true, PreCopyRounds = 3 };
        Assert.Equal(new[] { "rootfs", "state", "volume.0", "round.0", "round.1", "round.2" }, plan.Parts());
        Assert.Equal(3, MigrationPlan.FromJson(plan.ToJson()).PreCopyRounds);
        // A source that announces rounds a pre-copy move cannot have: refused before anything is created.
        foreach (var bad in new[] { Plan() with { PreCopyRounds = 2 }, Plan() with { Running = true, PreCopyRounds = 65 }, Plan() with { Running = true, PreCopyRounds = -1 } })
            Assert.Equal("InvalidMigrationPlan", Assert.Throws<ContainerPSException>(() => Host.Incoming.BeginIncoming(bad)).ErrorId);
        Assert.Null(Host.State.Container("mover"));
        var token = Host.Incoming.BeginIncoming(Plan() with { Running = true, PreCopyRounds = 2 });
        Assert.EndsWith("round.1.tar", Host.Incoming.IncomingArchivePath(token, "round.1"));
        Assert.Equal("InvalidArchivePart", Assert.Throws<ContainerPSException>(() => Host.Incoming.AppendIncoming(token, "round.2", new byte[] { 1 })).ErrorId);
        Host.Incoming.AbortIncoming(token);
    }

    [Fact]
    public void The_destination_takes_only_the_parts_its_plan_names()
    {
        var token = Host.Incoming.BeginIncoming(Plan(new[] { Snap("a") }));
        var dir = Path.Join(Root.Path, "incoming", token);
        Assert.Equal(Path.Join(dir, "snapshot.0.tar"), Host.Incoming.IncomingArchivePath(token, "snapshot.0"));
        foreach (var part in new[] { "../../state.db", "/etc/passwd", "snapshot.1", "volume.0", "rootfs/../../x", "plan", "" })
            Assert.Equal("InvalidArchivePart", Assert.Throws<ContainerPSException>(() => Host.Incoming.AppendIncoming(token, part, new byte[] { 1 })).ErrorId);
        Assert.Equal(Host.Incoming.IncomingArchivePaths(token).Count, Plan(new[] { Snap("a") }).Parts().Count);
        Assert.All(Host.Incoming.IncomingArchivePaths(token), p => Assert.Equal(dir, Path.GetDirectoryName(p)));
        Assert.Equal("InvalidMigrationToken", Assert.Throws<ContainerPSException>(() => Host.Incoming.IncomingArchivePath("../" + token[3..], "rootfs")).ErrorId);
        Host.Incoming.AbortIncoming(token);
        Assert.False(Directory.Exists(dir));
        Assert.Null(Host.State.Container("mover"));
    }

    [Theory]
    [InlineData("snapshot ../x", "InvalidName")]
    [InlineData("snapshot twice", "InvalidMigrationPlan")]
    [InlineData("volume ../x", "InvalidName")]
    [InlineData("volume path", "InvalidMountPath")]
    [InlineData("volume root", "InvalidMountPath")]
    [InlineData("volume pool", "InvalidName")]
    [InlineData("volume device", "InvalidName")]
    [InlineData("volume size", "InvalidMigrationPlan")]
    [InlineData("volume twice", "InvalidMigrationPlan")]
    [InlineData("volume same path", "InvalidMigrationPlan")]
    [InlineData("stopped state while running", "InvalidMigrationPlan")]
    [InlineData("volume handed over, no shared pool", "InvalidMigrationPlan")]
    [InlineData("shared pool not here", "MoveRefused")]
    public void A_hostile_plan_is_refused_before_anything_is_made(string what, string error)
    {
        var plan = what switch
        {
            "snapshot ../x" => Plan(new[] { Snap("../x") }),
            "snapshot twice" => Plan(new[] { Snap("a"), Snap("a") }),
            "volume ../x" => Plan(volumes: new[] { Volume("../x") }),
            "volume path" => Plan(volumes: new[] { Volume("v", path: "/srv/../../etc") }),
            "volume root" => Plan(volumes: new[] { Volume("v", path: "/") }),
            "volume pool" => Plan(volumes: new[] { Volume("v", pool: "../p") }),
            "volume device" => Plan(volumes: new[] { Volume("v", device: "a/b") }),
            "volume size" => Plan(volumes: new[] { Volume("v", size: "lots") }),
            "volume twice" => Plan(volumes: new[] { Volume("v", device: "a", path: "/a"), Volume("v", device: "b", path: "/b") }),
            "volume same path" => Plan(volumes: new[] { Volume("v", device: "a", path: "/a"), Volume("w", device: "b", path: "/a/") }),
            "volume handed over, no shared pool" => Plan(volumes: new[] { Volume("v") with { HandedOver = true } }),
            "shared pool not here" => Plan() with { Shared = new MigrationShared("fsid", "osd", "source", "target") },
            _ => Plan() with { Running = true, StopState = true },
        };
        Assert.Equal(error, Assert.Throws<ContainerPSException>(() => Host.Incoming.BeginIncoming(plan)).ErrorId);
        Assert.Null(Host.State.Container("mover"));
        Assert.False(Directory.Exists(Path.Join(Root.Path, "incoming")) && Directory.EnumerateFileSystemEntries(Path.Join(Root.Path, "incoming")).Any());
    }

    [Fact]
    public void A_carried_volume_whose_name_is_taken_here_is_refused()
    {
        Host.Storage.CreateVolume(Host.Config.DefaultPool(), "data", null);
        var e = Assert.Throws<ContainerPSException>(() => Host.Incoming.BeginIncoming(Plan(volumes: new[] { Volume("data") })));
        Assert.Equal("VolumeExists", e.ErrorId);
        Assert.Contains("already exists on the destination", e.Message);
        Assert.Null(Host.State.Container("mover"));
    }

    [Fact]
    public void The_source_plans_what_a_container_carries_and_stops_when_it_changed_before_the_freeze()
    {
        Host.Containers.Create("src", "busybox", null, null, isolated: false, privileged: false);
        Host.Storage.CreateVolume(Host.Config.DefaultPool(), "data", new Dictionary<string, string?> { ["size"] = "64MiB" });
        Host.VolumeMounts.Mount(Host.Config.DefaultPool(), "data", "src", "/srv/data", readOnly: true);
        Host.Snapshots.Create("src", "first");
        var plan = Host.Outgoing.PlanMove("src", MigrationPlan.CarriesMarker);
        Assert.Equal(new[] { "first" }, plan.SnapshotList.Select(s => s.Name));
        Assert.Equal(new MigrationVolume(Host.Config.DefaultPool(), "data", "data", "/srv/data", true, "64MiB", null), plan.VolumeList.Single());
        Assert.False(plan.Running);
        Assert.False(plan.StopState);
        // A destination that does not say it takes them would drop them unseen: refused.
        Assert.Equal("CarryNotSupported", Assert.Throws<ContainerPSException>(() => Host.Outgoing.PlanMove("src", "btrfs")).ErrorId);
        Assert.Equal("CarryNotSupported", Assert.Throws<ContainerPSException>(() => Host.Outgoing.PlanMove("src")).ErrorId);
        Assert.Equal((null, true), MigrationPlan.ParseReceives(";carries"));
        Assert.Equal(("zfs", true), MigrationPlan.ParseReceives("zfs;carries"));
        Assert.Equal(("zfs", false), MigrationPlan.ParseReceives("zfs"));
        Assert.Equal((null, false), MigrationPlan.ParseReceives(""));
        Assert.Equal(new[] { "rootfs", "snapshot.0", "volume.0" }, Host.Outgoing.Archives(plan, null).Select(a => a.Part));

        // Another command got in between the plan and the freeze: the move stops, nothing recorded.
        Host.Snapshots.Create("src", "second");
        Assert.Equal("ContainerBusy", Assert.Throws<ContainerPSException>(() => Host.Outgoing.FreezeForMove("src", plan)).ErrorId);
        Assert.Null(Host.State.Container("src")!.OpArg);
        Assert.Null(Host.Outgoing.FreezeForMove("src", Host.Outgoing.PlanMove("src", MigrationPlan.CarriesMarker))); // stopped: nothing dumped
        Host.Outgoing.ResumeAfterFailedMove("src", null);
        Assert.Null(Host.State.Container("src")!.OpArg);

        // A volume that another container here also mounts cannot move away from it.
        Host.Containers.Create("other", "busybox", null, null, isolated: false, privileged: false);
        Host.VolumeMounts.Mount(Host.Config.DefaultPool(), "data", "other", "/data", readOnly: false);
        var e = Assert.Throws<ContainerPSException>(() => Host.Outgoing.PlanMove("src", MigrationPlan.CarriesMarker));
        Assert.Equal("VolumesNotMoved", e.ErrorId);
        Assert.Contains("also mounted in 'other'", e.Message);
    }
}
