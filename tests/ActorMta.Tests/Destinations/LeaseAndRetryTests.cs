using Akka.Actor;
using ActorMta.Destinations;
using Xunit.Abstractions;

namespace ActorMta.Tests.Destinations;

/// <summary>The connection budget (not persisted: leases belong to live sessions) and the host retry state (persisted).</summary>
public sealed class LeaseAndRetryTests(ITestOutputHelper output) : PersistentDestinationTestKit(output, new DestinationSettings(
    MaxConnections: 2,
    RetryDataExpire: TimeSpan.FromDays(7),
    PassivateAfter: TimeSpan.FromMinutes(5),
    HostRetryInitial: TimeSpan.FromMinutes(1),
    HostRetryMax: TimeSpan.FromMinutes(5)))
{
    private static readonly DestinationKey Host = Key("198.51.100.7");

    [Fact]
    public async Task AtMostMaxConnectionsLeasesAtOnceAndAReleaseFreesOne()
    {
        var a = NewSession();
        var b = NewSession();
        var c = NewSession();
        Acquire(Host, "a", a);
        Acquire(Host, "b", b);

        var refused = AcquireRefused(Host, "c", c);
        Assert.Null(refused.RetryAt);
        Assert.Equal("c", refused.SessionId);
        Assert.Equal(2, (await StateAsync(Host)).LeasesInUse);

        Parent.Tell(new ReleaseLease(Host, "a"), a.Ref);
        Acquire(Host, "c", c);
        Assert.Equal(2, (await StateAsync(Host)).LeasesInUse);
    }

    [Fact]
    public async Task AcquiringTheSameSessionAgainDoesNotTakeASecondSlot()
    {
        var a = NewSession();
        Acquire(Host, "a", a);
        Acquire(Host, "a", a);

        Assert.Equal(1, (await StateAsync(Host)).LeasesInUse);
    }

    [Fact]
    public async Task ASessionThatStopsWithoutReleasingFreesItsLeases()
    {
        var a = NewSession();
        var b = NewSession();
        Acquire(Host, "a1", a);
        Acquire(Host, "b", b);
        Assert.Equal(2, (await StateAsync(Host)).LeasesInUse);

        Current.Stop(a.Ref);
        await AwaitAssertAsync(async () => Assert.Equal(1, (await StateAsync(Host)).LeasesInUse), Wait);
        Acquire(Host, "c", NewSession());
    }

    [Fact]
    public async Task LeasesAreNotPersisted()
    {
        Acquire(Host, "a", NewSession());
        Acquire(Host, "b", NewSession());

        Assert.Equal(0, (await PersistedStateAsync(Host)).LeasesInUse);
        Acquire(Host, "c", NewSession());
    }

    [Fact]
    public async Task AFailedHostIsRefusedUntilItsRetryTimeEvenAfterARestart()
    {
        var a = NewSession();
        Acquire(Host, "a", a);
        await SendAsync(new HostFailed(Host, "connection refused"), a);
        Parent.Tell(new ReleaseLease(Host, "a"), a.Ref);

        var state = await PersistedStateAsync(Host);
        Assert.Equal(new HostRetry(Start, Start + TimeSpan.FromMinutes(1), 1, "connection refused"), state.Retry);

        var refused = AcquireRefused(Host, "b", NewSession());
        Assert.Equal(Start + TimeSpan.FromMinutes(1), refused.RetryAt);
        Assert.Contains("connection refused", refused.Reason, StringComparison.Ordinal);

        Clock.Advance(TimeSpan.FromMinutes(1));
        Acquire(Host, "b", NewSession());
    }

    [Fact]
    public async Task TheWaitDoublesWithEachFailureUpToTheMaximum()
    {
        var expected = new[] { 1, 2, 4, 5, 5 };
        for (var i = 0; i < expected.Length; i++)
        {
            var s = NewSession();
            Acquire(Host, "s" + i, s);
            var state = await SendAsync(new HostFailed(Host, "timeout " + i), s);
            Parent.Tell(new ReleaseLease(Host, "s" + i), s.Ref);

            Assert.NotNull(state.Retry);
            Assert.Equal(i + 1, state.Retry.Failures);
            Assert.Equal(Start, state.Retry.FirstFailure);
            Assert.Equal(TimeSpan.FromMinutes(expected[i]), state.Retry.NextTry - Clock.GetUtcNow());
            Clock.Advance(state.Retry.NextTry - Clock.GetUtcNow());
        }

        var persisted = (await PersistedStateAsync(Host)).Retry;
        Assert.NotNull(persisted);
        Assert.Equal(5, persisted.Failures);
        Assert.Equal("timeout 4", persisted.LastError);
    }

    [Fact]
    public async Task FailuresOfAttemptsStartedBeforeTheWaitDoNotGrowIt()
    {
        var a = NewSession();
        var b = NewSession();
        Acquire(Host, "a", a);
        Acquire(Host, "b", b);

        await SendAsync(new HostFailed(Host, "timeout a"), a);
        Clock.Advance(TimeSpan.FromSeconds(10));
        var state = await SendAsync(new HostFailed(Host, "timeout b"), b);

        Assert.Equal(new HostRetry(Start, Start + TimeSpan.FromMinutes(1), 1, "timeout b"), state.Retry);
    }

    [Fact]
    public async Task HostSucceededClearsTheRetryStatePersistently()
    {
        var a = NewSession();
        Acquire(Host, "a", a);
        await SendAsync(new HostFailed(Host, "421 too busy"), a);
        Clock.Advance(TimeSpan.FromMinutes(2));

        var b = NewSession();
        Acquire(Host, "b", b);
        await SendAsync(new HostSucceeded(Host), b);

        Assert.Null((await PersistedStateAsync(Host)).Retry);
        // the next failure starts from the beginning again
        var c = NewSession();
        Acquire(Host, "c", c);
        var state = await SendAsync(new HostFailed(Host, "again"), c);
        Assert.Equal(new HostRetry(Clock.GetUtcNow(), Clock.GetUtcNow() + TimeSpan.FromMinutes(1), 1, "again"), state.Retry);
    }

    [Fact]
    public async Task TheRetryWaitIsCheckedBeforeTheBudget()
    {
        Acquire(Host, "a", NewSession());
        Acquire(Host, "b", NewSession());
        await SendAsync(new HostFailed(Host, "refused"));

        Assert.NotNull(AcquireRefused(Host, "c", NewSession()).RetryAt);
    }
}
