using System.Globalization;

namespace ContainerPS.Engine.Runtime;

/// <summary>
/// What a host does at boot and at shutdown (LXD's daemon start and stop): containers with
/// boot.autostart=true start in boot.autostart.priority order (higher first), waiting
/// boot.autostart.delay seconds after each; at shutdown every running container is stopped.
/// </summary>
public sealed class HostAutostart
{
    private readonly StateStore store;
    private readonly IEngineLog log;
    private readonly ContainerRecords records;
    private readonly ContainerService containers;

    internal HostAutostart(StateStore store, IEngineLog log, ContainerRecords records, ContainerService containers) =>
        (this.store, this.log, this.records, this.containers) = (store, log, records, containers);

    private static int IntKey(IReadOnlyDictionary<string, string> config, string key) =>
        int.TryParse(config.GetValueOrDefault(key), NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out var n) ? n : 0;

    /// <summary>The containers with boot.autostart=true, in the order the host starts them: priority (higher first), then name.</summary>
    public IReadOnlyList<Container> Order() =>
        store.Containers().Where(r => r.State == RowState.Ready && r.Config.GetValueOrDefault("boot.autostart") == "true")
            .OrderByDescending(r => IntKey(r.Config, "boot.autostart.priority")).ThenBy(r => r.Name, StringComparer.Ordinal)
            .Select(records.ToContainer).ToList();

    /// <summary>
    /// Starts each autostart container that is not running, in <see cref="Order"/>. One that
    /// fails is handed to <paramref name="failed"/> and the next one still starts; boot.autostart.delay
    /// is waited after each start (not after the last).
    /// </summary>
    public IEnumerable<Container> Start(Action<string, ContainerPSException> failed, CancellationToken cancel = default)
    {
        var order = Order().Where(c => c.State != "Running").ToList();
        for (var i = 0; i < order.Count; i++)
        {
            cancel.ThrowIfCancellationRequested();
            Container? started = null;
            try { started = containers.Start(order[i].Name); }
            catch (ContainerPSException e) { failed(order[i].Name, e); }
            if (started is not null)
                yield return started;
            var delay = IntKey(order[i].Config, "boot.autostart.delay");
            if (started is not null && delay > 0 && i < order.Count - 1)
            {
                log.Verbose($"boot.autostart.delay of '{order[i].Name}': waiting {delay} s before the next container.");
                cancel.WaitHandle.WaitOne(TimeSpan.FromSeconds(delay));
            }
        }
    }

    /// <summary>
    /// Stops every running container, in the reverse of the autostart order (others first), each
    /// cleanly within <paramref name="timeout"/>, else killed. One that fails is handed to
    /// <paramref name="failed"/>; the others are still stopped.
    /// </summary>
    public IEnumerable<Container> StopAll(TimeSpan timeout, bool force, Action<string, ContainerPSException> failed)
    {
        var autostart = Order().Select(c => c.Name).ToList();
        var running = containers.List().Where(c => c.State == "Running")
            .OrderBy(c => autostart.IndexOf(c.Name) is var i && i < 0 ? int.MinValue : -i).ThenBy(c => c.Name, StringComparer.Ordinal).ToList();
        foreach (var c in running)
        {
            Container? stopped = null;
            try { stopped = containers.Stop(c.Name, force, timeout); }
            catch (ContainerPSException e) { failed(c.Name, e); }
            if (stopped is not null)
                yield return stopped;
        }
    }
}
