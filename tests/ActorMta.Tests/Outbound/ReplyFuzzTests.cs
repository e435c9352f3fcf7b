using System.Collections.Concurrent;
using System.Text;
using Akka.Actor;
using Akka.Event;
using ActorMta.Outbound;
using ActorMta.Tests.Support;
using Xunit.Abstractions;

namespace ActorMta.Tests.Outbound;

/// <summary>
/// The delivery agent against a remote server whose every reply is drawn at random from good,
/// refusing and broken ones: capabilities that change from one connection to the next (the early
/// pipelining cache meets them), 4xx and 5xx anywhere, replies without a code, half a multi-line
/// reply, bare LF, overlong lines, and connections dropped instead of a reply. The test knows no
/// expected outcome; it checks what must hold whatever the server did: every recipient gets one
/// outcome; "delivered" only if the server really took the message for it (a 2xx to its RCPT and
/// to the end of that transaction's data); always "delivered" when it did so on a connection where
/// every reply until then was well formed and none was a 421 (after a broken one the client cannot
/// trust the stream, after a 421 it has left, and a retry that sends the message again is what any
/// MTA does); and no actor fails. Some seeds
/// run with a server that can do TLS: its 220 to STARTTLS is then followed by a real handshake,
/// or now and then by nothing (the connection drops), and the conversation goes on over TLS.
/// </summary>
public sealed class ReplyFuzzTests(ITestOutputHelper output) : OutboundTestKit(output)
{
    private sealed class ErrorCollector : ReceiveActor
    {
        public ErrorCollector(List<string> errors) => Receive<Error>(e => { lock (errors) errors.Add(e.ToString()); });
    }

    private static readonly string[] Keywords = ["PIPELINING", "CHUNKING", "8BITMIME", "SMTPUTF8", "SIZE 1000000", "SIZE 50", "DSN", "ENHANCEDSTATUSCODES", "PIPECONNECT", "STARTTLS", "X-JUNK"];

    [Theory]
    [InlineData(1, false)]
    [InlineData(2, false)]
    [InlineData(3, false)]
    [InlineData(4, true)]
    [InlineData(5, true)]
    public async Task Random_replies_never_make_an_undelivered_message_delivered_nor_lose_an_outcome(int seed, bool tls)
    {
        using var authority = tls ? ActorMta.Tests.Shared.TestCertificates.CreateAuthority() : null;
        using var certificate = authority?.IssueServer(["fake.test"]);
        var errors = new List<string>();
        Sys.EventStream.Subscribe(Sys.ActorOf(Props.Create(() => new ErrorCollector(errors))), typeof(Error));
        // Recipients the server really took: a 2xx to their RCPT and to the end of the data after it
        // (true: on a connection where every reply until then was well formed).
        var taken = new ConcurrentDictionary<string, bool>(StringComparer.Ordinal);
        var transcripts = new ConcurrentQueue<string>();
        await using var server = new FakeSmtpServer((c, n) => ServeAsync(c, new Random(seed * 1000 + n), taken, transcripts, certificate));
        // Short timeouts: half a multi-line reply leaves the client waiting for the rest.
        var agent = Agent(Settings(pipeConnect: true, commandTimeout: TimeSpan.FromSeconds(1)) with { DataTimeout = TimeSpan.FromSeconds(1) });

        var random = new Random(seed);
        int overTls = 0;
        var key = new ActorMta.Destinations.DestinationKey(server.EndPoint.Address, server.EndPoint.Port);
        for (int job = 0; job < 25; job++)
        {
            // Each job tries the host now: a failure's retry time would otherwise keep the next ones
            // from connecting at all. The early-pipelining record stays, as it does across retries.
            Destinations.Tell(new ActorMta.Destinations.HostSucceeded(key));
            var recipients = Enumerable.Range(0, random.Next(1, 4)).Select(i => $"r{job}x{i}@remote.test").ToArray();
            var result = Deliver(agent, await JobAsync(server.EndPoint, "Subject: fuzz\r\n\r\n" + new string('b', random.Next(0, 200)) + "\r\n", recipients));

            Assert.Equal(Enumerable.Range(0, recipients.Length), result.Outcomes.Select(o => o.RecipientIndex).Order());
            foreach (var outcome in result.Outcomes)
            {
                string rcpt = recipients[outcome.RecipientIndex];
                bool wasTaken = taken.TryGetValue(rcpt, out bool cleanly);
                bool notTakenYetDelivered = outcome.Status == DeliveryStatus.Delivered && !wasTaken;
                bool takenYetNotDelivered = wasTaken && cleanly && outcome.Status != DeliveryStatus.Delivered;
                if (!notTakenYetDelivered && !takenYetNotDelivered) continue;
                // A connection's transcript is complete when it ends (a pipelined QUIT may still be on its way).
                await Task.Delay(1000);
                string context = $"seed {seed} job {job}:\n{string.Join("\n====\n", transcripts)}";
                Assert.False(notTakenYetDelivered, $"{rcpt} logged delivered, but the server never took it ({outcome.Text}); {context}");
                Assert.False(takenYetNotDelivered, $"{rcpt} was taken by the server, but the outcome is {outcome.Status} ({outcome.Text}); {context}");
            }
            overTls += transcripts.Count(t => t.Contains("S: (TLS)", StringComparison.Ordinal));
            transcripts.Clear();
        }
        if (tls) Assert.True(overTls >= 5, $"seed {seed}: only {overTls} connections went on over TLS");
        lock (errors) Assert.True(errors.Count == 0, string.Join("\n", errors));
    }

