using System.Net.Sockets;
using System.Text;
using ActorMta.Benchmarks.Support;

namespace ActorMta.Benchmarks.Inbound;

/// <summary>
/// Large messages: N clients each send an M MB message over DATA at the same time, hold it open
/// before the final dot until all have sent everything, then end it together. Reported per
/// server: messages accepted, the time to the last 250, the peak memory of the server (for Exim
/// the daemon and every process it forked), and its CPU. ActorMta and Exim both queue only
/// (nothing is delivered during the run) and both fsync before the 250.
/// </summary>
/// <remarks>
/// The hold is the hard case for memory: every message is in the server at once. A server that
/// keeps messages in memory until they end needs N x M here; one that writes them to disk as they
/// arrive (Exim's <c>-D</c> file, ActorMta's spill file) needs a buffer per client.
/// </remarks>
public static class LargeMessageBenchmark
{
    public sealed record Options(int Clients, int Megabytes, int Rounds, bool Exim, bool ActorMta);

    private sealed record Round(int Accepted, int Refused, double Seconds, double PeakMiB, double CpuSeconds);

    public static async Task<int> RunAsync(Options options)
    {
        var results = new List<(string Name, List<Round> Rounds)>();
        if (options.ActorMta)
        {
            // max-message-size as Exim's default message_size_limit (50M).
            await using var server = await ActorMtaServer.StartAsync("actormta.queue.queue-only=on", "actormta.smtp.max-message-size=50M");
            results.Add((server.Name, await RunRoundsAsync(server, options)));
        }
        if (options.Exim)
        {
            if (EximServer.FindBinary() is null || Environment.UserName != "root")
            {
                Console.WriteLine("Exim: skipped (needs exim4-daemon-heavy and root; .ci/run installs it)");
            }
            else
            {
                await using var server = await EximServer.StartAsync(deliver: false);
                results.Add((server.Name, await RunRoundsAsync(server, options)));
            }
        }

        Console.WriteLine();
        Console.WriteLine($"{options.Clients} clients x {options.Megabytes} MB, held open until all have sent, then ended together; medians of {options.Rounds} rounds (min-max).");
        Console.WriteLine("| server | accepted | refused | seconds to last 250 | MB/s | peak memory MiB | server CPU s |");
        Console.WriteLine("|---|---:|---:|---:|---:|---:|---:|");
        foreach (var (name, rounds) in results)
        {
            Console.WriteLine($"| {name} | {Stats.Median(rounds.Select(r => (double)r.Accepted)):F0} | {Stats.Median(rounds.Select(r => (double)r.Refused)):F0} " +
                $"| {Cell(rounds, r => r.Seconds, "F2")} | {Stats.Median(rounds.Select(r => options.Clients * options.Megabytes / r.Seconds)):F0} " +
                $"| {Cell(rounds, r => r.PeakMiB, "F0")} | {Cell(rounds, r => r.CpuSeconds, "F2")} |");
        }
        if (results.Count == 2)
        {
            double Ratio(Func<Round, double> f) => Stats.Median(results[1].Rounds.Select(f)) / Stats.Median(results[0].Rounds.Select(f));
            Console.WriteLine($"Exim / ActorMta: time {Ratio(r => r.Seconds):F2}x, peak memory {Ratio(r => r.PeakMiB):F2}x, CPU {Ratio(r => r.CpuSeconds):F2}x");
        }
        return 0;
    }

    private static string Cell(List<Round> rounds, Func<Round, double> value, string format) =>
        $"{Stats.Median(rounds.Select(value)).ToString(format)} ({rounds.Min(value).ToString(format)}-{rounds.Max(value).ToString(format)})";

    private static async Task<List<Round>> RunRoundsAsync(IBenchServer server, Options options)
    {
        var rounds = new List<Round>();
        for (int i = 0; i < options.Rounds; i++)
        {
            var round = await RunRoundAsync(server, options);
            Console.WriteLine($"{server.Name}: round {i + 1}: {round.Accepted} accepted, {round.Refused} refused, {round.Seconds:F2} s, peak {round.PeakMiB:F0} MiB, CPU {round.CpuSeconds:F2} s");
            rounds.Add(round);
        }
        return rounds;
    }

