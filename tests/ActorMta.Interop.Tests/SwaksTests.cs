using ActorMta.Interop.Tests.Peers;
using ActorMta.Interop.Tests.Targets;

namespace ActorMta.Interop.Tests;

/// <summary>swaks with <c>--pipeline</c>: MAIL, RCPT and DATA go out as one group.</summary>
public sealed class SwaksTests
{
    [PeerFact(PeerBinaries.Swaks)]
    public async Task Swaks_pipelines_MAIL_RCPT_DATA_and_the_message_is_delivered()
    {
        await using var target = await TestTargets.StartAsync();
        var token = "tok-" + Guid.NewGuid().ToString("N");

        var t = await SwaksPeer.SendAsync(target.EndPoint, "sender@client.test", TestTargets.Recipient,
            $"swaks {token}", token, "--pipeline");

        Assert.True(t.ExitCode == 0, $"swaks exited {t.ExitCode}:\n{t.Raw}");
        Assert.True(t.IndexOf("<-  250-PIPELINING") >= 0 || t.IndexOf("<-  250 PIPELINING") >= 0,
            $"PIPELINING not advertised:\n{t.Raw}");

        // Pipelined: the three commands are written back to back, before any of their replies.
        var mail = t.IndexOf(" -> MAIL FROM:");
        Assert.True(mail >= 0, t.Raw);
        Assert.StartsWith(" -> RCPT TO:", t.Lines[mail + 1]);
        Assert.StartsWith(" -> DATA", t.Lines[mail + 2]);
        Assert.StartsWith("<-  250", t.Lines[mail + 3]);
        Assert.StartsWith("<-  250", t.Lines[mail + 4]);
        Assert.StartsWith("<-  354", t.Lines[mail + 5]);

        var dot = t.IndexOf(" -> .", mail);
        Assert.True(dot > 0, t.Raw);
        Assert.StartsWith("<-  250", t.Lines[dot + 1]);

        var files = await target.WaitForDeliveriesAsync(TestTargets.Mailbox, 1, TimeSpan.FromSeconds(30));
        Assert.Contains(token, File.ReadAllText(Assert.Single(files)));
        // PIPELINING used, PIPECONNECT offered but (swaks) not used.
        Assert.Contains("L.", Assert.Single(target.ReceptionLines()).Split(' '));
    }
}
