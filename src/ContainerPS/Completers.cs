using System.Collections;
using System.Management.Automation;
using System.Management.Automation.Language;
using ContainerPS.Engine;
using ContainerPS.Engine.Storage;

namespace ContainerPS.Commands;

/// <summary>Shared shape of the name completers: names from the engine, filtered by what was typed.</summary>
public abstract class NameCompleter : IArgumentCompleter
{
    protected abstract IEnumerable<string> Names(ContainerHost host, IDictionary fakeBoundParameters);

    /// <summary>The command being completed (for completers shared by several).</summary>
    protected string CommandName { get; private set; } = "";

    public IEnumerable<CompletionResult> CompleteArgument(string commandName, string parameterName, string wordToComplete,
        CommandAst commandAst, IDictionary fakeBoundParameters)
    {
        CommandName = commandName;
        List<string> names;
        try
        {
            using var host = ContainerHost.Open();
            names = Names(host, fakeBoundParameters).ToList();
        }
        catch (Exception e) when (e is ContainerPSException or IOException or UnauthorizedAccessException)
        {
            yield break;
        }
        var pattern = new WildcardPattern((wordToComplete ?? "").Trim('\'', '"') + "*", WildcardOptions.IgnoreCase);
        foreach (var n in names.Where(n => pattern.IsMatch(n)).Order(StringComparer.Ordinal))
            yield return new CompletionResult(n, n, CompletionResultType.ParameterValue, n);
    }
}

public sealed class PoolNameCompleter : NameCompleter
{
    protected override IEnumerable<string> Names(ContainerHost host, IDictionary fake) => host.State.Pools().Select(p => p.Name);
}

public sealed class VolumeNameCompleter : NameCompleter
{
    protected override IEnumerable<string> Names(ContainerHost host, IDictionary fake)
    {
        var pool = fake["Pool"] switch { string s => s, string[] a when a.Length == 1 => a[0], _ => null };
        var pools = host.State.Pools().Where(p => pool is null || p.Name == pool).Select(p => p.Id).ToHashSet();
        return host.State.Volumes().Where(v => pools.Contains(v.PoolId)).Select(v => v.Name).Distinct();
    }
}

public sealed class ContainerNameCompleter : NameCompleter
{
    protected override IEnumerable<string> Names(ContainerHost host, IDictionary fake) => host.State.Containers().Select(c => c.Name);
}

public sealed class DriverNameCompleter : NameCompleter
{
    protected override IEnumerable<string> Names(ContainerHost host, IDictionary fake) => StorageDrivers.Names;
}

public sealed class NetworkNameCompleter : NameCompleter
{
    protected override IEnumerable<string> Names(ContainerHost host, IDictionary fake) => host.State.Networks().Select(n => n.Name);
}

/// <summary>Snapshot names of the container given in -Container (or -Name, for Restore-Container -Snapshot).</summary>
public sealed class SnapshotNameCompleter : NameCompleter
{
    protected override IEnumerable<string> Names(ContainerHost host, IDictionary fake)
    {
        var container = (fake.Contains("Container") ? fake["Container"] : fake["Name"]) switch { string s => s, Container c => c.Name, _ => null };
        return container is null ? Enumerable.Empty<string>() : host.Snapshots.List(container).Select(s => s.Name);
    }
}

/// <summary>-Property of the Get- cmdlets: the object's properties and the config keys set on any object of that kind.</summary>
public sealed class PropertyNameCompleter : NameCompleter
{
    protected override IEnumerable<string> Names(ContainerHost host, IDictionary fake)
    {
        var (type, keys) = CommandName switch
        {
            "Get-StoragePool" => (typeof(StoragePool), host.State.Pools().SelectMany(p => p.Config.Keys)),
            "Get-StorageVolume" => (typeof(StorageVolume), host.State.Volumes().SelectMany(v => v.Config.Keys)),
            "Get-ContainerNetwork" => (typeof(ContainerNetwork), Enumerable.Empty<string>()),
            _ => (typeof(Container), host.State.Containers().SelectMany(c => c.Config.Keys)),
        };
        return type.GetProperties().Select(p => p.Name).Where(n => n != "Config").Concat(keys.Where(k => !k.StartsWith("volatile.", StringComparison.Ordinal))).Distinct();
    }
}
