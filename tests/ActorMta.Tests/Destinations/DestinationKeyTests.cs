using System.Net;
using Akka.Actor;
using ActorMta.Destinations;

namespace ActorMta.Tests.Destinations;

public sealed class DestinationKeyTests
{
    [Theory]
    [InlineData("192.0.2.1", 25, "192.0.2.1:25")]
    [InlineData("2001:db8::1", 25, "[2001:db8::1]:25")]
    [InlineData("::ffff:192.0.2.1", 587, "[::ffff:192.0.2.1]:587")]
    public void PrintsLikeEximsHintsKey(string address, int port, string expected)
    {
        var key = new DestinationKey(IPAddress.Parse(address), port);

        Assert.Equal(expected, key.ToString());
        Assert.Equal(expected, key.EntityId);
        Assert.Equal(key, DestinationKey.Parse(expected));
    }

    [Theory]
    [InlineData("")]
    [InlineData("192.0.2.1")]
    [InlineData("192.0.2.1:")]
    [InlineData("192.0.2.1:0")]
    [InlineData("192.0.2.1:65536")]
    [InlineData("192.0.2.1:+25")]
    [InlineData("2001:db8::1:25")]
    [InlineData("[2001:db8::1]25")]
    [InlineData("[192.0.2.1]:25")]
    [InlineData("host.example:25")]
    [InlineData("10.1:25")]
    public void RejectsWhatIsNotAKey(string text)
    {
        Assert.False(DestinationKey.TryParse(text, out _));
        Assert.Throws<FormatException>(() => DestinationKey.Parse(text));
    }

    [Theory]
    [InlineData("192.0.2.1:25")]
    [InlineData("[2001:db8::1]:25")]
    [InlineData("[fe80::1%2]:25")]
    public void ChildNameIsAValidActorNameThatDecodesToTheKey(string text)
    {
        var key = DestinationKey.Parse(text);
        var name = ActorMta.Destinations.Destinations.ChildName(key);

        Assert.True(ActorPath.IsValidPathElement(name), name);
        Assert.Equal(key, DestinationKey.Parse(Uri.UnescapeDataString(name)));
    }

    [Fact]
    public void PersistenceIdIsThePrefixedKey()
    {
        Assert.Equal("destination-[2001:db8::1]:2525", Destination.PersistenceIdFor(DestinationKey.Parse("[2001:db8::1]:2525")));
    }
}
