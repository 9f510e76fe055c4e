using System.Security.Cryptography;
using System.Text;
using System.Text.RegularExpressions;

namespace ContainerPS.Engine.Storage;

/// <summary>
/// Names of the lvm driver: the volume group and thin pool of a pool, and the logical volume of
/// each volume. An LV name is TYPE-NAME with the volume's name encoded so that it never holds what
/// LVM reserves or gives a device-mapper name two meanings: '_' becomes "+u" (LVM refuses names
/// with _tmeta, _tdata, _mlog, _rimage... in them), a snapshot's '@' becomes "+a", and a name too
/// long for LVM (127) keeps its start and ends in "+h" and a hash. '+' never occurs in a
/// ContainerPS name, so two volumes never share an LV name.
/// </summary>
internal static class LvmNames
{
    public const string VgKey = "lvm.vg_name";
    public const string ThinPoolKey = "lvm.thinpool_name";
    public const string UseThinKey = "lvm.use_thinpool";
    public const string MetadataSizeKey = "lvm.thinpool_metadata_size";

    /// <summary>The loop file or block device a pool's volume group was made on (absent for an existing VG given as -Source).</summary>
    public const string DeviceKey = "volatile.lvm.device";

    public const string DefaultThinPool = "ContainerPSThinPool";

    /// <summary>The tag on every LV (and VG) ContainerPS makes.</summary>
    public const string Tag = "containerps";

    /// <summary>
    /// The tag of one pool (its directory's hash) on every LV it makes and on a VG it made: a pool
    /// changes or removes only LVs with its own tag, never another pool's or one it did not make.
    /// </summary>
    public static string PoolTag(PoolContext pool) =>
        "containerps_" + Convert.ToHexString(SHA256.HashData(Encoding.UTF8.GetBytes(pool.Source)))[..16].ToLowerInvariant();

    private const int MaxLvName = 120; // LVM allows 127; the temporary suffixes (+t, +o) need room

    /// <summary>What LVM accepts as a VG or LV name (not "." or "..", not starting with '-').</summary>
    public static readonly Regex LvmName = new(@"^[A-Za-z0-9+_.][A-Za-z0-9+_.-]{0,126}\z", RegexOptions.CultureInvariant);

    public static string? CheckName(string v) =>
        LvmName.IsMatch(v) && v is not "." and not ".." && !v.StartsWith("snapshot", StringComparison.Ordinal) && !v.StartsWith("pvmove", StringComparison.Ordinal)
            ? null : $"'{v}' is not a volume group or logical volume name (letters, digits, '+', '_', '.', '-'; not starting with '-')";

    public static string Vg(PoolContext pool) => pool.Config.GetValueOrDefault(VgKey) ?? pool.Name;

    public static string ThinPool(PoolContext pool) => pool.Config.GetValueOrDefault(ThinPoolKey) ?? DefaultThinPool;

    public static bool Thin(PoolContext pool) => pool.Config.GetValueOrDefault(UseThinKey) != "false";

    private static string Prefix(VolumeType type) => type switch
    {
        VolumeType.Custom or VolumeType.CustomSnapshot => "custom",
        VolumeType.Container or VolumeType.Snapshot => "containers",
        VolumeType.Image => "images",
        _ => throw new ArgumentOutOfRangeException(nameof(type), type, "unknown volume type"),
    };

    /// <summary>The LV of a volume (a snapshot C@S is an LV of its own).</summary>
    public static string Lv(VolumeContext volume)
    {
        var encoded = volume.Name.Replace("+", "+p", StringComparison.Ordinal).Replace("_", "+u", StringComparison.Ordinal).Replace("@", "+a", StringComparison.Ordinal);
        var name = Prefix(volume.Type) + "-" + encoded;
        if (name.Length <= MaxLvName)
            return name;
        var hash = Convert.ToHexString(SHA256.HashData(Encoding.UTF8.GetBytes(volume.Name)))[..24].ToLowerInvariant();
        return name[..(MaxLvName - 26)] + "+h" + hash;
    }

    /// <summary>The LV a copy or restore is made under before it takes the volume's name.</summary>
    public static string TempLv(VolumeContext volume) => Lv(volume) + "+t";

    /// <summary>The name a restored volume's old LV has until the restore is done.</summary>
    public static string OldLv(VolumeContext volume) => Lv(volume) + "+o";

    public static string Device(string vg, string lv) => $"/dev/{vg}/{lv}";

    public static string VolumePath(PoolContext pool, VolumeContext volume) => VolumeLayout.Path(pool.Source, volume);
}
