using Akka.Actor;
using ActorMta.Destinations;
using Xunit.Abstractions;
using static ActorMta.Destinations.EhloFeatures;

namespace ActorMta.Tests.Destinations;

/// <summary>Idle destinations stop and come back with their persisted state; nothing sent meanwhile is lost.</summary>
public sealed class PassivationTests(ITestOutputHelper output) : PersistentDestinationTestKit(output, new DestinationSettings(
    MaxConnections: 20,
    RetryDataExpire: TimeSpan.FromDays(7),
    PassivateAfter: TimeSpan.FromMilliseconds(300),
    HostRetryInitial: TimeSpan.FromMinutes(1),
    HostRetryMax: TimeSpan.FromHours(1)))
{
    private static readonly DestinationKey Host = Key("203.0.113.5");

    private IActorRef Child(DestinationKey key) =>
        Current.ActorSelection(Parent.Path / ActorMta.Destinations.Destinations.ChildName(key))
            .ResolveOne(Wait).GetAwaiter().GetResult();

    [Fact]
    public async Task AnIdleDestinationStopsAndANewMessageRecoversItsState()
    {
        var s = NewSession();
        Acquire(Host, "s", s);
        await SendAsync(new EhloLearned(Host, false, Pipelining | PipeConnect, ["PLAIN"], EhloLimits.None, false), s);
        await SendAsync(new HostFailed(Host, "later"), s);
        var probe = CreateTestProbe(Current);
        var child = Child(Host);   // cannot passivate yet: it holds a lease
        probe.Watch(child);
        Parent.Tell(new ReleaseLease(Host, "s"), s.Ref);

        probe.ExpectTerminated(child, Wait);

        var state = await StateAsync(Host);
        Assert.Equal(Pipelining | PipeConnect, state.Record?.Cleartext);
        Assert.Equal("later", state.Retry?.LastError);
    }

    [Fact]
    public async Task ADestinationWithALeaseStaysAlive()
    {
        var s = NewSession();
        Acquire(Host, "s", s);
        var probe = CreateTestProbe(Current);
        var child = Child(Host);
        probe.Watch(child);

        probe.ExpectNoMsg(TimeSpan.FromSeconds(1));
        Assert.Equal(1, (await StateAsync(Host)).LeasesInUse);

        Parent.Tell(new ReleaseLease(Host, "s"), s.Ref);
        probe.ExpectTerminated(child, Wait);
    }

    [Fact]
    public async Task MessagesSentAroundPassivationAreAllAnswered()
    {
        // Messages spaced around the 300 ms idle time keep hitting a child that is stopping or
        // just stopped; every one must be answered, in order, by a child with the full state.
        var s = NewSession();
        var random = new Random(7);
        for (var i = 0; i < 12; i++)
        {
            Parent.Tell(new AcquireLease(Host, "s" + i), s.Ref);
            var granted = s.ExpectMsg<LeaseGranted>(Wait);
            Assert.Equal("s" + i, granted.SessionId);
            Assert.Equal(i == 0 ? null : Pipelining | PipeConnect | (EhloFeatures)(i - 1), granted.Record?.Cleartext);
            Parent.Tell(new EhloLearned(Host, false, Pipelining | PipeConnect | (EhloFeatures)i, [], EhloLimits.None, false), s.Ref);
            Parent.Tell(new ReleaseLease(Host, "s" + i), s.Ref);
            await Task.Delay(250 + random.Next(100));
        }
        Assert.Equal(Pipelining | PipeConnect | (EhloFeatures)11, (await StateAsync(Host)).Record?.Cleartext);
    }

    [Fact]
    public async Task ListDestinationsShowsLiveAndPassivatedDestinations()
    {
        var a = Key("192.0.2.10");
        var b = Key("2001:db8::10");
        var empty = Key("192.0.2.11");
        var s = NewSession();
        Acquire(a, "s", s);
        await SendAsync(new EhloLearned(a, false, Pipelining | PipeConnect, [], EhloLimits.None, false), s);
        await SendAsync(new HostFailed(b, "refused"));
        await SendAsync(new HostFailed(empty, "refused"));
        await SendAsync(new HostSucceeded(empty));

        await RestartAsync();
        var live = Key("192.0.2.12");
        Acquire(live, "t", NewSession());

        var list = await Parent.Ask<IReadOnlyList<DestinationState>>(ListDestinations.Instance, Wait);

        Assert.Equal([a, live, b], list.Select(d => d.Key));
        Assert.NotNull(list[0].Record);
        Assert.Equal(1, list[1].LeasesInUse);
        Assert.Equal("refused", list[2].Retry?.LastError);
    }
}
