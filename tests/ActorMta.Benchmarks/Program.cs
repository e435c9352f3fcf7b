// ActorMta benchmarks. Not part of `dotnet test`. Run from the repository root, in Release:
//
//   dotnet run -c Release --project tests/ActorMta.Benchmarks -- inbound
//       End to end: Postfix's smtp-source (unpacked from Debian's postfix package into
//       ~/.cache/actormta-bench; postfix itself conflicts with exim4) sends 300-byte messages
//       with connection reuse over 5, 50 and 100 parallel sessions into ActorMta, then into
//       Exim 4.96; both fsync their spool before 250; ActorMta delivers to a maildir while it
//       receives, Exim only queues (see EximServer for why) unless --exim-deliver. Prints
//       accepted/s and delivered/s for both and the ratio ActorMta/Exim per row.
//       Options: --messages N (per row, default 2000), --size BYTES (300),
//                --sessions 5,50,100, --only actormta|exim, --rounds N (interleaved, medians),
//                --warm-up N (messages before the rows, per server, default 20000),
//                --exim-deliver (Exim's queue runners deliver after each row; slow),
//                --exim-batch (Exim under SCHED_BATCH, the policy ActorMta gives itself by default),
//                --ceiling (adds Postfix's smtp-sink, which stores nothing: each server's share of it),
//                --allocations (ActorMta's bytes allocated and collections per message, through its
//                diagnostics socket; costs it a few percent of CPU).
//                Needs root and exim4-daemon-heavy.
//
//   dotnet run -c Release --project tests/ActorMta.Benchmarks -- outbound
//       Outbound throughput: 10,000 queued messages (--messages) to 100 destinations
//       (--destinations; 127.0.0.1..100 on one Postfix smtp-sink port) delivered by ActorMta (a
//       forced queue run in an in-process node) and by Exim 4.96 (--exim-runners parallel
//       `exim -qqf`, default 1), warm-up first (--warm-up 1000). Prints messages/s and the ratio.
//       Options: --size BYTES (300), --only actormta|exim, --timeout-minutes M (30, per timed run),
//       --set path=value (ActorMta, repeatable).
//       Needs root and exim4-daemon-heavy.
//
//   dotnet run -c Release --project tests/ActorMta.Benchmarks -- inbound-metrics
//       The cost of metrics: the same inbound load into ActorMta with actormta.metrics off and
//       on (scraped every second), alternating, --rounds N times each (default 3); prints both
//       rates and the cost. Options: --messages N (2000), --size BYTES (300), --sessions N (50).
//       --paired: both servers at once under the same load, the ratio per round (see MetricsCostPaired).
//
//   dotnet run -c Release --project tests/ActorMta.Benchmarks -- tls [--concurrency 8] [--seconds 10] [--only actormta|exim]
//       STARTTLS handshakes per second on the server, ActorMta then Exim 4.96 with the same
//       RSA-2048 certificate; each client task loops connect, EHLO, STARTTLS, handshake, QUIT.
//       Prints both rates and the ratio. Needs root and exim4-daemon-heavy.
//
//   dotnet run -c Release --project tests/ActorMta.Benchmarks -- large [--clients 20] [--megabytes 40] [--rounds 3] [--only actormta|exim]
//       Large messages: the clients each send a message of that size over DATA at once, hold it
//       before the final dot until all have sent, then end together. Prints accepted, seconds to
//       the last 250, peak memory (Exim: the daemon and its children) and server CPU, ActorMta
//       then Exim 4.96, and the ratios. Both queue only and fsync. Needs root and exim4-daemon-heavy
//       for the Exim half.
//
//   dotnet run -c Release --project tests/ActorMta.Benchmarks -- rss [--connections 5000] [--message-size BYTES]
//       Memory per idle connection: (RSS after - RSS before) / N with N connections open,
//       each having received its banner (and, with --message-size, sent one message of that size).
//
//   dotnet run -c Release --project tests/ActorMta.Benchmarks -- micro [BenchmarkDotNet args]
//       BenchmarkDotNet on the hot protocol code (RCPT command parsing, DATA decoding of a
//       300-byte message), each against a naive string-based baseline. E.g.
//       `-- micro --filter '*' --job short --inProcess` (--inProcess skips BenchmarkDotNet's
//       rebuild of this project, which can exceed its 2-minute build timeout on a busy machine).
using ActorMta.Benchmarks.Inbound;
using ActorMta.Benchmarks.Memory;
using ActorMta.Benchmarks.Outbound;
using ActorMta.Benchmarks.Micro;
using ActorMta.Benchmarks.RoundTrips;
using BenchmarkDotNet.Running;

