using System.Diagnostics;
using System.Globalization;
using ActorMta.Benchmarks.Support;

namespace ActorMta.Benchmarks.Inbound;

/// <summary>
/// End-to-end inbound throughput: smtp-source pushes N messages of 300 bytes over S parallel
/// sessions with connection reuse into ActorMta, then into Exim, each started fresh as its own
/// process. Both do the same work: fsync the spool before 250, then deliver to a maildir.
/// Two rates per row: accepted/s (until the last 250) and delivered/s (until the last maildir file).
/// </summary>
public static class InboundBenchmark
{
    public sealed record Options(int Messages, int Size, IReadOnlyList<int> Sessions, bool Exim, bool ActorMta)
    {
        /// <summary>Repetitions, each ActorMta then Exim, so both see the same machine; the table shows medians.</summary>
        public int Rounds { get; init; } = 1;

        /// <summary>Let Exim deliver after each row's load (its queue runners are slow: minutes per row).</summary>
        public bool EximDelivers { get; init; }

        /// <summary>Also run ActorMta with <c>queue.queue-only = on</c> (Exim's queue_only), the
        /// like-for-like comparison with Exim here; off with <c>--no-queue-only</c>.</summary>
        public bool ActorMtaQueueOnly { get; init; } = true;

        /// <summary>Also run Postfix's smtp-sink, which stores nothing: the ceiling any server has here (<c>--ceiling</c>).</summary>
        public bool Ceiling { get; init; }

        /// <summary>Exim under SCHED_BATCH, ActorMta's default policy (<c>--exim-batch</c>).</summary>
        public bool EximBatch { get; init; }

        /// <summary>Messages sent to each server before its rows are measured (<c>--warm-up</c>).</summary>
        public int WarmUp { get; init; } = 20_000;

        /// <summary>ActorMta configuration overrides (<c>--set path=value</c>), for experiments.</summary>
        public IReadOnlyList<string> Sets { get; init; } = [];

        /// <summary>Also count what ActorMta allocates per message (<c>--allocations</c>): costs it a
        /// few percent of CPU, so the rates of such a run are not the headline ones.</summary>
        public bool Allocations { get; init; }
    }

    private sealed record Row(int Sessions, double Accepted, double? Delivered, double CpuPerMessage, Allocations? Allocated = null);

    public static async Task<int> RunAsync(Options o)
    {
        await SmtpSource.EnsureAsync();
        Console.WriteLine($"inbound: {o.Messages} messages of {o.Size} bytes per row, sessions {string.Join("/", o.Sessions)}, "
            + $"connection reuse, {Environment.ProcessorCount} cores, {o.Rounds} round(s)");

        var actor = new List<Row>();
        var exim = new List<Row>();
        var queued = new List<Row>();
        var ceiling = new List<Row>();
        for (int round = 1; round <= o.Rounds; round++)
        {
            if (o.Rounds > 1) Console.WriteLine($"round {round} of {o.Rounds}, load average {LoadAverage()}");
            if (o.ActorMta) actor.AddRange(await MeasureAsync(o, async () => await ActorMtaServer.StartAsync([.. o.Sets])));
            if (o.ActorMta && o.ActorMtaQueueOnly)
                queued.AddRange(await MeasureAsync(o, async () => await ActorMtaServer.StartAsync([.. o.Sets, "actormta.queue.queue-only=on"])));
            if (o.Exim) exim.AddRange(await MeasureAsync(o, async () => await EximServer.StartAsync(o.EximDelivers, batch: o.EximBatch)));
            if (o.Ceiling) ceiling.AddRange(await MeasureAsync(o, async () => await SinkServer.StartAsync()));
        }

        Console.WriteLine();
        if (o.Rounds > 1) Console.WriteLine($"Medians of {o.Rounds} rounds, (min-max) beside each.");
        if (o.EximBatch) Console.WriteLine("Exim ran under SCHED_BATCH (--exim-batch).");
        Console.WriteLine("Accepted/s until the last 250; delivered/s until the last message is in the maildir; server CPU per message in microseconds.");
        Console.WriteLine("| sessions | ActorMta accepted/s | ActorMta queue-only accepted/s | Exim queue_only accepted/s | ratio | ratio queue-only | ActorMta delivered/s | Exim delivered/s | CPU/msg ActorMta | CPU/msg queue-only | CPU/msg Exim |");
        Console.WriteLine("|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|");
        foreach (var s in o.Sessions)
        {
            var aa = Median(actor, s, r => r.Accepted);
            var qa = Median(queued, s, r => r.Accepted);
            var ea = Median(exim, s, r => r.Accepted);
            Console.WriteLine($"| {s} | {Cell(actor, s, r => r.Accepted)} | {Cell(queued, s, r => r.Accepted)} | {Cell(exim, s, r => r.Accepted)} "
                + $"| {Ratio(aa, ea)} | {Ratio(qa, ea)} | {Cell(actor, s, r => r.Delivered)} | {Cell(exim, s, r => r.Delivered)} "
                + $"| {F(Median(actor, s, r => r.CpuPerMessage))} | {F(Median(queued, s, r => r.CpuPerMessage))} | {F(Median(exim, s, r => r.CpuPerMessage))} |");
        }
        if (o.Rounds > 1 && queued.Count > 0 && exim.Count > 0) PrintRoundRatios(o, queued, exim);
        if (o.Ceiling) PrintCeiling(o, queued, exim, ceiling);
        if (o.Allocations) PrintAllocations(o, actor, queued);
        return 0;
    }

