using ActorMta.Destinations;
using Xunit.Abstractions;
using static ActorMta.Destinations.EhloFeatures;

namespace ActorMta.Tests.Destinations;

/// <summary>
/// Spec Part A rule 8 and Part B 3.3: when the early-pipelining record is written, rewritten and
/// deleted. Every outcome is read back from a new ActorSystem on the same database.
/// </summary>
public sealed class EarlyPipeRecordTests(ITestOutputHelper output) : PersistentDestinationTestKit(output)
{
    private static readonly DestinationKey Host = Key("192.0.2.1");
    private const EhloFeatures Clear = StartTls | Pipelining | PipeConnect | Size | Chunking | Dsn;   // 0x1f1
    private const EhloFeatures Crypt = Pipelining | PipeConnect | Size | Chunking | Dsn;              // 0x1f0
    private static readonly string[] NoAuth = [];

    private static EhloLearned Ehlo(EhloFeatures features, bool tls = false, bool early = false,
        string[]? auth = null, EhloLimits? limits = null, DestinationKey? key = null) =>
        new(key ?? Host, tls, features, auth ?? NoAuth, limits ?? EhloLimits.None, early);

    private TestProbeSession NormalConnection(string id = "s1")
    {
        var probe = NewSession();
        var lease = Acquire(Host, id, probe);
        return new TestProbeSession(probe, lease);
    }

    private sealed record TestProbeSession(Akka.TestKit.TestProbe Probe, LeaseGranted Lease);

    [Fact]
    public async Task NormalCleartextReplyWithPipeliningAndPipeConnectIsWrittenAndSurvivesARestart()
    {
        var s = NormalConnection();
        Assert.Null(s.Lease.Record);

        await SendAsync(Ehlo(Clear, auth: ["PLAIN", "LOGIN"], limits: new EhloLimits(10, 50, 5)), s.Probe);
        var state = await PersistedStateAsync(Host);

        Assert.NotNull(state.Record);
        Assert.Equal(Clear, state.Record.Cleartext);
        Assert.Equal(None, state.Record.Tls);
        Assert.Equal(["PLAIN", "LOGIN"], state.Record.CleartextAuth);
        Assert.Empty(state.Record.TlsAuth);
        Assert.Equal(new EhloLimits(10, 50, 5), state.Record.Limits);
        Assert.Equal(Start, state.Record.LearnedAt);

        // and the next session gets it with its lease
        var next = Acquire(Host, "s2", NewSession());
        Assert.Equal(state.Record, next.Record);
    }

    [Theory]
    [InlineData(Pipelining | Size)]
    [InlineData(PipeConnect | Size)]
    [InlineData(None)]
    public async Task NormalCleartextReplyWithoutBothIsNotWritten(EhloFeatures features)
    {
        var s = NormalConnection();
        await SendAsync(Ehlo(features), s.Probe);

        Assert.Null((await PersistedStateAsync(Host)).Record);
    }

    [Fact]
    public async Task NormalReplyWithoutPipeConnectLeavesAnExistingRecordAlone()
    {
        var s = NormalConnection();
        await SendAsync(Ehlo(Clear), s.Probe);
        Clock.Advance(TimeSpan.FromHours(1));

        await SendAsync(Ehlo(Pipelining | Size), s.Probe);
        var state = await PersistedStateAsync(Host);

        Assert.NotNull(state.Record);
        Assert.Equal(Clear, state.Record.Cleartext);
        Assert.Equal(Start, state.Record.LearnedAt);
    }

    [Fact]
    public async Task TlsPhaseReplyOfTheSameConnectionAddsTheTlsBits()
    {
        var s = NormalConnection();
        await SendAsync(Ehlo(Clear, auth: []), s.Probe);
        await SendAsync(Ehlo(Crypt, tls: true, auth: ["PLAIN"]), s.Probe);

        var state = await PersistedStateAsync(Host);

        Assert.NotNull(state.Record);
        Assert.Equal(Clear, state.Record.Cleartext);
        Assert.Equal(Crypt, state.Record.Tls);
        Assert.Empty(state.Record.CleartextAuth);
        Assert.Equal(["PLAIN"], state.Record.TlsAuth);
    }

    [Fact]
    public async Task TlsPhaseIsWrittenWhenOnlyTheCleartextPhaseOfferedPipeConnect()
    {
        var s = NormalConnection();
        await SendAsync(Ehlo(Clear), s.Probe);
        await SendAsync(Ehlo(Pipelining | Size, tls: true), s.Probe);

        var record = (await PersistedStateAsync(Host)).Record;

        Assert.NotNull(record);
        Assert.Equal(Pipelining | Size, record.Tls);
    }

