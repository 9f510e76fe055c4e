using System.Reflection;
using System.Runtime.Loader;

namespace ContainerPS.Commands;

/// <summary>
/// The module's own load context. The engine and the libraries it uses (Microsoft.Data.Sqlite,
/// SQLitePCLRaw, CliWrap, YamlDotNet) are in bin/engine/ and load here, so another module that
/// loads other versions of them into PowerShell cannot clash with ContainerPS, nor ContainerPS with
/// it. The contract (ContainerPS.Model: the objects cmdlets emit, errors, names) and this assembly
/// stay in PowerShell's default context, where scripts can name their types.
/// </summary>
internal sealed class EngineLoadContext : AssemblyLoadContext
{
    public const string EngineAssembly = "ContainerPS.Engine";

    /// <summary>bin/engine, next to this assembly.</summary>
    public static readonly string Folder = Path.Join(Path.GetDirectoryName(typeof(EngineLoadContext).Assembly.Location), "engine");

    public static readonly EngineLoadContext Instance = new();

    private EngineLoadContext() : base("ContainerPS") { }

    /// <summary>What is in bin/engine loads here; anything else (the framework, ContainerPS.Model) comes from the default context.</summary>
    protected override Assembly? Load(AssemblyName name)
    {
        var path = Path.Join(Folder, name.Name + ".dll");
        return File.Exists(path) ? LoadFromAssemblyPath(path) : null;
    }

    /// <summary>
    /// The default context's Resolving handler while the module is imported: this assembly's reference
    /// to the engine is answered from the module's context (only that name: the default context keeps
    /// its own versions of everything else).
    /// </summary>
    public static Assembly? ResolveEngine(AssemblyLoadContext context, AssemblyName name) =>
        name.Name == EngineAssembly && File.Exists(Path.Join(Folder, EngineAssembly + ".dll")) ? Instance.LoadFromAssemblyName(name) : null;
}