    /// <summary>
    /// The queue-only ratio of each round on its own: rounds interleave the servers, so a round's
    /// ratio compares the two on the same minutes of the machine, and how many rounds reach a
    /// target says more than the median alone.
    /// </summary>
    private static void PrintRoundRatios(Options o, List<Row> queued, List<Row> exim)
    {
        Console.WriteLine();
        Console.WriteLine("Per round, ActorMta queue-only / Exim queue_only:");
        foreach (var s in o.Sessions)
        {
            var ratios = queued.Where(r => r.Sessions == s).Zip(exim.Where(r => r.Sessions == s), (q, e) => q.Accepted / e.Accepted).ToList();
            Console.WriteLine($"{s,3} sessions: {string.Join(", ", ratios.Select(r => r.ToString("F2", CultureInfo.InvariantCulture)))}");
        }
    }

    /// <summary>What ActorMta allocated per message, and its collections per 1,000 messages (<c>--allocations</c>).</summary>
    private static void PrintAllocations(Options o, List<Row> actor, List<Row> queued)
    {
        Console.WriteLine();
        Console.WriteLine($"Allocations: bytes the server allocated per message, and its collections per 1,000 messages (gen0/gen1/gen2), medians of {o.Rounds} round(s).");
        Console.WriteLine("| sessions | ActorMta bytes/msg | ActorMta collections | queue-only bytes/msg | queue-only collections |");
        Console.WriteLine("|---:|---:|---:|---:|---:|");
        foreach (var s in o.Sessions)
        {
            Console.WriteLine($"| {s} | {Cell(actor, s, r => r.Allocated?.BytesPer(o.Messages))} | {Collections(actor, s, o.Messages)} "
                + $"| {Cell(queued, s, r => r.Allocated?.BytesPer(o.Messages))} | {Collections(queued, s, o.Messages)} |");
        }
    }

    private static string Collections(List<Row> rows, int sessions, int messages)
    {
        string Per(Func<Allocations, int> generation) =>
            Median(rows, sessions, r => r.Allocated is { } a ? generation(a) * 1000.0 / messages : null) is { } v
                ? v.ToString("F1", CultureInfo.InvariantCulture) : "-";
        return $"{Per(a => a.Gen0)} / {Per(a => a.Gen1)} / {Per(a => a.Gen2)}";
    }

    /// <summary>Each server's rate as a share of smtp-sink's, which stores nothing: how much of what
    /// the machine and the client allow a server gets, and what a ratio to Exim can reach at most.</summary>
    private static void PrintCeiling(Options o, List<Row> queued, List<Row> exim, List<Row> ceiling)
    {
        Console.WriteLine();
        Console.WriteLine("Ceiling: Postfix's smtp-sink answers every command at once and stores nothing.");
        Console.WriteLine("| sessions | smtp-sink accepted/s | CPU/msg smtp-sink | ActorMta queue-only share | Exim share | smtp-sink / Exim (the largest ratio any server could show) |");
        Console.WriteLine("|---:|---:|---:|---:|---:|---:|");
        foreach (var s in o.Sessions)
        {
            var ca = Median(ceiling, s, r => r.Accepted);
            var qa = Median(queued, s, r => r.Accepted);
            var ea = Median(exim, s, r => r.Accepted);
            Console.WriteLine($"| {s} | {Cell(ceiling, s, r => r.Accepted)} | {F(Median(ceiling, s, r => r.CpuPerMessage))} "
                + $"| {Ratio(qa, ca)} | {Ratio(ea, ca)} | {Ratio(ca, ea)} |");
        }
    }

