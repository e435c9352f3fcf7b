using ActorMta.Outbound;
using ActorMta.Tests.Support;
using Xunit.Abstractions;

namespace ActorMta.Tests.Outbound;

/// <summary>
/// Replies a client must not take at face value. A remote server's reply text ends up in the main
/// log and in the bounce's Diagnostic-Code: its control characters (terminal escape sequences, NUL,
/// BEL) arrive there escaped, as Exim writes them. And a reply split so that it parses as one with
/// the next puts every later reply out of step with its command.
/// </summary>
public sealed class HostileReplyTests(ITestOutputHelper output) : OutboundTestKit(output)
{
    [Fact]
    public async Task Control_characters_in_a_refusal_reach_the_log_line_and_the_diagnostic_escaped()
    {
        await using var server = new FakeSmtpServer((c, _) =>
            FakeSmtpServer.SinkAsync(c, ["PIPELINING"], rcptReply: _ => "550 5.7.1 \u001b[31mred\u0007 \u0000end"));
        var agent = Agent(Settings(pipeConnect: false));
        var job = await JobAsync(server.EndPoint, "Subject: x\r\n\r\nx\r\n", "u@remote.test");

        var outcome = Deliver(agent, job).Outcomes.Single();

        Assert.Equal(DeliveryStatus.Failed, outcome.Status);
        Assert.Contains(@"\x1b[31mred\x07 \x00end", outcome.Text);
        string line = DeliveryLogLine.Format(job.Envelope, outcome);
        Assert.Contains(@"550 5.7.1 \x1b[31mred\x07 \x00end", line);
        Assert.DoesNotContain(line, c => char.IsControl(c));
    }

    [Fact]
    public async Task A_reply_left_unfinished_that_puts_the_rest_out_of_step_delivers_nothing()
    {
        // The second RCPT's reply is a "250-" line that never ends; the third RCPT's "250 " ends it.
        // Each reply after that answers the command before the one the client expects: the data's
        // 250 goes to the third RCPT, and QUIT's 221, pipelined behind the data, to the data.
        int rcpts = 0;
        await using var server = new FakeSmtpServer(async (c, _) =>
        {
            await c.SendAsync("220 fake.test ESMTP\r\n");
            while (await c.ReadLineAsync() is { } line)
            {
                string verb = line.Split(' ')[0].ToUpperInvariant();
                if (verb == "EHLO") await c.SendAsync("250-fake.test\r\n250-PIPELINING\r\n250 CHUNKING\r\n");
                else if (verb == "RCPT") await c.SendAsync(++rcpts == 2 ? "250-first line of a reply that never ends\r\n" : "250 2.1.5 OK\r\n");
                else if (verb == "BDAT")
                {
                    await c.ReadBytesAsync(int.Parse(line.Split(' ')[1]));
                    await c.SendAsync("250 2.0.0 OK\r\n");
                }
                else if (verb == "QUIT")
                {
                    await c.SendAsync("221 2.0.0 bye\r\n");
                    return;
                }
                else await c.SendAsync("250 OK\r\n");
            }
        });
        var agent = Agent(Settings(pipeConnect: false) with { UseChunking = true });
        var job = await JobAsync(server.EndPoint, "Subject: x\r\n\r\nx\r\n", "a@remote.test", "b@remote.test", "c@remote.test");

        var outcomes = Deliver(agent, job).Outcomes;

        Assert.Equal(3, outcomes.Count);
        Assert.All(outcomes, o => Assert.Equal(DeliveryStatus.Deferred, o.Status));
        Assert.Contains(outcomes, o => o.Text.Contains("reply out of step: 221", StringComparison.Ordinal));
    }
}
