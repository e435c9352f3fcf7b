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
//                --exim-deliver (Exim's queue runners deliver after each row; slow).
//                Needs root and exim4-daemon-heavy.
//
//   dotnet run -c Release --project tests/ActorMta.Benchmarks -- rss [--connections 5000]
//       Memory per idle connection: (RSS after - RSS before) / N with N connections open,
//       each having received its banner.
//
//   dotnet run -c Release --project tests/ActorMta.Benchmarks -- micro [BenchmarkDotNet args]
//       BenchmarkDotNet on the hot protocol code (RCPT command parsing, DATA decoding of a
//       300-byte message), each against a naive string-based baseline. E.g.
//       `-- micro --filter '*' --job short --inProcess` (--inProcess skips BenchmarkDotNet's
//       rebuild of this project, which can exceed its 2-minute build timeout on a busy machine).
using ActorMta.Benchmarks.Inbound;
using ActorMta.Benchmarks.Memory;
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
        EximDelivers = args.Contains("--exim-deliver"),
    }),
    "rss" => await IdleConnectionsBenchmark.RunAsync(IntOption("--connections", 5000)),
    "micro" => RunMicro(args[1..]),
    "roundtrips" => await RoundTripBenchmark.RunAsync(new RoundTripBenchmark.Options(
        ServerNamespace: Option("--server-ns") ?? "rtt-b",
        ServerAddress: System.Net.IPAddress.Parse(Option("--server-ip") ?? "10.210.0.2"),
        Messages: IntOption("--messages", 10),
        NominalRttMs: double.Parse(Option("--rtt-ms") ?? "50", System.Globalization.CultureInfo.InvariantCulture),
        Exim: Option("--only") is null or "exim",
        ActorMta: Option("--only") is null or "actormta")),
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
    BenchmarkSwitcher.FromTypes([typeof(CommandParsingBenchmarks), typeof(DataDecodingBenchmarks)]).Run(rest);
    return 0;
}

static int Usage()
{
    Console.Error.WriteLine("usage: ActorMta.Benchmarks inbound [--messages N] [--size B] [--sessions 5,50,100] [--only actormta|exim] [--rounds N] [--exim-deliver]");
    Console.Error.WriteLine("       ActorMta.Benchmarks rss [--connections N]");
    Console.Error.WriteLine("       ActorMta.Benchmarks micro [BenchmarkDotNet arguments]");
    return 2;
}
