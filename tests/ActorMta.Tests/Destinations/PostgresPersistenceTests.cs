using Akka.Actor;
using ActorMta.Configuration;
using ActorMta.Destinations;
using ActorMta.Tests.Outbound;
using ActorMta.Tests.Support;
using Xunit.Abstractions;

namespace ActorMta.Tests.Destinations;

/// <summary>
/// The cluster's store: destinations persisted in a real PostgreSQL (Debian's postgresql package,
/// which .ci/run installs; skipped with the reason where it is absent, never in CI).
/// </summary>
public sealed class PostgresPersistenceTests(ITestOutputHelper output)
{
    [Fact]
    public async Task A_relay_on_PostgreSQL_keeps_the_early_pipelining_record_across_a_restart()
    {
        await using var postgres = await TestPostgres.StartOrSkipAsync(output);
        if (postgres is null) return;
        await using var server = await TestMta.StartAsync();
        MtaSettings Relay(MtaSettings s) => ActorMtaToActorMtaTests.RelayTo(s, server) with
        {
            Persistence = new PersistenceSettings(postgres.ConnectionString, "PostgreSQL.15"),
        };

        await using (var relay = await TestMta.StartAsync(Relay))
        {
            var first = await ActorMtaToActorMtaTests.SubmitAsync(relay, "first");
            var line = await relay.WaitForLogLineAsync($"{first} => user@test.example");
            Assert.DoesNotContain(" L* ", line, StringComparison.Ordinal);
            // Persisted asynchronously: wait until the destination has it, then for the row.
            var destinations = await relay.Node.Root.Ask<IActorRef>(MtaGuardian.GetDestinations.Instance, TimeSpan.FromSeconds(5));
            var key = new DestinationKey(server.EndPoint.Address, server.EndPoint.Port);
            var deadline = DateTime.UtcNow.AddSeconds(20);
            while ((await destinations.Ask<DestinationState>(new GetDestinationState(key), TimeSpan.FromSeconds(15))).Record is null)
            {
                Assert.True(DateTime.UtcNow < deadline, "the destination never got its record");
                await Task.Delay(50);
            }
        }
        Assert.Equal(1L, await CountAsync(postgres, $"SELECT count(*) FROM journal WHERE persistence_id = '{Destination.PersistenceIdPrefix}127.0.0.1:{server.EndPoint.Port}'"));

        // A new node on a new data directory: all it knows of the server comes from PostgreSQL.
        await using (var restarted = await TestMta.StartAsync(Relay))
        {
            var second = await ActorMtaToActorMtaTests.SubmitAsync(restarted, "second");
            var delivered = await restarted.WaitForLogLineAsync($"{second} => user@test.example");
            Assert.Contains(" L* ", delivered, StringComparison.Ordinal);
        }
        var received = server.MainLogLines().Where(l => l.Contains("<= a@client.test", StringComparison.Ordinal)).ToArray();
        Assert.Equal(2, received.Length);
        Assert.Contains(" L* ", received[1], StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_store_that_goes_down_under_running_destinations_is_done_without_until_it_is_back()
    {
        await using var postgres = await TestPostgres.StartOrSkipAsync(output);
        if (postgres is null) return;
        var config = Akka.Configuration.ConfigurationFactory.ParseString("akka.loglevel = WARNING\nakka.log-dead-letters = off")
            .WithFallback(DestinationPersistence.Config(postgres.ConnectionString, "PostgreSQL.15"));
        using var system = ActorSystem.Create("pg", config);
        var clock = new ManualClock(DateTimeOffset.UtcNow);
        var settings = DestinationSettings.Default with { StoreRetryInterval = TimeSpan.FromMinutes(1) };
        var parent = system.ActorOf(global::ActorMta.Destinations.Destinations.Props(settings, clock), "destinations");
        var a = new DestinationKey(System.Net.IPAddress.Parse("192.0.2.1"), 25);
        var b = new DestinationKey(System.Net.IPAddress.Parse("192.0.2.2"), 25);

        // Up: a's failure is persisted.
        await parent.Ask<LeaseGranted>(new AcquireLease(a, "s1"), TimeSpan.FromSeconds(30));
        parent.Tell(new HostFailed(a, "first"));
        Assert.Equal("first", (await parent.Ask<DestinationState>(new GetDestinationState(a), TimeSpan.FromSeconds(10))).Retry?.LastError);
        await Eventually.UntilAsync(async () => await CountAsync(postgres, Rows(a)) == 1, "a's event in PostgreSQL");

        // Down: a's next write fails, and a is run in memory from then on (what it was sent while
        // its write failed is lost with it, so ask until an answer comes).
        await postgres.StopAsync();
        parent.Tell(new HostSucceeded(a));
        var failover = System.Diagnostics.Stopwatch.StartNew();
        await Eventually.UntilAsync(async () =>
        {
            parent.Tell(new HostFailed(a, "in memory"));
            try
            {
                var state = await parent.Ask<DestinationState>(new GetDestinationState(a), TimeSpan.FromSeconds(2));
                return state.Retry?.LastError == "in memory";
            }
            catch (AskTimeoutException)
            {
                return false;
            }
        }, "a answering from memory");
        // A refused connection fails the write, and the next incarnation's recovery, at once: no
        // recovery timeout (10 s) is waited out.
        Assert.True(failover.Elapsed < TimeSpan.FromSeconds(8), $"a answered from memory after {failover.Elapsed}");
        output.WriteLine($"a answered from memory after {failover.Elapsed}");

        // Back, and the wait over: a new destination is persisted again.
        await postgres.StartAgainAsync();
        clock.Advance(settings.StoreRetryInterval + TimeSpan.FromSeconds(1));
        await parent.Ask<LeaseGranted>(new AcquireLease(b, "s2"), TimeSpan.FromSeconds(30));
        parent.Tell(new HostFailed(b, "persisted again"));
        await Eventually.UntilAsync(async () =>
        {
            try
            {
                return await CountAsync(postgres, Rows(b)) == 1;
            }
            catch (Npgsql.NpgsqlException)
            {
                return false;
            }
        }, "b's event in PostgreSQL");
        Assert.Equal(1L, await CountAsync(postgres, Rows(a))); // nothing of a's time in memory
    }

    [Fact]
    public async Task A_destination_whose_write_is_refused_moves_to_memory_at_once_though_its_store_still_reads()
    {
        await using var postgres = await TestPostgres.StartOrSkipAsync(output);
        if (postgres is null) return;
        // A role of its own, so that its writes can be taken away while it can still read (and so recover).
        await postgres.ExecuteAsync("CREATE ROLE app LOGIN; GRANT ALL ON SCHEMA public TO app;");
        var config = Akka.Configuration.ConfigurationFactory.ParseString("akka.loglevel = WARNING\nakka.log-dead-letters = off")
            .WithFallback(DestinationPersistence.Config(postgres.ConnectionStringFor("app"), "PostgreSQL.15"));
        using var system = ActorSystem.Create("pgw", config);
        var parent = system.ActorOf(global::ActorMta.Destinations.Destinations.Props(DestinationSettings.Default), "destinations");
        var a = new DestinationKey(System.Net.IPAddress.Parse("192.0.2.3"), 25);
        await parent.Ask<LeaseGranted>(new AcquireLease(a, "s1"), TimeSpan.FromSeconds(30));
        parent.Tell(new HostFailed(a, "first"));
        await Eventually.UntilAsync(async () => await CountAsync(postgres, Rows(a)) == 1, "a's event in PostgreSQL");

        await postgres.ExecuteAsync("REVOKE INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA public FROM app;");
        parent.Tell(new HostSucceeded(a)); // a write, refused

        // Only the failed write can say the store is down: a new incarnation would recover (reads
        // still work) and fail its next write again, for ever persisted and never answering from memory.
        await Eventually.UntilAsync(async () =>
        {
            parent.Tell(new HostFailed(a, "in memory"));
            try
            {
                var state = await parent.Ask<DestinationState>(new GetDestinationState(a), TimeSpan.FromSeconds(2));
                return state.InMemory && state.Retry?.LastError == "in memory";
            }
            catch (AskTimeoutException)
            {
                return false;
            }
        }, "a answering from memory");
        Assert.Equal(1L, await CountAsync(postgres, Rows(a)));
    }


    private static string Rows(DestinationKey key) =>
        $"SELECT count(*) FROM journal WHERE persistence_id = '{Destination.PersistenceIdFor(key)}'";


    private static async Task<long> CountAsync(TestPostgres postgres, string sql)
    {
        await using var connection = new Npgsql.NpgsqlConnection(postgres.ConnectionString);
        await connection.OpenAsync();
        await using var command = new Npgsql.NpgsqlCommand(sql, connection);
        return (long)(await command.ExecuteScalarAsync())!;
    }
}
