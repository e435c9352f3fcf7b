using ActorMta.Outbound;
using ActorMta.Tests.Support;
using Xunit.Abstractions;

namespace ActorMta.Tests.Outbound;

/// <summary>Client side of early pipelining (spec Part A rules 9-13) against a scripted server that records the bytes sent before its banner.</summary>
public sealed class EarlyPipeliningClientTests(ITestOutputHelper output) : OutboundTestKit(output)
{
    private static readonly string[] ChunkingServer = ["SIZE 1000000", "PIPELINING", "PIPECONNECT", "CHUNKING"];
    private static readonly string[] DataServer = ["SIZE 1000000", "PIPELINING", "PIPECONNECT"];
    private const string Body = "Subject: test\r\n\r\nHello\r\n.leading dot\r\n";

    /// <summary>Every connection: wait a little, record what came before the banner, then serve normally.</summary>
    private static Func<FakeConnection, int, Task> Recording(string[] keywords) => async (c, _) =>
    {
        await c.CaptureBeforeBannerAsync(TimeSpan.FromMilliseconds(300));
        await FakeSmtpServer.SinkAsync(c, keywords);
    };

    [Fact]
    public async Task FirstConnectionWaitsForTheBannerAndTheSecondSendsTheWholeChunkedFlightEarly()
    {
        await using var server = new FakeSmtpServer(Recording(ChunkingServer));
        var agent = Agent(Settings());

        var first = Deliver(agent, await JobAsync(server.EndPoint, Body, "u@remote.test"));
        Assert.Equal(DeliveryStatus.Delivered, first.Outcomes.Single().Status);
        Assert.False(first.Outcomes.Single().Connection!.EarlyPipelined);
        AwaitRecord(server.EndPoint, r => r is not null);

        var job = await JobAsync(server.EndPoint, Body, "u@remote.test");
        var second = Deliver(agent, job);

        var connections = server.Connections.ToArray();
        Assert.Equal("", connections[0].BeforeBanner);
        Assert.Equal(
            $"EHLO client.test\r\nMAIL FROM:<a@client.test> SIZE={Body.Length}\r\nRCPT TO:<u@remote.test>\r\nBDAT {Body.Length} LAST\r\n{Body}QUIT\r\n",
            connections[1].BeforeBanner);
        var outcome = second.Outcomes.Single();
        Assert.Equal(DeliveryStatus.Delivered, outcome.Status);
        Assert.True(outcome.Connection!.EarlyPipelined);
        Assert.Matches(@"=> u@remote\.test R=smarthost T=remote_smtp H=fake\.test \[127\.0\.0\.1\]:\d+ L\* K C=""250 OK chunk"" DT=[\d.]+s$",
            DeliveryLogLine.Format(job.Envelope, outcome));
        Assert.Equal(Body, connections[1].Messages.Single());
    }

    [Fact]
    public async Task WithoutChunkingTheEarlyFlightEndsWithDataAndTheBodyFollowsThe354()
    {
        await using var server = new FakeSmtpServer(Recording(DataServer));
        var agent = Agent(Settings());
        Deliver(agent, await JobAsync(server.EndPoint, Body, "u@remote.test"));
        AwaitRecord(server.EndPoint, r => r is not null);

        var second = Deliver(agent, await JobAsync(server.EndPoint, Body, "u@remote.test", "v@remote.test"));

        Assert.Equal(
            $"EHLO client.test\r\nMAIL FROM:<a@client.test> SIZE={Body.Length}\r\nRCPT TO:<u@remote.test>\r\nRCPT TO:<v@remote.test>\r\nDATA\r\n",
            server.Connections.ToArray()[1].BeforeBanner);
        Assert.All(second.Outcomes, o => Assert.Equal(DeliveryStatus.Delivered, o.Status));
        Assert.Equal("Subject: test\r\n\r\nHello\r\n..leading dot\r\n.\r\n", server.Connections.ToArray()[1].Messages.Single());
    }

