using System.Net;
using System.Net.NetworkInformation;
using ActorMta.Smtp;

namespace ActorMta.Routing;

/// <summary>
/// A manual route (Exim's <c>manualroute</c> with <c>route_list</c>): recipients whose domain is in
/// <paramref name="Domains"/> go to <paramref name="Hosts"/>, tried in order. Each host is
/// <c>name</c>, <c>name:port</c>, an IPv4 literal with optional <c>:port</c>, or an IPv6 literal in
/// brackets with optional <c>:port</c> (<c>[2001:db8::1]:2525</c>).
/// </summary>
public sealed record SmarthostRoute(string Name, DomainList Domains, IReadOnlyList<string> Hosts)
{
    /// <summary>Log in to these hosts with SMTP AUTH (the route's <c>auth { user, password, allow-cleartext }</c>); null: no AUTH.</summary>
    public SmarthostAuth? Auth { get; init; }
}

/// <summary>
/// Router configuration. Routes are tried in this order, first match wins: <paramref name="LocalDomains"/>,
/// then each of <paramref name="Smarthosts"/>, then MX lookup in DNS.
/// </summary>
/// <param name="DnsServers">Servers to query; empty means the system's resolvers.</param>
/// <param name="DnsTimeout">Per query attempt.</param>
/// <param name="DefaultPort">Port for MX hosts and for smarthosts without a port (25).</param>
/// <param name="LocalAddresses">"Ourselves": an MX host with one of these addresses (or a loopback
/// address) is us, and it and every MX with an equal or higher preference are dropped (RFC 5321 5.1).</param>
/// <param name="PreferIPv6">Put a host's IPv6 addresses before its IPv4 ones.</param>
public sealed record RoutingSettings(
    DomainList LocalDomains,
    IReadOnlyList<SmarthostRoute> Smarthosts,
    IReadOnlyList<IPEndPoint> DnsServers,
    TimeSpan DnsTimeout,
    int DefaultPort,
    IReadOnlyList<IPAddress> LocalAddresses,
    bool PreferIPv6)
{
    /// <summary>
    /// Whether AAAA records are looked up and IPv6 hops returned. Null (the default): only when this
    /// machine has a global IPv6 address on an interface that is up.
    /// </summary>
    public bool? UseIPv6 { get; init; }

    /// <summary>Extra attempts per DNS query after a timeout (DnsClient's <c>Retries</c>).</summary>
    public int DnsRetries { get; init; } = 1;

    /// <summary>Cache bounds: a positive answer is kept for its TTL clamped to these.</summary>
    public TimeSpan MinCacheTtl { get; init; } = TimeSpan.FromSeconds(5);

    /// <inheritdoc cref="MinCacheTtl"/>
    public TimeSpan MaxCacheTtl { get; init; } = TimeSpan.FromDays(1);

    /// <summary>Negative answers (NXDOMAIN, no data) without an SOA in the authority section.</summary>
    public TimeSpan DefaultNegativeTtl { get; init; } = TimeSpan.FromMinutes(5);

    /// <summary>How many CNAMEs are followed for one name before giving up.</summary>
    public int MaxCnameDepth { get; init; } = 8;

    /// <summary>Most entries kept in the DNS cache; beyond it, expired entries are swept, then the cache is cleared.</summary>
    public int MaxCacheEntries { get; init; } = 10_000;

    /// <summary>
    /// The unicast addresses of this machine's interfaces that are up (loopback included): a sensible
    /// <see cref="LocalAddresses"/> when the configuration names none, as Exim uses its interfaces.
    /// </summary>
    public static IReadOnlyList<IPAddress> MachineAddresses()
    {
        try
        {
            return [.. NetworkInterface.GetAllNetworkInterfaces()
                .Where(n => n.OperationalStatus == OperationalStatus.Up || n.NetworkInterfaceType == NetworkInterfaceType.Loopback)
                .SelectMany(n => n.GetIPProperties().UnicastAddresses)
                .Select(u => u.Address)
                .Distinct()];
        }
        catch (NetworkInformationException)
        {
            return [IPAddress.Loopback, IPAddress.IPv6Loopback];
        }
    }

    /// <summary>Defaults: no local domains, no smarthosts, system resolvers, 5 s timeout, port 25.</summary>
    public static RoutingSettings Default { get; } = new(DomainList.Empty, [], [], TimeSpan.FromSeconds(5), 25, [], false);
}
