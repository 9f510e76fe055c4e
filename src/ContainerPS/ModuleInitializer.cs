using System.Management.Automation;

namespace ContainerPS.Commands;

/// <summary>
/// Runs when the module is imported: gives the native helpers back the exec bits an install with
/// PSResourceGet took away (where that is safe; the engine decides). A helper it could not fix makes
/// the command that needs it fail with NativeHelperNotExecutable, which says how to fix it.
/// </summary>
public sealed class ModuleInitializer : IModuleAssemblyInitializer
{
    public void OnImport() => ContainerPS.Engine.Runtime.Monitor.RepairPrograms();
}