    private static async Task<List<Row>> MeasureAsync(Options o, Func<Task<IBenchServer>> start)
    {
        var rows = new List<Row>();
        await FileSystemCache.SettleAsync();
        await using var server = await start();
        Console.WriteLine($"{server.Name}: listening on {server.EndPoint}, pid {server.ProcessId}");

        // Warm-up, not measured: page cache, first maildir, and for ActorMta the JIT. .NET's tiered
        // compilation re-compiles hot methods with profile data, on a background thread that a
        // saturated machine starves: after 2,500 warm-up messages the JIT still took 14% of the
        // CPU in the 5-session row, after 20,000 still 7% (perf), after 60,000 1%. A server runs
        // for days, so steady state is what counts: the warm-up runs the three kinds of load the
        // rows measure (a tenth lock-step over 5 sessions, the rest over 50 and 100), the same for Exim.
        var warm = o.WarmUp;
        await SmtpSource.RunAsync(server.EndPoint, 5, warm / 10, o.Size);
        await SmtpSource.RunAsync(server.EndPoint, 50, warm * 4 / 10, o.Size);
        await SmtpSource.RunAsync(server.EndPoint, 100, warm / 2, o.Size);
        warm = warm / 10 + warm * 4 / 10 + warm / 2;
        if (server.Delivers)
        {
            server.LoadFinished();
            await WaitForDeliveriesAsync(server, warm);
        }

        foreach (var sessions in o.Sessions)
        {
            var before = server.DeliveredCount();
            // Only ActorMta is a .NET process to ask; the meter starts before the CPU count, so its
            // own start-up is not in the row.
            await using var meter = o.Allocations && server is ActorMtaServer ? await AllocationMeter.StartAsync(server.ProcessId) : null;
            var cpuBefore = ProcessCpu.Of(server.ProcessId);
            var sw = Stopwatch.StartNew();
            var accepted = await SmtpSource.RunAsync(server.EndPoint, sessions, o.Messages, o.Size);
            double? deliveredRate = null;
            string deliveredText = "not delivered during the run";
            if (server.Delivers)
            {
                server.LoadFinished();
                await WaitForDeliveriesAsync(server, before + o.Messages);
                var delivered = sw.Elapsed;
                deliveredRate = o.Messages / delivered.TotalSeconds;
                deliveredText = $"{deliveredRate:F0}/s ({delivered.TotalSeconds:F2} s)";
            }
            var cpu = ProcessCpu.Of(server.ProcessId) - cpuBefore;
            var allocated = meter is null ? null : await meter.StopAsync();
            var row = new Row(sessions, o.Messages / accepted.TotalSeconds, deliveredRate, cpu.MicrosecondsPer(o.Messages), allocated);
            rows.Add(row);
            Console.WriteLine($"{server.Name}: {sessions,3} sessions: accepted {row.Accepted:F0}/s ({accepted.TotalSeconds:F2} s), "
                + $"delivered {deliveredText}, server CPU {row.CpuPerMessage:F0} us and {(double)cpu.Switches / o.Messages:F1} context switches per message"
                + (allocated is null ? "" : $", {allocated.BytesPer(o.Messages):F0} bytes allocated per message, collections gen0 {allocated.Gen0}, gen1 {allocated.Gen1}, gen2 {allocated.Gen2}"));
        }
        return rows;
    }

    private static double? Median(List<Row> rows, int sessions, Func<Row, double?> value)
    {
        var v = rows.Where(r => r.Sessions == sessions).Select(value).OfType<double>().ToList();
        return v.Count == 0 ? null : Stats.Median(v);
    }

    /// <summary>A table cell: the median of the rounds and, with more than one, their (min-max).</summary>
    private static string Cell(List<Row> rows, int sessions, Func<Row, double?> value) =>
        F(Median(rows, sessions, value)) + Spread(rows, sessions, value);

    private static string Spread(List<Row> rows, int sessions, Func<Row, double?> value)
    {
        var v = rows.Where(r => r.Sessions == sessions).Select(value).OfType<double>().ToList();
        return v.Count < 2 ? "" : $" ({F(v.Min())}-{F(v.Max())})";
    }

    private static string LoadAverage()
    {
        try
        {
            return File.ReadAllText("/proc/loadavg").Split(' ')[0];
        }
        catch (IOException)
        {
            return "?";
        }
    }

    /// <summary>Waits until <paramref name="total"/> messages are in the server's maildir (at most <paramref name="timeout"/>, default 10 minutes).</summary>
    internal static async Task WaitForDeliveriesAsync(IBenchServer server, int total, TimeSpan? timeout = null)
    {
        var limit = timeout ?? TimeSpan.FromMinutes(10);
        var deadline = DateTime.UtcNow + limit;
        while (server.DeliveredCount() < total)
        {
            if (DateTime.UtcNow > deadline)
            {
                throw new TimeoutException($"{server.Name}: {server.DeliveredCount()} of {total} delivered after {limit}");
            }
            await Task.Delay(20);
        }
    }

    private static string F(double? v) => v is { } x ? x.ToString("F0", CultureInfo.InvariantCulture) : "-";

    private static string Ratio(double? a, double? b) =>
        a is { } x && b is { } y && y > 0 ? (x / y).ToString("F2", CultureInfo.InvariantCulture) : "-";
}
