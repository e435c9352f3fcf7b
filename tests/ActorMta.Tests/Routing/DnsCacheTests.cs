using ActorMta.Routing;

namespace ActorMta.Tests.Routing;

/// <summary>The resolver's own cache: TTLs, negative caching, shared in-flight queries.</summary>
public sealed class DnsCacheTests
{
    [Fact]
    public async Task ASecondLookupWithinTheTtlDoesNotReachTheServer()
    {
        using var h = RoutingHarness.Start();
        h.Dns.Mx("example.test", 10, "mx.example.test", ttl: 60).A("mx.example.test", "198.51.100.1", ttl: 60);

        await h.RemoteAsync("example.test");
        int afterFirst = h.Dns.TotalQueries;
        h.Clock.Advance(TimeSpan.FromSeconds(59));
        await h.RemoteAsync("example.test");

        Assert.Equal(afterFirst, h.Dns.TotalQueries);
        Assert.Equal(1, h.Dns.Queries("example.test", "MX"));
    }

    [Fact]
    public async Task AfterTheTtlTheServerIsAskedAgain()
    {
        using var h = RoutingHarness.Start();
        h.Dns.Mx("example.test", 10, "mx.example.test", ttl: 60).A("mx.example.test", "198.51.100.1", ttl: 600);

        await h.RemoteAsync("example.test");
        h.Clock.Advance(TimeSpan.FromSeconds(61));
        await h.RemoteAsync("example.test");

        Assert.Equal(2, h.Dns.Queries("example.test", "MX"));
    }

    [Fact]
    public async Task TheSmallestTtlOfTheRecordSetCounts()
    {
        using var h = RoutingHarness.Start();
        h.Dns.Mx("example.test", 10, "a.example.test", ttl: 300).Mx("example.test", 20, "b.example.test", ttl: 30)
            .A("a.example.test", "198.51.100.1").A("b.example.test", "198.51.100.2");

        await h.RemoteAsync("example.test");
        h.Clock.Advance(TimeSpan.FromSeconds(31));
        await h.RemoteAsync("example.test");

        Assert.Equal(2, h.Dns.Queries("example.test", "MX"));
    }

    [Fact]
    public async Task AZeroTtlIsStillCachedForTheMinimum()
    {
        using var h = RoutingHarness.Start();
        h.Dns.Mx("example.test", 10, "mx.example.test", ttl: 0).A("mx.example.test", "198.51.100.1", ttl: 0);

        await h.RemoteAsync("example.test");
        h.Clock.Advance(TimeSpan.FromSeconds(4));
        await h.RemoteAsync("example.test");
        Assert.Equal(1, h.Dns.Queries("example.test", "MX"));

        h.Clock.Advance(TimeSpan.FromSeconds(2));
        await h.RemoteAsync("example.test");
        Assert.Equal(2, h.Dns.Queries("example.test", "MX"));
    }

    [Fact]
    public async Task GlueFromTheMxAnswerIsCachedByItsOwnTtl()
    {
        using var h = RoutingHarness.Start(s => s with { UseIPv6 = false });
        h.Dns.Mx("example.test", 10, "mx.example.test", ttl: 3600).A("mx.example.test", "198.51.100.1", ttl: 60);

        await h.RemoteAsync("example.test");
        Assert.Equal(0, h.Dns.Queries("mx.example.test", "A"));

        h.Clock.Advance(TimeSpan.FromSeconds(61));
        await h.RemoteAsync("example.test");

        Assert.Equal(1, h.Dns.Queries("example.test", "MX"));
        Assert.Equal(1, h.Dns.Queries("mx.example.test", "A"));
    }

    [Fact]
    public async Task NxDomainIsCachedForTheSoaMinimum()
    {
        using var h = RoutingHarness.Start();
        h.Dns.Soa("nowhere.test", ttl: 3600, minimum: 30);

        Assert.True((await h.FailedAsync("nowhere.test")).Permanent);
        h.Clock.Advance(TimeSpan.FromSeconds(29));
        Assert.True((await h.FailedAsync("nowhere.test")).Permanent);
        Assert.Equal(1, h.Dns.Queries("nowhere.test", "MX"));

        h.Clock.Advance(TimeSpan.FromSeconds(2));
        await h.FailedAsync("nowhere.test");
        Assert.Equal(2, h.Dns.Queries("nowhere.test", "MX"));
    }

