using System.Net;
using System.Net.Sockets;
using System.Text;
using ActorMta.Interop.Tests.Peers;
using ActorMta.Interop.Tests.Targets;

namespace ActorMta.Interop.Tests;

/// <summary>
/// End to end: SMTP into a real ActorMta node, which relays the domain by a smarthost route to
/// Debian's Exim 4.96 (<c>pipelining_connect_advertise_hosts = *</c>, <c>chunking_advertise_hosts = *</c>,
/// <c>+pipelining</c>) with <c>hosts-pipe-connect = *</c>. Three messages, one at a time, so each
/// goes out on its own connection: Exim logs <c>L.</c> then <c>L*</c> twice, always <c>K</c>; ActorMta's
/// <c>=&gt;</c> lines agree; Exim's maildir holds what ActorMta accepted plus ActorMta's Received header.
/// </summary>
public sealed class EximServerEndToEndTests
{
    private const string RelayHostname = "relay.actormta.test";

    [PeerFact(PeerBinaries.Exim)]
    public async Task Relay_through_ActorMta_to_Exim_learns_then_early_pipelines_and_keeps_the_bytes()
    {
        await using var exim = await EximServer.StartAsync(TestTargets.Domain, [TestTargets.Mailbox], EximServer.EarlyTalkerBannerDelay);
        await using var relay = await ActorMtaTarget.StartAsync(["local.actormta.test"],
            $"actormta.primary-hostname=\"{RelayHostname}\"",
            $"actormta.routing.smarthosts=[{{ name = \"exim\", domains = [\"{TestTargets.Domain}\"], hosts = [\"{exim.EndPoint}\"] }}]",
            "actormta.outbound.hosts-pipe-connect=[\"*\"]",
            // One connection per message (L. then L*): an idle connection would carry the next one instead.
            "actormta.outbound.idle-connection-timeout=0");

        var sent = new List<(string Token, string Data)>();
        for (var i = 0; i < 3; i++)
        {
            var token = "tok-" + Guid.NewGuid().ToString("N");
            var data = Message(token, i);
            await SubmitAsync(relay.EndPoint, "sender@client.test", TestTargets.Recipient, data);
            sent.Add((token, data));
            // One at a time: the next message is accepted only after this one reached Exim, so it
            // cannot share the connection.
            await exim.WaitForDeliveriesAsync(TestTargets.Mailbox, i + 1, TimeSpan.FromSeconds(60));
        }

        // ActorMta writes its => line after journaling the outcome, which may be a moment after Exim stored the file.
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(30);
        List<string> deliveries;
        while ((deliveries = relay.MainLogLines().Where(l => l.Contains(" => ", StringComparison.Ordinal)).ToList()).Count < 3
               && DateTime.UtcNow < deadline)
        {
            await Task.Delay(50);
        }
        var receptions = exim.ReceptionLines();
        var both = "Exim <= lines:\n" + string.Join('\n', receptions) + "\nActorMta main log:\n" + string.Join('\n', relay.MainLogLines());

        // ActorMta's view: its => lines say PIPELINING, then early pipelining; CHUNKING each time.
        Assert.True(deliveries.Count == 3, both);
        var ours = deliveries.Select(l => l.Split(' ')).ToList();
        Assert.True(ours[0].Contains("L") && !ours[0].Contains("L*") && ours[1].Contains("L*") && ours[2].Contains("L*"),
            "expected L then L* L* from ActorMta. " + both);
        Assert.All(ours, f => Assert.Contains("K", f));

        // Exim's view: offered but not used, then used twice; CHUNKING every time.
        Assert.True(receptions.Count == 3, both);
        var fields = receptions.Select(l => l.Split(' ')).ToList();
        Assert.True(fields[0].Contains("L.") && fields[1].Contains("L*") && fields[2].Contains("L*"),
            "expected L. then L* L* from Exim. " + both);
        Assert.All(fields, f => Assert.Contains("K", f));

        // The bytes: Exim's trace headers, then ActorMta's Received header, then exactly what was submitted.
        var files = exim.DeliveredFiles(TestTargets.Mailbox);
        foreach (var (token, data) in sent)
        {
            var file = Assert.Single(files, f => File.ReadAllText(f).Contains(token, StringComparison.Ordinal));
            AssertRelayedUnchanged(file, data);
        }
    }

