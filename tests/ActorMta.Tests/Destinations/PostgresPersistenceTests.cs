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
        await using var postgres = await TestPostgres.StartAsync();
        if (postgres is null)
        {
            Assert.True(Environment.GetEnvironmentVariable("ACTORMTA_REQUIRE_PEERS") != "1", "PostgreSQL must be installed in CI (.ci/run installs postgresql)");
            output.WriteLine("skipped: no PostgreSQL server under /usr/lib/postgresql (apt-get install postgresql)");
            return;
        }
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

    private static async Task<long> CountAsync(TestPostgres postgres, string sql)
    {
        await using var connection = new Npgsql.NpgsqlConnection(postgres.ConnectionString);
        await connection.OpenAsync();
        await using var command = new Npgsql.NpgsqlCommand(sql, connection);
        return (long)(await command.ExecuteScalarAsync())!;
    }
}
