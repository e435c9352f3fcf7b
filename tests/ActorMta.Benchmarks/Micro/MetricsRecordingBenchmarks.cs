using System.Net;
using ActorMta.Metrics;
using BenchmarkDotNet.Attributes;

namespace ActorMta.Benchmarks.Micro;

/// <summary>
/// What the instruments cost per message: the recordings ActorMta makes for one message received
/// over SMTP and delivered to a maildir, with OpenTelemetry's exporter listening (metrics on, as
/// <c>actormta.metrics.enabled = on</c> starts it) against the same calls with no listener
/// (metrics off: each call is an Enabled check). The end-to-end figure (<c>inbound-metrics</c>)
/// varies more between runs than the effect; this one, set against the server's CPU per message
/// measured by <c>inbound</c>, bounds it.
/// </summary>
/// <remarks>
/// One message's recordings, counted from <c>/metrics</c> after 3,000 messages of smtp-source
/// (50 sessions, connection reuse, local delivery): 15,100 InboundSession and 6,000 QueueManager
/// actor messages, so 5 + 2 actor messages timed per message (the per-kind processing counter
/// and histogram), one received message with its size, one delivery, two queue-size updates.
/// </remarks>
[MemoryDiagnoser]
public class MetricsRecordingBenchmarks
{
    private static readonly string[] ActorMessages =
        ["InboundSession", "InboundSession", "InboundSession", "InboundSession", "InboundSession", "QueueManager", "QueueManager"];

    private MetricsEndpoint? _endpoint;

    [GlobalSetup(Target = nameof(ExporterListening))]
    public void StartExporter() => _endpoint = MetricsEndpoint.Start(new IPEndPoint(IPAddress.Loopback, 0), []);

    [GlobalCleanup(Target = nameof(ExporterListening))]
    public void StopExporter() => _endpoint?.Dispose();

    [Benchmark(Baseline = true)]
    public void MetricsOff() => OneMessage();

    [Benchmark]
    public void ExporterListening() => OneMessage();

    private static void OneMessage()
    {
        foreach (var kind in ActorMessages)
        {
            using var timing = MtaMetrics.Processing(kind);
        }
        MtaMetrics.MessageReceived("smtp-127.0.0.1:2525", 300);
        MtaMetrics.QueueChanged(1, DateTimeOffset.UtcNow);
        MtaMetrics.MessageDelivered(DeliveryKind.Local);
        MtaMetrics.QueueChanged(0, null);
    }
}
