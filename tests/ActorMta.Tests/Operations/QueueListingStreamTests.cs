using System.Text;
using System.Text.Json.Nodes;
using System.Text.RegularExpressions;
using ActorMta.Control;
using ActorMta.Queue;
using ActorMta.Spool;
using ActorMta.Tests.Support;

namespace ActorMta.Tests.Operations;

/// <summary>
/// <c>queue list</c> against a running MTA: the answer is a head that counts the messages, then one
/// line per message, streamed. These tests hold the listing to that count: every message once, in
/// id order, across many writes; and a listing that ends short is reported, not passed off as the queue.
/// </summary>
public sealed class QueueListingStreamTests
{
    [Fact]
    public async Task A_long_queue_is_listed_whole_in_id_order_and_show_and_count_find_one_among_many()
    {
        await using var mta = await TestMta.StartAsync(s => s with { Queue = s.Queue with { QueueOnly = true, QueueRunInterval = TimeSpan.FromHours(1) } });
        const int Messages = 400, PerConnection = 100; // about 100 KB of rows: several of the server's 32 KiB writes
        var ids = new List<string>();
        for (int first = 0; first < Messages; first += PerConnection)
        {
            using var client = await mta.GreetedAsync();
            var batch = new StringBuilder();
            for (int i = first; i < first + PerConnection; i++)
            {
                string body = $"Subject: m{i}\r\n\r\nbody {i}\r\n";
                batch.Append($"MAIL FROM:<s{i}@client.test>\r\nRCPT TO:<user@test.example>\r\nBDAT {Encoding.ASCII.GetByteCount(body)} LAST\r\n{body}");
            }
            await client.SendAsync(batch.ToString());
            string replies = await client.ReadRepliesAsync(3 * PerConnection, TimeSpan.FromSeconds(60));
            ids.AddRange(Regex.Matches(replies, @"250 .*?id=(\S+)").Select(m => m.Groups[1].Value));
        }
        Assert.Equal(Messages, ids.Count);

        var json = await Operator.RunAsync(mta, "queue", "list", "--json");
        Assert.Equal((0, ""), (json.ExitCode, json.Stderr));
        var rows = json.Stdout.Split('\n');
        Assert.Equal("", rows[^1]); // every row ends with its newline
        var listed = rows[..^1].Select(r => JsonNode.Parse(r)!.AsObject()).ToList();
        Assert.Equal(ids.Order(StringComparer.Ordinal), listed.Select(o => (string)o["id"]!));
        var sender = listed.ToDictionary(o => (string)o["id"]!, o => (string)o["sender"]!);
        for (int i = 0; i < Messages; i++) Assert.Equal($"s{i}@client.test", sender[ids[i]]);

        var text = await Operator.RunAsync(mta, "queue", "list");
        Assert.Equal((0, ""), (text.ExitCode, text.Stderr));
        Assert.Equal(ids.Order(StringComparer.Ordinal), Regex.Matches(text.Stdout, @"^ ?\d+m +\d+ (\S+) <", RegexOptions.Multiline).Select(m => m.Groups[1].Value));

        Assert.Equal((0, $"{Messages}\n"), ((await Operator.RunAsync(mta, "queue", "count")) is var count ? (count.ExitCode, count.Stdout) : default));

        string middle = ids[Messages / 2];
        var show = await Operator.RunAsync(mta, "queue", "show", middle);
        Assert.Equal(0, show.ExitCode);
        Assert.Contains($"Message {middle}\n", show.Stdout);
        Assert.Contains($"  Sender:     <s{Messages / 2}@client.test>\n", show.Stdout);
        Assert.Contains($"\nSubject: m{Messages / 2}\n", show.Stdout);
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    [System.Runtime.Versioning.UnsupportedOSPlatform("windows")]
    public async Task A_listing_that_ends_before_its_count_is_printed_as_far_as_it_came_and_reported(bool json)
    {
        string directory = Path.Combine(Path.GetTempPath(), "actormta-test-" + Guid.NewGuid().ToString("N")[..12]);
        Directory.CreateDirectory(directory);
        try
        {
            var now = DateTimeOffset.UtcNow;
            QueuedMessage Message(string id) =>
                new(id, "a@client.test", [new QueuedRecipient("b@test.example", RecipientState.Pending)], now, TimeSpan.FromMinutes(3), 402, null, false, 0);
            var sent = new[] { Message(MessageIds.Next()), Message(MessageIds.Next()) };
            // An MTA that promises three messages and stops after two (as one that is shut down mid-listing does).
            using var server = ControlServer.Start(Path.Combine(directory, "actormta.control.socket"),
                _ => Task.FromResult(new ControlAnswer(new JsonObject { ["ok"] = true, ["messages"] = 3 },
                    (stream, ct) => QueueListing.WriteRowsAsync(stream, sent, ct))),
                maxData: 1024, requestTimeout: TimeSpan.FromSeconds(60), maxConnections: 16);

            var r = json
                ? await Operator.RunAsync(directory, ["queue", "list", "--json"])
                : await Operator.RunAsync(directory, ["queue", "list"]);

            Assert.Equal(1, r.ExitCode);
            Assert.Equal("actormta: the listing ended after 2 of 3 messages (the MTA closed the connection)\n", r.Stderr);
            Assert.Equal(
                json
                    ? string.Concat(sent.Select(m => QueueListing.ToJsonLine(m) + "\n"))
                    : string.Concat(sent.Select(m => $" 3m   402 {m.Id} <a@client.test>\n          b@test.example\n\n")),
                r.Stdout);
        }
        finally
        {
            Directory.Delete(directory, recursive: true);
        }
    }
}
