namespace ActorMta.Smtp.Tests;

public class DomainListTests
{
    [Theory]
    [InlineData(new[] { "example.com" }, "example.com", true)]
    [InlineData(new[] { "example.com" }, "EXAMPLE.Com", true)]
    [InlineData(new[] { "example.com" }, "example.com.", true)]
    [InlineData(new[] { "example.com." }, "example.com", true)]
    [InlineData(new[] { "example.com" }, "sub.example.com", false)]
    [InlineData(new[] { "example.com" }, "example.org", false)]
    [InlineData(new[] { "*.example.com" }, "sub.example.com", true)]
    [InlineData(new[] { "*.example.com" }, "a.b.Example.com", true)]
    [InlineData(new[] { "*.example.com" }, "example.com", false)]
    [InlineData(new[] { "*.example.com" }, "notexample.com", false)]
    [InlineData(new[] { "*" }, "anything.example", true)]
    [InlineData(new[] { "!spam.example.com", "*.example.com" }, "spam.example.com", false)]
    [InlineData(new[] { "!spam.example.com", "*.example.com" }, "ham.example.com", true)]
    [InlineData(new[] { "*.example.com", "!spam.example.com" }, "spam.example.com", true)]
    [InlineData(new[] { "!example.com", "*" }, "example.com", false)]
    [InlineData(new[] { "!example.com" }, "other.com", false)]
    [InlineData(new[] { "bücher.example" }, "BÜCHER.example", true)]
    [InlineData(new string[0], "example.com", false)]
    public void FirstMatchingItemDecides(string[] items, string domain, bool expected) =>
        Assert.Equal(expected, DomainList.Parse(items).Contains(domain));

    [Fact]
    public void EmptyListContainsNothing()
    {
        Assert.False(DomainList.Empty.Contains("example.com"));
        Assert.Empty(DomainList.Empty.Items);
    }

    [Theory]
    [InlineData("")]
    [InlineData("!")]
    [InlineData("*example.com")]
    [InlineData("*.")]
    [InlineData("**.example.com")]
    [InlineData("exa mple.com")]
    [InlineData("a..b")]
    [InlineData("10.0.0.0/8")]
    [InlineData("+local_domains")]
    [InlineData("@")]
    public void BadItemIsAFormatErrorNamingIt(string item)
    {
        FormatException e = Assert.Throws<FormatException>(() => DomainList.Parse(["example.com", item]));
        Assert.Contains($"'{item}'", e.Message);
    }
}