    [Fact]
    public async Task NxDomainWithoutSoaIsCachedForFiveMinutes()
    {
        using var h = RoutingHarness.Start();

        await h.FailedAsync("nowhere.test");
        h.Clock.Advance(TimeSpan.FromMinutes(4));
        await h.FailedAsync("nowhere.test");
        Assert.Equal(1, h.Dns.Queries("nowhere.test", "MX"));

        h.Clock.Advance(TimeSpan.FromMinutes(1.1));
        await h.FailedAsync("nowhere.test");
        Assert.Equal(2, h.Dns.Queries("nowhere.test", "MX"));
    }

    [Fact]
    public async Task NoDataIsCachedToo()
    {
        using var h = RoutingHarness.Start();
        h.Dns.A("plain.test", "198.51.100.7", ttl: 600).Soa("plain.test", ttl: 600, minimum: 120);

        await h.RemoteAsync("plain.test");
        h.Clock.Advance(TimeSpan.FromSeconds(100));
        await h.RemoteAsync("plain.test");
        Assert.Equal(1, h.Dns.Queries("plain.test", "MX"));

        h.Clock.Advance(TimeSpan.FromSeconds(21));
        await h.RemoteAsync("plain.test");
        Assert.Equal(2, h.Dns.Queries("plain.test", "MX"));
        Assert.Equal(1, h.Dns.Queries("plain.test", "A"));
    }

    [Fact]
    public async Task CnamesAreCachedAndFollowedFromTheCache()
    {
        using var h = RoutingHarness.Start();
        h.Dns.Cname("alias.test", "real.test", ttl: 600).Mx("real.test", 10, "mx.real.test", ttl: 600).A("mx.real.test", "198.51.100.1", ttl: 600);

        await h.RemoteAsync("alias.test");
        int queries = h.Dns.TotalQueries;
        await h.RemoteAsync("alias.test");
        await h.RemoteAsync("real.test");

        Assert.Equal(queries, h.Dns.TotalQueries);
    }

    [Fact]
    public async Task ConcurrentLookupsOfOneNameShareOneQuery()
    {
        using var h = RoutingHarness.Start();
        h.Dns.AnswerDelay = TimeSpan.FromMilliseconds(150);
        h.Dns.Mx("example.test", 10, "mx.example.test").A("mx.example.test", "198.51.100.1").Aaaa("mx.example.test", "2001:db8::1");

        RouteDecision[] decisions = await Task.WhenAll(Enumerable.Range(0, 10).Select(_ => h.Router.RouteAsync("example.test")));

        Assert.All(decisions, d => Assert.IsType<RemoteRoute>(d));
        Assert.Equal(1, h.Dns.Queries("example.test", "MX"));
    }

    [Fact]
    public async Task ACancelledCallerDoesNotSpoilTheSharedQuery()
    {
        using var h = RoutingHarness.Start();
        h.Dns.AnswerDelay = TimeSpan.FromMilliseconds(200);
        h.Dns.Mx("example.test", 10, "mx.example.test").A("mx.example.test", "198.51.100.1");

        using var cts = new CancellationTokenSource(TimeSpan.FromMilliseconds(50));
        Task<RouteDecision> impatient = h.Router.RouteAsync("example.test", cts.Token);
        Task<RouteDecision> patient = h.Router.RouteAsync("example.test");

        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => impatient);
        Assert.IsType<RemoteRoute>(await patient);
    }

    [Fact]
    public async Task AVeryLongTtlIsCappedAtOneDay()
    {
        using var h = RoutingHarness.Start();
        h.Dns.Mx("example.test", 10, "mx.example.test", ttl: 7 * 86400).A("mx.example.test", "198.51.100.1", ttl: 7 * 86400);

        await h.RemoteAsync("example.test");
        h.Clock.Advance(TimeSpan.FromHours(23));
        await h.RemoteAsync("example.test");
        Assert.Equal(1, h.Dns.Queries("example.test", "MX"));

        h.Clock.Advance(TimeSpan.FromHours(1.1));
        await h.RemoteAsync("example.test");
        Assert.Equal(2, h.Dns.Queries("example.test", "MX"));
    }

    [Fact]
    public async Task TheResolverCountsQueriesAndCacheHits()
    {
        using var h = RoutingHarness.Start(s => s with { UseIPv6 = false });
        h.Dns.Mx("example.test", 10, "mx.example.test").A("mx.example.test", "198.51.100.1");

        await h.RemoteAsync("example.test");
        await h.RemoteAsync("example.test");

        Assert.Equal(1, h.Resolver.QueriesSent);
        Assert.Equal(h.Dns.TotalQueries, h.Resolver.QueriesSent);
        Assert.Equal(3, h.Resolver.CacheHits);
    }
}
