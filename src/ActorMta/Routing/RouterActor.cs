using Akka.Actor;

namespace ActorMta.Routing;

/// <summary>
/// <c>/user/mta/router</c>: answers <see cref="Route"/> with a <see cref="RouteDecision"/>. The DNS work
/// runs off the actor (PipeTo), so one slow domain does not hold up the others.
/// </summary>
public sealed class RouterActor : ReceiveActor
{
    /// <summary>Ask: replied to with a <see cref="RouteDecision"/>.</summary>
    public sealed record Route(string Domain);

    public RouterActor(Router router)
    {
        Receive<Route>(msg => router.RouteAsync(msg.Domain).PipeTo(
            Sender,
            success: decision => decision,
            failure: ex => new RouteFailed(false, 451, "4.3.0", $"routing {msg.Domain} failed: {ex.GetBaseException().Message}")));
    }

    public static Props Props(Router router) => Akka.Actor.Props.Create(() => new RouterActor(router));
}
