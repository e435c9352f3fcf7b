using System.Net;
using ActorMta.Routing;

namespace ActorMta.Tests.Support;

/// <summary>DNS without sockets: the listed domains have a null MX (RFC 7505), every other name does not exist.</summary>
internal sealed class StubDns : IMxResolver
{
    public HashSet<string> NullMx { get; } = new(StringComparer.OrdinalIgnoreCase);

    public Task<MxLookup> LookupAsync(string domain, CancellationToken ct)
        => Task.FromResult(NullMx.Contains(domain)
            ? new MxLookup(DnsStatus.Ok, domain, [new MxEntry(0, "")])
            : new MxLookup(DnsStatus.NxDomain, domain, [], "no such domain"));

    public Task<AddressLookup> ResolveAddressesAsync(string hostName, bool includeIPv6, CancellationToken ct)
        => Task.FromResult(new AddressLookup(DnsStatus.NxDomain, hostName, Array.Empty<IPAddress>(), "no such host"));
}