    [Fact]
    public async Task NoEarlyFlightToHostsOutsideHostsPipeConnect()
    {
        await using var server = new FakeSmtpServer(Recording(ChunkingServer));
        var agent = Agent(Settings(pipeConnect: false));
        Deliver(agent, await JobAsync(server.EndPoint, Body, "u@remote.test"));
        Deliver(agent, await JobAsync(server.EndPoint, Body, "u@remote.test"));
        Assert.All(server.Connections, c => Assert.Equal("", c.BeforeBanner));
        Assert.Null(State(server.EndPoint).Record);
    }

    public static TheoryData<string> BannerFailures => new() { "554 SMTP synchronization error", "421 busy", "close", "silence" };

    [Theory]
    [MemberData(nameof(BannerFailures))]
    public async Task FailedBannerOnAnEarlyAttemptDeletesTheRecordAndReconnectsLockStep(string failure)
    {
        await using var server = new FakeSmtpServer(async (c, n) =>
        {
            await c.CaptureBeforeBannerAsync(TimeSpan.FromMilliseconds(300));
            switch (n)
            {
                case 1: await FakeSmtpServer.SinkAsync(c, ChunkingServer); return;        // primes the record
                case 2 when failure == "close": return;                                  // connection closed without a banner
                case 2 when failure == "silence": await c.WaitForCloseAsync(TimeSpan.FromSeconds(10)); return;
                case 2: await c.SendAsync(failure + "\r\n"); return;
                default: await FakeSmtpServer.SinkAsync(c, ["PIPELINING", "CHUNKING"]); return; // no longer offers PIPECONNECT
            }
        });
        // The timeout ends the "silence" case; at 1 s a CI machine loaded by other tests timed out
        // the fresh connection's banner too (the server waits 300 ms for early input first).
        var agent = Agent(Settings(commandTimeout: TimeSpan.FromSeconds(3)));
        Deliver(agent, await JobAsync(server.EndPoint, Body, "u@remote.test"));
        AwaitRecord(server.EndPoint, r => r is not null);

        var result = Deliver(agent, await JobAsync(server.EndPoint, Body, "u@remote.test"));

        // Never bounced nor deferred for the early attempt: delivered over a fresh lock-step connection.
        var outcome = result.Outcomes.Single();
        Assert.True(outcome.Status == DeliveryStatus.Delivered, $"{outcome.Status}: {outcome.Text}");
        Assert.False(outcome.Connection!.EarlyPipelined);
        var connections = server.Connections.ToArray();
        Assert.Equal(3, connections.Length);
        Assert.StartsWith("EHLO client.test\r\nMAIL FROM:", connections[1].BeforeBanner);
        Assert.Equal("", connections[2].BeforeBanner);
        Assert.Null(AwaitRecord(server.EndPoint, r => r is null));
    }

    [Fact]
    public async Task RecipientRejectionsAreReportedPerRecipientAndKeepTheRecord()
    {
        await using var server = new FakeSmtpServer(async (c, _) =>
        {
            await c.CaptureBeforeBannerAsync(TimeSpan.FromMilliseconds(200));
            await FakeSmtpServer.SinkAsync(c, ChunkingServer, rcpt => rcpt.Contains("bad@") ? "550 5.1.1 no such user" : rcpt.Contains("later@") ? "451 4.3.0 try later" : "250 Accepted");
        });
        var agent = Agent(Settings());
        Deliver(agent, await JobAsync(server.EndPoint, Body, "u@remote.test"));
        AwaitRecord(server.EndPoint, r => r is not null);

        var result = Deliver(agent, await JobAsync(server.EndPoint, Body, "good@remote.test", "bad@remote.test", "later@remote.test"));

        Assert.Equal([DeliveryStatus.Delivered, DeliveryStatus.Failed, DeliveryStatus.Deferred], result.Outcomes.Select(o => o.Status));
        Assert.Equal("SMTP error from remote mail server after RCPT TO:<bad@remote.test>: 550 5.1.1 no such user", result.Outcomes[1].Text);
        Assert.True(result.Outcomes[0].Connection!.EarlyPipelined);
        Assert.NotNull(State(server.EndPoint).Record); // MAIL/RCPT/DATA rejections never touch the record
    }

