using Akka.Actor;

namespace ActorMta.Routing;

/// <summary>
/// <c>/user/mta/router</c>: answers <see cref="Route"/> with a <see cref="RouteDecision"/> (for Ask), and
/// <see cref="RouteRequest"/> with a <see cref="Routed"/> that carries the request id (for Tell). The DNS
/// work runs off the actor (PipeTo), so one slow domain does not hold up the others; concurrent
/// questions for the same name share one DNS query in the resolver.
/// </summary>
public sealed class RouterActor : ReceiveActor
{
    public RouterActor(Router router)
    {
        ArgumentNullException.ThrowIfNull(router);
        Receive<Route>(msg => router.RouteAsync(msg.Domain).PipeTo(
            Sender,
            success: decision => decision,
            failure: ex => Crashed(msg.Domain, ex)));
        Receive<RouteRequest>(msg => router.RouteAsync(msg.Domain).PipeTo(
            Sender,
            success: decision => new Routed(msg.RequestId, msg.Domain, decision),
            failure: ex => new Routed(msg.RequestId, msg.Domain, Crashed(msg.Domain, ex))));
    }

    public static Props Props(Router router) => Akka.Actor.Props.Create(() => new RouterActor(router));

    /// <summary>A bug in routing must not lose the recipient: it becomes a temporary failure.</summary>
    private static RouteFailed Crashed(string domain, Exception ex)
        => new(false, 451, "4.3.0", $"routing {domain} failed: {ex.GetBaseException().Message}");

    /// <summary>Ask: replied to with a <see cref="RouteDecision"/>.</summary>
    public sealed record Route(string Domain);

    /// <summary>Tell: replied to with a <see cref="Routed"/> carrying the same <paramref name="RequestId"/>.</summary>
    public sealed record RouteRequest(long RequestId, string Domain);

    /// <summary>The answer to a <see cref="RouteRequest"/>.</summary>
    public sealed record Routed(long RequestId, string Domain, RouteDecision Decision);
}