return args.FirstOrDefault() switch
{
    "inbound" => await InboundBenchmark.RunAsync(new InboundBenchmark.Options(
        Messages: IntOption("--messages", 2000),
        Size: IntOption("--size", 300),
        Sessions: (Option("--sessions") ?? "5,50,100").Split(',').Select(int.Parse).ToList(),
        Exim: Option("--only") is null or "exim",
        ActorMta: Option("--only") is null or "actormta")
    {
        Rounds = IntOption("--rounds", 1),
        WarmUp = IntOption("--warm-up", 20_000),
        EximDelivers = args.Contains("--exim-deliver"),
        EximBatch = args.Contains("--exim-batch"),
        Ceiling = args.Contains("--ceiling"),
        Allocations = args.Contains("--allocations"),
        ActorMtaQueueOnly = !args.Contains("--no-queue-only"),
        Sets = args.Select((a, i) => (a, i)).Where(x => x.a == "--set" && x.i + 1 < args.Length).Select(x => args[x.i + 1]).ToList(),
    }),
    "outbound" => await OutboundBenchmark.RunAsync(new OutboundBenchmark.Options(
        Messages: IntOption("--messages", 10_000),
        Destinations: IntOption("--destinations", 100),
        Size: IntOption("--size", 300),
        WarmUp: IntOption("--warm-up", 1000),
        EximRunners: IntOption("--exim-runners", 1),
        ActorMta: Option("--only") is null or "actormta",
        Exim: Option("--only") is null or "exim",
        TimeoutMinutes: IntOption("--timeout-minutes", 30),
        Sets: args.Select((a, i) => (a, i)).Where(x => x.a == "--set" && x.i + 1 < args.Length).Select(x => args[x.i + 1]).ToList())),
    "inbound-metrics" when args.Contains("--paired") => await MetricsCostPaired.RunAsync(new MetricsCostBenchmark.Options(
        IntOption("--messages", 4000), IntOption("--size", 300), IntOption("--sessions", 25), IntOption("--rounds", 7))
    {
        WarmUp = IntOption("--warm-up", 5000),
    }),
    "inbound-metrics" => await MetricsCostBenchmark.RunAsync(new MetricsCostBenchmark.Options(
        IntOption("--messages", 2000), IntOption("--size", 300), IntOption("--sessions", 50), IntOption("--rounds", 3))
    {
        WarmUp = IntOption("--warm-up", 2500),
    }),
    "rss" => await IdleConnectionsBenchmark.RunAsync(IntOption("--connections", 5000), IntOption("--message-size", 0)),
    "large" => await LargeMessageBenchmark.RunAsync(new LargeMessageBenchmark.Options(
        IntOption("--clients", 20), IntOption("--megabytes", 40), IntOption("--rounds", 3),
        Exim: Option("--only") is null or "exim",
        ActorMta: Option("--only") is null or "actormta")),
    "tls" => await ActorMta.Benchmarks.Tls.TlsHandshakeBenchmark.RunAsync(new ActorMta.Benchmarks.Tls.TlsHandshakeBenchmark.Options(
        Concurrency: IntOption("--concurrency", 8),
        Duration: TimeSpan.FromSeconds(IntOption("--seconds", 10)),
        WarmUp: TimeSpan.FromSeconds(2),
        Exim: Option("--only") is null or "exim",
        ActorMta: Option("--only") is null or "actormta")),
    "micro" => RunMicro(args[1..]),
    "roundtrips" => await RoundTripBenchmark.RunAsync(new RoundTripBenchmark.Options(
        ServerNamespace: Option("--server-ns") ?? "rtt-b",
        ServerAddress: System.Net.IPAddress.Parse(Option("--server-ip") ?? "10.210.0.2"),
        Messages: IntOption("--messages", 10),
        NominalRttMs: double.Parse(Option("--rtt-ms") ?? "50", System.Globalization.CultureInfo.InvariantCulture),
        Exim: Option("--only") is null or "exim",
        ActorMta: Option("--only") is null or "actormta")
    {
        Tls = Option("--tls") ?? "on",
    }),
    _ => Usage(),
};

string? Option(string name)
{
    var i = Array.IndexOf(args, name);
    return i >= 0 && i + 1 < args.Length ? args[i + 1] : null;
}

int IntOption(string name, int fallback) => Option(name) is { } v ? int.Parse(v) : fallback;

static int RunMicro(string[] rest)
{
    BenchmarkSwitcher.FromTypes([typeof(CommandParsingBenchmarks), typeof(DataDecodingBenchmarks), typeof(MetricsRecordingBenchmarks)]).Run(rest);
    return 0;
}

static int Usage()
{
    Console.Error.WriteLine("usage: ActorMta.Benchmarks inbound [--messages N] [--size B] [--sessions 5,50,100] [--only actormta|exim] [--rounds N] [--warm-up N] [--exim-deliver] [--no-queue-only] [--ceiling] [--allocations] [--set path=value]...");
    Console.Error.WriteLine("       ActorMta.Benchmarks outbound [--messages N] [--destinations D] [--size B] [--warm-up N] [--exim-runners R] [--only actormta|exim] [--timeout-minutes M] [--set path=value]...");
    Console.Error.WriteLine("       ActorMta.Benchmarks inbound-metrics [--paired] [--messages N] [--size B] [--sessions N] [--rounds N] [--warm-up N]");
    Console.Error.WriteLine("       ActorMta.Benchmarks rss [--connections N]");
    Console.Error.WriteLine("       ActorMta.Benchmarks tls [--concurrency N] [--seconds S] [--only actormta|exim]");
    Console.Error.WriteLine("       ActorMta.Benchmarks micro [BenchmarkDotNet arguments]");
    return 2;
}
