namespace ContainerPS.Engine.Storage;

/// <summary>
/// The values of a shared volume's owner record (<see cref="IStorageDriver.SharedOwner"/>) and of a
/// shared pool's identity (<see cref="IStorageDriver.SharedIdentity"/>), as the drivers write them
/// and moves read them: one place for both formats.
/// </summary>
public static class SharedOwners
{
    private const string HandoverPrefix = "handover ";

    /// <summary>The owner record of a volume a move hands to pool owner <paramref name="to"/>, with the move's token.</summary>
    public static string Handover(string to, string token) => $"{HandoverPrefix}{to} {token}";

    /// <summary>Whether <paramref name="owner"/> is a handover made with <paramref name="token"/>.</summary>
    public static bool IsHandover(string? owner, string token) =>
        owner is not null && owner.StartsWith(HandoverPrefix, StringComparison.Ordinal) && owner.EndsWith(" " + token, StringComparison.Ordinal);

    /// <summary>A pool's identity "FSID/OSDPOOL/OWNER": where its volumes live (two pools with the same FSID/OSDPOOL see the same ones) and its owner id.</summary>
    public static string Identity(string fsid, string osdPool, string owner) => $"{fsid}/{osdPool}/{owner}";

    /// <summary>An identity split, or null when it is not one.</summary>
    public static (string Fsid, string OsdPool, string Owner)? Split(string identity) =>
        identity.Split('/') is [{ Length: > 0 } f, { Length: > 0 } o, { Length: > 0 } w] ? (f, o, w) : null;
}
