using System.Diagnostics;
using System.Globalization;
using ActorMta.Benchmarks.Support;

namespace ActorMta.Benchmarks.Inbound;

/// <summary>
/// What metrics cost: the inbound load (smtp-source, 300-byte messages, connection reuse) into
/// ActorMta with <c>actormta.metrics.enabled</c> off and on, alternating (off, on, on, off, off,
/// on, ...) so both see the same machine, with the endpoint scraped every second while it is on
/// (a busy Prometheus scrapes every 15 s). Prints accepted/s, delivered/s and the server's CPU per
/// message per run, the medians, and the cost as 1 - on/off (for CPU: on/off - 1). Throughput
/// varies by 20-30 % between runs on this machine; CPU per message varies less, so it is the
/// figure that can show a cost of a few percent.
/// </summary>
public static class MetricsCostBenchmark
{
    public sealed record Options(int Messages, int Size, int Sessions, int Rounds)
    {
        /// <summary>Messages sent before measuring, a fifth over 5 sessions and the rest over 50 (<c>--warm-up</c>).</summary>
        public int WarmUp { get; init; } = 2500;
    }

    private sealed record Run(bool Metrics, double Accepted, double Delivered, int Scrapes, double CpuPerMessage);

    public static async Task<int> RunAsync(Options o)
    {
        await SmtpSource.EnsureAsync();
        Console.WriteLine($"inbound-metrics: {o.Messages} messages of {o.Size} bytes, {o.Sessions} sessions, connection reuse, "
            + $"{Environment.ProcessorCount} cores, {o.Rounds} round(s) of metrics off and on");
        var runs = new List<Run>();
        for (int round = 0; round < o.Rounds; round++)
        {
            // Alternate which goes first, so a drift of the machine's load favours neither.
            bool[] order = round % 2 == 0 ? [false, true] : [true, false];
            foreach (bool metrics in order)
            {
                var run = await MeasureAsync(o, metrics);
                runs.Add(run);
                Console.WriteLine($"round {round + 1}, metrics {(metrics ? "on " : "off")}: accepted {run.Accepted:F0}/s, delivered {run.Delivered:F0}/s, CPU {run.CpuPerMessage:F0} us/message"
                    + (metrics ? $", {run.Scrapes} scrapes" : "") + $" (load average {LoadAverage()})");
            }
        }

        double Median(bool metrics, Func<Run, double> value) => Stats.Median(runs.Where(r => r.Metrics == metrics).Select(value));
        double offAccepted = Median(false, r => r.Accepted), onAccepted = Median(true, r => r.Accepted);
        double offDelivered = Median(false, r => r.Delivered), onDelivered = Median(true, r => r.Delivered);
        double offCpu = Median(false, r => r.CpuPerMessage), onCpu = Median(true, r => r.CpuPerMessage);
        Console.WriteLine();
        Console.WriteLine($"Medians of {o.Rounds} run(s) each.");
        Console.WriteLine("| metrics | accepted/s | delivered/s | server CPU us/message |");
        Console.WriteLine("|---|---:|---:|---:|");
        Console.WriteLine($"| off | {F(offAccepted)} | {F(offDelivered)} | {F(offCpu)} |");
        Console.WriteLine($"| on | {F(onAccepted)} | {F(onDelivered)} | {F(onCpu)} |");
        Console.WriteLine($"| cost | {Cost(offAccepted, onAccepted)} | {Cost(offDelivered, onDelivered)} | {(onCpu / offCpu - 1).ToString("P1", CultureInfo.InvariantCulture)} |");
        return 0;
    }

    private static async Task<Run> MeasureAsync(Options o, bool metrics)
    {
        int metricsPort = SmtpProbe.FreeLoopbackPort();
        string[] sets = metrics
            ? ["actormta.metrics.enabled=on", $"actormta.metrics.address=\"127.0.0.1:{metricsPort}\""]
            : ["actormta.metrics.enabled=off"];
        await FileSystemCache.SettleAsync();
        await using var server = await ActorMtaServer.StartAsync(sets);

        // Warm-up, not measured (page cache, first maildir, the JIT's re-compilations): as in the
        // inbound benchmark, a lock-step and a concurrent load.
        int lockStep = o.WarmUp / 5;
        await SmtpSource.RunAsync(server.EndPoint, 5, lockStep, o.Size);
        await SmtpSource.RunAsync(server.EndPoint, 50, o.WarmUp - lockStep, o.Size);
        int warm = o.WarmUp;
        await InboundBenchmark.WaitForDeliveriesAsync(server, warm);

        using var stopScraping = new CancellationTokenSource();
        var scraping = metrics ? ScrapeAsync(metricsPort, stopScraping.Token) : Task.FromResult(0);
        int before = server.DeliveredCount();
        var cpuBefore = ProcessCpu.Of(server.ProcessId);
        var sw = Stopwatch.StartNew();
        var accepted = await SmtpSource.RunAsync(server.EndPoint, o.Sessions, o.Messages, o.Size);
        await InboundBenchmark.WaitForDeliveriesAsync(server, before + o.Messages);
        var delivered = sw.Elapsed;
        var cpu = ProcessCpu.Of(server.ProcessId) - cpuBefore;
        await stopScraping.CancelAsync();
        int scrapes = await scraping;
        return new Run(metrics, o.Messages / accepted.TotalSeconds, o.Messages / delivered.TotalSeconds, scrapes,
            cpu.MicrosecondsPer(o.Messages));
    }

    /// <summary>GETs /metrics every second until stopped; the number of scrapes that saw the MTA's counters.</summary>
    internal static async Task<int> ScrapeAsync(int port, CancellationToken stop)
    {
        using var http = new HttpClient();
        int count = 0;
        while (!stop.IsCancellationRequested)
        {
            try
            {
                string text = await http.GetStringAsync($"http://127.0.0.1:{port}/metrics", stop);
                if (text.Contains("actormta_messages_received_total", StringComparison.Ordinal)) count++;
                await Task.Delay(1000, stop);
            }
            catch (OperationCanceledException)
            {
                break;
            }
        }
        return count;
    }

    private static string LoadAverage()
    {
        try { return File.ReadAllText("/proc/loadavg").Split(' ')[0]; }
        catch (IOException) { return "?"; }
    }

    private static string F(double v) => v.ToString("F0", CultureInfo.InvariantCulture);

    private static string Cost(double off, double on) => (1 - on / off).ToString("P1", CultureInfo.InvariantCulture);
}
