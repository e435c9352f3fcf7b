using System.Globalization;
using System.Text.RegularExpressions;
using ActorMta.Interop.Tests.Peers;
using ActorMta.Interop.Tests.Support;
using ActorMta.Interop.Tests.Targets;

namespace ActorMta.Interop.Tests;

/// <summary>Runs alone: it compares process-wide metric counters with one node's main log.</summary>
[CollectionDefinition(Name, DisableParallelization = true)]
public sealed class MainLogToolsCollection
{
    public const string Name = "Main log tools (alone: process-wide counters)";
}

/// <summary>
/// Exim's own log tools on ActorMta's main log, after an end-to-end run with deliveries, a
/// deferral, a failure with its bounce and a local (sendmail) submission: eximstats counts what
/// ActorMta's counters count, and exigrep finds every line of each message.
/// </summary>
[Collection(MainLogToolsCollection.Name)]
public sealed class MainLogToolsTests
{
    private const string Eximstats = "eximstats";
    private const string Exigrep = "exigrep";

    [PeerFact(Eximstats, Exigrep, PeerBinaries.Swaks)]
    public async Task Eximstats_totals_equal_the_runs_counters_and_exigrep_finds_every_line_of_a_message()
    {
        await using var mta = await ActorMtaTarget.StartAsync([TestTargets.Domain],
            "actormta.metrics.enabled=on", "actormta.metrics.address=\"127.0.0.1:0\"");
        Directory.CreateDirectory(mta.MaildirRoot);
        File.WriteAllText(Path.Combine(mta.MaildirRoot, "stuck"), "a file where the maildir should be: deliveries defer");
        var before = await ScrapeTotalsAsync(mta);

        // Three plain messages, one with a recipient that defers, one whose recipient fails (bounce to a local sender).
        for (int i = 0; i < 3; i++) await SwaksAsync(mta, "a@client.test", TestTargets.Recipient);
        await SwaksAsync(mta, "a@client.test", $"{TestTargets.Recipient},stuck@{TestTargets.Domain}");
        await SwaksAsync(mta, $"sender@{TestTargets.Domain}", $"\"a/b\"@{TestTargets.Domain}");
        // One local submission.
        var stdout = new StringWriter();
        var stderr = new StringWriter();
        using (var stdin = new MemoryStream("Subject: local\n\nfrom cron\n"u8.ToArray()))
        {
            int exit = await ActorMta.Host.Cli.RunAsync(
                ["sendmail", TestTargets.Recipient, "--set", $"actormta.data-directory=\"{mta.Dir.Path}\""], stdout, stderr, stdin);
            Assert.True(exit == 0, stderr.ToString());
        }

        // 3 + 1 + 1 (bounce) + 1 (local) deliveries to u and sender; the deferral is logged.
        await WaitAsync(() => mta.MainLogLines().Count(l => l.Contains(" => ", StringComparison.Ordinal)) >= 6, mta);
        await WaitAsync(() => mta.MainLogLines().Any(l => l.Contains($" == stuck@{TestTargets.Domain}", StringComparison.Ordinal)), mta);
        await WaitAsync(() => mta.MainLogLines().Count(l => l.EndsWith(" Completed", StringComparison.Ordinal)) >= 6, mta);
        var after = await ScrapeTotalsAsync(mta);
        var lines = mta.MainLogLines();
        int received = lines.Count(l => l.Split(' ').ElementAtOrDefault(3) == "<=");
        int delivered = lines.Count(l => l.Split(' ').ElementAtOrDefault(3) == "=>");
        Assert.Equal((7, 6), (received, delivered));

        var stats = await ProcessRunner.RunAsync(PeerBinaries.Require(Eximstats), ["-txt", "-nr", "-nt", mta.MainLogPath]);
        stats.EnsureSuccess();
        var receivedRow = Regex.Match(stats.StdOut, @"^\s+Received\s+\S+\s+(\d+)\s", RegexOptions.Multiline);
        var deliveredRow = Regex.Match(stats.StdOut, @"^\s+Delivered\s+\S+\s+(\d+)\s+(\d+)", RegexOptions.Multiline);
        Assert.True(receivedRow.Success && deliveredRow.Success, stats.StdOut);
        int statsReceived = int.Parse(receivedRow.Groups[1].Value, CultureInfo.InvariantCulture);
        int statsDelivered = int.Parse(deliveredRow.Groups[1].Value, CultureInfo.InvariantCulture);

        // eximstats = the run = ActorMta's own counters.
        Assert.Equal((received, delivered), (statsReceived, statsDelivered));
        Assert.Equal((double)received, after.Received - before.Received);
        Assert.Equal((double)delivered, after.Delivered - before.Delivered);
        Assert.Equal(1d, after.Deferred - before.Deferred);
        Assert.Equal(1d, after.Bounced - before.Bounced);

        // exigrep ID: every line of that message, for each message of the run.
        var ids = lines.Select(l => l.Split(' ')).Where(f => f.Length > 3 && f[3] == "<=").Select(f => f[2]).ToList();
        Assert.Equal(7, ids.Count);
        foreach (var id in ids)
        {
            var grep = await ProcessRunner.RunAsync(PeerBinaries.Require(Exigrep), [id, mta.MainLogPath]);
            grep.EnsureSuccess();
            var own = lines.Where(l => l.Split(' ').ElementAtOrDefault(2) == id).ToList();
            Assert.True(own.Count >= 2, string.Join('\n', own));
            foreach (var line in own) Assert.Contains(line + "\n", grep.StdOut);
        }
    }

    private static async Task SwaksAsync(ActorMtaTarget mta, string from, string to)
    {
        var t = await SwaksPeer.SendAsync(mta.EndPoint, from, to, "stats", "counted", "--pipeline");
        Assert.True(t.ExitCode == 0, t.Raw);
    }

    private static async Task WaitAsync(Func<bool> condition, ActorMtaTarget mta)
    {
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(60);
        while (!condition())
        {
            if (DateTime.UtcNow > deadline) throw new TimeoutException("main log:\n" + string.Join('\n', mta.MainLogLines()));
            await Task.Delay(50);
        }
    }

    private sealed record Totals(double Received, double Delivered, double Deferred, double Bounced);

    /// <summary>Sums of the message counters over every label, from /metrics.</summary>
    private static async Task<Totals> ScrapeTotalsAsync(ActorMtaTarget mta)
    {
        using var http = new HttpClient();
        string text = await http.GetStringAsync($"http://127.0.0.1:{mta.MetricsEndPoint!.Port}/metrics");
        double Sum(string family) => text.Split('\n')
            .Where(l => l.StartsWith(family + "{", StringComparison.Ordinal) || l.StartsWith(family + " ", StringComparison.Ordinal))
            .Sum(l => double.Parse(l[(l.LastIndexOf(' ') + 1)..], CultureInfo.InvariantCulture));
        return new Totals(
            Sum("actormta_messages_received_total"),
            Sum("actormta_deliveries_succeeded_total"),
            Sum("actormta_deliveries_deferred_total"),
            Sum("actormta_deliveries_bounced_total"));
    }
}
