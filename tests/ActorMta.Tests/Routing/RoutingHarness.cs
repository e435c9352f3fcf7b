using System.Net;
using ActorMta.Routing;
using ActorMta.Smtp;

namespace ActorMta.Tests.Routing;

/// <summary>A clock the test moves by hand, for the resolver's cache.</summary>
public sealed class ManualClock : TimeProvider
{
    private DateTimeOffset _now = new(2026, 11, 29, 12, 0, 0, TimeSpan.Zero);

    public override DateTimeOffset GetUtcNow() => _now;

    public void Advance(TimeSpan by) => _now += by;
}

/// <summary>A fake DNS server, a resolver pointed at it with a manual clock, and a router over both.</summary>
public sealed class RoutingHarness : IDisposable
{
    /// <summary>"Ourselves" in every harness.</summary>
    public static readonly IPAddress OurAddress = IPAddress.Parse("192.0.2.25");

    private RoutingHarness(FakeDnsServer dns, RoutingSettings settings)
    {
        Dns = dns;
        Settings = settings;
        Resolver = new DnsMxResolver(settings, Clock);
        Router = new Router(settings, Resolver);
    }

    public FakeDnsServer Dns { get; }

    public ManualClock Clock { get; } = new();

    public RoutingSettings Settings { get; }

    public DnsMxResolver Resolver { get; }

    public Router Router { get; }

    public static RoutingHarness Start(Func<RoutingSettings, RoutingSettings>? configure = null)
    {
        FakeDnsServer dns = FakeDnsServer.Start();
        RoutingSettings settings = RoutingSettings.Default with
        {
            DnsServers = [dns.EndPoint],
            DnsTimeout = TimeSpan.FromSeconds(1),
            LocalAddresses = [OurAddress],
            UseIPv6 = true,
            DnsRetries = 1,
        };
        return new RoutingHarness(dns, configure is null ? settings : configure(settings));
    }

    public static DomainList Domains(params string[] items) => DomainList.Parse(items);

    public Task<RouteDecision> RouteAsync(string domain) => Router.RouteAsync(domain);

    public async Task<RemoteRoute> RemoteAsync(string domain)
    {
        RouteDecision decision = await Router.RouteAsync(domain);
        return decision as RemoteRoute ?? throw new Xunit.Sdk.XunitException($"{domain}: expected a RemoteRoute, got {decision}");
    }

    public async Task<RouteFailed> FailedAsync(string domain)
    {
        RouteDecision decision = await Router.RouteAsync(domain);
        return decision as RouteFailed ?? throw new Xunit.Sdk.XunitException($"{domain}: expected a RouteFailed, got {decision}");
    }

    public void Dispose() => Dns.Dispose();
}
