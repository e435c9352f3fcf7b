using System.Globalization;

namespace ActorMta.Benchmarks.Outbound;

/// <summary>
/// Outbound throughput: the same queue (N messages of about 300 bytes to D destinations) delivered
/// by ActorMta and by Exim 4.96 to Postfix's smtp-sink on loopback, with connection reuse, in one
/// invocation. Each MTA first runs an untimed warm-up queue (JIT, page cache, hints databases),
/// then the timed one. Prints messages/s for both and the ratio.
/// </summary>
public static class OutboundBenchmark
{
    public sealed record Options(int Messages, int Destinations, int Size, int WarmUp, int EximRunners, bool ActorMta, bool Exim, int TimeoutMinutes, IReadOnlyList<string> Sets);

    public static async Task<int> RunAsync(Options o)
    {
        var queue = new BenchQueue(o.Messages, o.Destinations, o.Size);
        ActorMtaQueueRun.Timeout = EximQueueRun.Timeout = TimeSpan.FromMinutes(o.TimeoutMinutes);
        var warm = queue with { Messages = o.WarmUp };
        Console.WriteLine($"outbound: {o.Messages} messages of ~{o.Size} bytes to {o.Destinations} destinations (127.0.0.1-{o.Destinations} on one smtp-sink port), "
            + $"{Environment.ProcessorCount} cores, warm-up {o.WarmUp}, load average {LoadAverage()}");

        await using var sink = await SmtpSink.StartAsync(maxConnections: 4000);
        Console.WriteLine($"smtp-sink on port {sink.Port}");

        double? actorRate = null, eximRate = null;
        if (o.ActorMta)
        {
            await ActorMtaQueueRun.RunAsync(warm, sink.Port, o.Sets);
            var r = await ActorMtaQueueRun.RunAsync(queue, sink.Port, o.Sets);
            actorRate = Report("ActorMta", queue, r.Elapsed, r.Delivered, r.Connections, r.MainLog);
        }
        if (o.Exim)
        {
            await EximQueueRun.RunAsync(warm, sink.Port, o.EximRunners);
            var r = await EximQueueRun.RunAsync(queue, sink.Port, o.EximRunners);
            eximRate = Report($"Exim 4.96 ({o.EximRunners} x -qqf)", queue, r.Elapsed, r.Delivered, r.Connections, r.MainLog);
        }

        Console.WriteLine();
        Console.WriteLine("| messages | destinations | ActorMta msg/s | Exim msg/s | ratio |");
        Console.WriteLine("|---:|---:|---:|---:|---:|");
        Console.WriteLine($"| {o.Messages} | {o.Destinations} | {F(actorRate)} | {F(eximRate)} | "
            + $"{(actorRate is { } a && eximRate is { } e && e > 0 ? (a / e).ToString("F1", CultureInfo.InvariantCulture) : "-")} |");
        return 0;
    }

    private static double Report(string name, BenchQueue queue, TimeSpan elapsed, int delivered, int connections, string mainLog)
    {
        var rate = queue.Messages / elapsed.TotalSeconds;
        Console.WriteLine($"{name}: {queue.Messages} messages in {elapsed.TotalSeconds:F2} s = {rate:F0}/s (load average now {LoadAverage()}); "
            + $"main log: {delivered} => lines over {connections} connections ({(connections > 0 ? (double)delivered / connections : 0):F1} per connection); log copy {mainLog}");
        if (delivered != queue.Messages) Console.WriteLine($"{name}: WARNING: {delivered} deliveries logged for {queue.Messages} messages");
        return rate;
    }

    /// <summary>The 1, 5 and 15 minute load averages: the machine may be shared.</summary>
    private static string LoadAverage() =>
        File.Exists("/proc/loadavg") ? string.Join(" ", File.ReadAllText("/proc/loadavg").Split(' ').Take(3)) : "?";

    private static string F(double? v) => v is { } x ? x.ToString("F0", CultureInfo.InvariantCulture) : "-";
}
