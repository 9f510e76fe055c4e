namespace ContainerPS.Engine.Storage;

/// <summary>One configuration key a driver accepts: its validator and what it means.</summary>
public sealed record ConfigKey(string Name, Func<string, string?> Check, string Description, bool SetOnlyAtCreation = false);

/// <summary>Value checks shared by every driver's keys. Each returns null when the value is fine, else why not.</summary>
public static class ConfigValues
{
    public static string? Size(string v) =>
        ByteSize.TryParse(v, out var n) && n > 0 ? null : $"'{v}' is not a size (a whole number with an optional unit: 500MiB, 10GiB, 20GB)";

    public static string? Bool(string v) =>
        v is "true" or "false" ? null : $"'{v}' is not true or false";

    public static string? Any(string v) => null;

    public static string? PositiveInt(string v) =>
        int.TryParse(v, System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out var n) && n > 0
            ? null : $"'{v}' is not a positive whole number";

    public static string? NonNegativeInt(string v) =>
        int.TryParse(v, System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out _)
            ? null : $"'{v}' is not a whole number (0 or more)";

    public static string? Int(string v) =>
        int.TryParse(v, System.Globalization.NumberStyles.AllowLeadingSign, System.Globalization.CultureInfo.InvariantCulture, out _)
            ? null : $"'{v}' is not a whole number";
}

/// <summary>
/// The pool and volume keys one driver accepts. user.* keys are free-form everywhere; volatile.*
/// keys are the engine's own. A pool's volume.KEY sets the default of KEY for new volumes.
/// </summary>
public sealed class ConfigSchema
{
    // Key prefixes that name a driver, so a key for another driver gets a message saying so.
    private static readonly (string Prefix, string Driver)[] DriverPrefixes =
    {
        ("btrfs.", "btrfs"), ("zfs.", "zfs"), ("ceph.", "ceph"), ("cephfs.", "cephfs"), ("lvm.", "lvm"), ("block.", "ceph/lvm"),
    };

    /// <param name="readOnlyPrefixes">Key prefixes besides volatile.* that users cannot set (containers: image.*).</param>
    public ConfigSchema(string driver, IEnumerable<ConfigKey> poolKeys, IEnumerable<ConfigKey> volumeKeys, params string[] readOnlyPrefixes)
    {
        Driver = driver;
        ReadOnlyPrefixes = readOnlyPrefixes.Append("volatile.").ToArray();
        PoolKeys = poolKeys.ToDictionary(k => k.Name, StringComparer.Ordinal);
        VolumeKeys = volumeKeys.ToDictionary(k => k.Name, StringComparer.Ordinal);
    }

    public string Driver { get; }
    private string[] ReadOnlyPrefixes { get; }
    public IReadOnlyDictionary<string, ConfigKey> PoolKeys { get; }
    public IReadOnlyDictionary<string, ConfigKey> VolumeKeys { get; }

    /// <summary>Checks keys a user sets on a pool. <paramref name="creating"/> allows keys only settable at creation.</summary>
    public void CheckPool(IReadOnlyDictionary<string, string?> changes, bool creating)
    {
        foreach (var (key, value) in changes)
        {
            if (key.StartsWith("volume.", StringComparison.Ordinal) && !key.StartsWith("volume.user.", StringComparison.Ordinal))
            {
                var inner = key["volume.".Length..];
                if (!VolumeKeys.TryGetValue(inner, out var vk))
                    throw Unknown(key, $"{Driver} storage pool", $"volume.KEY sets a volume default, and for '{inner}' " + Describe(inner, VolumeKeys));
                CheckValue(key, value, vk);
                continue;
            }
            CheckKey(key, value, PoolKeys, $"{Driver} storage pool", creating);
        }
    }

    /// <summary>Checks keys a user sets on a volume (or, with <paramref name="noun"/>, on another entity using this schema's entity keys).</summary>
    public void CheckVolume(IReadOnlyDictionary<string, string?> changes, bool creating, string? noun = null)
    {
        foreach (var (key, value) in changes)
            CheckKey(key, value, VolumeKeys, noun ?? $"{Driver} storage volume", creating);
    }

    private void CheckKey(string key, string? value, IReadOnlyDictionary<string, ConfigKey> keys, string noun, bool creating)
    {
        if (key.StartsWith("user.", StringComparison.Ordinal) && key.Length > 5)
        {
            // Free-form, but one line of text: a newline would split what `Get-... -Property` and logs print.
            if (key.Any(char.IsControl))
                throw Unknown(Names.Printable(key), noun, "a key name has no control characters");
            if (value is not null && value.Any(char.IsControl))
                throw new ContainerPSException(Errors.InvalidConfigValue,
                    $"Invalid value for config key '{key}': user.* values are one line of text, without newlines or other control characters ('{Names.Printable(value)}').", key);
            return;
        }
        if (ReadOnlyPrefixes.FirstOrDefault(p => key.StartsWith(p, StringComparison.Ordinal)) is { } prefix)
            throw new ContainerPSException(Errors.ConfigKeyReadOnly,
                $"Config keys {prefix}* are kept by ContainerPS itself and cannot be set ('{key}').", key);
        if (!keys.TryGetValue(key, out var k))
            throw Unknown(key, noun, Describe(key, keys));
        if (k.SetOnlyAtCreation && !creating)
            throw new ContainerPSException(Errors.ConfigKeyReadOnly,
                $"Config key '{key}' of a {noun} can only be set when it is created.", key);
        CheckValue(key, value, k);
    }

    private static void CheckValue(string key, string? value, ConfigKey k)
    {
        if (value is null)
            return; // unset
        if (k.Check(value) is string why)
            throw new ContainerPSException(Errors.InvalidConfigValue, $"Invalid value for config key '{key}': {why}.", key);
    }

    private string Describe(string key, IReadOnlyDictionary<string, ConfigKey> keys)
    {
        foreach (var (prefix, driver) in DriverPrefixes)
            if (key.StartsWith(prefix, StringComparison.Ordinal) && driver != Driver)
                return $"it belongs to the {driver} driver, not {Driver}";
        var known = string.Join(", ", keys.Keys.Order(StringComparer.Ordinal).Append("user.*"));
        return $"it is not a key the {Driver} driver knows (known: {known})";
    }

    private static ContainerPSException Unknown(string key, string noun, string why) =>
        new(Errors.InvalidConfigKey, $"Config key '{key}' is not valid for a {noun}: {why}.", key);
}
