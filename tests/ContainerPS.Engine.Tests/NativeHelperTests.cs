using ContainerPS.Engine.Platform;

namespace ContainerPS.Engine.Tests;

/// <summary>The exec bit of a native helper that lost it (PSResourceGet keeps no file modes): given back only where that is safe.</summary>
public class NativeHelperTests
{
    private static UnixFileMode Mode(string octal) => (UnixFileMode)Convert.ToInt32(octal, 8);

    private static string Helper(TempRoot t, string dirMode, string fileMode)
    {
        var dir = Path.Join(t.Path, "bin");
        Directory.CreateDirectory(dir);
        File.SetUnixFileMode(dir, Mode(dirMode));
        var file = Path.Join(dir, "cps-helper");
        File.WriteAllText(file, "#!/bin/sh\n");
        File.SetUnixFileMode(file, Mode(fileMode));
        return file;
    }

    [Theory]
    [InlineData("644", "755")]
    [InlineData("600", "700")]
    [InlineData("640", "750")]
    public void A_root_owned_helper_nobody_else_can_write_gets_x_wherever_it_has_r(string before, string after)
    {
        Assert.True(Environment.IsPrivilegedProcess, "the engine tests run as root");
        using var t = new TempRoot();
        var file = Helper(t, "755", before);
        NativePrograms.EnsureExecutable(file);
        Assert.Equal(Mode(after), File.GetUnixFileMode(file));
    }

    [Fact]
    public void An_executable_helper_is_left_as_it_is()
    {
        using var t = new TempRoot();
        var file = Helper(t, "777", "764"); // even where the engine would not repair it
        NativePrograms.EnsureExecutable(file);
        Assert.Equal(Mode("764"), File.GetUnixFileMode(file));
    }

    [Theory]
    [InlineData("755", "664", true, "(mode 0664), and ContainerPS did not restore its exec bit: its group or other users can write it")]
    [InlineData("755", "646", true, "(mode 0646), and ContainerPS did not restore its exec bit: its group or other users can write it")]
    [InlineData("775", "644", true, "is not root's alone")]
    [InlineData("755", "644", false, "does not run as root")]
    public void Otherwise_it_fails_with_NativeHelperNotExecutable_and_says_how_to_fix_it(string dirMode, string fileMode, bool root, string reason)
    {
        using var t = new TempRoot();
        var file = Helper(t, dirMode, fileMode);
        var e = Assert.Throws<ContainerPSException>(() => NativePrograms.EnsureExecutable(file, root));
        Assert.Equal("NativeHelperNotExecutable", e.ErrorId);
        Assert.Equal(file, e.Target);
        Assert.Contains(reason, e.Message);
        Assert.Contains($"chmod 0755 '{file}'", e.Message);
        Assert.Equal(Mode(fileMode), File.GetUnixFileMode(file)); // nothing changed
    }

    [Fact]
    public void A_helper_owned_by_another_user_is_not_repaired()
    {
        using var t = new TempRoot();
        var file = Helper(t, "755", "644");
        LibC.LChown(file, 1000, 1000);
        var e = Assert.Throws<ContainerPSException>(() => NativePrograms.EnsureExecutable(file));
        Assert.Contains("owned by uid 1000, not by root", e.Message);
        Assert.Equal(Mode("644"), File.GetUnixFileMode(file));
    }
}
