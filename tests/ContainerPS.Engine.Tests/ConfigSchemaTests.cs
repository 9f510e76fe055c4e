using ContainerPS.Engine.Storage;
using ContainerPS.Engine.Platform;

namespace ContainerPS.Engine.Tests;

public class ConfigSchemaTests
{
    private static readonly ConfigSchema Dir = new DirDriver(new ExternalTool(NullEngineLog.Instance)).Schema;

    private static string ErrorOf(Action a) => Assert.Throws<ContainerPSException>(a).ErrorId;

    private static Dictionary<string, string?> C(string key, string? value) => new() { [key] = value };

    [Fact]
    public void Accepts_known_user_and_default_keys()
    {
        Dir.CheckVolume(C("size", "10GiB"), creating: true);
        Dir.CheckVolume(C("user.anything", "x"), creating: true);
        Dir.CheckPool(C("volume.size", "1GiB"), creating: false);
        Dir.CheckPool(C("user.owner", "ops"), creating: false);
        Dir.CheckVolume(C("size", null), creating: false); // unset
    }

    [Theory]
    [InlineData("zfs.pool_name", "zfs")]
    [InlineData("btrfs.mount_options", "btrfs")]
    [InlineData("ceph.osd.pool_name", "ceph")]
    [InlineData("lvm.vg_name", "lvm")]
    public void Names_the_driver_a_foreign_key_belongs_to(string key, string driver)
    {
        var e = Assert.Throws<ContainerPSException>(() => Dir.CheckPool(C(key, "x"), creating: true));
        Assert.Equal("InvalidConfigKey", e.ErrorId);
        Assert.Contains($"belongs to the {driver} driver", e.Message);
    }

    [Fact]
    public void Rejects_unknown_keys_listing_known_ones()
    {
        var e = Assert.Throws<ContainerPSException>(() => Dir.CheckVolume(C("sise", "1GiB"), creating: true));
        Assert.Equal("InvalidConfigKey", e.ErrorId);
        Assert.Contains("size", e.Message);
        Assert.Equal("InvalidConfigKey", ErrorOf(() => Dir.CheckPool(C("volume.nope", "1"), creating: true)));
        Assert.Equal("InvalidConfigKey", ErrorOf(() => Dir.CheckVolume(C("user.", "1"), creating: true)));
    }

    [Fact]
    public void Rejects_bad_values_and_engine_keys()
    {
        Assert.Equal("InvalidConfigValue", ErrorOf(() => Dir.CheckVolume(C("size", "12XB"), creating: true)));
        Assert.Equal("InvalidConfigValue", ErrorOf(() => Dir.CheckVolume(C("size", "0"), creating: true)));
        Assert.Equal("InvalidConfigValue", ErrorOf(() => Dir.CheckPool(C("volume.size", "big"), creating: true)));
        Assert.Equal("ConfigKeyReadOnly", ErrorOf(() => Dir.CheckVolume(C("volatile.idmap.last", "x"), creating: true)));
        Assert.Equal("ConfigKeyReadOnly", ErrorOf(() => Dir.CheckPool(C("source", "/x"), creating: false)));
    }
}