    [Fact]
    public async Task TlsPhaseIsWrittenWhenOnlyTheTlsPhaseOffersPipeConnect()
    {
        var s = NormalConnection();
        await SendAsync(Ehlo(StartTls | Pipelining | Size), s.Probe);   // not written: no PIPECONNECT
        Assert.Null((await StateAsync(Host)).Record);

        await SendAsync(Ehlo(Crypt, tls: true), s.Probe);
        var record = (await PersistedStateAsync(Host)).Record;

        Assert.NotNull(record);
        Assert.Equal(StartTls | Pipelining | Size, record.Cleartext);   // this connection's cleartext reply
        Assert.Equal(Crypt, record.Tls);
    }

    [Fact]
    public async Task TlsPhaseWithoutPipeliningIsNotWritten()
    {
        var s = NormalConnection();
        await SendAsync(Ehlo(StartTls | Size), s.Probe);
        await SendAsync(Ehlo(PipeConnect | Size, tls: true), s.Probe);

        Assert.Null((await PersistedStateAsync(Host)).Record);
    }

    [Fact]
    public async Task TlsOnConnectWritesATlsOnlyRecord()
    {
        var key = Key("192.0.2.9", 465);
        var probe = NewSession();
        Acquire(key, "s1", probe);
        await SendAsync(Ehlo(Crypt, tls: true, key: key), probe);

        var record = (await PersistedStateAsync(key)).Record;

        Assert.NotNull(record);
        Assert.Equal(None, record.Cleartext);
        Assert.Equal(Crypt, record.Tls);
    }

    [Fact]
    public async Task ALaterCleartextWriteKeepsTheTlsBitsAlreadyKnown()
    {
        var s = NormalConnection();
        await SendAsync(Ehlo(Clear), s.Probe);
        await SendAsync(Ehlo(Crypt, tls: true, auth: ["PLAIN"]), s.Probe);
        await RestartAsync();

        Clock.Advance(TimeSpan.FromDays(1));
        var other = NewSession();
        Acquire(Host, "s2", other);
        await SendAsync(Ehlo(Clear | Prdr), other);
        var record = (await PersistedStateAsync(Host)).Record;

        Assert.NotNull(record);
        Assert.Equal(Clear | Prdr, record.Cleartext);
        Assert.Equal(Crypt, record.Tls);
        Assert.Equal(["PLAIN"], record.TlsAuth);
        Assert.Equal(Start + TimeSpan.FromDays(1), record.LearnedAt);
    }

    [Fact]
    public async Task EarlyConnectionWithChangedFeaturesStillOfferingPipeConnectRewritesTheRecord()
    {
        var s = NormalConnection();
        await SendAsync(Ehlo(Pipelining | PipeConnect), s.Probe);   // Exim's "clr 0120"
        Clock.Advance(TimeSpan.FromMinutes(5));

        await SendAsync(Ehlo(Pipelining | PipeConnect | Size, early: true), s.Probe);   // "-> 0x0160"
        var record = (await PersistedStateAsync(Host)).Record;

        Assert.NotNull(record);
        Assert.Equal((EhloFeatures)0x160, record.Cleartext);
        Assert.Equal(Start + TimeSpan.FromMinutes(5), record.LearnedAt);
    }

    [Fact]
    public async Task EarlyConnectionWithChangedAuthRewritesTheRecord()
    {
        var s = NormalConnection();
        await SendAsync(Ehlo(Clear, auth: ["PLAIN"]), s.Probe);

        await SendAsync(Ehlo(Clear, early: true, auth: ["PLAIN", "CRAM-MD5"]), s.Probe);
        var record = (await PersistedStateAsync(Host)).Record;

        Assert.NotNull(record);
        Assert.Equal(["PLAIN", "CRAM-MD5"], record.CleartextAuth);
    }

    [Fact]
    public async Task EarlyConnectionWhoseReplyNoLongerOffersPipeConnectDeletesTheRecord()
    {
        var s = NormalConnection();
        await SendAsync(Ehlo(Clear), s.Probe);

        await SendAsync(Ehlo(Clear & ~PipeConnect, early: true), s.Probe);

        Assert.Null((await PersistedStateAsync(Host)).Record);
    }

