using System.Net;
using System.Net.Sockets;
using ActorMta.Configuration;
using ActorMta.Tests.Support;

namespace ActorMta.Tests.Metrics;

/// <summary>A whole node with metrics on: what an operator's Prometheus scrapes after real mail went through.</summary>
/// <remarks>
/// In the Meter's collection: the Meter is static, so another node with metrics on (its actor
/// telemetry bridge) running meanwhile adds its actors' starts and stops to this node's scrape;
/// one whose sessions began before this node's exporter would drive the live counts below zero.
/// </remarks>
[Collection(MtaMeterCollection.Name)]
public sealed class NodeMetricsTests
{
    private static Task<TestMta> StartAsync() =>
        TestMta.StartAsync(s => s with { Metrics = new MetricsSettings(true, new IPEndPoint(IPAddress.Loopback, 0), 10) });

    private static async Task<string> ScrapeAsync(TestMta mta, string path)
    {
        using var http = new HttpClient();
        return await http.GetStringAsync($"http://127.0.0.1:{mta.Node.MetricsEndPoint!.Port}{path}");
    }

    [PromtoolFact]
    public async Task CountersMoveAfterADeliveryAndTheOutputPassesPromtool()
    {
        await using var mta = await StartAsync();
        var listener = $"smtp-{mta.EndPoint.Port}";
        using (var client = await mta.ConnectAsync())
        {
            await client.SendAsync("EHLO client.test\r\nMAIL FROM:<a@client.test>\r\nRCPT TO:<user@test.example>\r\nDATA\r\n");
            await client.ReadRepliesAsync(5);
            await client.SendAsync("Subject: metrics\r\n\r\ncount me\r\n.\r\nQUIT\r\n");
            await client.ReadRepliesAsync(2);
        }
        var reception = await mta.WaitForLogLineAsync("<= a@client.test");
        await mta.WaitForMaildirAsync("user");
        await mta.WaitForLogLineAsync("Completed");

        var text = await ScrapeAsync(mta, "/metrics");
        Assert.Contains($"actormta_messages_received_total{{listener=\"{listener}\"}} 1\n", text);
        Assert.Contains($"actormta_connections_accepted_total{{listener=\"{listener}\"}} 1\n", text);
        // The flight is sent without waiting for the banner, but on a loaded machine the banner can
        // still leave first; the session's own record of it (L* on its <= line) says which happened.
        var early = reception.Contains(" L* ", StringComparison.Ordinal) ? 1 : 0;
        Assert.Equal(early, Scrapes.Value(text, $"actormta_inbound_early_pipelining_total{{listener=\"{listener}\"}}") ?? 0);
        // Process-wide: other nodes in this test process may be alive too.
        Assert.Matches(@"actormta_actors_live\{kind=""InboundSession""\} \d+\n", text);
        Assert.Matches(@"actormta_actors_live\{kind=""QueueManager""\} [1-9]\d*\n", text);

        var (exitCode, output) = await Promtool.CheckMetricsAsync(text);
        Assert.True(exitCode == 0, output);
    }

    [Fact]
    public async Task DeliveredDeferredAndBouncedCountersAndTheQueueGaugesMove()
    {
        await using var mta = await StartAsync();
        Directory.CreateDirectory(mta.Settings.LocalDelivery.MaildirRoot);
        File.WriteAllText(Path.Combine(mta.Settings.LocalDelivery.MaildirRoot, "stuck"), "blocks the maildir: delivery defers");
        var before = await ScrapeAsync(mta, "/metrics");
        double Value(string text, string series) => Scrapes.Value(text, series) ?? 0;

        using (var client = await mta.ConnectAsync())
        {
            await client.SendAsync("EHLO client.test\r\nMAIL FROM:<a@test.example>\r\nRCPT TO:<user@test.example>\r\n"
                + "RCPT TO:<stuck@test.example>\r\nRCPT TO:<\"a/b\"@test.example>\r\nDATA\r\n");
            await client.ReadRepliesAsync(7);
            await client.SendAsync("Subject: counters\r\n\r\nthree ways\r\n.\r\nQUIT\r\n");
            await client.ReadRepliesAsync(2);
        }
        await mta.WaitForLogLineAsync("=> user@test.example");
        await mta.WaitForLogLineAsync("== stuck@test.example");
        await mta.WaitForLogLineAsync("** a/b@test.example");

        var after = await ScrapeAsync(mta, "/metrics");
        // Process-wide counters (other nodes may deliver meanwhile): ours moved them by at least one each.
        foreach (var series in new[]
                 {
                     "actormta_deliveries_succeeded_total{transport=\"local\"}",
                     "actormta_deliveries_deferred_total{transport=\"local\"}",
                     "actormta_deliveries_bounced_total{transport=\"local\"}",
                 })
        {
            Assert.True(Value(after, series) >= Value(before, series) + 1, $"{series}: {Value(before, series)} -> {Value(after, series)}");
        }
        Assert.Matches(@"\nactormta_queue_messages\{\} \d+\n", after);
        Assert.Matches(@"\nactormta_queue_oldest_message_age_seconds\{\} [\d.eE+-]+\n", after);
        Assert.Matches(@"\nactormta_actor_messages_processed_total\{kind=""QueueManager""\} [1-9]\d*\n", after);
    }

    [Fact]
    public async Task HealthIsOkWhileListeningAndTheSpoolIsWritable()
    {
        await using var mta = await StartAsync();
        Assert.Equal("{\"status\":\"ok\"}", await ScrapeAsync(mta, "/health"));
    }

    [Fact]
    public async Task WithMetricsOffNothingListensOnTheMetricsAddress()
    {
        int port = FreePorts.Tcp();
        await using var mta = await TestMta.StartAsync(s => s with { Metrics = new MetricsSettings(false, new IPEndPoint(IPAddress.Loopback, port), 10) });

        Assert.Null(mta.Node.MetricsEndPoint);
        using var probe = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        var refused = await Assert.ThrowsAsync<SocketException>(() => probe.ConnectAsync(IPAddress.Loopback, port));
        Assert.Equal(SocketError.ConnectionRefused, refused.SocketErrorCode);
    }
}
