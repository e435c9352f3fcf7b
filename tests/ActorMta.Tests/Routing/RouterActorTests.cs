using ActorMta.Routing;
using Akka.Actor;

namespace ActorMta.Tests.Routing;

public sealed class RouterActorTests : Akka.TestKit.Xunit2.TestKit
{
    [Fact]
    public async Task RouteIsAnsweredWithTheDecision()
    {
        using var h = RoutingHarness.Start(s => s with { LocalDomains = RoutingHarness.Domains("local.test") });
        h.Dns.Mx("example.test", 10, "mx.example.test").A("mx.example.test", "198.51.100.1");
        IActorRef router = Sys.ActorOf(RouterActor.Props(h.Router), "router");

        var remote = await router.Ask<RouteDecision>(new RouterActor.Route("example.test"), TimeSpan.FromSeconds(5));
        var local = await router.Ask<RouteDecision>(new RouterActor.Route("local.test"), TimeSpan.FromSeconds(5));
        var failed = await router.Ask<RouteDecision>(new RouterActor.Route("nowhere.test"), TimeSpan.FromSeconds(5));

        Assert.Equal("mx.example.test", Assert.IsType<RemoteRoute>(remote).Hops[0].HostName);
        Assert.IsType<LocalRoute>(local);
        Assert.True(Assert.IsType<RouteFailed>(failed).Permanent);
    }
}
