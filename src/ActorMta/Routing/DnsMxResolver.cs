namespace ActorMta.Routing;

/// <summary>DNS over DnsClient with a TTL-honouring cache of its own. (Skeleton.)</summary>
public sealed class DnsMxResolver : IMxResolver
{
    private readonly RoutingSettings _settings;
    private readonly TimeProvider _clock;

    public DnsMxResolver(RoutingSettings settings, TimeProvider? clock = null)
    {
        _settings = settings;
        _clock = clock ?? TimeProvider.System;
    }

    public Task<MxLookup> LookupAsync(string domain, CancellationToken ct)
        => Task.FromResult(new MxLookup(DnsStatus.TemporaryFailure, domain, [], $"not implemented ({_settings.DnsTimeout}, {_clock})"));

    public Task<AddressLookup> ResolveAddressesAsync(string hostName, bool includeIPv6, CancellationToken ct)
        => Task.FromResult(new AddressLookup(DnsStatus.TemporaryFailure, hostName, [], "not implemented"));
}
