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

    [Fact]
    public void RouteRequestIsAnsweredWithItsIdForTellStyleCallers()
    {
        using var h = RoutingHarness.Start();
        h.Dns.Mx("a.test", 10, "mx.a.test").A("mx.a.test", "198.51.100.1");
        IActorRef router = Sys.ActorOf(RouterActor.Props(h.Router));

        router.Tell(new RouterActor.RouteRequest(41, "a.test"), TestActor);
        router.Tell(new RouterActor.RouteRequest(42, "nowhere.test"), TestActor);

        var answers = new[] { ExpectMsg<RouterActor.Routed>(TimeSpan.FromSeconds(5)), ExpectMsg<RouterActor.Routed>(TimeSpan.FromSeconds(5)) }
            .OrderBy(r => r.RequestId).ToArray();
        Assert.Equal((41L, "a.test"), (answers[0].RequestId, answers[0].Domain));
        Assert.IsType<RemoteRoute>(answers[0].Decision);
        Assert.Equal((42L, "nowhere.test"), (answers[1].RequestId, answers[1].Domain));
        Assert.IsType<RouteFailed>(answers[1].Decision);
    }

    [Fact]
    public void MachineAddressesIncludeLoopback()
    {
        Assert.Contains(System.Net.IPAddress.Loopback, RoutingSettings.MachineAddresses());
    }
}