    /// <summary>One connection of the random server.</summary>
    /// <param name="certificate">With one, STARTTLS is mostly answered 220 and a real handshake.</param>
    private static async Task ServeAsync(FakeConnection c, Random random, ConcurrentDictionary<string, bool> taken, ConcurrentQueue<string> transcripts,
        System.Security.Cryptography.X509Certificates.X509Certificate2? certificate)
    {
        var said = new StringBuilder();
        string lastReply = "";
        bool clean = true;
        // Called with the reply chosen, before it is sent: the server's record of what it took must
        // be made before the client can read the 2xx that tells it so.
        Action<string>? beforeSend = null;
        async Task<bool> ReplyAsync(string good, params string[] others)
        {
            // Instead of the reply: nothing more, the connection drops.
            if (random.Next(40) == 0) return false;
            if (random.Next(10) == 0) await Task.Delay(random.Next(1, 20));
            // One reply in four is not the good one: half of those a refusal, half broken.
            string reply = random.Next(4) != 0 ? good : others.Length > 0 && random.Next(2) == 0 ? Pick(random, others) : Pick(random, Broken);
            // After a 421 the client closes (RFC 5321 3.8): what this server takes afterwards, from
            // commands the client pipelined before it read the 421, the client never hears of.
            if (Broken.Contains(reply) || CodeOf(reply) == 421) clean = false;
            lastReply = reply;
            said.Append("S: ").Append(reply.Replace("\r\n", "|")).Append('\n');
            beforeSend?.Invoke(reply);
            beforeSend = null;
            await c.SendAsync(reply);
            return true;
        }

        try
        {
            if (!await ReplyAsync("220 fake.test ESMTP\r\n", "554 5.7.1 go away\r\n", "421 4.3.2 busy\r\n", "220-fake.test\r\n220 ESMTP\r\n")) return;
            if (CodeOf(lastReply) != 220)
            {
                // A server that did not greet takes nothing: 503 to all but QUIT (RFC 5321 3.1).
                while (await c.ReadLineAsync() is { } refused)
                {
                    said.Append("C: ").Append(refused).Append('\n');
                    if (refused.StartsWith("QUIT", StringComparison.OrdinalIgnoreCase)) { await c.SendAsync("221 2.0.0 bye\r\n"); return; }
                    if (refused.StartsWith("BDAT", StringComparison.OrdinalIgnoreCase)) await c.ReadBytesAsync(int.Parse(refused.Split(' ')[1]));
                    await c.SendAsync("503 5.5.1 no greeting, no mail\r\n");
                }
                return;
            }
            var accepted = new List<string>();
            bool mailOk = false;
            while (await c.ReadLineAsync() is { } line)
            {
                said.Append("C: ").Append(line).Append('\n');
                string verb = line.Split(' ')[0].ToUpperInvariant();
                bool alive = true;
                switch (verb)
                {
                    case "EHLO":
                        {
                            // A server with a certificate offers STARTTLS three times in four.
                            var chosen = Keywords.Where(k => random.Next(2) == 0 || (certificate is not null && !c.IsTls && k == "STARTTLS" && random.Next(2) == 0))
                                .Prepend("fake.test").ToArray();
                            var reply = new StringBuilder();
                            for (int i = 0; i < chosen.Length; i++) reply.Append(i == chosen.Length - 1 ? "250 " : "250-").Append(chosen[i]).Append("\r\n");
                            alive = await ReplyAsync(reply.ToString(), "500 5.5.1 what\r\n", "421 4.3.2 not now\r\n");
                            break;
                        }
                    case "HELO": alive = await ReplyAsync("250 fake.test\r\n", "501 no\r\n"); break;
                    case "STARTTLS" when certificate is not null && !c.IsTls:
                        alive = await ReplyAsync("220 2.0.0 go ahead\r\n", "454 4.7.0 TLS not available\r\n", "500 no\r\n");
                        if (!alive || CodeOf(lastReply) != 220) break;
                        // Now and then the handshake never comes: the connection drops instead.
                        if (random.Next(15) == 0) return;
                        try
                        {
                            await c.StartTlsAsync(certificate);
                        }
                        catch (Exception e) when (e is IOException or System.Security.Authentication.AuthenticationException)
                        {
                            said.Append("S: (handshake failed: ").Append(e.Message).Append(")\n");
                            return;
                        }
                        said.Append("S: (TLS)\n");
                        accepted.Clear();
                        mailOk = false;
                        break;
                    case "STARTTLS": alive = await ReplyAsync("454 4.7.0 TLS not available\r\n", "500 no\r\n"); break;
                    case "MAIL":
                        accepted.Clear();
                        mailOk = false;
                        alive = await ReplyAsync("250 2.1.0 OK\r\n", "451 4.3.0 later\r\n", "550 5.7.1 no senders like you\r\n", "452 4.3.1 full\r\n");
                        mailOk = CodeOf(lastReply) is >= 200 and < 300;
                        break;
                    case "RCPT":
                        {
                            string rcpt = line.Contains('<') ? line[(line.IndexOf('<') + 1)..line.IndexOf('>')] : "";
                            alive = await ReplyAsync("250 2.1.5 OK\r\n", "450 4.2.0 mailbox busy\r\n", "550 5.1.1 no such user\r\n", "452 4.5.3 too many\r\n", "251 2.1.5 forwarding\r\n");
                            if (mailOk && CodeOf(lastReply) is >= 200 and < 300) accepted.Add(rcpt);
                            break;
                        }
                    case "DATA":
                        {
                            alive = await ReplyAsync("354 go ahead\r\n", "554 5.5.1 no valid recipients\r\n", "451 4.3.0 later\r\n");
                            if (!alive || CodeOf(lastReply) != 354) break;
                            await c.ReadDataAsync();
                            beforeSend = reply => { if (CodeOf(reply) is >= 200 and < 300) foreach (var r in accepted) taken[r] = clean; };
                            alive = await ReplyAsync("250 2.0.0 OK queued\r\n", "451 4.3.0 try later\r\n", "554 5.6.0 content rejected\r\n");
                            accepted.Clear();
                            break;
                        }
                    case "BDAT":
                        {
                            var parts = line.Split(' ');
                            await c.ReadBytesAsync(int.Parse(parts[1]));
                            bool last = parts.Length > 2 && parts[2].Equals("LAST", StringComparison.OrdinalIgnoreCase);
                            if (last) beforeSend = reply => { if (CodeOf(reply) is >= 200 and < 300) foreach (var r in accepted) taken[r] = clean; };
                            alive = await ReplyAsync("250 2.0.0 OK\r\n", "451 4.3.0 try later\r\n", "554 5.6.0 content rejected\r\n");
                            beforeSend = null;
                            bool ok = alive && CodeOf(lastReply) is >= 200 and < 300;
                            if (!ok || last) accepted.Clear();
                            break;
                        }
                    case "RSET": accepted.Clear(); alive = await ReplyAsync("250 2.0.0 reset\r\n"); break;
                    case "NOOP": alive = await ReplyAsync("250 2.0.0 OK\r\n"); break;
                    case "QUIT": await c.SendAsync("221 2.0.0 bye\r\n"); return;
                    default: alive = await ReplyAsync("500 5.5.2 unrecognised\r\n"); break;
                }
                if (!alive) return;
            }
        }
        finally
        {
            transcripts.Enqueue(said.ToString());
        }
    }

