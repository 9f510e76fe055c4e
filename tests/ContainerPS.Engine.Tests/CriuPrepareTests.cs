using ContainerPS.Engine.Migration;

namespace ContainerPS.Engine.Tests;

/// <summary>
/// The modes an image directory gets before a restore into a user namespace: files readable,
/// directories searchable, and an incremental dump's parent directories (a pre-copy move's rounds,
/// reached through 'parent' links) readable too, since CRIU opens them as directories from the
/// restored task; a 'parent' link that leads outside is left alone.
/// </summary>
public sealed class CriuPrepareTests : IDisposable
{
    private readonly string dir = Directory.CreateTempSubdirectory("cps-prepare-").FullName;

    public void Dispose() => Directory.Delete(dir, recursive: true);

    private static string Mode(string path) => Convert.ToString((int)File.GetUnixFileMode(path), 8);

    [Fact]
    public void Rounds_reached_through_parent_links_become_readable_directories()
    {
        var top = Directory.CreateDirectory(Path.Join(dir, "move")).FullName;
        var outside = Directory.CreateDirectory(Path.Join(dir, "outside")).FullName;
        File.SetUnixFileMode(outside, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
        foreach (var round in new[] { "pre.0", "pre.1" })
        {
            Directory.CreateDirectory(Path.Join(top, round), UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
            File.WriteAllText(Path.Join(top, round, "pages-1.img"), "x");
        }
        File.WriteAllText(Path.Join(top, "pages-1.img"), "x");
        File.CreateSymbolicLink(Path.Join(top, "parent"), "pre.1");
        File.CreateSymbolicLink(Path.Join(top, "pre.1", "parent"), "../pre.0");
        File.CreateSymbolicLink(Path.Join(top, "pre.0", "parent"), "../../outside");

        Criu.PrepareForRestore(top);

        Assert.Equal("711", Mode(top));
        Assert.Equal("755", Mode(Path.Join(top, "pre.1")));
        Assert.Equal("755", Mode(Path.Join(top, "pre.0")));
        Assert.Equal("644", Mode(Path.Join(top, "pre.0", "pages-1.img")));
        Assert.Equal("644", Mode(Path.Join(top, "pages-1.img")));
        Assert.Equal("700", Mode(outside));
    }

    [Fact]
    public void Parent_links_an_archive_could_bend_open_nothing_but_the_rounds()
    {
        var top = Directory.CreateDirectory(Path.Join(dir, "move")).FullName;
        var secret = Directory.CreateDirectory(Path.Join(dir, "secret"), UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute).FullName;
        var other = Directory.CreateDirectory(Path.Join(top, "other"), UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute).FullName;
        // A round that is a symlink to a private directory, and links to a directory that is not a round.
        File.CreateSymbolicLink(Path.Join(top, "pre.3"), secret);
        File.CreateSymbolicLink(Path.Join(top, "parent"), "pre.3");
        Directory.CreateDirectory(Path.Join(top, "pre.1"));
        File.CreateSymbolicLink(Path.Join(top, "pre.1", "parent"), "../other");

        Criu.PrepareForRestore(top);

        Assert.Equal("700", Mode(secret));
        Assert.Equal("711", Mode(other)); // searchable as every directory of the dump, never listable
    }
}
