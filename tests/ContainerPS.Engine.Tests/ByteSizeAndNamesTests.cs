namespace ContainerPS.Engine.Tests;

public class ByteSizeTests
{
    [Theory]
    [InlineData("0", 0L)]
    [InlineData("100", 100L)]
    [InlineData("100B", 100L)]
    [InlineData("1KiB", 1024L)]
    [InlineData("1kB", 1000L)]
    [InlineData("10MiB", 10L << 20)]
    [InlineData("10MB", 10_000_000L)]
    [InlineData("1GiB", 1L << 30)]
    [InlineData("2 GiB", 2L << 30)]
    [InlineData("3TB", 3_000_000_000_000L)]
    [InlineData("1EiB", 1L << 60)]
    public void Parses_LXD_units(string text, long expected)
    {
        Assert.True(ByteSize.TryParse(text, out var n));
        Assert.Equal(expected, n);
    }

    [Theory]
    [InlineData("")]
    [InlineData(" ")]
    [InlineData("-1")]
    [InlineData("1.5GiB")]
    [InlineData("12XB")]
    [InlineData("GiB")]
    [InlineData("10gib")]
    [InlineData("99999999999EiB")]
    [InlineData("1e9")]
    public void Rejects_what_is_not_a_size(string text) => Assert.False(ByteSize.TryParse(text, out _));

    [Theory]
    [InlineData(100L, "100B")]
    [InlineData(1536L, "1.5KiB")]
    [InlineData(1L << 30, "1GiB")]
    [InlineData(20L * 1024 * 1024 * 1024, "20GiB")]
    [InlineData(150L * 1024 * 1024, "150MiB")]
    public void Formats_for_tables(long bytes, string expected) => Assert.Equal(expected, ByteSize.Format(bytes));

    [Fact]
    public void Formats_null_as_empty() => Assert.Equal("", ByteSize.Format(null));
}

public class NamesTests
{
    [Theory]
    [InlineData("a")]
    [InlineData("pool1")]
    [InlineData("my-pool_2.x")]
    [InlineData("0abc")]
    public void Accepts_valid_names(string name) => Assert.Equal(name, Names.Validate(name, "pool"));

    [Theory]
    [InlineData("")]
    [InlineData("a/b")]
    [InlineData("..")]
    [InlineData("a..b")]
    [InlineData(".hidden")]
    [InlineData("-x")]
    [InlineData("_x")]
    [InlineData("a b")]
    [InlineData("a\tb")]
    [InlineData("a\nb")]
    [InlineData("ä")]
    public void Rejects_invalid_names(string name)
    {
        var e = Assert.Throws<ContainerPSException>(() => Names.Validate(name, "pool"));
        Assert.Equal("InvalidName", e.ErrorId);
        Assert.Equal(ErrorKind.InvalidArgument, e.Kind);
        Assert.DoesNotContain('\n', e.Message);
        Assert.DoesNotContain('\t', e.Message);
    }

    [Fact]
    public void Limits_length_to_63()
    {
        Assert.True(Names.IsValid(new string('a', 63)));
        Assert.False(Names.IsValid(new string('a', 64)));
    }

    [Fact]
    public void Rejects_null() => Assert.Equal("InvalidName", Assert.Throws<ContainerPSException>(() => Names.Validate(null, "x")).ErrorId);
}
