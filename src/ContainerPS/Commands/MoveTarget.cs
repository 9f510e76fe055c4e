using ContainerPS.Engine.Moves;

namespace ContainerPS.Commands;

/// <summary>
/// The destination's side of Move-Container as the source's remote script calls it
/// ([ContainerPS.Commands.MoveTarget]::Begin(...)). PowerShell resolves type names in its default
/// load context only, and the engine's <see cref="MigrationTarget"/> is in the module's own.
/// </summary>
public static class MoveTarget
{
    public static string Receives() => MigrationTarget.Receives();
    public static string Begin(string planJson) => MigrationTarget.Begin(planJson);
    public static string[]? Listen(string token) => MigrationTarget.Listen(token);
    public static void Append(string token, string part, byte[] data) => MigrationTarget.Append(token, part, data);
    public static Container Complete(string token) => MigrationTarget.Complete(token);
    public static Container Commit(string token) => MigrationTarget.Commit(token);
    public static void Abort(string token) => MigrationTarget.Abort(token);
}