    [Fact]
    public async Task ServerWithoutPipeliningIsSpokenToInLockStepWithHeloFallback()
    {
        await using var server = new FakeSmtpServer(async (c, _) =>
        {
            await c.SendAsync("220 old.test\r\n");
            var ehlo = await c.ReadLineAsync();
            Assert.StartsWith("EHLO", ehlo);
            await c.SendAsync("502 EHLO not implemented\r\n");
            // From here on, each command must come alone.
            await FakeSmtpServer.ServeAsync(c, []);
        });
        var agent = Agent(Settings());
        var result = Deliver(agent, await JobAsync(server.EndPoint, Body, "u@remote.test", "v@remote.test"));
        Assert.All(result.Outcomes, o => Assert.Equal(DeliveryStatus.Delivered, o.Status));
        var transcript = server.Connections.Single().Received;
        Assert.StartsWith("EHLO client.test\r\nHELO client.test\r\nMAIL FROM:<a@client.test>\r\nRCPT TO:<u@remote.test>\r\nRCPT TO:<v@remote.test>\r\nDATA\r\n", transcript);
    }

    [Fact]
    public async Task ConnectionIsReusedForTheNextMessageToTheSameHost()
    {
        await using var server = new FakeSmtpServer((c, _) => FakeSmtpServer.SinkAsync(c, ["PIPELINING", "CHUNKING"]));
        var oneConnection = Sys.ActorOf(ActorMta.Destinations.Destinations.Props(ActorMta.Destinations.DestinationSettings.Default with { MaxConnections = 1 }));
        var agent = Agent(Settings(), oneConnection);
        var jobs = new[] { await JobAsync(server.EndPoint, Body, "a@remote.test"), await JobAsync(server.EndPoint, Body, "b@remote.test"), await JobAsync(server.EndPoint, Body, "c@remote.test") };
        foreach (var job in jobs) agent.Tell(new DeliverRemote(job), TestActor);
        var results = Enumerable.Range(0, 3).Select(_ => ExpectMsg<RemoteDeliveryResult>(TimeSpan.FromSeconds(20))).ToArray();
        Assert.All(results, r => Assert.Equal(DeliveryStatus.Delivered, r.Outcomes.Single().Status));
        Assert.Equal(1, server.ConnectionCount);
        Assert.Equal(3, server.Connections.Single().Messages.Count);
    }

    [Fact]
    public async Task RefusedConnectionFallsBackToTheNextHostAndStartsItsRetryWait()
    {
        await using var server = new FakeSmtpServer((c, _) => FakeSmtpServer.SinkAsync(c, ["PIPELINING", "CHUNKING"]));
        // A port nobody listens on: bind, note the port, close.
        var closed = new System.Net.Sockets.Socket(System.Net.Sockets.AddressFamily.InterNetwork, System.Net.Sockets.SocketType.Stream, System.Net.Sockets.ProtocolType.Tcp);
        closed.Bind(new System.Net.IPEndPoint(System.Net.IPAddress.Loopback, 0));
        var deadPort = ((System.Net.IPEndPoint)closed.LocalEndPoint!).Port;
        closed.Dispose();

        var job = await JobAsync(server.EndPoint, Body, "u@remote.test");
        var dead = new ActorMta.Routing.NextHop("mx1.remote.test", System.Net.IPAddress.Loopback, deadPort, 10);
        var alive = new ActorMta.Routing.NextHop("mx2.remote.test", server.EndPoint.Address, server.EndPoint.Port, 20);
        job = job with { Route = new ActorMta.Routing.RemoteRoute("dnslookup", [dead, alive]) };

        var result = Deliver(Agent(Settings()), job);

        var outcome = result.Outcomes.Single();
        Assert.Equal(DeliveryStatus.Delivered, outcome.Status);
        Assert.Equal("mx2.remote.test", outcome.Connection!.HostName);
        var retry = State(new System.Net.IPEndPoint(System.Net.IPAddress.Loopback, deadPort)).Retry;
        Assert.NotNull(retry);
        Assert.Contains("Connection refused", retry.LastError);
    }
}
