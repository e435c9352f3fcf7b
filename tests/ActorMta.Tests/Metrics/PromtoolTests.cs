using System.Diagnostics;
using System.Net;
using ActorMta.Metrics;

namespace ActorMta.Tests.Metrics;

/// <summary>
/// A fact that needs <c>promtool</c> (Debian's <c>prometheus</c> package). Skipped with the reason
/// when it is missing, unless <c>ACTORMTA_REQUIRE_PEERS</c> is set: then the test runs and fails.
/// </summary>
[AttributeUsage(AttributeTargets.Method)]
public sealed class PromtoolFactAttribute : FactAttribute
{
    public PromtoolFactAttribute()
    {
        if (Promtool.Path is null && !Promtool.Required)
            Skip = "promtool is not installed (apt-get install -y --no-install-recommends prometheus; .ci/run does it)";
    }
}

internal static class Promtool
{
    public static bool Required =>
        Environment.GetEnvironmentVariable("ACTORMTA_REQUIRE_PEERS") is { Length: > 0 } v && v != "0";

    public static string? Path { get; } =
        new[] { "/usr/bin/promtool", "/usr/local/bin/promtool" }
            .Concat((Environment.GetEnvironmentVariable("PATH") ?? "").Split(':', StringSplitOptions.RemoveEmptyEntries)
                .Select(d => System.IO.Path.Combine(d, "promtool")))
            .FirstOrDefault(File.Exists);

    /// <summary>Pipes <paramref name="exposition"/> into <c>promtool check metrics</c>: exit code and all output.</summary>
    public static async Task<(int ExitCode, string Output)> CheckMetricsAsync(string exposition)
    {
        var path = Path ?? throw new InvalidOperationException(
            "promtool is not installed (apt-get install -y --no-install-recommends prometheus); ACTORMTA_REQUIRE_PEERS is set, so this fails");
        var start = new ProcessStartInfo(path, ["check", "metrics"])
        {
            RedirectStandardInput = true,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
        };
        using var process = Process.Start(start)!;
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        await process.StandardInput.WriteAsync(exposition);
        process.StandardInput.Close();
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(30));
        await process.WaitForExitAsync(timeout.Token);
        return (process.ExitCode, (await stdout) + (await stderr));
    }
}

[Collection(MtaMeterCollection.Name)]
public sealed class PromtoolTests
{
    [PromtoolFact]
    public async Task The_metrics_endpoint_output_passes_promtool_check_metrics_with_every_instrument_recorded()
    {
        using var endpoint = MetricsEndpoint.Start(new IPEndPoint(IPAddress.Loopback, 0), []);
        // One value in every instrument, so every family (and its labels) is checked.
        MtaMetrics.ConnectionOpened("promtool");
        MtaMetrics.ConnectionClosed("promtool");
        MtaMetrics.ConnectionRefused("promtool", RefuseReason.PerHostLimit);
        MtaMetrics.MessageReceived("promtool", 2048);
        MtaMetrics.MessageDelivered(DeliveryKind.Smtp);
        MtaMetrics.MessageDeferred(DeliveryKind.Smtp);
        MtaMetrics.MessageBounced(DeliveryKind.Local);
        MtaMetrics.QueueChanged(3, DateTimeOffset.UtcNow.AddSeconds(-30));
        MtaMetrics.DestinationLeaseAcquired("192.0.2.10:25");
        MtaMetrics.DestinationStoreFailed();
        MtaMetrics.EarlyPipeRecordHit();
        MtaMetrics.EarlyPipeRecordMiss();
        MtaMetrics.EarlyPipeRecordInvalidated();
        MtaMetrics.EarlyFlightSent();
        MtaMetrics.EarlyFallback(EarlyFallbackReason.ConnectionLost);
        MtaMetrics.InboundEarlyPipelining("promtool");
        MtaMetrics.TlsHandshake(TlsSide.Inbound, true, Stopwatch.GetTimestamp());
        using (MtaMetrics.Processing("PromtoolProbe")) { }
        try
        {
            using var http = new HttpClient { Timeout = TimeSpan.FromSeconds(10) };
            var exposition = await http.GetStringAsync(new Uri(endpoint.BaseAddress, "metrics"));

            var (exitCode, output) = await Promtool.CheckMetricsAsync(exposition);

            Assert.True(exitCode == 0, $"promtool check metrics exited {exitCode}:\n{output}\n--- exposition ---\n{exposition}");
            Assert.True(output.Trim().Length == 0, $"promtool check metrics complained:\n{output}");
            foreach (var family in new[]
                     {
                         "actormta_connections_accepted_total", "actormta_connections_refused_total", "actormta_messages_received_total",
                         "actormta_deliveries_succeeded_total", "actormta_queue_messages", "actormta_destination_connections",
                         "actormta_early_flights_sent_total", "actormta_tls_handshake_duration_seconds", "actormta_actor_processing_duration_seconds",
                         "actormta_build_info", "actormta_destination_store_failures_total",
                     })
                Assert.Contains($"# TYPE {family} ", exposition);
        }
        finally
        {
            MtaMetrics.DestinationLeaseReleased("192.0.2.10:25");
        }
    }
}
