using ContainerPS.Engine.Runtime;

namespace ContainerPS.Engine.Tests;

/// <summary>The systemd unit Initialize-ContainerHost -BootUnit writes (pure text; the boot itself is tested in the stock-kernel lane).</summary>
public class BootUnitTests
{
    [Theory]
    [InlineData("/usr/bin/pwsh", "\"/usr/bin/pwsh\"")]
    [InlineData("a b", "\"a b\"")]
    [InlineData("100%", "\"100%%\"")]
    [InlineData("$HOME", "\"$$HOME\"")]
    [InlineData("say \"hi\"", "\"say \\\"hi\\\"\"")]
    [InlineData("C:\\x", "\"C:\\\\x\"")]
    public void Quote_escapes_what_systemd_would_expand(string word, string quoted) =>
        Assert.Equal(quoted, BootUnit.Quote(word));

    [Fact]
    public void Quote_refuses_control_characters()
    {
        var e = Assert.Throws<ContainerPSException>(() => BootUnit.Quote("a\nb"));
        Assert.Equal("InvalidUnitValue", e.ErrorId);
    }

    [Fact]
    public void Text_runs_Start_and_Stop_ContainerHost_with_the_module_and_root()
    {
        var text = BootUnit.Text(new[] { "/usr/share/dotnet/dotnet", "/opt/ps/pwsh.dll" }, "/srv/it's/ContainerPS.psd1",
            new Dictionary<string, string> { ["CONTAINERPS_ROOT"] = "/var/lib/containerps" });
        var lines = text.Split('\n');
        Assert.Contains("Type=oneshot", lines);
        Assert.Contains("RemainAfterExit=yes", lines);
        Assert.Contains("KillMode=process", lines);
        Assert.Contains("WantedBy=multi-user.target", lines);
        Assert.Contains("Environment=\"CONTAINERPS_ROOT=/var/lib/containerps\"", lines);
        Assert.Contains("ExecStart=\"/usr/share/dotnet/dotnet\" \"/opt/ps/pwsh.dll\" \"-NoProfile\" \"-NonInteractive\" \"-Command\" \"Import-Module '/srv/it''s/ContainerPS.psd1'; Start-ContainerHost\"", lines);
        Assert.Contains(lines, l => l.StartsWith("ExecStop=", StringComparison.Ordinal) && l.EndsWith("Stop-ContainerHost\"", StringComparison.Ordinal));
    }
}
