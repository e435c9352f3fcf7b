using System.Diagnostics;
using ActorMta.Outbound;
using ActorMta.Tests.Support;
using Xunit.Abstractions;

namespace ActorMta.Tests.Outbound;

/// <summary>
/// <c>outbound.command-timeout</c> and <c>outbound.data-timeout</c> bound every wait for a reply (until
/// 2026-11-30 only the TLS handshake honoured them, and a server that stalled held the delivery for
/// the whole attempt deadline, 30 minutes): the recipient is deferred with the reason.
/// </summary>
public sealed class ReplyTimeoutTests(ITestOutputHelper output) : OutboundTestKit(output)
{
    private static readonly TimeSpan Short = TimeSpan.FromSeconds(1);

    [Fact]
    public async Task A_banner_that_never_ends_is_given_up_after_the_command_timeout()
    {
        await using var server = new FakeSmtpServer(async (c, _) =>
        {
            await c.SendAsync("220-fake.test a banner whose last line never comes\r\n");
            await Task.Delay(TimeSpan.FromSeconds(30));
        });
        var agent = Agent(Settings(pipeConnect: false, commandTimeout: Short) with { DataTimeout = TimeSpan.FromMinutes(10) });
        var clock = Stopwatch.StartNew();

        var outcome = Deliver(agent, await JobAsync(server.EndPoint, "Subject: x\r\n\r\nx\r\n", "u@remote.test")).Outcomes.Single();

        Assert.Equal(DeliveryStatus.Deferred, outcome.Status);
        Assert.Contains("timeout waiting for the reply to the banner (command-timeout, 1s)", outcome.Text);
        Assert.InRange(clock.Elapsed, Short, TimeSpan.FromSeconds(10));
    }

    [Fact]
    public async Task A_server_silent_after_the_data_is_given_up_after_the_data_timeout()
    {
        // A server that never answers the final dot.
        await using var silent = new FakeSmtpServer(async (c, _) =>
        {
            await c.SendAsync("220 fake.test ESMTP\r\n");
            while (await c.ReadLineAsync() is { } line)
            {
                if (line.StartsWith("DATA", StringComparison.OrdinalIgnoreCase))
                {
                    await c.SendAsync("354 go ahead\r\n");
                    await c.ReadDataAsync();
                    await Task.Delay(TimeSpan.FromSeconds(30));
                    return;
                }
                await c.SendAsync(line.StartsWith("EHLO", StringComparison.OrdinalIgnoreCase) ? "250-fake.test\r\n250 PIPELINING\r\n" : "250 OK\r\n");
            }
        });
        var agent = Agent(Settings(pipeConnect: false, commandTimeout: TimeSpan.FromMinutes(5)) with { DataTimeout = Short });
        var clock = Stopwatch.StartNew();

        var outcome = Deliver(agent, await JobAsync(silent.EndPoint, "Subject: x\r\n\r\nx\r\n", "u@remote.test")).Outcomes.Single();

        Assert.Equal(DeliveryStatus.Deferred, outcome.Status);
        Assert.Contains("timeout waiting for the reply to the end of the data (data-timeout, 1s)", outcome.Text);
        Assert.InRange(clock.Elapsed, Short, TimeSpan.FromSeconds(10));
    }
}
