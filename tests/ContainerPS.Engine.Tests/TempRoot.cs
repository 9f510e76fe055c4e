using ContainerPS.Engine;

namespace ContainerPS.Engine.Tests;

/// <summary>A fresh state root under /tmp, removed (with everything in it) when the test ends.</summary>
public sealed class TempRoot : IDisposable
{
    public TempRoot()
    {
        Path = Directory.CreateTempSubdirectory("cps-test-").FullName;
        // Like /var/lib/containerps: container roots (mapped uids) must be able to traverse it.
        File.SetUnixFileMode(Path, (UnixFileMode)Convert.ToInt32("711", 8));
    }

    public string Path { get; }

    public ContainerHost Open(IEngineLog? log = null) => ContainerHost.Open(Path, log);

    public void Dispose()
    {
        try { Directory.Delete(Path, recursive: true); }
        catch (DirectoryNotFoundException) { }
    }
}

/// <summary>Collects engine warnings and verbose lines for assertions.</summary>
public sealed class RecordingLog : IEngineLog
{
    public List<string> Warnings { get; } = new();
    public List<string> VerboseLines { get; } = new();
    public void Verbose(string message) { lock (VerboseLines) VerboseLines.Add(message); }
    public void Warning(string message) { lock (Warnings) Warnings.Add(message); }
}

/// <summary>A host on a fresh root; disposing removes its containers (by force), then the root.</summary>
public class HostOnTempRoot : IDisposable
{
    public HostOnTempRoot()
    {
        Root = new TempRoot();
        Log = new RecordingLog();
        Host = Root.Open(Log);
    }

    public TempRoot Root { get; }
    public RecordingLog Log { get; }
    public ContainerHost Host { get; }

    public void Dispose()
    {
        foreach (var c in Host.Containers.List())
        {
            try { Host.Containers.Remove(c.Name, force: true); }
            catch (ContainerPSException) { }
        }
        Host.Dispose();
        Root.Dispose();
        GC.SuppressFinalize(this);
    }
}
