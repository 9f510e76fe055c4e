using Mono.Cecil;
using Mono.Cecil.Cil;

namespace ContainerPS.Engine.Tests;

/// <summary>
/// The engine's folders are layers, and a layer uses only the layers below it. This reads every
/// type reference in the engine assembly (signatures, fields, locals, attributes and the IL of
/// every method body, lambdas and iterators included) and fails on a reference that goes up.
/// </summary>
public class ArchitectureTests
{
    /// <summary>
    /// The intended order, lowest first. Below them all is the contract assembly (ContainerPS.Model:
    /// the objects cmdlets emit, the error catalogue, names, the log interface), which uses nothing.
    /// In the engine: Model and Core name what is left in those namespaces (Core: EntityProperties).
    /// Platform: libc, mounts, where the native programs are, running external tools; it uses no
    /// other folder. Then the state store, id maps, networks, storage pools, images, CRIU and the
    /// migration wire format, the container runtime, and last the façade that cmdlets open
    /// (ContainerHost) with what is built on it (Moves: moving containers between hosts).
    /// </summary>
    public static readonly string[] Layers =
    {
        "Model", "Core", "Platform", "State", "Idmap", "Network", "Storage", "Images", "Migration", "Runtime", "Facade",
    };

    /// <summary>The types of the root namespace that sit on top (everything else there is Core).</summary>
    private static readonly HashSet<string> FacadeTypes = new(StringComparer.Ordinal) { "ContainerPS.Engine.ContainerHost" };

    /// <summary>The layer of a type: from its namespace (its outermost declaring type's, for nested types).</summary>
    public static string? LayerOf(TypeReference type)
    {
        while (type.DeclaringType is not null)
            type = type.DeclaringType;
        var ns = type.Namespace;
        if (ns == "ContainerPS")
            return "Model";
        if (ns == "ContainerPS.Engine")
            return FacadeTypes.Contains(type.FullName) ? "Facade" : "Core";
        if (ns == "ContainerPS.Engine.Moves")
            return "Facade";
        if (ns.StartsWith("ContainerPS.Engine.", StringComparison.Ordinal))
            return ns["ContainerPS.Engine.".Length..].Split('.')[0];
        return null; // compiler-generated helpers in the global namespace
    }

    [Fact]
    public void Every_engine_namespace_is_a_known_layer()
    {
        var unknown = EngineTypes().Select(t => LayerOf(t)).Where(l => l is not null && Array.IndexOf(Layers, l) < 0).Distinct().ToList();
        Assert.Empty(unknown);
    }

    [Fact]
    public void No_layer_uses_a_layer_above_it()
    {
        var backEdges = new SortedSet<string>(StringComparer.Ordinal);
        foreach (var type in EngineTypes())
        {
            var from = LayerOf(type);
            if (from is null)
                continue;
            foreach (var (used, where) in References(type))
            {
                var to = LayerOf(used);
                if (to is not null && Array.IndexOf(Layers, to) > Array.IndexOf(Layers, from))
                    backEdges.Add($"{from} -> {to}: {where} uses {used.FullName}");
            }
        }
        Assert.True(backEdges.Count == 0, "References from a layer to one above it:\n" + string.Join("\n", backEdges));
    }

    [Fact]
    public void The_check_sees_references_in_method_bodies()
    {
        // A guard against a test that cannot fail: ContainerHost (Facade) is known to use the
        // runtime's ContainerService inside method bodies, and Runtime uses Platform's Mounts.
        var host = EngineTypes().Single(t => t.FullName == "ContainerPS.Engine.ContainerHost");
        Assert.Contains(References(host), r => r.Type.FullName == "ContainerPS.Engine.Runtime.ContainerService");
        var runtime = EngineTypes().Where(t => LayerOf(t) == "Runtime").SelectMany(References);
        Assert.Contains(runtime, r => r.Type.FullName == "ContainerPS.Engine.Platform.Mounts");
    }

    /// <summary>
    /// The size rule: a class does one concern, in at most about 400 lines. A type's size is the span
    /// of its code in each source file (first to last line of its methods, lambdas, iterators and
    /// nested types, from the debug symbols), summed over the files of a partial type; code that
    /// source generators wrote (LibraryImport marshalling) does not count.
    /// </summary>
    public const int MaxTypeLines = 400;

