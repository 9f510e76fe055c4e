using System.Management.Automation;
using System.Runtime.CompilerServices;
using System.Runtime.Loader;

namespace ContainerPS.Commands;

/// <summary>
/// Runs when the module is imported: sends the engine to the module's own load context
/// (<see cref="EngineLoadContext"/>), then gives the native helpers back the exec bits an install
/// with PSResourceGet took away (where that is safe; the engine decides). A helper it could not fix
/// makes the command that needs it fail with NativeHelperNotExecutable, which says how to fix it.
/// Remove-Module takes the load context's handler away again.
/// </summary>
public sealed class ModuleInitializer : IModuleAssemblyInitializer, IModuleAssemblyCleanup
{
    public void OnImport()
    {
        AssemblyLoadContext.Default.Resolving -= EngineLoadContext.ResolveEngine; // once, even when imported again
        AssemblyLoadContext.Default.Resolving += EngineLoadContext.ResolveEngine;
        RepairPrograms();
    }

    public void OnRemove(PSModuleInfo module) => AssemblyLoadContext.Default.Resolving -= EngineLoadContext.ResolveEngine;

    // Not inlined: the engine is loaded when this method is compiled, after the handler is in place.
    [MethodImpl(MethodImplOptions.NoInlining)]
    private static void RepairPrograms() => ContainerPS.Engine.Platform.NativePrograms.RepairPrograms();
}
