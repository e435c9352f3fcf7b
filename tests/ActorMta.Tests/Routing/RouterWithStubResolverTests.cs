using System.Net;
using ActorMta.Routing;

namespace ActorMta.Tests.Routing;

/// <summary>The router's rules over any <see cref="IMxResolver"/>, without sockets.</summary>
public sealed class RouterWithStubResolverTests
{
    private static readonly RoutingSettings Settings = RoutingSettings.Default with { UseIPv6 = false, LocalAddresses = [RoutingHarness.OurAddress] };

    [Fact]
    public async Task ASeededRandomMakesTheShuffleRepeatable()
    {
        var resolver = new StubResolver
        {
            Mx = [new MxEntry(10, "a.test"), new MxEntry(10, "b.test"), new MxEntry(10, "c.test"), new MxEntry(10, "d.test")],
        };

        string[] first = await OrderAsync(new Router(Settings, resolver, new Random(7)));
        string[] again = await OrderAsync(new Router(Settings, resolver, new Random(7)));

        Assert.Equal(first, again);
        Assert.Equal(["a.test", "b.test", "c.test", "d.test"], first.Order());
    }

    [Fact]
    public async Task LocalDomainsAndLiteralsNeverAskTheResolver()
    {
        var resolver = new StubResolver();
        var router = new Router(Settings with { LocalDomains = RoutingHarness.Domains("local.test") }, resolver);

        Assert.IsType<LocalRoute>(await router.RouteAsync("local.test"));
        Assert.IsType<RemoteRoute>(await router.RouteAsync("[IPv6:2001:db8::5]"));
        Assert.Equal(0, resolver.Calls);
    }

    [Fact]
    public async Task IPv6HopsAreLeftOutWhenIPv6IsNotUsed()
    {
        var resolver = new StubResolver { Mx = [new MxEntry(10, "a.test")] };
        var router = new Router(Settings, resolver);

        RemoteRoute route = Assert.IsType<RemoteRoute>(await router.RouteAsync("example.test"));

        Assert.Equal([IPAddress.Parse("198.51.100.1")], route.Hops.Select(h => h.Address));
    }

    private static async Task<string[]> OrderAsync(Router router)
        => [.. Assert.IsType<RemoteRoute>(await router.RouteAsync("example.test")).Hops.Select(h => h.HostName)];

    private sealed class StubResolver : IMxResolver
    {
        private int _calls;

        public IReadOnlyList<MxEntry> Mx { get; init; } = [];

        public int Calls => _calls;

        public Task<MxLookup> LookupAsync(string domain, CancellationToken ct)
        {
            Interlocked.Increment(ref _calls);
            return Task.FromResult(new MxLookup(Mx.Count > 0 ? DnsStatus.Ok : DnsStatus.NxDomain, domain, Mx));
        }

        public Task<AddressLookup> ResolveAddressesAsync(string hostName, bool includeIPv6, CancellationToken ct)
        {
            Interlocked.Increment(ref _calls);
            int n = 1 + Mx.Select(m => m.Exchange).ToList().IndexOf(hostName);
            return Task.FromResult(new AddressLookup(DnsStatus.Ok, hostName, [IPAddress.Parse($"198.51.100.{n}"), IPAddress.Parse($"2001:db8::{n}")]));
        }
    }
}
