namespace ContainerPS.Engine.Migration;

/// <summary>
/// The destination's side of Move-Container, called through the remoting session (so it keeps no
/// state in memory between calls: what arrives is kept under ROOT/incoming/TOKEN). Begin creates
/// the container (state Creating, owned by the session's process, so a dead session is rolled back
/// by the next command), Append receives the archives, Complete unpacks them and restores the
/// container from its checkpoint, Abort removes everything.
/// </summary>
public static class MigrationTarget
{
    public static string Begin(string planJson)
    {
        using var host = ContainerHost.Open();
        return host.Containers.BeginIncoming(MigrationPlan.FromJson(planJson));
    }

    /// <summary>Appends a chunk to one of the archives (part: rootfs or state).</summary>
    public static void Append(string token, string part, byte[] data)
    {
        using var host = ContainerHost.Open();
        host.Containers.AppendIncoming(token, part, data);
    }

    public static Container Complete(string token)
    {
        using var host = ContainerHost.Open();
        return host.Containers.CompleteIncoming(token);
    }

    public static void Abort(string token)
    {
        using var host = ContainerHost.Open();
        host.Containers.AbortIncoming(token);
    }
}
