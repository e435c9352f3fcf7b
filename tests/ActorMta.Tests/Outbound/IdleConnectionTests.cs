using System.Diagnostics;
using System.Net;
using ActorMta.Configuration;
using ActorMta.Outbound;
using ActorMta.Smtp;
using ActorMta.Tests.Support;
using Xunit.Abstractions;

namespace ActorMta.Tests.Outbound;

/// <summary>
/// <c>idle-connection-timeout</c>: a connection with nothing left to send stays open for the next
/// message to the same host, then QUITs; at shutdown idle connections QUIT at once. Real relay node,
/// real sockets, a scripted server that records every byte.
/// </summary>
public sealed class IdleConnectionTests(ITestOutputHelper output) : OutboundTestKit(output)
{
    private static readonly string[] ChunkingServer = ["SIZE 1000000", "PIPELINING", "CHUNKING"];

    /// <summary>Serves normally; after QUIT (answered) records whether the client then closed its side within 5 s.</summary>
    private sealed class Sink
    {
        private readonly System.Collections.Concurrent.ConcurrentDictionary<int, TaskCompletionSource<bool>> _closed = new();

        public async Task Script(FakeConnection c, int number)
        {
            var closed = Closed(number);
            try
            {
                await FakeSmtpServer.SinkAsync(c, ChunkingServer);
                closed.TrySetResult(c.Received.EndsWith("QUIT\r\n", StringComparison.Ordinal) && await c.WaitForCloseAsync(TimeSpan.FromSeconds(5)));
            }
            finally
            {
                closed.TrySetResult(false);
            }
        }

        /// <summary>Completes when connection <paramref name="number"/> (from 1) ended: true when it was QUIT and then closed by the client.</summary>
        public TaskCompletionSource<bool> Closed(int number) => _closed.GetOrAdd(number, _ => new TaskCompletionSource<bool>(TaskCreationOptions.RunContinuationsAsynchronously));

        public async Task<bool> QuitAndClosedAsync(int number, TimeSpan timeout)
        {
            var closed = Closed(number).Task;
            return await Task.WhenAny(closed, Task.Delay(timeout)) == closed && closed.Result;
        }
    }

    private static Func<MtaSettings, MtaSettings> RelayTo(IPEndPoint server, TimeSpan idle) => s => s with
    {
        PrimaryHostname = "relay.test.example",
        Policy = s.Policy with { LocalDomains = DomainList.Parse(["relay.test.example"]), RelayToDomains = DomainList.Parse(["remote.example"]) },
        Outbound = OutboundSettings.Default("relay.test.example") with { IdleConnectionTimeout = idle },
        Routing = s.Routing with
        {
            LocalDomains = DomainList.Parse(["relay.test.example"]),
            Smarthosts = [new ActorMta.Routing.SmarthostRoute("to_fake", DomainList.Parse(["remote.example"]), [$"127.0.0.1:{server.Port}"])],
        },
    };

    [Fact]
    public async Task TwoMessagesHalfASecondApartGoOverOneConnectionWhichQuitsAfterTheIdleTime()
    {
        var sink = new Sink();
        await using var server = new FakeSmtpServer(sink.Script);
        await using var relay = await TestMta.StartAsync(RelayTo(server.EndPoint, TimeSpan.FromSeconds(2)));

        var first = await SubmitAsync(relay, "first");
        var firstLine = await relay.WaitForLogLineAsync($"{first} => u@remote.example");
        await Task.Delay(500);
        var second = await SubmitAsync(relay, "second");
        var secondLine = await relay.WaitForLogLineAsync($"{second} => u@remote.example");
        var delivered = Stopwatch.StartNew();

        // One connection, two transactions; Exim's "*" after the host marks the second as sent down a continued connection.
        Assert.Matches(@" R=to_fake T=remote_smtp H=\S+ \[127\.0\.0\.1\]:\d+ L K C=""250 OK chunk""", firstLine);
        Assert.Matches(@" R=to_fake T=remote_smtp H=\S+ \[127\.0\.0\.1\]:\d+\* L K C=""250 OK chunk""", secondLine);
        var connection = Assert.Single(server.Connections);
        Assert.Equal(2, connection.Messages.Count);
        Assert.Equal(2, CountOf(connection.Received, "MAIL FROM:"));

        // No QUIT rode in the second message's flight: the connection stays idle and quits only when the
        // idle time is over. A busy machine can only make that later, never earlier.
        Assert.True(await sink.QuitAndClosedAsync(1, TimeSpan.FromSeconds(10)), "the idle connection was not QUIT and closed");
        Assert.True(delivered.Elapsed > TimeSpan.FromSeconds(1), $"closed {delivered.Elapsed.TotalMilliseconds:F0} ms after the last delivery, before its 2 s idle time");
        Assert.Single(server.Connections);
    }

    [Fact]
    public async Task StoppingTheNodeQuitsItsIdleConnectionsAtOnce()
    {
        var sink = new Sink();
        await using var server = new FakeSmtpServer(sink.Script);
        var relay = await TestMta.StartAsync(RelayTo(server.EndPoint, TimeSpan.FromMinutes(5)));
        FakeConnection connection;
        try
        {
            var id = await SubmitAsync(relay, "only");
            await relay.WaitForLogLineAsync($"{id} => u@remote.example");
            connection = Assert.Single(server.Connections);
            Assert.DoesNotContain("QUIT", connection.Received);
        }
        finally
        {
            await relay.DisposeAsync();
        }

        Assert.True(await sink.QuitAndClosedAsync(1, TimeSpan.FromSeconds(5)), "the idle connection outlived the node");
    }

