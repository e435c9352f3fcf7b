using System.Diagnostics;
using ActorMta.Configuration;
using ActorMta.Logging;
using ActorMta.Queue;
using ActorMta.Spool;
using Akka.Actor;
using Envelope = ActorMta.Spool.Envelope;

namespace ActorMta.Benchmarks.Outbound;

/// <summary>
/// ActorMta's side: the messages are written into a fresh spool through the spool API, each held
/// with a next-attempt time an hour ahead, so the node recovers them without delivering; then the
/// node is started (the real MtaNode with settings from SettingsLoader, main log to a file, spool
/// fsync on) and the timed part is a forced queue run (<see cref="QueueManager.RunQueue"/>, like
/// <c>exim -qff</c>) until the spool is empty.
/// </summary>
public static class ActorMtaQueueRun
{
    /// <summary>How long the timed queue run may take before the benchmark gives up (--timeout-minutes).</summary>
    public static TimeSpan Timeout { get; set; } = TimeSpan.FromMinutes(30);

    public sealed record Result(TimeSpan Elapsed, int Delivered, int Connections, string MainLog);

    public static async Task<Result> RunAsync(BenchQueue queue, int sinkPort, IReadOnlyList<string> extraSets)
    {
        var dir = Directory.CreateTempSubdirectory("actormta-outbench-").FullName;
        try
        {
            var routes = string.Join(", ", Enumerable.Range(0, queue.Destinations).Select(i =>
                $"{{ name = \"to_d{i}\", domains = [\"{BenchQueue.Domain(i)}\"], hosts = [\"{BenchQueue.Address(i)}:{sinkPort}\"] }}"));
            string[] sets =
            [
                $"actormta.data-directory=\"{dir}\"",
                $"actormta.listen=[\"127.0.0.1:{Support.SmtpProbe.FreeLoopbackPort()}\"]",
                "actormta.primary-hostname=\"client.bench.example\"",
                "actormta.spool.fsync=on",
                "actormta.log.console=off",
                $"actormta.routing.smarthosts=[{routes}]",
                .. extraSets,
            ];
            var loaded = SettingsLoader.Load(null, sets);
            var settings = loaded.Settings;

            await FillAsync(queue, settings.Spool.Directory);

            using var logger = LoggingSetup.CreateLogger(settings.Log);
            LoggingSetup.UseForAkka(logger);
            var node = await MtaNode.StartAsync(settings, loaded.AkkaConfig, logger);
            TimeSpan elapsed;
            try
            {
                var input = node.Spool.InputDirectory;
                if (Count(input) != queue.Messages) throw new InvalidOperationException($"{Count(input)} of {queue.Messages} messages in the spool");
                var sw = Stopwatch.StartNew();
                node.Queue.Tell(QueueManager.RunQueue.Instance);
                var deadline = DateTime.UtcNow + Timeout;
                while (Count(input) > 0)
                {
                    if (DateTime.UtcNow > deadline) throw new TimeoutException($"ActorMta: {Count(input)} messages still queued after {Timeout}");
                    await Task.Delay(10);
                }
                elapsed = sw.Elapsed;
            }
            finally
            {
                await node.StopAsync();
            }
            await logger.DisposeAsync();
            var mainLog = settings.Log.MainLogPath!;
            var (delivered, connections) = MainLogCount.Deliveries(mainLog);
            var copy = Path.Combine(Path.GetTempPath(), $"actormta-outbench-mainlog-{Environment.ProcessId}");
            File.Copy(mainLog, copy, overwrite: true);
            return new Result(elapsed, delivered, connections, copy);
        }
        finally
        {
            try { Directory.Delete(dir, recursive: true); } catch (IOException) { }
        }
    }

    private static int Count(string directory) => Directory.EnumerateFiles(directory).Count(f => !f.EndsWith(".tmp", StringComparison.Ordinal));

    /// <summary>Spools the queue, each message held for an hour (not measured; no fsync needed for that).</summary>
    private static async Task FillAsync(BenchQueue queue, string spoolDirectory)
    {
        var spool = new MessageSpool(new SpoolSettings(spoolDirectory, Fsync: false));
        var hold = DateTimeOffset.UtcNow.AddHours(1);
        for (var i = 0; i < queue.Messages; i++)
        {
            var data = queue.Body(i);
            var envelope = new Envelope(spool.NewMessageId(), BenchQueue.Sender, [new EnvelopeRecipient(queue.Recipient(i), null, null)],
                DateTimeOffset.UtcNow, "client.bench.example", "127.0.0.1", 40000, "esmtp", null, false, null, null, null, data.Length);
            await spool.StoreAsync(envelope, [data]);
            await spool.SetNextAttemptAsync(envelope.MessageId, hold);
        }
    }
}

/// <summary>Counts <c>=&gt;</c> lines in an Exim-format main log; those without the continued-connection <c>*</c> each opened a connection.</summary>
public static class MainLogCount
{
    public static (int Delivered, int Connections) Deliveries(string path)
    {
        int delivered = 0, connections = 0;
        using var stream = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.ReadWrite);
        using var reader = new StreamReader(stream);
        while (reader.ReadLine() is { } line)
        {
            var arrow = line.IndexOf(" => ", StringComparison.Ordinal);
            if (arrow < 0) continue;
            delivered++;
            var host = line.IndexOf(" H=", arrow, StringComparison.Ordinal);
            if (host < 0) continue;
            var close = line.IndexOf(']', host);
            var end = line.IndexOf(' ', close < 0 ? host + 3 : close);
            var hostPart = end < 0 ? line[host..] : line[host..end];
            if (!hostPart.EndsWith('*')) connections++;
        }
        return (delivered, connections);
    }
}
