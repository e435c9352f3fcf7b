using ActorMta.Configuration;
using ActorMta.Tests.Support;

namespace ActorMta.Tests.Outbound;

/// <summary>
/// The destinations' store is a hints database: when it cannot be opened, remote delivery goes on
/// without it. Two real nodes; the relay's store is a SQLite file under a path that is a file.
/// </summary>
public sealed class UnavailableStoreTests
{
    [Fact]
    public async Task A_store_that_cannot_be_opened_delays_the_first_delivery_by_the_recovery_timeout_and_no_other()
    {
        await using var server = await TestMta.StartAsync();
        string blocked = Path.Combine(Path.GetTempPath(), "actormta-blocked-" + Guid.NewGuid().ToString("N")[..12]);
        File.WriteAllText(blocked, "a file where the store's directory should be");
        try
        {
            await using var relay = await TestMta.StartAsync(s => ActorMtaToActorMtaTests.RelayTo(s, server) with
            {
                Persistence = new PersistenceSettings($"Data Source={Path.Combine(blocked, "destinations.db")}", "SQLite.MS"),
                Destinations = s.Destinations with { StoreRetryInterval = TimeSpan.FromMinutes(10) },
            });

            using var metrics = new ActorMta.Tests.Metrics.Scraper();
            double Failures() => ActorMta.Tests.Metrics.Scrapes.Value(metrics.Scrape(), "actormta_destination_store_failures_total") ?? 0;
            double failuresBefore = Failures();

            // The destination's recovery waits for a store that never answers: 10 s (the plugin's
            // recovery-event-timeout), then a volatile destination takes its place and its lease request.
            var watch = System.Diagnostics.Stopwatch.StartNew();
            var first = await ActorMtaToActorMtaTests.SubmitAsync(relay, "first");
            await Operations.Operator.WaitForLogLineAsync(relay, TimeSpan.FromSeconds(40), $"{first} => user@test.example");
            var firstTook = watch.Elapsed;
            Assert.Contains(relay.MainLogLines(), l => l.Contains($"destination store {Path.Combine(blocked, "destinations.db")} cannot be prepared", StringComparison.Ordinal));

            // The store stays down: the next destination is volatile from the start, with no wait.
            watch.Restart();
            var second = await ActorMtaToActorMtaTests.SubmitAsync(relay, "second");
            await Operations.Operator.WaitForLogLineAsync(relay, TimeSpan.FromSeconds(40), $"{second} => user@test.example");

            Assert.True(firstTook >= TimeSpan.FromSeconds(8), $"the first delivery took {firstTook}: was the store down at all?");
            Assert.True(watch.Elapsed < TimeSpan.FromSeconds(5), $"the second delivery took {watch.Elapsed}");
            Assert.True(Failures() >= failuresBefore + 1, "the store's failure was not counted");
            var listed = await ActorMta.Tests.Operations.Operator.RunAsync(relay.Directory, ["destinations"]);
            Assert.Equal(0, listed.ExitCode);
            Assert.StartsWith($"127.0.0.1:{server.EndPoint.Port}  connections in use: ", listed.Stdout, StringComparison.Ordinal);
            Assert.Contains("  (in memory only: the store was unavailable)\n", listed.Stdout, StringComparison.Ordinal);
            var received = await server.WaitForMaildirAsync("user", 2);
            Assert.Contains(received, m => m.Contains("Subject: first", StringComparison.Ordinal));
            Assert.Contains(received, m => m.Contains("Subject: second", StringComparison.Ordinal));
        }
        finally
        {
            File.Delete(blocked);
        }
    }
}
