using System.Diagnostics.Metrics;

namespace ActorMta.Tests.Metrics;

/// <summary>
/// What <c>/metrics</c> shows under ActorMta's exporter settings (OpenTelemetry's Prometheus
/// exporter: no scope labels, no target_info, no response cache, a series cap), over a Meter
/// private to each test so that tests recording into ActorMta's own Meter cannot disturb the lines.
/// </summary>
public sealed class ExpositionTests : IDisposable
{
    private readonly Meter _meter = new("ActorMta.Tests.Exposition." + Guid.NewGuid().ToString("N"));
    private readonly Scraper _scraper;

    public ExpositionTests() => _scraper = new Scraper(_meter.Name);

    public void Dispose()
    {
        _scraper.Dispose();
        _meter.Dispose();
    }

    private string[] Lines() => _scraper.Scrape().Split('\n', StringSplitOptions.RemoveEmptyEntries);

    [Fact]
    public void A_counter_is_written_with_type_help_and_a_total_suffix_per_label_set_and_nothing_else()
    {
        var c = _meter.CreateCounter<long>("t_connections_accepted", "{connection}", "Connections accepted, per listener.");
        c.Add(2, new KeyValuePair<string, object?>("listener", "smtp"));
        c.Add(1, new KeyValuePair<string, object?>("listener", "smtp"));
        c.Add(5, new KeyValuePair<string, object?>("listener", "submission"));

        Assert.Equal(
            [
                "# TYPE t_connections_accepted_total counter",
                "# HELP t_connections_accepted_total Connections accepted, per listener.",
                "t_connections_accepted_total{listener=\"smtp\"} 3",
                "t_connections_accepted_total{listener=\"submission\"} 5",
            ],
            Lines());
    }

    [Fact]
    public void Counters_move_between_scrapes_taken_at_once()
    {
        var c = _meter.CreateCounter<long>("t_messages_received", null, "Messages.");
        c.Add(1);
        Assert.Contains("t_messages_received_total{} 1", Lines());
        c.Add(41);
        Assert.Contains("t_messages_received_total{} 42", Lines());
    }

    [Fact]
    public void A_unit_already_in_the_name_is_not_added_twice()
    {
        _meter.CreateCounter<long>("t_received_bytes", "By", "Bytes.").Add(300);
        _meter.CreateObservableGauge("t_oldest_age_seconds", () => 1.5, "s", "Age.");

        var lines = Lines();
        Assert.Contains("t_received_bytes_total{} 300", lines);
        Assert.Contains("t_oldest_age_seconds{} 1.5", lines);
    }

    [Fact]
    public void An_up_down_counter_is_a_gauge_that_goes_down()
    {
        var g = _meter.CreateUpDownCounter<long>("t_connections_open", null, "Open.");
        g.Add(3, new KeyValuePair<string, object?>("listener", "smtp"));
        g.Add(-2, new KeyValuePair<string, object?>("listener", "smtp"));

        Assert.Equal(["# TYPE t_connections_open gauge", "# HELP t_connections_open Open.", "t_connections_open{listener=\"smtp\"} 1"], Lines());
    }

    [Fact]
    public void A_histogram_has_cumulative_buckets_from_its_advice_then_inf_sum_and_count()
    {
        var h = _meter.CreateHistogram<double>("t_processing_duration_seconds", "s", "Processing.",
            tags: null, advice: new InstrumentAdvice<double> { HistogramBucketBoundaries = [0.001, 0.01, 0.1] });
        var tag = new KeyValuePair<string, object?>("kind", "QueueManager");
        h.Record(0.0005, tag);
        h.Record(0.001, tag);   // on a bound: counted in that bucket (le is "less or equal")
        h.Record(0.05, tag);
        h.Record(3, tag);

        Assert.Equal(
            [
                "# TYPE t_processing_duration_seconds histogram",
                "# HELP t_processing_duration_seconds Processing.",
                "t_processing_duration_seconds_bucket{kind=\"QueueManager\",le=\"0.001\"} 2",
                "t_processing_duration_seconds_bucket{kind=\"QueueManager\",le=\"0.01\"} 2",
                "t_processing_duration_seconds_bucket{kind=\"QueueManager\",le=\"0.1\"} 3",
                "t_processing_duration_seconds_bucket{kind=\"QueueManager\",le=\"+Inf\"} 4",
                "t_processing_duration_seconds_sum{kind=\"QueueManager\"} 3.0515",
                "t_processing_duration_seconds_count{kind=\"QueueManager\"} 4",
            ],
            Lines());
    }

    [Fact]
    public void An_observable_gauge_shows_only_what_its_callback_reports_at_this_scrape()
    {
        var report = new List<Measurement<long>> { new(7, new KeyValuePair<string, object?>("kind", "a")) };
        _meter.CreateObservableGauge("t_depth", () => report.ToArray(), null, "Depth.");

        Assert.Contains("t_depth{kind=\"a\"} 7", Lines());
        report[0] = new Measurement<long>(1, new KeyValuePair<string, object?>("kind", "b"));
        var second = Lines();
        Assert.Contains("t_depth{kind=\"b\"} 1", second);
        Assert.DoesNotContain(second, l => l.StartsWith("t_depth{kind=\"a\"}", StringComparison.Ordinal));
        report.Clear();
        Assert.DoesNotContain(Lines(), l => l.StartsWith("t_depth{", StringComparison.Ordinal));
    }

    [Fact]
    public void Instruments_of_other_meters_are_not_exported()
    {
        using var other = new Meter("ActorMta.Tests.Exposition.Other." + Guid.NewGuid().ToString("N"));
        other.CreateCounter<long>("t_other").Add(1);

        Assert.DoesNotContain(Lines(), l => l.Contains("t_other", StringComparison.Ordinal));
    }

    [Fact]
    public void Series_beyond_the_cap_collapse_into_one_overflow_series()
    {
        using var meter = new Meter("ActorMta.Tests.Exposition.Cap." + Guid.NewGuid().ToString("N"));
        using var scraper = new Scraper(meter.Name, maxSeriesPerInstrument: 5);
        var c = meter.CreateCounter<long>("t_by_domain", null, "A label that should never have been a domain.");
        for (var i = 0; i < 1000; i++)
            c.Add(1, new KeyValuePair<string, object?>("domain", $"d{i}.example"));

        var samples = Scrapes.Samples(scraper.Scrape(), "t_by_domain_total");

        Assert.Equal(6, samples.Length);
        Assert.Contains("t_by_domain_total{otel_metric_overflow=\"true\"} 995", samples);
    }
}
