using System.Diagnostics.Metrics;
using ActorMta.Metrics;

namespace ActorMta.Tests.Metrics;

/// <summary>
/// The text format, exactly, over a Meter private to each test (so tests running in parallel
/// that record into ActorMta's own Meter cannot disturb the lines asserted here).
/// </summary>
public sealed class ExpositionTests : IDisposable
{
    private readonly Meter _meter = new("ActorMta.Tests.Exposition." + Guid.NewGuid().ToString("N"));
    private readonly MetricsCollector _collector;

    public ExpositionTests()
    {
        _collector = new MetricsCollector(m => ReferenceEquals(m, _meter));
    }

    public void Dispose()
    {
        _collector.Dispose();
        _meter.Dispose();
    }

    private string[] Lines() => _collector.Scrape().Split('\n', StringSplitOptions.RemoveEmptyEntries);

    [Fact]
    public void A_counter_is_written_with_help_type_and_a_total_suffix_per_label_set()
    {
        var c = _meter.CreateCounter<long>("t_connections_accepted", "{connection}", "Connections accepted, per listener.");
        c.Add(2, new KeyValuePair<string, object?>("listener", "smtp"));
        c.Add(1, new KeyValuePair<string, object?>("listener", "smtp"));
        c.Add(5, new KeyValuePair<string, object?>("listener", "submission"));

        Assert.Equal(
            [
                "# HELP t_connections_accepted_total Connections accepted, per listener.",
                "# TYPE t_connections_accepted_total counter",
                "t_connections_accepted_total{listener=\"smtp\"} 3",
                "t_connections_accepted_total{listener=\"submission\"} 5",
            ],
            Lines());
    }

    [Fact]
    public void Counters_move_between_scrapes()
    {
        var c = _meter.CreateCounter<long>("t_messages_received", null, "Messages.");
        c.Add(1);
        Assert.Contains("t_messages_received_total 1", Lines());
        c.Add(41);
        Assert.Contains("t_messages_received_total 42", Lines());
    }

    [Fact]
    public void An_up_down_counter_is_a_gauge_that_goes_down()
    {
        var g = _meter.CreateUpDownCounter<long>("t_connections_open", null, "Open.");
        g.Add(3, new KeyValuePair<string, object?>("listener", "smtp"));
        g.Add(-2, new KeyValuePair<string, object?>("listener", "smtp"));

        Assert.Equal(["# HELP t_connections_open Open.", "# TYPE t_connections_open gauge", "t_connections_open{listener=\"smtp\"} 1"], Lines());
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
                "# HELP t_processing_duration_seconds Processing.",
                "# TYPE t_processing_duration_seconds histogram",
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
    public void An_unlabelled_histogram_puts_only_le_in_braces()
    {
        var h = _meter.CreateHistogram<long>("t_size_bytes", "By", "Sizes.",
            tags: null, advice: new InstrumentAdvice<long> { HistogramBucketBoundaries = [1024] });
        h.Record(10);

        Assert.Equal(
            [
                "# HELP t_size_bytes Sizes.",
                "# TYPE t_size_bytes histogram",
                "t_size_bytes_bucket{le=\"1024\"} 1",
                "t_size_bytes_bucket{le=\"+Inf\"} 1",
                "t_size_bytes_sum 10",
                "t_size_bytes_count 1",
            ],
            Lines());
    }

    [Fact]
    public void Labels_are_sorted_by_name_and_values_escaped()
    {
        var c = _meter.CreateCounter<long>("t_escapes", null, "Back\\slash and\nnewline.");
        c.Add(1, new KeyValuePair<string, object?>("z", "a\"b"), new KeyValuePair<string, object?>("a", "c\\d\ne"));

        Assert.Equal(
            [
                "# HELP t_escapes_total Back\\\\slash and\\nnewline.",
                "# TYPE t_escapes_total counter",
                "t_escapes_total{a=\"c\\\\d\\ne\",z=\"a\\\"b\"} 1",
            ],
            Lines());
    }

    [Fact]
    public void The_same_labels_in_another_order_are_the_same_series()
    {
        var c = _meter.CreateCounter<long>("t_order", null, "Order.");
        c.Add(1, new KeyValuePair<string, object?>("a", "1"), new KeyValuePair<string, object?>("b", "2"));
        c.Add(1, new KeyValuePair<string, object?>("b", "2"), new KeyValuePair<string, object?>("a", "1"));

        Assert.Contains("t_order_total{a=\"1\",b=\"2\"} 2", Lines());
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
        Assert.Empty(Lines());
    }

    [Fact]
    public void Families_are_sorted_by_name_and_names_are_sanitised()
    {
        _meter.CreateCounter<long>("t.b-metric", null, "B.").Add(1);
        _meter.CreateUpDownCounter<long>("t_a", null, "A.").Add(1);

        Assert.Equal(["# HELP t_a A.", "# TYPE t_a gauge", "t_a 1", "# HELP t_b_metric_total B.", "# TYPE t_b_metric_total counter", "t_b_metric_total 1"], Lines());
    }

    [Fact]
    public void Instruments_of_other_meters_are_not_exported()
    {
        using var other = new Meter("ActorMta.Tests.Exposition.Other." + Guid.NewGuid().ToString("N"));
        other.CreateCounter<long>("t_other").Add(1);

        Assert.Empty(Lines());
    }

    [Fact]
    public void Series_beyond_the_cap_collapse_into_one_overflow_series()
    {
        using var meter = new Meter("ActorMta.Tests.Exposition.Cap." + Guid.NewGuid().ToString("N"));
        using var collector = new MetricsCollector(m => ReferenceEquals(m, meter), maxSeriesPerInstrument: 5);
        var c = meter.CreateCounter<long>("t_by_domain", null, "A label that should never have been a domain.");
        for (var i = 0; i < 1000; i++)
            c.Add(1, new KeyValuePair<string, object?>("domain", $"d{i}.example"));

        var samples = collector.Scrape().Split('\n', StringSplitOptions.RemoveEmptyEntries).Where(l => !l.StartsWith('#')).ToArray();

        Assert.Equal(6, samples.Length);
        Assert.Equal("t_by_domain_total{overflow=\"true\"} 995", samples[^1]);
    }
}
