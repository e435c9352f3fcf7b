using System.Net;

namespace ActorMta.Routing;

/// <summary>How a DNS question ended.</summary>
public enum DnsStatus
{
    /// <summary>Records of the asked type were found.</summary>
    Ok,

    /// <summary>The name exists but has no records of the asked type (NOERROR, empty answer).</summary>
    NoData,

    /// <summary>The name does not exist (NXDOMAIN): a permanent condition.</summary>
    NxDomain,

    /// <summary>SERVFAIL, REFUSED, timeout, a CNAME loop or chain too long, a malformed answer: try later.</summary>
    TemporaryFailure,
}

/// <summary>One MX record as found in DNS (the exchange without its trailing dot; "" for the null MX ".").</summary>
public sealed record MxEntry(int Preference, string Exchange);

/// <summary>
/// The MX records of a domain. <paramref name="CanonicalName"/> is the name the CNAME chain ended at
/// (the domain itself when there was none); <paramref name="Error"/> says why when the status is not Ok.
/// </summary>
public sealed record MxLookup(DnsStatus Status, string CanonicalName, IReadOnlyList<MxEntry> Records, string? Error = null);

/// <summary>The addresses of a host name: IPv4 first, then IPv6 (when asked for), each in DNS order.</summary>
public sealed record AddressLookup(DnsStatus Status, string CanonicalName, IReadOnlyList<IPAddress> Addresses, string? Error = null);

/// <summary>The DNS questions the router asks. Implementations cache by TTL and follow CNAMEs.</summary>
public interface IMxResolver
{
    Task<MxLookup> LookupAsync(string domain, CancellationToken ct);

    Task<AddressLookup> ResolveAddressesAsync(string hostName, bool includeIPv6, CancellationToken ct);
}
