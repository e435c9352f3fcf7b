using System.Text;
using Akka.Actor;
using Akka.Serialization;
using ActorMta.Destinations;
using Xunit.Abstractions;
using static ActorMta.Destinations.EhloFeatures;

namespace ActorMta.Tests.Destinations;

/// <summary>The stored form: stable manifests and JSON, no CLR type names in the journal, bounded by snapshots.</summary>
public sealed class DestinationSerializerTests(ITestOutputHelper output) : PersistentDestinationTestKit(output)
{
    private static readonly EarlyPipeRecord Record = new(
        StartTls | Pipelining | PipeConnect | Size | Chunking,
        Pipelining | PipeConnect | Size | Chunking,
        ["PLAIN"],
        ["PLAIN", "LOGIN"],
        new EhloLimits(10, 100, 5),
        new DateTimeOffset(2026, 11, 29, 12, 0, 0, TimeSpan.Zero));

    private static readonly HostRetry Retry = new(
        new DateTimeOffset(2026, 11, 29, 12, 0, 0, TimeSpan.Zero),
        new DateTimeOffset(2026, 11, 29, 12, 1, 0, TimeSpan.Zero), 1, "connection refused");

    public static TheoryData<object, string> Stored => new()
    {
        { new RecordWritten(Record), "ehlo-record-v1" },
        { new RecordWritten(Record with { Limits = EhloLimits.None, TlsAuth = [] }), "ehlo-record-v1" },
        { new RecordDeleted("PIPECONNECT no longer offered", Record.LearnedAt), "ehlo-record-deleted-v1" },
        { new HostRetryChanged(Retry), "host-retry-v1" },
        { new HostRetryChanged(null), "host-retry-v1" },
        { new DestinationSnapshot(Record, Retry), "destination-snapshot-v1" },
        { new DestinationSnapshot(null, null), "destination-snapshot-v1" },
        { new DestinationSnapshot(null, null) { ClearTextUntil = Retry.NextTry }, "destination-snapshot-v1" },
        { new ClearTextRemembered(Retry.NextTry, "TLS session: handshake failed"), "tls-clear-until-v1" },
    };

    [Theory]
    [MemberData(nameof(Stored))]
    public void EventsAndSnapshotsRoundTripUnderTheirStableManifest(object value, string manifest)
    {
        var serializer = Sys.Serialization.FindSerializerFor(value);

        Assert.IsType<DestinationSerializer>(serializer);
        Assert.Equal(4310, serializer.Identifier);
        Assert.Equal(manifest, Akka.Serialization.Serialization.ManifestFor(serializer, value));
        var bytes = serializer.ToBinary(value);
        Assert.DoesNotContain("ActorMta", Encoding.UTF8.GetString(bytes), StringComparison.Ordinal);
        Assert.Equal(value, Sys.Serialization.Deserialize(bytes, serializer.Identifier, manifest));
    }

    [Fact]
    public void TheStoredJsonIsFixed()
    {
        var serializer = (SerializerWithStringManifest)Sys.Serialization.FindSerializerForType(typeof(RecordWritten));

        // Changing this string breaks every existing database: add a "-v2" manifest instead.
        Assert.Equal(
            """{"record":{"clr":480,"tls":480,"clrAuth":["PLAIN"],"tlsAuth":["PLAIN","LOGIN"],"limitMail":10,"limitRcpt":100,"limitRcptDomain":5,"learnedAt":"2026-11-29T12:00:00+00:00"}}""",
            Encoding.UTF8.GetString(serializer.ToBinary(new RecordWritten(Record with { Cleartext = (EhloFeatures)0x1e0, Tls = (EhloFeatures)0x1e0 }))));

        var old = serializer.FromBinary(Encoding.UTF8.GetBytes(
            """{"retry":{"firstFailure":"2026-11-29T12:00:00+00:00","nextTry":"2026-11-29T12:01:00+00:00","failures":1,"lastError":"connection refused"}}"""),
            "host-retry-v1");
        Assert.Equal(new HostRetryChanged(Retry), old);
    }

