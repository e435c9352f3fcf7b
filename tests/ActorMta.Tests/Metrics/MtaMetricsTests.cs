using System.Diagnostics;
using ActorMta.Metrics;

namespace ActorMta.Tests.Metrics;

/// <summary>
/// ActorMta's own instruments, scraped over HTTP from an endpoint over the real Meter. Labels unique to these
/// tests (listener names) keep the assertions exact even if engine tests record at the same time;
/// unlabelled counters are asserted by how much they moved.
/// </summary>
[Collection(MtaMeterCollection.Name)]
public sealed class MtaMetricsTests : IDisposable
{
    private readonly Scraper _scraper = new();
    private readonly string _listener = "metrics-test-" + Guid.NewGuid().ToString("N")[..8];

    public void Dispose() => _scraper.Dispose();

    private string Scrape() => _scraper.Scrape();

    [Fact]
    public void Connections_accepted_open_and_refused_per_listener()
    {
        MtaMetrics.ConnectionOpened(_listener);
        MtaMetrics.ConnectionOpened(_listener);
        MtaMetrics.ConnectionOpened(_listener);
        MtaMetrics.ConnectionClosed(_listener);
        MtaMetrics.ConnectionRefused(_listener, RefuseReason.ConnectionLimit);

        var s = Scrape();

        Assert.Equal(3, Scrapes.Value(s, $"actormta_connections_accepted_total{{listener=\"{_listener}\"}}"));
        Assert.Equal(2, Scrapes.Value(s, $"actormta_connections_open{{listener=\"{_listener}\"}}"));
        Assert.Equal(1, Scrapes.Value(s, $"actormta_connections_refused_total{{listener=\"{_listener}\",reason=\"connection_limit\"}}"));
        Assert.Contains("# TYPE actormta_connections_accepted_total counter", s);
        Assert.Contains("# TYPE actormta_connections_open gauge", s);
    }

    [Fact]
    public void Messages_received_count_bytes_and_sizes()
    {
        MtaMetrics.MessageReceived(_listener, 1000);
        MtaMetrics.MessageReceived(_listener, 5000);

        var s = Scrape();

        Assert.Equal(2, Scrapes.Value(s, $"actormta_messages_received_total{{listener=\"{_listener}\"}}"));
        Assert.Equal(6000, Scrapes.Value(s, $"actormta_received_bytes_total{{listener=\"{_listener}\"}}"));
        Assert.Contains("# TYPE actormta_message_size_bytes histogram", s);
        Assert.NotNull(Scrapes.Value(s, "actormta_message_size_bytes_bucket{le=\"1024\"}"));
        Assert.NotNull(Scrapes.Value(s, "actormta_message_size_bytes_bucket{le=\"+Inf\"}"));
    }

    [Fact]
    public void Delivery_outcomes_move_per_transport()
    {
        var before = Scrape();
        MtaMetrics.MessageDelivered(DeliveryKind.Smtp);
        MtaMetrics.MessageDelivered(DeliveryKind.Smtp);
        MtaMetrics.MessageDeferred(DeliveryKind.Smtp);
        MtaMetrics.MessageBounced(DeliveryKind.Local);
        var after = Scrape();

        Assert.True(Moved(before, after, "actormta_deliveries_succeeded_total{transport=\"smtp\"}") >= 2);
        Assert.True(Moved(before, after, "actormta_deliveries_deferred_total{transport=\"smtp\"}") >= 1);
        Assert.True(Moved(before, after, "actormta_deliveries_bounced_total{transport=\"local\"}") >= 1);
    }

    [Fact]
    public void Early_pipelining_and_tls_counters_move()
    {
        var before = Scrape();
        MtaMetrics.EarlyPipeRecordHit();
        MtaMetrics.EarlyPipeRecordMiss();
        MtaMetrics.EarlyPipeRecordInvalidated();
        MtaMetrics.EarlyFlightSent();
        MtaMetrics.EarlyFallback(EarlyFallbackReason.Banner);
        MtaMetrics.InboundEarlyPipelining(_listener);
        MtaMetrics.TlsHandshake(TlsSide.Outbound, succeeded: true, Stopwatch.GetTimestamp());
        MtaMetrics.TlsHandshake(TlsSide.Inbound, succeeded: false);
        var after = Scrape();

        Assert.True(Moved(before, after, "actormta_early_pipe_record_hits_total") >= 1);
        Assert.True(Moved(before, after, "actormta_early_pipe_record_misses_total") >= 1);
        Assert.True(Moved(before, after, "actormta_early_pipe_record_invalidations_total") >= 1);
        Assert.True(Moved(before, after, "actormta_early_flights_sent_total") >= 1);
        Assert.True(Moved(before, after, "actormta_early_fallbacks_total{reason=\"banner\"}") >= 1);
        Assert.Equal(1, Scrapes.Value(after, $"actormta_inbound_early_pipelining_total{{listener=\"{_listener}\"}}"));
        Assert.True(Moved(before, after, "actormta_tls_handshakes_total{result=\"ok\",side=\"outbound\"}") >= 1);
        Assert.True(Moved(before, after, "actormta_tls_handshakes_total{result=\"failed\",side=\"inbound\"}") >= 1);
        Assert.True(Moved(before, after, "actormta_tls_handshake_duration_seconds_count{side=\"outbound\"}") >= 1);
    }