    private static async Task<Round> RunRoundAsync(IBenchServer server, Options options)
    {
        var cpuBefore = ProcessCpu.Of(server.ProcessId);
        using var sampling = new CancellationTokenSource();
        long peakKiB = 0;
        var sampler = Task.Run(async () =>
        {
            while (!sampling.IsCancellationRequested)
            {
                peakKiB = Math.Max(peakKiB, TreeRssKiB(server.ProcessId));
                try { await Task.Delay(50, sampling.Token); }
                catch (OperationCanceledException) { }
            }
        });

        var allSent = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        int sent = 0;
        var started = System.Diagnostics.Stopwatch.StartNew();
        var clients = Enumerable.Range(0, options.Clients).Select(async _ =>
        {
            using var socket = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
            await socket.ConnectAsync(server.EndPoint);
            var reader = new ReplyReader(socket);
            await reader.ExpectAsync("220");
            await SendAsync(socket, "EHLO bench.client\r\n");
            await reader.ExpectAsync("250");
            foreach (var (command, code) in new[] { ($"MAIL FROM:<s@client.example>\r\n", "250"), ($"RCPT TO:<{IBenchServer.Mailbox}@{IBenchServer.Domain}>\r\n", "250"), ("DATA\r\n", "354") })
            {
                await SendAsync(socket, command);
                await reader.ExpectAsync(code);
            }
            await SendAsync(socket, "Subject: large\r\n\r\n");
            var megabyte = Megabyte.Value;
            for (int m = 0; m < options.Megabytes; m++) await socket.SendAsync(megabyte, SocketFlags.None);
            if (Interlocked.Increment(ref sent) == options.Clients) allSent.SetResult();
            await allSent.Task;
            await SendAsync(socket, ".\r\n");
            var reply = await reader.NextAsync();
            return reply.StartsWith("250", StringComparison.Ordinal);
        }).ToList();
        var outcomes = await Task.WhenAll(clients);
        var seconds = started.Elapsed.TotalSeconds;
        var cpu = ProcessCpu.Of(server.ProcessId) - cpuBefore;
        await sampling.CancelAsync();
        await sampler;
        return new Round(outcomes.Count(o => o), outcomes.Count(o => !o), seconds, peakKiB / 1024.0, cpu.Cpu.TotalSeconds);
    }

    /// <summary>One megabyte of 80-byte lines (78 characters and CRLF).</summary>
    private static readonly Lazy<byte[]> Megabyte = new(() =>
    {
        var line = Encoding.ASCII.GetBytes(new string('x', 78) + "\r\n");
        var bytes = new byte[1024 * 1024 / 80 * 80];
        for (int at = 0; at < bytes.Length; at += line.Length) line.CopyTo(bytes, at);
        return bytes;
    });

    private static async Task SendAsync(Socket socket, string text) => await socket.SendAsync(Encoding.ASCII.GetBytes(text), SocketFlags.None);

    /// <summary>RSS of <paramref name="root"/> and every process descended from it (Exim forks one per connection).</summary>
    private static long TreeRssKiB(int root)
    {
        var parents = new Dictionary<int, int>();
        foreach (var dir in Directory.EnumerateDirectories("/proc"))
        {
            if (!int.TryParse(Path.GetFileName(dir), out var pid)) continue;
            try
            {
                var stat = File.ReadAllText(Path.Combine(dir, "stat"));
                parents[pid] = int.Parse(stat[(stat.LastIndexOf(')') + 2)..].Split(' ')[1]);
            }
            catch (IOException) { } // gone meanwhile
        }
        long total = 0;
        foreach (var pid in parents.Keys)
        {
            for (int p = pid, depth = 0; depth < 16 && parents.TryGetValue(p, out var parent); p = parent, depth++)
            {
                if (p != root) continue;
                try { total += Proc.RssKiB(pid); }
                catch (Exception e) when (e is IOException or InvalidOperationException) { }
                break;
            }
        }
        return total;
    }
}