    /// <summary>Replies no client can take at face value.</summary>
    private static readonly string[] Broken =
    [
        "250\r\n", "2500 too long a code\r\n", "abc not a reply\r\n", "250-first line of a reply that never ends\r\n",
        "250 ok with a bare LF\n", "451 " + new string('x', 2000) + "\r\n", "\u00ff\u00fe junk\r\n", "\r\n", "600 out of range\r\n",
    ];

    private static string Pick(Random random, string[] items) => items[random.Next(items.Length)];

    /// <summary>
    /// The code a client reads in <paramref name="reply"/>, or 0 when it holds no complete,
    /// well-formed final line. Lines may end with a bare LF: clients accept that, as Postfix's does.
    /// </summary>
    private static int CodeOf(string reply)
    {
        if (!reply.EndsWith('\n')) return 0;
        var lines = reply.Split('\n', StringSplitOptions.RemoveEmptyEntries).Select(l => l.TrimEnd('\r')).ToArray();
        if (lines.Length == 0) return 0;
        string final = lines[^1];
        // RFC 5321 4.2: a code, then a space and text, or the code alone.
        bool shaped = final.Length == 3 || (final.Length >= 4 && final[3] == ' ');
        return shaped && int.TryParse(final.AsSpan(0, 3), out int code) && code is >= 200 and < 600 ? code : 0;
    }
}