    /// <summary>
    /// The delivered file ends with the submitted message byte for byte (CRLF compared as LF, as
    /// Exim's maildir stores LF); before it sits ActorMta's Received header (by the relay), and before
    /// that only Exim's own trace headers (Return-Path, Envelope-To, Delivered-To, its Received).
    /// </summary>
    private static void AssertRelayedUnchanged(string deliveredFile, string submitted)
    {
        var delivered = File.ReadAllText(deliveredFile).Replace("\r\n", "\n");
        submitted = submitted.Replace("\r\n", "\n");
        Assert.True(delivered.EndsWith(submitted, StringComparison.Ordinal),
            $"delivered message does not end with the submitted one.\n--- submitted:\n{submitted}\n--- delivered:\n{delivered}");

        var fields = HeaderFields(delivered[..^submitted.Length]);
        var ours = fields[^1];
        Assert.StartsWith("Received: from ", ours);
        Assert.Contains($"by {RelayHostname} (ActorMta) with ", ours);
        var eximFields = fields[..^1];
        var allowed = new[] { "Return-Path", "Envelope-To", "Delivered-To", "Received" };
        Assert.All(eximFields, f => Assert.Contains(f[..f.IndexOf(':')], allowed, StringComparer.OrdinalIgnoreCase)); // Exim writes Return-path, Envelope-to
        var eximReceived = Assert.Single(eximFields, f => f.StartsWith("Received:", StringComparison.Ordinal));
        Assert.Contains($"by {EximServer.Hostname} with esmtp", eximReceived.Replace("\n\t", " ").Replace("\n ", " "));
    }

    /// <summary>Header fields of a block, each with its continuation lines.</summary>
    private static List<string> HeaderFields(string block)
    {
        var fields = new List<string>();
        foreach (var line in block.Split('\n'))
        {
            if (line.Length == 0) continue;
            if (line[0] is ' ' or '\t')
            {
                Assert.NotEmpty(fields);
                fields[^1] += "\n" + line;
            }
            else
            {
                Assert.True(line.IndexOf(':') > 0, $"not a header field: {line}");
                fields.Add(line);
            }
        }
        return fields;
    }

    /// <summary>A plain lock-step SMTP submission (EHLO, MAIL, RCPT, DATA with dot-stuffing, QUIT).</summary>
    internal static async Task SubmitAsync(IPEndPoint server, string sender, string recipient, string data)
    {
        using var client = new TcpClient();
        await client.ConnectAsync(server);
        var stream = client.GetStream();
        using var reader = new StreamReader(stream, Encoding.ASCII);
        async Task<string> Reply()
        {
            var text = new StringBuilder();
            while (await reader.ReadLineAsync() is { } line)
            {
                text.AppendLine(line);
                if (line.Length < 4 || line[3] != '-') break;
            }
            return text.ToString();
        }
        async Task<string> Command(string line)
        {
            await stream.WriteAsync(Encoding.UTF8.GetBytes(line + "\r\n"));
            return await Reply();
        }
        static void Expect(string code, string reply, string what) =>
            Assert.True(reply.StartsWith(code, StringComparison.Ordinal), $"{what}: {reply}");

        Expect("220", await Reply(), "banner");
        Expect("250", await Command("EHLO client.test"), "EHLO");
        Expect("250", await Command($"MAIL FROM:<{sender}>"), "MAIL");
        Expect("250", await Command($"RCPT TO:<{recipient}>"), "RCPT");
        Expect("354", await Command("DATA"), "DATA");
        var stuffed = string.Concat(data.Split("\r\n").SkipLast(1).Select(l => (l.StartsWith('.') ? "." + l : l) + "\r\n"));
        Expect("250", await Command(stuffed + "."), "end of data");
        await Command("QUIT");
    }

    /// <summary>A complete message (Message-ID, Date, From: Exim adds no header of its own to the content).</summary>
    private static string Message(string token, int i) =>
        $"Message-ID: <{token}@client.test>\r\n"
        + $"Date: Sun, 29 Nov 2026 12:00:0{i} +0000\r\n"
        + "From: sender@client.test\r\n"
        + $"To: {TestTargets.Recipient}\r\n"
        + $"Subject: relayed by ActorMta to Exim {i} {token}\r\n"
        + "\r\n"
        + $"{token}\r\n"
        + ".a line that starts with a dot\r\n"
        + "..and one with two\r\n"
        + new string('x', 900) + "\r\n"
        + "last line\r\n";
}
