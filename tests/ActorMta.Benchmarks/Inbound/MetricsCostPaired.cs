using System.Diagnostics;
using System.Globalization;
using ActorMta.Benchmarks.Support;

namespace ActorMta.Benchmarks.Inbound;

/// <summary>
/// The metrics cost as a paired measurement (<c>inbound-metrics --paired</c>): two ActorMta
/// processes, metrics off and metrics on (scraped every second), receive the same load AT THE SAME
/// TIME, each from its own smtp-source processes. Whatever else the machine does in a round hits
/// both alike, so the ratio on/off of one round is far steadier than comparing runs made one after
/// the other (which differ by 15-30 % here). The two compete for the two cores: a server that
/// spends more CPU per message gets through fewer messages in the same time, so a cost shows as a
/// ratio below 1. Both servers live through all rounds (warmed up once, JIT settled).
/// </summary>
public static class MetricsCostPaired
{
    private sealed record Side(double Accepted, double Delivered, double CpuPerMessage);

    public static async Task<int> RunAsync(MetricsCostBenchmark.Options o)
    {
        await SmtpSource.EnsureAsync();
        Console.WriteLine($"inbound-metrics --paired: {o.Messages} messages of {o.Size} bytes into each server per round, {o.Sessions} sessions each, "
            + $"connection reuse, {Environment.ProcessorCount} cores, {o.Rounds} round(s); warm-up {o.WarmUp} messages each");
        int metricsPort = SmtpProbe.FreeLoopbackPort();
        await FileSystemCache.SettleAsync();
        await using var off = await ActorMtaServer.StartAsync("actormta.metrics.enabled=off");
        await using var on = await ActorMtaServer.StartAsync("actormta.metrics.enabled=on", $"actormta.metrics.address=\"127.0.0.1:{metricsPort}\"");

        int lockStep = o.WarmUp / 5;
        await Task.WhenAll(WarmAsync(off), WarmAsync(on));
        async Task WarmAsync(ActorMtaServer server)
        {
            await SmtpSource.RunAsync(server.EndPoint, 5, lockStep, o.Size, maxProcesses: 5);
            await SmtpSource.RunAsync(server.EndPoint, o.Sessions, o.WarmUp - lockStep, o.Size, maxProcesses: 5);
            await InboundBenchmark.WaitForDeliveriesAsync(server, o.WarmUp);
        }

        using var stopScraping = new CancellationTokenSource();
        var scraping = MetricsCostBenchmark.ScrapeAsync(metricsPort, stopScraping.Token);
        var ratios = new List<(double Accepted, double Delivered, double Cpu)>();
        for (int round = 1; round <= o.Rounds; round++)
        {
            var sides = await Task.WhenAll(MeasureAsync(off), MeasureAsync(on));
            var (a, b) = (sides[0], sides[1]);
            ratios.Add((b.Accepted / a.Accepted, b.Delivered / a.Delivered, b.CpuPerMessage / a.CpuPerMessage));
            Console.WriteLine($"round {round}: off accepted {a.Accepted:F0}/s delivered {a.Delivered:F0}/s CPU {a.CpuPerMessage:F0} us/message; "
                + $"on accepted {b.Accepted:F0}/s delivered {b.Delivered:F0}/s CPU {b.CpuPerMessage:F0} us/message; "
                + $"on/off accepted {b.Accepted / a.Accepted:F3} delivered {b.Delivered / a.Delivered:F3} CPU {b.CpuPerMessage / a.CpuPerMessage:F3}");
        }
        await stopScraping.CancelAsync();
        int scrapes = await scraping;

        Console.WriteLine();
        Console.WriteLine($"Medians of {o.Rounds} paired round(s); the metrics-on server was scraped {scrapes} times.");
        Console.WriteLine("| on/off | accepted/s | delivered/s | CPU per message |");
        Console.WriteLine("|---|---:|---:|---:|");
        Console.WriteLine($"| ratio | {F3(Stats.Median(ratios.Select(r => r.Accepted)))} | {F3(Stats.Median(ratios.Select(r => r.Delivered)))} | {F3(Stats.Median(ratios.Select(r => r.Cpu)))} |");
        Console.WriteLine($"| range | {Range(ratios.Select(r => r.Accepted))} | {Range(ratios.Select(r => r.Delivered))} | {Range(ratios.Select(r => r.Cpu))} |");
        Console.WriteLine($"| cost | {Pct(1 - Stats.Median(ratios.Select(r => r.Accepted)))} | {Pct(1 - Stats.Median(ratios.Select(r => r.Delivered)))} | {Pct(Stats.Median(ratios.Select(r => r.Cpu)) - 1)} |");
        return 0;

        async Task<Side> MeasureAsync(ActorMtaServer server)
        {
            int before = server.DeliveredCount();
            var cpuBefore = ProcessCpu.Of(server.ProcessId);
            var sw = Stopwatch.StartNew();
            var accepted = await SmtpSource.RunAsync(server.EndPoint, o.Sessions, o.Messages, o.Size, maxProcesses: 5);
            await InboundBenchmark.WaitForDeliveriesAsync(server, before + o.Messages);
            var delivered = sw.Elapsed;
            var cpu = ProcessCpu.Of(server.ProcessId) - cpuBefore;
            return new Side(o.Messages / accepted.TotalSeconds, o.Messages / delivered.TotalSeconds, cpu.MicrosecondsPer(o.Messages));
        }
    }

    private static string F3(double v) => v.ToString("F3", CultureInfo.InvariantCulture);

    private static string Pct(double v) => v.ToString("P1", CultureInfo.InvariantCulture);

    private static string Range(IEnumerable<double> values)
    {
        var v = values.ToList();
        return $"{F3(v.Min())}-{F3(v.Max())}";
    }
}