    [Fact]
    public void AnUnknownManifestIsAnError()
    {
        var serializer = (SerializerWithStringManifest)Sys.Serialization.FindSerializerForType(typeof(RecordWritten));

        Assert.ThrowsAny<Exception>(() => serializer.FromBinary("{}"u8.ToArray(), "ehlo-record-v99"));
        Assert.ThrowsAny<Exception>(() => serializer.Manifest("not an event"));
    }

    [Fact]
    public async Task JournalRowsCarryOurManifestsAndNoClrTypeNames()
    {
        var key = Key("192.0.2.1");
        var s = NewSession();
        Acquire(key, "s", s);
        await SendAsync(new EhloLearned(key, false, Pipelining | PipeConnect, ["PLAIN"], EhloLimits.None, false), s);
        await SendAsync(new HostFailed(key, "refused"), s);
        await SendAsync(new HostSucceeded(key), s);
        await SendAsync(new EarlyAttemptFailed(key, "banner timeout"), s);
        await RestartAsync();

        var rows = Query("SELECT persistence_id, manifest, identifier, message FROM journal ORDER BY ordering",
            r => (Id: r.GetString(0), Manifest: r.GetString(1), Serializer: r.GetInt32(2), Message: Encoding.UTF8.GetString((byte[])r[3])));

        Assert.Equal(["ehlo-record-v1", "host-retry-v1", "host-retry-v1", "ehlo-record-deleted-v1"], rows.Select(r => r.Manifest));
        Assert.All(rows, r =>
        {
            Assert.Equal("destination-192.0.2.1:25", r.Id);
            Assert.Equal(DestinationSerializer.SerializerId, r.Serializer);
            Assert.DoesNotContain("ActorMta", r.Message, StringComparison.Ordinal);
            Assert.DoesNotContain("$type", r.Message, StringComparison.Ordinal);
        });
    }

    [Fact]
    public async Task PreparedDatabaseUsesWriteAheadLoggingAndHasThePluginTables()
    {
        Acquire(Key("192.0.2.1"), "s", NewSession());
        await SendAsync(new HostFailed(Key("192.0.2.1"), "refused"));

        Assert.Equal("wal", Query("PRAGMA journal_mode", r => r.GetString(0)).Single());
        var tables = Query("SELECT name FROM sqlite_master WHERE type = 'table'", r => r.GetString(0));
        Assert.Contains("journal", tables);
        Assert.Contains("snapshot", tables);
    }

    [Fact]
    public async Task SnapshotsBoundTheJournalAndRecoveryUsesThem()
    {
        var key = Key("192.0.2.1");
        var s = NewSession();
        Acquire(key, "s", s);
        for (var i = 0; i < 2 * Destination.SnapshotEvery + 10; i++)
        {
            await SendAsync(new HostFailed(key, "failure " + i), s);
            Clock.Advance(TimeSpan.FromHours(2));
        }
        await SendAsync(new EhloLearned(key, false, Pipelining | PipeConnect, [], EhloLimits.None, false), s);
        // Snapshots are saved, and what they cover deleted, asynchronously: wait for that.
        await AwaitAssertAsync(() =>
        {
            Assert.Equal([2L * Destination.SnapshotEvery], Query("SELECT sequence_number FROM snapshot", r => r.GetInt64(0)));
            Assert.Equal(10L + 1, Query("SELECT COUNT(*) FROM journal WHERE deleted = 0", r => r.GetInt64(0)).Single());
        }, Wait);

        var state = await PersistedStateAsync(key);
        Assert.Equal(2 * Destination.SnapshotEvery + 10, state.Retry?.Failures);
        Assert.Equal("failure " + (2 * Destination.SnapshotEvery + 9), state.Retry?.LastError);
        Assert.NotNull(state.Record);

        var snapshots = Query("SELECT manifest, sequence_number FROM snapshot", r => (Manifest: r.GetString(0), Seq: r.GetInt64(1)));
        var snapshot = Assert.Single(snapshots);
        Assert.Equal("destination-snapshot-v1", snapshot.Manifest);
        Assert.Equal(2L * Destination.SnapshotEvery, snapshot.Seq);
    }
}
