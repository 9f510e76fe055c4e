using System.Text.RegularExpressions;

namespace ContainerPS.Engine.Tests;

/// <summary>Each error ID is defined once, in <see cref="Errors"/>, and the README's list of error IDs is that catalogue.</summary>
public class ErrorCatalogueTests
{
    private static string RepoRoot()
    {
        var dir = new DirectoryInfo(AppContext.BaseDirectory);
        while (dir is not null && !File.Exists(Path.Join(dir.FullName, "ContainerPS.psd1")))
            dir = dir.Parent;
        return dir?.FullName ?? throw new InvalidOperationException("the repository root (ContainerPS.psd1) is not above " + AppContext.BaseDirectory);
    }

    [Fact]
    public void Every_entry_is_named_by_its_ID_and_IDs_are_unique()
    {
        var fields = typeof(Errors).GetFields().Where(f => f.FieldType == typeof(ErrorCode)).ToList();
        Assert.True(fields.Count > 100);
        foreach (var f in fields)
            Assert.Equal(f.Name, ((ErrorCode)f.GetValue(null)!).Id);
        Assert.Equal(fields.Count, Errors.ById.Count);
        Assert.Same(Errors.VolumeExists, Errors.ById["VolumeExists"]);
    }

    [Fact]
    public void The_READMEs_error_IDs_are_the_catalogue()
    {
        var readme = File.ReadAllText(Path.Join(RepoRoot(), "README.md"));
        var start = readme.IndexOf("### Error IDs", StringComparison.Ordinal);
        Assert.True(start >= 0, "README.md has no '### Error IDs' section");
        var end = readme.IndexOf("\n## ", start, StringComparison.Ordinal);
        var listed = Regex.Matches(readme[start..end], "`([A-Z][A-Za-z]+)`").Select(m => m.Groups[1].Value).ToHashSet(StringComparer.Ordinal);
        Assert.Empty(Errors.ById.Keys.Where(id => !listed.Contains(id)).Order());
        Assert.Empty(listed.Where(id => !Errors.ById.ContainsKey(id)).Order());
    }

    [Fact]
    public void No_source_file_makes_an_error_with_an_ID_of_its_own()
    {
        // ContainerPSException takes only an ErrorCode (the compiler checks that); error records are
        // made in one place, ContainerPSCmdlet.Record, from an ErrorCode.
        var src = Path.Join(RepoRoot(), "src");
        var offenders = Directory.EnumerateFiles(src, "*.cs", SearchOption.AllDirectories)
            .Where(f => !f.Contains("/obj/", StringComparison.Ordinal) && !f.Contains("/bin/", StringComparison.Ordinal))
            .SelectMany(f => File.ReadLines(f).Select((line, n) => (f, n, line)))
            .Where(x => x.line.Contains("new ErrorRecord(", StringComparison.Ordinal))
            .Select(x => $"{Path.GetRelativePath(src, x.f)}:{x.n + 1}: {x.line.Trim()}")
            .ToList();
        Assert.Empty(offenders);
    }
}
