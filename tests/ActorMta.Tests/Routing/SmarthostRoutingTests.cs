using System.Net;
using ActorMta.Routing;

namespace ActorMta.Tests.Routing;

/// <summary>Local domains and smarthost routes come before MX routing, first match wins.</summary>
public sealed class SmarthostRoutingTests
{
    private static SmarthostRoute Route(string name, string[] domains, params string[] hosts)
        => new(name, RoutingHarness.Domains(domains), hosts);

    [Fact]
    public async Task ALocalDomainIsRoutedLocallyWithoutDns()
    {
        using var h = RoutingHarness.Start(s => s with
        {
            LocalDomains = RoutingHarness.Domains("local.test", "*.local.test"),
            Smarthosts = [Route("relay", ["*"], "relay.test")],
        });

        Assert.IsType<LocalRoute>(await h.RouteAsync("local.test"));
        Assert.IsType<LocalRoute>(await h.RouteAsync("Sub.LOCAL.test."));
        Assert.Equal(0, h.Dns.TotalQueries);
    }

    [Fact]
    public async Task SmarthostsAreTriedInOrderWithTheirPorts()
    {
        using var h = RoutingHarness.Start(s => s with
        {
            Smarthosts = [Route("corp_relay", ["*.corp.test", "corp.test"], "relay1.test:2525", "192.0.2.7", "[2001:db8::7]:587", "relay2.test")],
        });
        h.Dns.A("relay1.test", "198.51.100.1").Aaaa("relay1.test", "2001:db8::1").A("relay2.test", "198.51.100.2");

        RemoteRoute route = Assert.IsType<RemoteRoute>(await h.RouteAsync("mail.corp.test"));

        Assert.Equal("corp_relay", route.RouteName);
        Assert.Equal(
            [
                new NextHop("relay1.test", IPAddress.Parse("198.51.100.1"), 2525, 0),
                new NextHop("relay1.test", IPAddress.Parse("2001:db8::1"), 2525, 0),
                new NextHop("192.0.2.7", IPAddress.Parse("192.0.2.7"), 25, 1),
                new NextHop("2001:db8::7", IPAddress.Parse("2001:db8::7"), 587, 2),
                new NextHop("relay2.test", IPAddress.Parse("198.51.100.2"), 25, 3),
            ],
            route.Hops);
        Assert.Equal(0, h.Dns.Queries("mail.corp.test", "MX"));
    }

    [Fact]
    public async Task TheFirstMatchingRouteWins()
    {
        using var h = RoutingHarness.Start(s => s with
        {
            LocalDomains = RoutingHarness.Domains("here.test"),
            Smarthosts =
            [
                Route("special", ["vip.corp.test"], "198.51.100.10"),
                Route("corp", ["*.corp.test", "here.test"], "198.51.100.20"),
                Route("rest", ["!excluded.test", "*"], "198.51.100.30"),
            ],
        });

        Assert.Equal("special", Assert.IsType<RemoteRoute>(await h.RouteAsync("vip.corp.test")).RouteName);
        Assert.Equal("corp", Assert.IsType<RemoteRoute>(await h.RouteAsync("other.corp.test")).RouteName);
        Assert.IsType<LocalRoute>(await h.RouteAsync("here.test"));
        Assert.Equal("rest", Assert.IsType<RemoteRoute>(await h.RouteAsync("anything.test")).RouteName);

        h.Dns.Mx("excluded.test", 10, "mx.excluded.test").A("mx.excluded.test", "198.51.100.40");
        Assert.Equal("dnslookup", Assert.IsType<RemoteRoute>(await h.RouteAsync("excluded.test")).RouteName);
    }

    [Fact]
    public async Task AnUnresolvableSmarthostIsSkipped()
    {
        using var h = RoutingHarness.Start(s => s with { Smarthosts = [Route("relay", ["*"], "gone.test", "relay.test:2525")] });
        h.Dns.A("relay.test", "198.51.100.2");

        RemoteRoute route = Assert.IsType<RemoteRoute>(await h.RouteAsync("example.test"));

        Assert.Equal([new NextHop("relay.test", IPAddress.Parse("198.51.100.2"), 2525, 1)], route.Hops);
    }

    [Fact]
    public async Task WhenNoSmarthostResolvesTheFailureIsTemporary()
    {
        using var h = RoutingHarness.Start(s => s with { Smarthosts = [Route("relay", ["*"], "gone.test", "sick.test")] });
        h.Dns.A("sick.test", "198.51.100.2").Fail("sick.test", FakeDnsFailure.ServFail);

        RouteFailed failed = Assert.IsType<RouteFailed>(await h.RouteAsync("example.test"));

        Assert.False(failed.Permanent, failed.Reason);
        Assert.Equal((451, "4.4.4"), (failed.Code, failed.EnhancedCode));
        Assert.Contains("relay", failed.Reason);
    }

    [Fact]
    public async Task ASmarthostOnLoopbackIsAllowedButOurOwnAddressOnOurPortIsNot()
    {
        using var h = RoutingHarness.Start(s => s with { Smarthosts = [Route("filter", ["*"], "127.0.0.1:10025", "192.0.2.25", "198.51.100.3")] });

        RemoteRoute route = Assert.IsType<RemoteRoute>(await h.RouteAsync("example.test"));

        Assert.Equal(["127.0.0.1:10025", "198.51.100.3:25"], route.Hops.Select(x => $"{x.Address}:{x.Port}"));
    }

    [Theory]
    [InlineData("relay.test:")]
    [InlineData("relay.test:70000")]
    [InlineData("[2001:db8::1")]
    [InlineData("[not-an-ip]:25")]
    [InlineData("")]
    [InlineData("relay test")]
    public void ABadSmarthostIsRefusedAtStartUp(string host)
    {
        var settings = RoutingSettings.Default with { Smarthosts = [Route("broken", ["*"], host)] };

        var error = Assert.Throws<FormatException>(() => new Router(settings, new DnsMxResolver(settings)));

        Assert.Contains("broken", error.Message);
    }

    [Fact]
    public void ARouteWithoutHostsIsRefusedAtStartUp()
    {
        var settings = RoutingSettings.Default with { Smarthosts = [Route("empty", ["*"])] };

        var error = Assert.Throws<FormatException>(() => new Router(settings, new DnsMxResolver(settings)));

        Assert.Contains("empty", error.Message);
    }
}
