using System.Diagnostics;
using System.Text.RegularExpressions;
using Xunit.Abstractions;

namespace ActorMta.Tests.CrashSafety;

/// <summary>
/// The durability promise end to end: whatever got a 250 survives a SIGKILL of the process and is
/// delivered exactly once after a restart on the same data directory; nothing is delivered twice.
/// </summary>
public sealed partial class KillDuringLoadTests(ITestOutputHelper output) : IDisposable
{
    private const string Recipient = "u@test.example";
    private const int Clients = 8;

    private static readonly string[] Settings = ["actormta.policy.local-domains=[\"test.example\"]"];

    private readonly string _dataDirectory = Directory.CreateTempSubdirectory("actormta-crash-").FullName;

    [Fact]
    public async Task Every_acknowledged_message_is_delivered_exactly_once_after_SIGKILL_and_restart()
    {
        LoadClient[] clients;
        using (var first = await ActorMtaProcess.StartAsync(_dataDirectory, Settings))
        {
            clients = Enumerable.Range(0, Clients).Select(i => new LoadClient(first.EndPoint, Recipient, $"crash{i}")).ToArray();
            using var stop = new CancellationTokenSource();
            var load = clients.Select(c => Task.Run(() => c.RunAsync(stop.Token))).ToArray();

            // Let acknowledgements and deliveries run for a while, then pull the plug mid-stream.
            var sw = Stopwatch.StartNew();
            while (sw.Elapsed < TimeSpan.FromSeconds(3) || clients.Sum(c => c.Acknowledged.Count) < 20)
            {
                if (sw.Elapsed > TimeSpan.FromSeconds(15)) break;
                await Task.Delay(100);
            }
            first.KillHard();
            await Task.WhenAll(load).WaitAsync(TimeSpan.FromSeconds(30));
        }

        var acknowledged = clients.SelectMany(c => c.Acknowledged).ToList();
        Assert.True(acknowledged.Count >= 20, $"only {acknowledged.Count} messages were acknowledged before the kill");

        using (var second = await ActorMtaProcess.StartAsync(_dataDirectory, Settings))
        {
            // The restarted node must find the spooled messages and deliver them; wait until every
            // acknowledged one is there and the maildir has stopped changing.
            var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(30);
            var seen = Count();
            var stableSince = DateTime.UtcNow;
            while (DateTime.UtcNow < deadline)
            {
                await Task.Delay(200);
                var now = Count();
                if (now.Files != seen.Files) stableSince = DateTime.UtcNow;
                seen = now;
                var allThere = acknowledged.All(t => seen.PerToken.ContainsKey(t));
                if (allThere && DateTime.UtcNow - stableSince > TimeSpan.FromSeconds(1.5)) break;
            }

            var inFlight = clients.Sum(c => c.InFlight.Count);
            output.WriteLine($"{acknowledged.Count} acknowledged before SIGKILL, {inFlight} in flight; "
                + $"{seen.Files} maildir files after restart");

            var missing = acknowledged.Where(t => !seen.PerToken.ContainsKey(t)).ToList();
            Assert.True(missing.Count == 0,
                $"{missing.Count} of {acknowledged.Count} acknowledged messages were lost, e.g. {string.Join(", ", missing.Take(5))}\n"
                + second.Output);
            var duplicated = seen.PerToken.Where(kv => kv.Value > 1).Select(kv => $"{kv.Key} x{kv.Value}").ToList();
            Assert.True(duplicated.Count == 0, $"delivered more than once: {string.Join(", ", duplicated.Take(10))}");

            // Only messages that were sent may appear: acknowledged ones, or the one in flight per client.
            var sent = acknowledged.Concat(clients.SelectMany(c => c.InFlight)).ToHashSet();
            Assert.All(seen.PerToken.Keys, t => Assert.Contains(t, sent));
        }
    }

    /// <summary>How many maildir files hold each token (a token appears in exactly one message).</summary>
    private (int Files, Dictionary<string, int> PerToken) Count()
    {
        var perToken = new Dictionary<string, int>();
        var files = 0;
        foreach (var sub in new[] { "new", "cur" })
        {
            var dir = Path.Combine(_dataDirectory, "maildir", "u", sub);
            if (!Directory.Exists(dir)) continue;
            foreach (var file in Directory.EnumerateFiles(dir))
            {
                string text;
                try
                {
                    text = File.ReadAllText(file);
                }
                catch (FileNotFoundException)
                {
                    continue;
                }
                files++;
                foreach (var token in TokenPattern().Matches(text).Select(m => m.Value).Distinct())
                {
                    perToken[token] = perToken.GetValueOrDefault(token) + 1;
                }
            }
        }
        return (files, perToken);
    }

    [GeneratedRegex(@"crash\d+-\d{5}-[0-9a-f]{32}")]
    private static partial Regex TokenPattern();

    public void Dispose()
    {
        try
        {
            Directory.Delete(_dataDirectory, recursive: true);
        }
        catch (IOException)
        {
        }
    }
}
