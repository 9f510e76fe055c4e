using ContainerPS.Engine.Migration;
using ContainerPS.Engine.Network;
using ContainerPS.Engine.Runtime;

namespace ContainerPS.Engine.Tests;

/// <summary>The pure parts of checkpoint and migration: the checkpoint record, the plan, the exit marker, CRIU's logs and options.</summary>
public class MigrationTests
{
    [Fact]
    public void A_checkpoint_record_round_trips_with_the_interfaces()
    {
        using var root = new TempRoot();
        File.WriteAllText(Path.Join(root.Path, "inventory.img"), "x");
        File.WriteAllText(Path.Join(root.Path, "dump.log"), "(00.120000) Dumping finished successfully\n"); // CRIU's last line of a dump that succeeded
        var interfaces = new Dictionary<string, InterfaceIdentity> { ["lan"] = new(new[] { "10.1.2.3/24" }, "02:42:0a:01:02:03") };
        CheckpointImage.Write(root.Path, "web", "u1", interfaces);
        var image = CheckpointImage.Open(root.Path);
        Assert.Equal("web", image.Container);
        Assert.Equal("u1", image.Uuid);
        Assert.Equal(new[] { "10.1.2.3/24" }, image.Interfaces["lan"].Addresses);
        Assert.Equal("02:42:0a:01:02:03", image.Interfaces["lan"].MacAddress);
        Assert.True((DateTime.UtcNow - image.CreatedAt).TotalMinutes < 1);
    }

    [Fact]
    public void A_copy_gets_its_own_hostname_in_CRIUs_UTS_image()
    {
        using var root = new TempRoot();
        // utsns-12.img as CRIU 4.1 writes it for busybox container 'c': the magics, the entry's
        // length, then uts_ns_entry { nodename = "c"; domainname = "(none)" }.
        byte[] image = [0x19, 0x43, 0x56, 0x54, 0x03, 0x32, 0x47, 0x54, 0x0b, 0, 0, 0, 0x0a, 0x01, (byte)'c', 0x12, 0x06, .. "(none)"u8];
        var file = Path.Join(root.Path, "utsns-12.img");
        File.WriteAllBytes(file, image);
        File.WriteAllText(Path.Join(root.Path, "core-1.img"), "other images are left alone");
        UtsImage.SetHostname(root.Path, "web-clone");
        byte[] expected = [0x19, 0x43, 0x56, 0x54, 0x03, 0x32, 0x47, 0x54, 0x13, 0, 0, 0, 0x0a, 0x09, .. "web-clone"u8, 0x12, 0x06, .. "(none)"u8];
        Assert.Equal(expected, File.ReadAllBytes(file));
        Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite, File.GetUnixFileMode(file));
        Assert.Equal("other images are left alone", File.ReadAllText(Path.Join(root.Path, "core-1.img")));

