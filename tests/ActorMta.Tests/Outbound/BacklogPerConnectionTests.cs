using ActorMta.Outbound;
using ActorMta.Tests.Support;
using Xunit.Abstractions;

namespace ActorMta.Tests.Outbound;

/// <summary>
/// <c>backlog-per-connection</c>: how many messages per open connection may wait for a host before
/// the agent opens another connection to it. Counted on a real server socket.
/// </summary>
public sealed class BacklogPerConnectionTests(ITestOutputHelper output) : OutboundTestKit(output)
{
    private static readonly string[] Keywords = ["SIZE 1000000", "PIPELINING"];
    private const string Body = "Subject: backlog\r\n\r\nHello\r\n";

    /// <summary>
    /// Five messages for one host are handed over at once while the host holds its banner, so no
    /// connection finishes anything: each message either waits or asks for a connection, as the
    /// setting says. One connection, then another for every <c>n</c> more waiting per connection:
    /// with 4 (the default) the four that follow the first wait for it; with 2 the fourth message
    /// opens a second connection; with 1 the third and the fifth do.
    /// </summary>
    [Theory]
    [InlineData(4, 1)]
    [InlineData(2, 2)]
    [InlineData(1, 3)]
    public async Task ConnectionsToAHostGrowWithItsBacklog(int backlogPerConnection, int expectedConnections)
    {
        // The agent handles its messages in order: once it opens the connection for a sixth message
        // (to another host), it has decided on all five, and the host may answer.
        var decided = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        await using var host = new FakeSmtpServer(async (c, _) =>
        {
            await decided.Task;
            await FakeSmtpServer.SinkAsync(c, Keywords);
        });
        await using var marker = new FakeSmtpServer(async (c, _) =>
        {
            decided.TrySetResult();
            await FakeSmtpServer.SinkAsync(c, Keywords);
        });
        var agent = Agent(Settings(pipeConnect: false) with { BacklogPerConnection = backlogPerConnection });

        var jobs = new List<OutboundJob>();
        for (var i = 0; i < 5; i++) jobs.Add(await JobAsync(host.EndPoint, Body, $"u{i}@remote.test"));
        jobs.Add(await JobAsync(marker.EndPoint, Body, "u@marker.test"));
        foreach (var job in jobs) agent.Tell(new DeliverRemote(job), TestActor);

        var results = ReceiveN(6, TimeSpan.FromSeconds(20)).Cast<RemoteDeliveryResult>().ToList();
        Assert.All(results, r => Assert.Equal(DeliveryStatus.Delivered, r.Outcomes.Single().Status));
        Assert.Equal(expectedConnections, host.ConnectionCount);
        Assert.Equal(5, host.Connections.Sum(c => c.Messages.Count));
    }
}
