using System.Net;

namespace ActorMta.Smtp.Tests;

public class HostListTests
{
    [Theory]
    [InlineData(new[] { "192.0.2.1" }, "192.0.2.1", true)]
    [InlineData(new[] { "192.0.2.1" }, "192.0.2.2", false)]
    [InlineData(new[] { "10.0.0.0/8" }, "10.255.1.2", true)]
    [InlineData(new[] { "10.0.0.0/8" }, "11.0.0.1", false)]
    [InlineData(new[] { "10.1.2.3/8" }, "10.9.9.9", true)]
    [InlineData(new[] { "192.0.2.128/25" }, "192.0.2.127", false)]
    [InlineData(new[] { "192.0.2.128/25" }, "192.0.2.128", true)]
    [InlineData(new[] { "192.0.2.0/31" }, "192.0.2.1", true)]
    [InlineData(new[] { "192.0.2.0/31" }, "192.0.2.2", false)]
    [InlineData(new[] { "0.0.0.0/0" }, "203.0.113.5", true)]
    [InlineData(new[] { "0.0.0.0/0" }, "2001:db8::1", false)]
    [InlineData(new[] { "2001:db8::/32" }, "2001:db8:ffff::1", true)]
    [InlineData(new[] { "2001:db8::/32" }, "2001:db9::1", false)]
    [InlineData(new[] { "2001:db8::/33" }, "2001:db8:8000::1", false)]
    [InlineData(new[] { "::1" }, "::1", true)]
    [InlineData(new[] { "::/0" }, "192.0.2.1", false)]
    [InlineData(new[] { "10.0.0.0/8" }, "::ffff:10.1.2.3", true)]
    [InlineData(new[] { "192.0.2.7" }, "::ffff:192.0.2.7", true)]
    [InlineData(new[] { "::ffff:192.0.2.0/120" }, "192.0.2.9", true)]
    [InlineData(new[] { "::ffff:192.0.2.0/120" }, "::ffff:192.0.2.9", true)]
    [InlineData(new[] { "*" }, "198.51.100.1", true)]
    [InlineData(new[] { "*" }, "2001:db8::9", true)]
    [InlineData(new[] { "!192.0.2.1", "192.0.2.0/24" }, "192.0.2.1", false)]
    [InlineData(new[] { "!192.0.2.1", "192.0.2.0/24" }, "192.0.2.2", true)]
    [InlineData(new[] { "192.0.2.0/24", "!192.0.2.1" }, "192.0.2.1", true)]
    [InlineData(new[] { "!10.0.0.0/8", "*" }, "10.0.0.1", false)]
    [InlineData(new[] { "!10.0.0.0/8", "*" }, "192.0.2.1", true)]
    [InlineData(new[] { "!10.0.0.0/8" }, "192.0.2.1", false)]
    [InlineData(new[] { "! 10.0.0.0/8", "*" }, "10.0.0.1", false)]
    [InlineData(new[] { " 192.0.2.1 " }, "192.0.2.1", true)]
    public void FirstMatchingItemDecides(string[] items, string address, bool expected) =>
        Assert.Equal(expected, HostList.Parse(items).Matches(IPAddress.Parse(address)));

    [Theory]
    [InlineData(new[] { "mx.example.com" }, "mx.example.com", true)]
    [InlineData(new[] { "mx.example.com" }, "MX.Example.COM.", true)]
    [InlineData(new[] { "mx.example.com" }, "mx2.example.com", false)]
    [InlineData(new[] { "*.example.com" }, "a.b.example.com", true)]
    [InlineData(new[] { "*.example.com" }, "example.com", false)]
    [InlineData(new[] { "*.example.com" }, "badexample.com", false)]
    [InlineData(new[] { "*example.com" }, "badexample.com", true)]
    [InlineData(new[] { "!bad.example.com", "*.example.com" }, "bad.example.com", false)]
    [InlineData(new[] { "!bad.example.com", "*.example.com" }, "good.example.com", true)]
    public void NamePatternsMatchAKnownHostName(string[] items, string hostName, bool expected) =>
        Assert.Equal(expected, HostList.Parse(items).Matches(IPAddress.Parse("192.0.2.1"), hostName));

    [Fact]
    public void NamePatternsAreSkippedWhenTheNameIsUnknown()
    {
        Assert.False(HostList.Parse(["*.example.com"]).Matches(IPAddress.Parse("192.0.2.1")));
        Assert.True(HostList.Parse(["!*.example.com", "192.0.2.0/24"]).Matches(IPAddress.Parse("192.0.2.1")));
    }

    [Fact]
    public void EmptyListMatchesNobodyAndAnyMatchesEverybody()
    {
        Assert.False(HostList.Empty.Matches(IPAddress.Loopback));
        Assert.False(HostList.Parse([]).Matches(IPAddress.IPv6Loopback, "localhost"));
        Assert.True(HostList.Any.Matches(IPAddress.Parse("203.0.113.1")));
        Assert.True(HostList.Any.Matches(IPAddress.IPv6Loopback));
        Assert.Equal(["*"], HostList.Any.Items);
        Assert.Empty(HostList.Empty.Items);
    }

    [Fact]
    public void ItemsAreKeptAsConfigured() =>
        Assert.Equal(["!10.0.0.1", "10.0.0.0/8"], HostList.Parse(["!10.0.0.1", "10.0.0.0/8"]).Items);

    [Theory]
    [InlineData("10.0.0.0/33")]
    [InlineData("2001:db8::/129")]
    [InlineData("10.0.0.0/")]
    [InlineData("10.0.0.0/-1")]
    [InlineData("10.0.0.0/8/8")]
    [InlineData("10.0.0")]
    [InlineData("10")]
    [InlineData("999.0.0.1")]
    [InlineData("2001:db8::zz")]
    [InlineData("fe80::1%eth0")]
    [InlineData("")]
    [InlineData("!")]
    [InlineData("*.")]
    [InlineData("host..example")]
    [InlineData("-host.example")]
    [InlineData("+relay_hosts")]
    [InlineData("@[]")]
    [InlineData("net-lsearch;/etc/hosts")]
    public void BadItemIsAFormatErrorNamingIt(string item)
    {
        FormatException e = Assert.Throws<FormatException>(() => HostList.Parse(["192.0.2.1", item]));
        Assert.Contains($"'{item}'", e.Message);
    }
}