    [Fact]
    public void The_processing_timer_counts_messages_and_fills_the_histogram_per_kind()
    {
        var kind = "Kind" + Guid.NewGuid().ToString("N")[..6];
        for (var i = 0; i < 3; i++)
        {
            using var _ = MtaMetrics.Processing(kind);
        }

        var s = Scrape();

        Assert.Equal(3, Scrapes.Value(s, $"actormta_actor_messages_processed_total{{kind=\"{kind}\"}}"));
        Assert.Equal(3, Scrapes.Value(s, $"actormta_actor_processing_duration_seconds_count{{kind=\"{kind}\"}}"));
        Assert.Equal(3, Scrapes.Value(s, $"actormta_actor_processing_duration_seconds_bucket{{kind=\"{kind}\",le=\"+Inf\"}}"));
        Assert.NotNull(Scrapes.Value(s, $"actormta_actor_processing_duration_seconds_bucket{{kind=\"{kind}\",le=\"1E-05\"}}"));
    }

    [Fact]
    public void Queue_size_and_oldest_age_come_from_the_last_report()
    {
        MtaMetrics.QueueChanged(12, DateTimeOffset.UtcNow.AddMinutes(-2));
        var s = Scrape();

        Assert.Equal(12, Scrapes.Value(s, "actormta_queue_messages"));
        var age = Scrapes.Value(s, "actormta_queue_oldest_message_age_seconds");
        Assert.InRange(age!.Value, 119, 200);

        MtaMetrics.QueueChanged(0, null);
        s = Scrape();
        Assert.Equal(0, Scrapes.Value(s, "actormta_queue_messages"));
        Assert.Equal(0, Scrapes.Value(s, "actormta_queue_oldest_message_age_seconds"));
    }

    [Fact]
    public void A_thousand_destinations_give_the_top_n_and_one_other_series_not_a_thousand()
    {
        var saved = MtaMetrics.TopDestinations;
        MtaMetrics.Destinations.Clear();
        try
        {
            MtaMetrics.TopDestinations = 3;
            for (var i = 0; i < 1000; i++)
                MtaMetrics.DestinationLeaseAcquired($"192.0.2.{i % 250}:{2500 + i}");
            // Three busy ones: 5, 4 and 3 connections.
            for (var extra = 0; extra < 4; extra++) MtaMetrics.DestinationLeaseAcquired("198.51.100.1:25");
            for (var extra = 0; extra < 3; extra++) MtaMetrics.DestinationLeaseAcquired("198.51.100.2:25");
            for (var extra = 0; extra < 2; extra++) MtaMetrics.DestinationLeaseAcquired("198.51.100.3:25");
            MtaMetrics.DestinationLeaseAcquired("198.51.100.1:25");
            MtaMetrics.DestinationLeaseAcquired("198.51.100.2:25");
            MtaMetrics.DestinationLeaseAcquired("198.51.100.3:25");

            var s = Scrape();

            Assert.Equal(
                [
                    "actormta_destination_connections{destination=\"198.51.100.1:25\"} 5",
                    "actormta_destination_connections{destination=\"198.51.100.2:25\"} 4",
                    "actormta_destination_connections{destination=\"198.51.100.3:25\"} 3",
                    "actormta_destination_connections{destination=\"other\"} 1000",
                ],
                Scrapes.Samples(s, "actormta_destination_connections"));
            Assert.Equal(1003, Scrapes.Value(s, "actormta_destinations_active"));

            // Released leases drop out; counts never go negative.
            for (var i = 0; i < 1000; i++)
                MtaMetrics.DestinationLeaseReleased($"192.0.2.{i % 250}:{2500 + i}");
            MtaMetrics.DestinationLeaseReleased("203.0.113.9:25");
            s = Scrape();
            Assert.Equal(3, Scrapes.Samples(s, "actormta_destination_connections").Length);
            Assert.Equal(0, MtaMetrics.Destinations.InUse("203.0.113.9:25"));
            Assert.Equal(3, Scrapes.Value(s, "actormta_destinations_active"));
        }
        finally
        {
            MtaMetrics.TopDestinations = saved;
            MtaMetrics.Destinations.Clear();
        }
    }

    [Fact]
    public void Build_info_carries_the_version()
    {
        Assert.Single(Scrapes.Samples(Scrape(), "actormta_build_info"), l => l.StartsWith("actormta_build_info{version=\"", StringComparison.Ordinal) && l.EndsWith("} 1", StringComparison.Ordinal));
    }

    [Fact]
    public void Recording_allocates_nothing_once_a_series_exists()
    {
        MtaMetrics.ConnectionOpened(_listener);
        MtaMetrics.ConnectionClosed(_listener);
        MtaMetrics.MessageReceived(_listener, 10);
        MtaMetrics.MessageDelivered(DeliveryKind.Smtp);
        MtaMetrics.EarlyFallback(EarlyFallbackReason.Ehlo);
        using (MtaMetrics.Processing("AllocationProbe")) { }

        var before = GC.GetAllocatedBytesForCurrentThread();
        for (var i = 0; i < 1000; i++)
        {
            MtaMetrics.ConnectionOpened(_listener);
            MtaMetrics.ConnectionClosed(_listener);
            MtaMetrics.MessageReceived(_listener, 10);
            MtaMetrics.MessageDelivered(DeliveryKind.Smtp);
            MtaMetrics.EarlyFallback(EarlyFallbackReason.Ehlo);
            using (MtaMetrics.Processing("AllocationProbe")) { }
        }
        var allocated = GC.GetAllocatedBytesForCurrentThread() - before;

        Assert.Equal(0, allocated);
    }

    private static double Moved(string before, string after, string series) =>
        (Scrapes.Value(after, series) ?? 0) - (Scrapes.Value(before, series) ?? 0);
}
