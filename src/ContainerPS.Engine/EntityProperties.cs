using System.Collections;
using System.Reflection;

namespace ContainerPS.Engine;

/// <summary>
/// The bare value of one property of an entity, the pwsh answer to `zfs get -H -p -o value KEY`:
/// a property of the object (used, size, created_at, UsedBy...: case, '_' and '-' ignored) as its
/// typed value, else a config key (exact) as its string.
/// </summary>
public static class EntityProperties
{
    public static object? Get(object entity, string key)
    {
        var normalized = Normalize(key);
        foreach (var p in entity.GetType().GetProperties(BindingFlags.Public | BindingFlags.Instance))
            if (Normalize(p.Name) == normalized && !(p.Name == "Config" && typeof(IDictionary).IsAssignableFrom(p.PropertyType)))
                return p.GetValue(entity);
        if (entity.GetType().GetProperty("Config")?.GetValue(entity) is IDictionary config && config.Contains(key))
            return config[key];
        if (key.Contains('.') && entity.GetType().GetProperty("Config") is not null)
            return null; // a config key that is not set (lxc config get prints nothing)
        throw new ContainerPSException(Errors.PropertyNotFound,
            $"'{Names.Printable(key)}' is neither a property of {entity} nor one of its config keys.", key);
    }

    private static string Normalize(string s) => s.Replace("_", "").Replace("-", "").ToLowerInvariant();
}