    [Fact]
    public async Task WithTheIdleTimeOffTheLastFlightCarriesQuit()
    {
        var sink = new Sink();
        await using var server = new FakeSmtpServer(sink.Script);
        var agent = Agent(Settings(pipeConnect: false, idle: TimeSpan.Zero));

        const string body = "Subject: x\r\n\r\nbody\r\n";
        Deliver(agent, await JobAsync(server.EndPoint, body, "u@remote.test"));

        var connection = Assert.Single(server.Connections);
        Assert.True(await sink.QuitAndClosedAsync(1, TimeSpan.FromSeconds(5)));
        Assert.EndsWith($"BDAT {body.Length} LAST\r\n{body}QUIT\r\n", connection.Received);
    }

    [Fact]
    public async Task AnIdleConnectionTheServerClosedIsNotUsedTheMessageGoesOnANewOne()
    {
        // The first connection's server hangs up 200 ms after its message; the second serves normally.
        await using var server = new FakeSmtpServer(async (c, n) =>
        {
            if (n > 1)
            {
                await FakeSmtpServer.SinkAsync(c, ChunkingServer);
                return;
            }
            await c.SendAsync("220 fake.test ESMTP\r\n");
            Assert.StartsWith("EHLO", await c.ReadLineAsync());
            await c.SendAsync("250-fake.test\r\n250-PIPELINING\r\n250 CHUNKING\r\n");
            Assert.StartsWith("MAIL", await c.ReadLineAsync());
            Assert.StartsWith("RCPT", await c.ReadLineAsync());
            var bdat = (await c.ReadLineAsync())!.Split(' ');
            c.Messages.Add(await c.ReadBytesAsync(int.Parse(bdat[1])));
            await c.SendAsync("250 OK\r\n250 Accepted\r\n250 OK chunk\r\n");
            await Task.Delay(200);
        });
        var agent = Agent(Settings(pipeConnect: false, idle: TimeSpan.FromSeconds(30)));

        Deliver(agent, await JobAsync(server.EndPoint, "Subject: 1\r\n\r\none\r\n", "u@remote.test"));
        await Task.Delay(700); // the server has hung up meanwhile
        var second = Deliver(agent, await JobAsync(server.EndPoint, "Subject: 2\r\n\r\ntwo\r\n", "u@remote.test"));

        var outcome = Assert.Single(second.Outcomes);
        Assert.True(outcome.Status == DeliveryStatus.Delivered, outcome.Text);
        Assert.Equal(1, outcome.Connection!.MessageOnConnection);
        Assert.Equal(2, server.ConnectionCount);
        Assert.Equal("Subject: 2\r\n\r\ntwo\r\n", server.Connections.ToArray()[1].Messages.Single());
    }

    [Fact]
    public async Task BeyondMaxIdleConnectionsTheLongestIdleOneQuits()
    {
        var sinkA = new Sink();
        await using var a = new FakeSmtpServer(sinkA.Script);
        await using var b = new FakeSmtpServer(new Sink().Script);
        var agent = Agent(Settings(pipeConnect: false, idle: TimeSpan.FromMinutes(5)) with { MaxIdleConnections = 1 });

        Deliver(agent, await JobAsync(a.EndPoint, "Subject: a\r\n\r\na\r\n", "u@remote.test"));
        var toA = Assert.Single(a.Connections);
        await Task.Delay(300);
        Assert.DoesNotContain("QUIT", toA.Received);

        Deliver(agent, await JobAsync(b.EndPoint, "Subject: b\r\n\r\nb\r\n", "u@remote.test"));

        Assert.True(await sinkA.QuitAndClosedAsync(1, TimeSpan.FromSeconds(5)), "the older idle connection was kept beyond the cap");
        var toB = Assert.Single(b.Connections);
        await Task.Delay(300);
        Assert.DoesNotContain("QUIT", toB.Received);
    }

    private static int CountOf(string text, string part)
    {
        var count = 0;
        for (var at = text.IndexOf(part, StringComparison.Ordinal); at >= 0; at = text.IndexOf(part, at + part.Length, StringComparison.Ordinal)) count++;
        return count;
    }

    /// <summary>Sends one message for u@remote.example into the relay; returns its spool id.</summary>
    private static async Task<string> SubmitAsync(TestMta mta, string subject)
    {
        using var client = await mta.ConnectAsync();
        await client.ReadRepliesAsync(1);
        await client.SendAsync("EHLO client.test\r\n");
        await client.ReadRepliesAsync(1);
        await client.SendAsync("MAIL FROM:<a@client.test>\r\nRCPT TO:<u@remote.example>\r\nDATA\r\n");
        await client.ReadRepliesAsync(3);
        await client.SendAsync($"Subject: {subject}\r\n\r\nrelayed\r\n.\r\nQUIT\r\n");
        var replies = await client.ReadRepliesAsync(2);
        Assert.StartsWith("250 2.0.0 OK id=", replies);
        return replies["250 2.0.0 OK id=".Length..replies.IndexOf('\r')];
    }
}
