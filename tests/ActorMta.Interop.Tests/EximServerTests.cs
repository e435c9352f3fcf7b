using System.Net;
using ActorMta.Interop.Tests.Peers;
using ActorMta.Interop.Tests.Support;
using ActorMta.Interop.Tests.Targets;
using ActorMta.Outbound;

namespace ActorMta.Interop.Tests;

/// <summary>
/// ActorMta as the client, Debian's Exim 4.96 as the real server (<c>pipelining_connect_advertise_hosts = *</c>,
/// <c>chunking_advertise_hosts = *</c>, <c>+pipelining</c> logging). Three messages, each on a new
/// connection with <c>hosts-pipe-connect = *</c>: the first learns the record (Exim logs <c>L.</c>),
/// the next two talk before the banner (<c>L*</c>); all three go by BDAT (<c>K</c>), and Exim's
/// maildir holds exactly the bytes ActorMta had spooled, behind Exim's own trace headers.
/// </summary>
/// <remarks>
/// Drives the <see cref="DeliveryAgent"/> directly (<see cref="OutboundRig"/>), without queue and
/// routing: the client alone against Exim. <see cref="EximServerEndToEndTests"/> runs the same
/// scenario through the whole relay. Exim's banner is delayed (<see cref="EximServer.EarlyTalkerBannerDelay"/>)
/// so that its L*/L. field does not depend on scheduling.
/// </remarks>
public sealed class EximServerTests
{
    [PeerFact(PeerBinaries.Exim)]
    public async Task ActorMta_learns_then_early_pipelines_to_Exim_and_the_bytes_arrive_unchanged()
    {
        await using var exim = await EximServer.StartAsync(TestTargets.Domain, [TestTargets.Mailbox], EximServer.EarlyTalkerBannerDelay);
        await using var rig = await OutboundRig.StartAsync(pipeConnect: true);

        var spooled = new List<(string Token, byte[] Data)>();
        var results = new List<RemoteDeliveryResult>();
        for (var i = 0; i < 3; i++)
        {
            var token = "tok-" + Guid.NewGuid().ToString("N");
            var job = await rig.SpoolAsync("sender@client.test", [TestTargets.Recipient], Message(token, i));
            spooled.Add((token, rig.SpooledData(job.MessageId)));

            var result = await rig.DeliverAsync(job, exim.EndPoint, TimeSpan.FromSeconds(60));
            results.Add(result);
            var outcome = Assert.Single(result.Outcomes);
            Assert.True(outcome.Status == DeliveryStatus.Delivered, $"message {i}: {outcome.Status} {outcome.Text}\nExim:\n"
                + string.Join('\n', exim.MainLogLines()));

            // Each message is its own connection; before the next one, the record must be in place.
            if (i == 0) await rig.WaitForRecordAsync(exim.EndPoint, TimeSpan.FromSeconds(10));
        }

        // ActorMta's own view of the connections.
        var facts = results.Select(r => r.Outcomes[0].Connection!).ToList();
        Assert.False(facts[0].EarlyPipelined);
        Assert.All(facts.Skip(1), f => Assert.True(f.EarlyPipelined));
        Assert.All(facts, f => Assert.True(f.ChunkingUsed));

        // Exim's view: offered but not used, then used twice; CHUNKING every time.
        var files = await exim.WaitForDeliveriesAsync(TestTargets.Mailbox, 3, TimeSpan.FromSeconds(30));
        var receptions = exim.ReceptionLines();
        Assert.True(receptions.Count == 3, "Exim <= lines:\n" + string.Join('\n', receptions));
        var fields = receptions.Select(l => l.Split(' ')).ToList();
        Assert.True(fields[0].Contains("L.") && fields[1].Contains("L*") && fields[2].Contains("L*"),
            "expected L. then L* L*:\n" + string.Join('\n', receptions));
        Assert.All(fields, f => Assert.Contains("K", f));

        // The bytes: Exim's maildir file is ActorMta's spooled data (its Received header included) behind Exim's headers.
        foreach (var (token, data) in spooled)
        {
            var file = Assert.Single(files, f => File.ReadAllText(f).Contains(token, StringComparison.Ordinal));
            MessageCompare.AssertDeliveredAsTransmitted(file, System.Text.Encoding.UTF8.GetString(data));
        }
    }

    /// <summary>
    /// What ActorMta would have accepted and spooled: its own Received header first, then a message
    /// complete enough (Message-ID, Date, From) that Exim adds nothing but trace headers, with
    /// dot-leading lines and a long line to exercise the BDAT path byte for byte.
    /// </summary>
    private static string Message(string token, int i) =>
        $"Received: from client.test ([127.0.0.1]:40000 helo=client.test)\r\n"
        + $"\tby actormta.test with esmtp (ActorMta)\r\n"
        + $"\tid {token[4..16]}; Sun, 29 Nov 2026 12:00:0{i} +0000\r\n"
        + $"Message-ID: <{token}@client.test>\r\n"
        + $"Date: Sun, 29 Nov 2026 12:00:0{i} +0000\r\n"
        + "From: sender@client.test\r\n"
        + $"To: {TestTargets.Recipient}\r\n"
        + $"Subject: ActorMta to Exim {i} {token}\r\n"
        + "\r\n"
        + $"{token}\r\n"
        + ".a line that starts with a dot\r\n"
        + "..and one with two\r\n"
        + new string('x', 900) + "\r\n"
        + "last line\r\n";
}