    /// <summary>Types allowed over the limit, and why.</summary>
    private static readonly Dictionary<string, string> LargeTypes = new(StringComparer.Ordinal)
    {
        ["ContainerPS.Engine.State.StateStore"] = "the SQL of every table (one partial file per table) over one connection and its transactions",
    };

    [Fact]
    public void No_engine_type_is_over_the_size_limit()
    {
        var module = ModuleDefinition.ReadModule(typeof(ContainerHost).Assembly.Location, new ReaderParameters { ReadSymbols = true });
        var sizes = module.Types.Where(t => t.Name != "<Module>" && !t.Name.StartsWith('<'))
            .ToDictionary(t => t.FullName, t => Nested(t).SelectMany(n => n.Methods).Where(m => m.HasBody)
                .SelectMany(m => m.DebugInformation.SequencePoints).Where(p => !p.IsHidden && !p.Document.Url.Contains("/obj/")) // not generated code
                .GroupBy(p => p.Document.Url).Sum(g => g.Max(p => p.EndLine) - g.Min(p => p.StartLine) + 1));
        Assert.True(sizes.Values.Sum() > 10_000, "no debug symbols were read"); // the check below cannot pass vacuously
        var over = sizes.Where(kv => kv.Value > MaxTypeLines && !LargeTypes.ContainsKey(kv.Key)).Select(kv => $"{kv.Key}: {kv.Value} lines").ToList();
        Assert.Empty(over);
        Assert.All(LargeTypes.Keys, t => Assert.True(sizes.GetValueOrDefault(t) > MaxTypeLines, $"{t} is no longer over the limit: take it off the list"));

        static IEnumerable<TypeDefinition> Nested(TypeDefinition t) => new[] { t }.Concat(t.NestedTypes.SelectMany(Nested));
    }

    private static IEnumerable<TypeDefinition> EngineTypes()
    {
        var module = ModuleDefinition.ReadModule(typeof(ContainerHost).Assembly.Location);
        return module.Types.SelectMany(Nested).ToList();

        static IEnumerable<TypeDefinition> Nested(TypeDefinition t) => new[] { t }.Concat(t.NestedTypes.SelectMany(Nested));
    }

    /// <summary>Every engine type a type refers to, with the member that does.</summary>
    private static IEnumerable<(TypeReference Type, string Where)> References(TypeDefinition type)
    {
        var found = new List<(TypeReference, string)>();
        void Add(TypeReference? t, string where)
        {
            switch (t)
            {
                case null: return;
                case GenericInstanceType g:
                    Add(g.ElementType, where);
                    foreach (var a in g.GenericArguments) Add(a, where);
                    return;
                case TypeSpecification s:
                    Add(s.ElementType, where);
                    return;
                case GenericParameter:
                    return;
            }
            if (t.Scope is ModuleDefinition || t.Module?.Assembly?.Name.Name == "ContainerPS.Engine" && t.Scope == t.Module)
                found.Add((t, where));
        }
        void AddMember(MemberReference m, string where)
        {
            Add(m.DeclaringType, where);
            switch (m)
            {
                case MethodReference mr:
                    Add(mr.ReturnType, where);
                    foreach (var p in mr.Parameters) Add(p.ParameterType, where);
                    if (mr is GenericInstanceMethod gm)
                        foreach (var a in gm.GenericArguments) Add(a, where);
                    break;
                case FieldReference fr:
                    Add(fr.FieldType, where);
                    break;
            }
        }
        var name = type.FullName;
        Add(type.BaseType, name);
        foreach (var i in type.Interfaces) Add(i.InterfaceType, name);
        foreach (var a in type.CustomAttributes) Add(a.AttributeType, name);
        foreach (var f in type.Fields) Add(f.FieldType, $"{name}.{f.Name}");
        foreach (var p in type.Properties) Add(p.PropertyType, $"{name}.{p.Name}");
        foreach (var m in type.Methods)
        {
            var where = $"{name}.{m.Name}";
            Add(m.ReturnType, where);
            foreach (var p in m.Parameters) Add(p.ParameterType, where);
            foreach (var a in m.CustomAttributes) Add(a.AttributeType, where);
            if (!m.HasBody)
                continue;
            foreach (var v in m.Body.Variables) Add(v.VariableType, where);
            foreach (var ins in m.Body.Instructions)
                switch (ins.Operand)
                {
                    case TypeReference t: Add(t, where); break;
                    case MemberReference mr: AddMember(mr, where); break;
                }
        }
        return found;
    }
}
