using System.Net;

namespace ActorMta.Routing;

/// <summary>
/// One place to try: the MX (or smarthost) name, for <c>H=name [ip]:port</c> in logs and for TLS name
/// checks, the address to connect to, the port and the MX preference (for a smarthost: its index in the
/// route's host list; for an implicit MX: 0).
/// </summary>
public sealed record NextHop(string HostName, IPAddress Address, int Port, int Preference)
{
    /// <summary>As in Exim's log: <c>mx1.example.com [192.0.2.1]:25</c>.</summary>
    public override string ToString() => $"{HostName} [{Address}]:{Port}";
}

/// <summary>What the router decided for one recipient domain.</summary>
public abstract record RouteDecision;

/// <summary>The domain is one of ours: deliver to the local maildir.</summary>
public sealed record LocalRoute() : RouteDecision;

/// <summary>
/// Deliver over SMTP to <paramref name="Hops"/>, in that order. <paramref name="RouteName"/> is
/// "dnslookup" for MX routing, the smarthost route's name otherwise (Exim's <c>R=</c>).
/// </summary>
public sealed record RemoteRoute(string RouteName, IReadOnlyList<NextHop> Hops) : RouteDecision
{
    /// <summary>The smarthost route's credentials: the client authenticates before its first transaction.</summary>
    public SmarthostAuth? Auth { get; init; }
}

/// <summary>
/// No next hop. <paramref name="Permanent"/> failures bounce (5xx), the others are retried (4xx).
/// <paramref name="Code"/> and <paramref name="EnhancedCode"/> are what a DSN or log line should carry.
/// </summary>
public sealed record RouteFailed(bool Permanent, int Code, string EnhancedCode, string Reason) : RouteDecision;
