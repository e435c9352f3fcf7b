using ActorMta.Outbound;
using ActorMta.Tests.Support;
using Xunit.Abstractions;

namespace ActorMta.Tests.Outbound;

/// <summary>
/// The client reading replies that arrive one byte per segment (a slow or fragmenting link): the
/// multi-line EHLO reply, the pipelined replies and the early-pipelined flight's replies are each
/// put together before they are acted on.
/// </summary>
public sealed class SplitReplyTests(ITestOutputHelper output) : OutboundTestKit(output)
{
    private const string Body = "Subject: slow link\r\n\r\nHello\r\n.leading dot\r\n";

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task Replies_trickled_one_byte_at_a_time_still_deliver_lock_step_and_then_early_pipelined(bool chunking)
    {
        string[] keywords = chunking ? ["SIZE 1000000", "PIPELINING", "PIPECONNECT", "CHUNKING"] : ["SIZE 1000000", "PIPELINING", "PIPECONNECT"];
        await using var server = new FakeSmtpServer(async (c, _) =>
        {
            c.Trickle = true;
            await c.CaptureBeforeBannerAsync(TimeSpan.FromMilliseconds(300));
            await FakeSmtpServer.SinkAsync(c, keywords);
        });
        var agent = Agent(Settings(commandTimeout: TimeSpan.FromSeconds(10)));

        var first = Deliver(agent, await JobAsync(server.EndPoint, Body, "u@remote.test", "v@remote.test"));
        Assert.All(first.Outcomes, o => Assert.Equal(DeliveryStatus.Delivered, o.Status));
        AwaitRecord(server.EndPoint, r => r is not null);

        var second = Deliver(agent, await JobAsync(server.EndPoint, Body, "u@remote.test"));
        var outcome = second.Outcomes.Single();
        Assert.Equal(DeliveryStatus.Delivered, outcome.Status);
        Assert.True(outcome.Connection!.EarlyPipelined);

        string expected = chunking ? Body : "Subject: slow link\r\n\r\nHello\r\n..leading dot\r\n.\r\n";
        Assert.All(server.Connections.ToArray(), c => Assert.Equal(expected, c.Messages.Single()));
    }
}
