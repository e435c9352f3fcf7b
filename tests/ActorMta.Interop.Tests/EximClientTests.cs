using ActorMta.Interop.Tests.Peers;
using ActorMta.Interop.Tests.Support;
using ActorMta.Interop.Tests.Targets;

namespace ActorMta.Interop.Tests;

/// <summary>
/// Exim 4.96 as a real client with early pipelining (<c>hosts_pipe_connect = *</c>): the first
/// connection learns that the server offers PIPECONNECT, the second talks before the banner.
/// </summary>
public sealed class EximClientTests
{
    private const string Sender = "sender@client.test";

    [PeerFact(PeerBinaries.Exim)]
    public async Task Exim_early_pipelines_its_second_connection_and_the_bytes_arrive_unchanged()
    {
        await using var target = await TestTargets.StartAsync();
        await TwoDeliveriesLearnThenUseEarlyPipelining(target);
    }

    /// <summary>The same scenario against Exim's own server: proves the harness and the peer.</summary>
    [PeerFact(PeerBinaries.Exim)]
    public async Task Reference_Exim_to_Exim_shows_the_same_log_fields()
    {
        await using var target = await EximServer.StartAsync(TestTargets.Domain, [TestTargets.Mailbox]);
        await TwoDeliveriesLearnThenUseEarlyPipelining(target);
    }

    private static async Task TwoDeliveriesLearnThenUseEarlyPipelining(ISmtpTarget target)
    {
        await using var exim = await EximClient.CreateAsync(target.EndPoint);
        var tokens = new[] { NewToken(), NewToken() };

        var first = await exim.SendAsync(Sender, TestTargets.Recipient, Message(tokens[0]));
        var second = await exim.SendAsync(Sender, TestTargets.Recipient, Message(tokens[1]));

        // Exim's own view: PIPELINING used on the first, early pipelining on the second.
        Assert.Contains("L", first.Fields);
        Assert.DoesNotContain("L*", first.Fields);
        Assert.Contains("L*", second.Fields);

        var files = await target.WaitForDeliveriesAsync(TestTargets.Mailbox, 2, TimeSpan.FromSeconds(30));
        var receptions = target.ReceptionLines();
        Assert.True(receptions.Count == 2, $"{target.Name} <= lines:\n{string.Join('\n', receptions)}");
        // The server's view: offered but not used, then used.
        Assert.Contains("L.", receptions[0].Split(' '));
        Assert.Contains("L*", receptions[1].Split(' '));

        foreach (var (token, sent) in new[] { (tokens[0], first), (tokens[1], second) })
        {
            var file = Assert.Single(files, f => File.ReadAllText(f).Contains(token, StringComparison.Ordinal));
            MessageCompare.AssertDeliveredAsTransmitted(file, sent.Transmitted);
        }
    }

    private static string NewToken() => "tok-" + Guid.NewGuid().ToString("N");

    /// <summary>A message Exim completes (Message-Id, From, Date, its Received) before sending.</summary>
    private static string Message(string token) => $"""
        Subject: early pipelining {token}
        To: {TestTargets.Recipient}

        {token}
        .a line that starts with a dot
        ..and one with two
        {new string('x', 200)}
        last line

        """;
}
