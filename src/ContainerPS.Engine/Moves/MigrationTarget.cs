using ContainerPS.Engine.Migration;

namespace ContainerPS.Engine.Moves;

/// <summary>
/// The destination's side of Move-Container, called through the remoting session (so it keeps no
/// state in memory between calls: what arrives is kept under ROOT/incoming/TOKEN). Begin creates
/// the container (state Creating, owned by the session's process, so a dead session is rolled back
/// by the next command), Append receives the archives, Complete unpacks them and restores the
/// container from its checkpoint (frozen), Commit thaws and keeps it, Abort removes everything. A
/// container the source never commits is rolled back by the next command after the session ends.
/// </summary>
public static class MigrationTarget
{
    /// <summary>The volume stream (btrfs, zfs) this host's default pool receives ("" for tar only), then <see cref="MigrationPlan.CarriesMarker"/>.</summary>
    public static string Receives()
    {
        using var host = ContainerHost.Open();
        var shared = host.Incoming.SharedPools();
        return (host.Incoming.IncomingFormat() ?? "") + (shared.Count > 0 ? MigrationPlan.SharedMarker + string.Join(',', shared) : "") + MigrationPlan.CarriesMarker;
    }

    public static string Begin(string planJson)
    {
        using var host = ContainerHost.Open();
        return host.Incoming.BeginIncoming(MigrationPlan.FromJson(planJson));
    }

    private static readonly System.Collections.Concurrent.ConcurrentDictionary<string, MigrationChannel.Receiver> Receivers = new();

    /// <summary>
    /// Opens the direct data link for a migration: a listener on the address the remoting session
    /// came in on ($SSH_CONNECTION), with a fresh key. Returns address, port, key and the client's address, or null when
    /// the session's address is unknown (the data then goes through the session itself).
    /// </summary>
    public static string[]? Listen(string token)
    {
        var ssh = Environment.GetEnvironmentVariable("SSH_CONNECTION")?.Split(' ');
        if (ssh is not { Length: 4 } || !System.Net.IPAddress.TryParse(ssh[2], out var address))
            return null;
        using var host = ContainerHost.Open();
        var parts = host.Incoming.IncomingArchivePaths(token); // a frame's part byte is an index in this list
        var files = new Dictionary<byte, FileStream>();
        var receiver = new MigrationChannel.Receiver(address, (part, data) =>
        {
            if (!files.TryGetValue(part, out var f))
                files[part] = f = new FileStream(part < parts.Count ? parts[part] : throw new InvalidDataException($"The migration has no archive number {part}."),
                    FileMode.Append, FileAccess.Write);
            f.Write(data.Span);
        });
        receiver.Completion.ContinueWith(_ => { foreach (var f in files.Values) f.Dispose(); }, TaskScheduler.Default);
        Receivers[token] = receiver;
        // The fourth: the source's address as this host sees it, where a post-copy source binds its page server.
        return new[] { address.ToString(), receiver.Port.ToString(System.Globalization.CultureInfo.InvariantCulture), receiver.Key, ssh[0] };
    }

    /// <summary>Appends a chunk to one of the archives (part: one of the plan's parts: rootfs, state, snapshot.I, snapshot.I.state, volume.I).</summary>
    public static void Append(string token, string part, byte[] data)
    {
        using var host = ContainerHost.Open();
        host.Incoming.AppendIncoming(token, part, data);
    }

    public static Container Complete(string token)
    {
        if (Receivers.TryRemove(token, out var receiver))
        {
            using (receiver)
            {
                try
                {
                    if (!receiver.Completion.Wait(TimeSpan.FromMinutes(10)))
                        throw new ContainerPSException(Errors.MigrationTimedOut, "The data of the migration did not arrive within 10 minutes.", token);
                }
                catch (AggregateException e)
                {
                    throw new ContainerPSException(Errors.MigrationDataFailed, $"The migration's data link failed: {e.InnerException?.Message}", token, e);
                }
            }
        }
        using var host = ContainerHost.Open();
        return host.Incoming.CompleteIncoming(token);
    }

    /// <summary>The source's commit: the arrived container is thawed and kept (until then it is frozen and can be rolled back).</summary>
    public static Container Commit(string token)
    {
        using var host = ContainerHost.Open();
        return host.Incoming.CommitIncoming(token);
    }

    public static void Abort(string token)
    {
        if (Receivers.TryRemove(token, out var receiver))
            receiver.Dispose();
        using var host = ContainerHost.Open();
        host.Incoming.AbortIncoming(token);
    }
}