        File.WriteAllBytes(file, image[..14]); // cut inside the hostname
        Assert.Equal("InvalidCheckpoint", Assert.Throws<ContainerPSException>(() => UtsImage.SetHostname(root.Path, "x")).ErrorId);
    }

    [Fact]
    public void A_directory_without_CRIU_images_or_our_record_is_not_a_checkpoint()
    {
        using var root = new TempRoot();
        Assert.Equal("CheckpointNotFound", Assert.Throws<ContainerPSException>(() => CheckpointImage.Open(root.Path)).ErrorId);
        Assert.Equal("CheckpointNotFound", Assert.Throws<ContainerPSException>(() => CheckpointImage.Open(Path.Join(root.Path, "missing"))).ErrorId);
        File.WriteAllText(Path.Join(root.Path, "inventory.img"), "x");
        File.WriteAllText(Path.Join(root.Path, CheckpointImage.MetadataFile), "{not json");
        Assert.Equal("InvalidCheckpoint", Assert.Throws<ContainerPSException>(() => CheckpointImage.Open(root.Path)).ErrorId);
    }

    [Fact]
    public void A_dump_that_did_not_finish_is_not_restored_from()
    {
        using var root = new TempRoot();
        File.WriteAllText(Path.Join(root.Path, "inventory.img"), "x");
        CheckpointImage.Write(root.Path, "web", "u1", new Dictionary<string, InterfaceIdentity>());
        File.WriteAllText(Path.Join(root.Path, "dump.log"), "(00.010000) Dumping processes (pid: 42)\n");
        var e = Assert.Throws<ContainerPSException>(() => CheckpointImage.Open(root.Path));
        Assert.Equal("InvalidCheckpoint", e.ErrorId);
        Assert.Contains("did not finish", e.Message);
        Assert.False(Criu.DumpFinished(root.Path));
        File.AppendAllText(Path.Join(root.Path, "dump.log"), "(00.120000) Dumping finished successfully\n");
        Assert.True(Criu.DumpFinished(root.Path));
        Assert.Equal("web", CheckpointImage.Open(root.Path).Container);
    }

    [Fact]
    public void A_migration_plan_survives_its_trip_as_JSON()
    {
        var plan = new MigrationPlan("web", "busybox", new Dictionary<string, string> { ["limits.memory"] = "256MiB" }, false, true, 1065536, 65536,
            new[] { new MigrationNetwork("lan", "eth0"), new MigrationNetwork("back", "eth1") }, true);
        var back = MigrationPlan.FromJson(plan.ToJson());
        Assert.Equal(plan.Name, back.Name);
        Assert.Equal("256MiB", back.Config["limits.memory"]);
        Assert.True(back.Isolated);
        Assert.Equal(1065536, back.IdmapBase);
        Assert.Equal(new[] { "lan", "back" }, back.Networks.Select(n => n.Network));
        Assert.Equal("eth1", back.Networks[1].Interface);
        Assert.True(back.Running);
        Assert.Null(back.RootfsFormat);
        Assert.Null(back.RootfsIdmap);

        var stream = MigrationPlan.FromJson((plan with { RootfsFormat = "zfs", RootfsIdmap = "u 0 1000000 65536;g 0 1000000 65536" }).ToJson());
        Assert.Equal("zfs", stream.RootfsFormat);
        Assert.Equal("u 0 1000000 65536;g 0 1000000 65536", stream.RootfsIdmap);
        // A plan from a host that does not know the stream fields yet reads as a tar of unshifted files.
        var oldJson = plan.ToJson().Replace(",\"RootfsFormat\":null,\"RootfsIdmap\":null", "", StringComparison.Ordinal);
        Assert.DoesNotContain("Rootfs", oldJson, StringComparison.Ordinal);
        var old = MigrationPlan.FromJson(oldJson);
        Assert.Null(old.RootfsFormat);
        Assert.Null(old.RootfsIdmap);
    }

    [Fact]
    public void The_exit_marker_of_a_checkpoint_reads_as_such()
    {
        using var root = new TempRoot();
        var rt = new RuntimeDirectory(root.Path);
        File.WriteAllText(rt.ExitFile, RuntimeDirectory.CheckpointedExit + "\n");
        var exit = rt.ReadExit();
        Assert.NotNull(exit);
        Assert.Null(exit!.Value.Code);
        Assert.Contains("checkpointed", exit.Value.Reason);
        Assert.Equal(RunState.Stopped, rt.Inspect().State);
    }

    [Fact]
    public void CRIU_log_errors_are_quoted_without_the_harmless_rlimit_one()
    {
        using var root = new TempRoot();
        File.WriteAllLines(Path.Join(root.Path, "dump.log"), new[]
        {
            "(00.1) Version: 4.1.1",
            "(00.2) Error (criu/util.c:1533): rlimit: Can't setup RLIMIT_NOFILE for self: Operation not permitted",
            "(00.3) Error (criu/cr-dump.c:1402): A session leader of zombie process 1(2) is outside of its pid namespace",
            "(00.4) Error (criu/cr-dump.c:2111): Dumping FAILED.",
        });
        var text = Criu.LogErrors(root.Path, "dump.log");
        Assert.Contains("session leader", text);
        Assert.Contains("Dumping FAILED", text);
        Assert.DoesNotContain("RLIMIT_NOFILE", text);
        Assert.Equal("", Criu.LogErrors(root.Path, "restore.log"));
    }

    [Fact]
    public void Dump_and_restore_options_match_and_are_single_words_for_the_monitor()
    {
        Assert.Contains("--tcp-established", Criu.DumpOptions);
        Assert.Contains("--tcp-established", Criu.RestoreOptions);
        Assert.Contains("--file-locks", Criu.RestoreOptions);
        Assert.Contains("--empty-ns=network", Criu.RestoreOptions);
        Assert.All(Criu.RestoreOptions, o => Assert.StartsWith("--", o)); // cps-monitor accepts only --options
    }

    [Fact]
    public async Task The_data_link_carries_both_archives_and_refuses_a_wrong_key()
    {
        var received = new List<(byte, byte[])>();
        using (var receiver = new MigrationChannel.Receiver(System.Net.IPAddress.Loopback, (p, d) => received.Add((p, d.ToArray()))))
        {
            using var sender = MigrationChannel.Sender.TryConnect("127.0.0.1", receiver.Port, Convert.FromBase64String(receiver.Key), TimeSpan.FromSeconds(5))!;
            var big = new byte[3 << 20];
            new Random(7).NextBytes(big);
            sender.Send(0, big);
            sender.Send(1, new byte[] { 1, 2, 3 });
            sender.Finish();
            await receiver.Completion.WaitAsync(TimeSpan.FromSeconds(10));
        }
        Assert.Equal(2, received.Count);
        Assert.Equal(0, received[0].Item1);
        Assert.Equal(3 << 20, received[0].Item2.Length);
        Assert.Equal(new byte[] { 1, 2, 3 }, received[1].Item2);

        // Someone without the key (it only travels through the remoting session) gets nothing in.
        var forged = new List<byte[]>();
        using var target = new MigrationChannel.Receiver(System.Net.IPAddress.Loopback, (_, d) => forged.Add(d.ToArray()));
        using (var stranger = MigrationChannel.Sender.TryConnect("127.0.0.1", target.Port, new byte[32], TimeSpan.FromSeconds(5))!)
        {
            stranger.Send(0, new byte[] { 6, 6, 6 });
            stranger.Finish();
        }
        await Assert.ThrowsAnyAsync<System.Security.Cryptography.CryptographicException>(() => target.Completion.WaitAsync(TimeSpan.FromSeconds(10)));
        Assert.Empty(forged);
    }
}