    [Fact]
    public async Task EarlyConnectionWhoseTlsReplyNoLongerOffersPipeConnectDeletesTheRecord()
    {
        var s = NormalConnection();
        await SendAsync(Ehlo(Clear), s.Probe);
        await SendAsync(Ehlo(Crypt, tls: true), s.Probe);

        await SendAsync(Ehlo(Clear, early: true), s.Probe);   // same: nothing happens
        Assert.NotNull((await StateAsync(Host)).Record);
        await SendAsync(Ehlo(Crypt & ~PipeConnect, tls: true, early: true), s.Probe);

        Assert.Null((await PersistedStateAsync(Host)).Record);
    }

    [Fact]
    public async Task EarlyConnectionWhereOnlyLimitsDifferDeletesTheRecord()
    {
        var s = NormalConnection();
        await SendAsync(Ehlo(Clear, limits: new EhloLimits(10, 100, 0)), s.Probe);

        await SendAsync(Ehlo(Clear, early: true, limits: new EhloLimits(10, 50, 0)), s.Probe);

        Assert.Null((await PersistedStateAsync(Host)).Record);
    }

    [Fact]
    public async Task EarlyConnectionWithTheSameReplyLeavesTheRecordAsItWas()
    {
        var s = NormalConnection();
        await SendAsync(Ehlo(Clear, auth: ["PLAIN", "LOGIN"]), s.Probe);
        Clock.Advance(TimeSpan.FromDays(1));

        // AUTH names compare as a set, case-insensitively
        await SendAsync(Ehlo(Clear, early: true, auth: ["login", "PLAIN"]), s.Probe);
        var record = (await PersistedStateAsync(Host)).Record;

        Assert.NotNull(record);
        Assert.Equal(Start, record.LearnedAt);
        Assert.Equal(["PLAIN", "LOGIN"], record.CleartextAuth);
    }

    [Fact]
    public async Task FailedEarlyAttemptDeletesTheRecord()
    {
        var s = NormalConnection();
        await SendAsync(Ehlo(Clear), s.Probe);

        await SendAsync(new EarlyAttemptFailed(Host, "421 at banner"), s.Probe);

        Assert.Null((await PersistedStateAsync(Host)).Record);
    }

    [Fact]
    public async Task DeletedRecordsAreCountedAsInvalidations()
    {
        using var collector = new ActorMta.Tests.Metrics.Scraper();
        double Invalidations() => ActorMta.Tests.Metrics.Scrapes.Value(collector.Scrape(), "actormta_early_pipe_record_invalidations_total") ?? 0;
        var s = NormalConnection();
        await SendAsync(Ehlo(Clear), s.Probe);
        double before = Invalidations();

        await SendAsync(new EarlyAttemptFailed(Host, "421 at banner"), s.Probe);
        // No record left: a second failure invalidates nothing.
        await SendAsync(new EarlyAttemptFailed(Host, "421 at banner"), s.Probe);

        // Other tests may invalidate records meanwhile (the Meter is process-wide): at least ours counted.
        Assert.True(Invalidations() >= before + 1, $"before {before}, after {Invalidations()}");
    }

    [Fact]
    public async Task RecordOlderThanRetryDataExpireIsDeletedWhenALeaseIsTaken()
    {
        var s = NormalConnection();
        await SendAsync(Ehlo(Clear), s.Probe);
        await RestartAsync();

        Clock.Advance(Settings.RetryDataExpire - TimeSpan.FromSeconds(1));
        Assert.NotNull(Acquire(Host, "young", NewSession()).Record);

        Clock.Advance(TimeSpan.FromSeconds(2));
        Assert.Null(Acquire(Host, "old", NewSession()).Record);

        Assert.Null((await PersistedStateAsync(Host)).Record);
    }

    [Fact]
    public async Task ANormalConnectionRefreshesTheAgeOfTheRecord()
    {
        var s = NormalConnection();
        await SendAsync(Ehlo(Clear), s.Probe);
        Clock.Advance(TimeSpan.FromDays(6));
        await SendAsync(Ehlo(Clear), s.Probe);
        Clock.Advance(TimeSpan.FromDays(6));

        Assert.NotNull(Acquire(Host, "s2", NewSession()).Record);
        Assert.Equal(Start + TimeSpan.FromDays(6), (await PersistedStateAsync(Host)).Record?.LearnedAt);
    }

    [Fact]
    public async Task EachHostPortHasItsOwnRecord()
    {
        var s = NormalConnection();
        await SendAsync(Ehlo(Clear), s.Probe);

        await RestartAsync();
        Assert.Null((await StateAsync(Key("192.0.2.1", 587))).Record);
        Assert.Null((await StateAsync(Key("192.0.2.2"))).Record);
        Assert.NotNull((await StateAsync(Host)).Record);
    }
}
