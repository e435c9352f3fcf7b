using ActorMta.Outbound;
using ActorMta.Tests.Support;
using Xunit.Abstractions;

namespace ActorMta.Tests.Outbound;

/// <summary>
/// A remote server's reply text ends up in the main log and in the bounce's Diagnostic-Code: its
/// control characters (terminal escape sequences, NUL, BEL) arrive there escaped, as Exim writes them.
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
}
