namespace ActorMta.Routing;

/// <summary>Next-hop decisions: local domain, smarthost route, or MX in DNS. (Skeleton.)</summary>
public sealed class Router
{
    private readonly RoutingSettings _settings;
    private readonly IMxResolver _resolver;

    public Router(RoutingSettings settings, IMxResolver resolver)
    {
        _settings = settings;
        _resolver = resolver;
    }

    public async Task<RouteDecision> RouteAsync(string domain, CancellationToken ct = default)
    {
        if (_settings.LocalDomains.Contains(domain))
        {
            return new LocalRoute();
        }

        MxLookup mx = await _resolver.LookupAsync(domain, ct).ConfigureAwait(false);
        return new RouteFailed(false, 451, "4.4.3", mx.Error ?? "not implemented");
    }
}
