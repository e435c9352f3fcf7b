using System.Diagnostics;
using System.Globalization;

namespace ActorMta.Benchmarks.Inbound;

/// <summary>
/// End-to-end inbound throughput: smtp-source pushes N messages of 300 bytes over S parallel
/// sessions with connection reuse into ActorMta, then into Exim, each started fresh as its own
/// process. Both do the same work: fsync the spool before 250, then deliver to a maildir.
/// Two rates per row: accepted/s (until the last 250) and delivered/s (until the last maildir file).
/// </summary>
public static class InboundBenchmark
{
    public sealed record Options(int Messages, int Size, IReadOnlyList<int> Sessions, bool Exim, bool ActorMta);

    private sealed record Row(int Sessions, double Accepted, double Delivered);

    public static async Task<int> RunAsync(Options o)
    {
        await SmtpSource.EnsureAsync();
        Console.WriteLine($"inbound: {o.Messages} messages of {o.Size} bytes per row, sessions {string.Join("/", o.Sessions)}, "
            + $"connection reuse, {Environment.ProcessorCount} cores");

        var actor = o.ActorMta ? await MeasureAsync(o, async () => await ActorMtaServer.StartAsync()) : [];
        var exim = o.Exim ? await MeasureAsync(o, async () => await EximServer.StartAsync()) : [];

        Console.WriteLine();
        Console.WriteLine("| sessions | ActorMta accepted/s | Exim accepted/s | ratio | ActorMta delivered/s | Exim delivered/s | ratio |");
        Console.WriteLine("|---:|---:|---:|---:|---:|---:|---:|");
        foreach (var s in o.Sessions)
        {
            var a = actor.FirstOrDefault(r => r.Sessions == s);
            var e = exim.FirstOrDefault(r => r.Sessions == s);
            Console.WriteLine($"| {s} | {F(a?.Accepted)} | {F(e?.Accepted)} | {Ratio(a?.Accepted, e?.Accepted)} "
                + $"| {F(a?.Delivered)} | {F(e?.Delivered)} | {Ratio(a?.Delivered, e?.Delivered)} |");
        }
        return 0;
    }

    private static async Task<List<Row>> MeasureAsync(Options o, Func<Task<IBenchServer>> start)
    {
        var rows = new List<Row>();
        await using var server = await start();
        Console.WriteLine($"{server.Name}: listening on {server.EndPoint}, pid {server.ProcessId}");

        // Warm-up (JIT, page cache, first maildir), not measured.
        var warm = Math.Min(500, o.Messages);
        await SmtpSource.RunAsync(server.EndPoint, 5, warm, o.Size);
        await WaitForDeliveriesAsync(server, warm, TimeSpan.FromMinutes(2));

        foreach (var sessions in o.Sessions)
        {
            var before = server.DeliveredCount();
            var sw = Stopwatch.StartNew();
            var accepted = await SmtpSource.RunAsync(server.EndPoint, sessions, o.Messages, o.Size);
            await WaitForDeliveriesAsync(server, before + o.Messages, TimeSpan.FromMinutes(10));
            var delivered = sw.Elapsed;
            var row = new Row(sessions, o.Messages / accepted.TotalSeconds, o.Messages / delivered.TotalSeconds);
            rows.Add(row);
            Console.WriteLine($"{server.Name}: {sessions,3} sessions: accepted {row.Accepted:F0}/s ({accepted.TotalSeconds:F2} s), "
                + $"delivered {row.Delivered:F0}/s ({delivered.TotalSeconds:F2} s)");
        }
        return rows;
    }

    private static async Task WaitForDeliveriesAsync(IBenchServer server, int total, TimeSpan timeout)
    {
        var deadline = DateTime.UtcNow + timeout;
        while (server.DeliveredCount() < total)
        {
            if (DateTime.UtcNow > deadline)
            {
                throw new TimeoutException($"{server.Name}: {server.DeliveredCount()} of {total} delivered after {timeout}");
            }
            await Task.Delay(20);
        }
    }

    private static string F(double? v) => v is { } x ? x.ToString("F0", CultureInfo.InvariantCulture) : "-";

    private static string Ratio(double? a, double? b) =>
        a is { } x && b is { } y && y > 0 ? (x / y).ToString("F2", CultureInfo.InvariantCulture) : "-";
}
