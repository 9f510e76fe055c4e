namespace ContainerPS.Engine.Runtime;

/// <summary>
/// What a recorded step of a change on a Ready container holds (see <see cref="ContainerRecords"/>):
/// its kind and what its repair needs. Stored as JSON in the container's op_arg. (Volumes: the
/// POOL/NAME of the custom volumes a move carries, removed here once the destination kept them;
/// Token and Handed: a move's token and the custom volumes, POOL/NAME, it hands over (with the
/// container's own) on storage shared with the destination, see SharedHandover.)
/// </summary>
internal sealed record ContainerStep(string Op, string? Dir = null, bool Owns = false, bool LeaveRunning = false,
    string? Name = null, long VolumeId = 0, string? Target = null, string? Phase = null, IReadOnlyList<string>? Volumes = null, int Pid = 0, string? Token = null,
    IReadOnlyList<string>? Handed = null)
{
    public const string Checkpoint = "checkpoint", StatefulStop = "stateful-stop", Restore = "restore", Mount = "mount",
        Dismount = "dismount", Connect = "connect", Disconnect = "disconnect", MoveOut = "move-out", Incoming = "incoming",
        Copy = "copy";
}
