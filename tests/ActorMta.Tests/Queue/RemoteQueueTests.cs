using System.Net;
using Akka.Actor;
using ActorMta.Configuration;
using ActorMta.Destinations;
using ActorMta.Outbound;
using ActorMta.Queue;
using ActorMta.Routing;
using ActorMta.Smtp;
using ActorMta.Spool;
using ActorMta.Tests.Support;
using MimeKit;
using Envelope = ActorMta.Spool.Envelope;

namespace ActorMta.Tests.Queue;

/// <summary>
/// The queue with the real router, delivery agent and destinations, delivering to a scripted SMTP
/// server on loopback through a smarthost route (remote.example), or failing at routing (a stub DNS).
/// </summary>
public sealed class RemoteQueueTests : QueueTestKit
{
    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(15);

    public RemoteQueueTests() : base("remote-queue") { }

    private SpoolFixture F => Fixture!;

    /// <summary>A sink that answers RCPT with <paramref name="rcpt"/> (per connection number and line), 250 otherwise.</summary>
    private FakeSmtpServer Sink(Func<int, string, string>? rcpt = null, bool dsn = true)
        => Server((c, n) => ServeAsync(c, rcpt is null ? _ => "250 Accepted" : line => rcpt(n, line), dsn));

    /// <summary>A pipelining server that, like real ones, refuses DATA when no recipient was accepted.</summary>
    private static async Task ServeAsync(FakeConnection c, Func<string, string> rcpt, bool dsn = true)
    {
        await c.SendAsync("220 fake.test ESMTP\r\n");
        int accepted = 0;
        while (await c.ReadLineAsync() is { } line)
        {
            switch (line.Split(' ')[0].ToUpperInvariant())
            {
                case "EHLO": await c.SendAsync(dsn ? "250-fake.test hello\r\n250-PIPELINING\r\n250-8BITMIME\r\n250 DSN\r\n" : "250-fake.test hello\r\n250-PIPELINING\r\n250 8BITMIME\r\n"); break;
                case "MAIL": accepted = 0; await c.SendAsync("250 OK\r\n"); break;
                case "RCPT":
                    string reply = rcpt(line);
                    if (reply.StartsWith('2')) accepted++;
                    await c.SendAsync(reply + "\r\n");
                    break;
                case "DATA" when accepted == 0: await c.SendAsync("554 5.5.1 No valid recipients\r\n"); break;
                case "DATA":
                    await c.SendAsync("354 go ahead\r\n");
                    c.Messages.Add(await c.ReadUntilAsync("\r\n.\r\n"));
                    await c.SendAsync("250 OK queued as FAKE\r\n");
                    break;
                case "RSET": accepted = 0; await c.SendAsync("250 Reset\r\n"); break;
                case "QUIT": await c.SendAsync("221 bye\r\n"); return;
                default: await c.SendAsync("500 unrecognised\r\n"); break;
            }
        }
    }

    /// <summary>Queue, router (smarthost for remote.example to <paramref name="server"/>, MX via <paramref name="dns"/>), agent, destinations.</summary>
    private IActorRef StartQueue(FakeSmtpServer? server, string? schedule = null, IMxResolver? dns = null)
    {
        CreateFixture(server);
        return StartQueueOn(F.Spool, schedule, dns);
    }

    private void CreateFixture(FakeSmtpServer? server)
    {
        Fixture = new SpoolFixture(s => s with
        {
            Spool = s.Spool with { Fsync = false },
            Routing = RoutingSettings.Default with
            {
                LocalDomains = s.Policy.LocalDomains,
                Smarthosts = server is null ? [] : [new SmarthostRoute("smarthost", ActorMta.Smtp.DomainList.Parse(["remote.example"]), [$"127.0.0.1:{server.EndPoint.Port}"])],
                UseIPv6 = false,
            },
            Outbound = OutboundSettings.Default("mx.test.example") with
            {
                ConnectTimeout = TimeSpan.FromSeconds(5),
                CommandTimeout = TimeSpan.FromSeconds(5),
                // The scripted servers here answer by connection number: each attempt must open its own.
                IdleConnectionTimeout = TimeSpan.Zero,
            },
        });
    }

    private IActorRef StartQueueOn(MessageSpool spool, string? schedule = null, IMxResolver? dns = null)
    {
        var destinations = Sys.ActorOf(ActorMta.Destinations.Destinations.Props(DestinationSettings.Default));
        var router = Sys.ActorOf(RouterActor.Props(new Router(F.Settings.Routing, dns ?? new StubDns())));
        var delivery = Sys.ActorOf(DeliveryAgent.Props(F.Settings.Outbound, spool, destinations));
        var tuning = schedule is null ? QueueTuning.Default : QueueTuning.Default with { RetryRules = RetrySchedule.Parse([schedule]) };
        return Sys.ActorOf(QueueManager.Props(F.Settings, spool, F.MainLog, router, delivery, tuning));
    }

    private async Task<Envelope> StoreAsync(string sender, params EnvelopeRecipient[] recipients)
    {
        var envelope = F.NewEnvelope() with { Sender = sender, Recipients = recipients };
        await F.Spool.StoreAsync(envelope, [SpoolFixture.SampleData]);
        return envelope;
    }

    private static EnvelopeRecipient To(string address, string? notify = null) => new(address, notify, null);

    private Task<string> WaitForLogAsync(string pattern) => WaitForLogAsync(l => System.Text.RegularExpressions.Regex.IsMatch(l, pattern), pattern);

    private async Task<string> WaitForLogAsync(Func<string, bool> match, string what)
    {
        var deadline = DateTime.UtcNow + Patience;
        while (true)
        {
            var line = F.Sink.Lines.FirstOrDefault(match);
            if (line is not null) return line;
            if (DateTime.UtcNow > deadline) throw new TimeoutException($"no main-log line like {what}; log:\n{string.Join('\n', F.Sink.Lines)}");
            await Task.Delay(20);
        }
    }

    private async Task<MimeMessage> WaitForMaildirMessageAsync(string user)
    {
        var deadline = DateTime.UtcNow + Patience;
        while (true)
        {
            // Only new/: a file still in tmp/ is being written (reading it raced with the delivery: "End of stream").
            var files = F.MaildirFiles(user).Where(f => f.StartsWith("new/", StringComparison.Ordinal)).ToArray();
            if (files.Length > 0) return await MimeMessage.LoadAsync(Path.Combine(F.MaildirRoot, user, files[0]));
            if (DateTime.UtcNow > deadline) throw new TimeoutException($"nothing in {user}'s maildir; log:\n{string.Join('\n', F.Sink.Lines)}");
            await Task.Delay(20);
        }
    }

    private static string Id(Envelope e) => System.Text.RegularExpressions.Regex.Escape(e.MessageId);

    [Fact]
    public async Task A_remote_recipient_is_delivered_through_the_smarthost_logged_with_host_and_reply_and_removed_from_the_spool()
    {
        var server = Sink();
        var queue = StartQueue(server);
        var envelope = await StoreAsync("alice@test.example", To("carol@remote.example"));

        queue.Tell(new QueueManager.Enqueue(envelope));

        await WaitForLogAsync($"^{Id(envelope)} Completed$");
        var delivered = Assert.Single(F.Sink.Lines, l => l.Contains(" => ", StringComparison.Ordinal));
        Assert.Matches(
            $@"^{Id(envelope)} => carol@remote\.example R=smarthost T=remote_smtp H=\S+ \[127\.0\.0\.1\]:{server.EndPoint.Port} L C=""250 OK queued as FAKE"" DT=\d+(\.\d+)?s$",
            delivered);
        Assert.Empty(F.SpoolFiles());
        var connection = Assert.Single(server.Connections);
        Assert.Contains("RCPT TO:<carol@remote.example>", connection.Received, StringComparison.Ordinal);
        Assert.Contains("Subject: hello", Assert.Single(connection.Messages), StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_success_report_is_ours_when_the_next_host_does_not_announce_DSN()
    {
        var server = Sink(dsn: false);
        var queue = StartQueue(server);
        var envelope = await StoreAsync("alice@test.example", To("carol@remote.example", "SUCCESS,FAILURE"), To("dave@remote.example"));

        queue.Tell(new QueueManager.Enqueue(envelope));

        await WaitForLogAsync($"^{Id(envelope)} Completed$");
        Assert.Matches($@"^{Id(envelope)} success report sent to alice@test\.example as \S+ \(carol@remote\.example\)$",
            await WaitForLogAsync(l => l.Contains(" success report sent ", StringComparison.Ordinal), "success report"));
        Assert.DoesNotContain("NOTIFY=", Assert.Single(server.Connections).Received, StringComparison.Ordinal);
        var report = await WaitForMaildirMessageAsync("alice");
        Assert.Equal($"Delivery report: message {envelope.MessageId} delivered", report.Subject);
        var parts = Assert.IsType<MultipartReport>(report.Body);
        var group = Assert.Single(Assert.IsType<MessageDeliveryStatus>(parts[1]).StatusGroups, g => g.Contains("Final-Recipient"));
        Assert.Equal(("rfc822; carol@remote.example", "relayed", "2.0.0"), (group["Final-Recipient"], group["Action"], group["Status"]));
        Assert.Equal("smtp; 250 OK queued as FAKE", group["Diagnostic-Code"]);
        Assert.IsType<TextRfc822Headers>(parts[2]);
        await AwaitAssertAsync(() => Assert.Empty(F.SpoolFiles()), Patience);
    }

    [Fact]
    public async Task A_host_that_announces_DSN_gets_NOTIFY_and_the_success_report_is_its_own_to_send()
    {
        var server = Sink();
        var queue = StartQueue(server);
        var envelope = await StoreAsync("alice@test.example", To("carol@remote.example", "SUCCESS"));

        queue.Tell(new QueueManager.Enqueue(envelope));

        await WaitForLogAsync($"^{Id(envelope)} Completed$");
        Assert.Contains("RCPT TO:<carol@remote.example> NOTIFY=SUCCESS", Assert.Single(server.Connections).Received, StringComparison.Ordinal);
        Assert.DoesNotContain(F.Sink.Lines, l => l.Contains(" success report ", StringComparison.Ordinal));
        Assert.Empty(F.MaildirFiles("alice"));
        Assert.Empty(F.SpoolFiles());
    }

    [Fact]
    public async Task A_queue_manager_restarted_by_its_supervisor_waits_for_the_delivery_still_running_instead_of_sending_it_again()
    {
        var dataReceived = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var release = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        // A server that takes its time over the reply to the message's data.
        var server = Server(async (c, _) =>
        {
            await c.SendAsync("220 fake.test ESMTP\r\n");
            while (await c.ReadLineAsync() is { } line)
            {
                switch (line.Split(' ')[0].ToUpperInvariant())
                {
                    case "DATA":
                        await c.SendAsync("354 go ahead\r\n");
                        c.Messages.Add(await c.ReadUntilAsync("\r\n.\r\n"));
                        dataReceived.TrySetResult();
                        await release.Task;
                        await c.SendAsync("250 OK queued as SLOW\r\n");
                        break;
                    case "QUIT": await c.SendAsync("221 bye\r\n"); return;
                    default: await c.SendAsync("250 OK\r\n"); break;
                }
            }
        });
        var queue = StartQueue(server);
        var envelope = await StoreAsync("alice@test.example", To("carol@remote.example"));
        queue.Tell(new QueueManager.Enqueue(envelope));
        await dataReceived.Task.WaitAsync(Patience);

        // A bug's exception (here a null envelope) makes its supervisor restart the queue manager,
        // which rebuilds the queue from the spool while the attempt it started goes on.
        queue.Tell(new QueueManager.Enqueue(null!));
        Assert.Equal(1, await queue.Ask<int>(QueueManager.CountQueue.Instance, Patience));
        await Task.Delay(1000);
        Assert.Equal(1, server.ConnectionCount);

        release.SetResult();
        await WaitForLogAsync($"^{Id(envelope)} Completed$");
        Assert.Single(F.Sink.Lines, l => l.Contains(" => carol@remote.example", StringComparison.Ordinal));
        Assert.Single(server.Connections.SelectMany(c => c.Messages));
        Assert.Equal(0, await queue.Ask<int>(QueueManager.CountQueue.Instance, Patience));
        Assert.Empty(F.SpoolFiles());
    }

    [Fact]
    public async Task A_4xx_recipient_is_retried_at_the_scheduled_time_and_then_delivered_while_the_local_one_is_delivered_once()
    {
        var server = Sink((n, _) => n == 1 ? "451 4.2.0 try again later" : "250 Accepted");
        var queue = StartQueue(server, schedule: "F,1m,1s");
        var envelope = await StoreAsync("alice@test.example", To("bob@test.example"), To("carol@remote.example"));

        queue.Tell(new QueueManager.Enqueue(envelope));

        var deferred = await WaitForLogAsync($"^{Id(envelope)} == carol@remote\\.example ");
        Assert.Contains("451 4.2.0 try again later", deferred, StringComparison.Ordinal);
        await WaitForLogAsync($"^{Id(envelope)} Completed$");
        var retriedAfter = F.Sink.TimeOf(l => l.StartsWith($"{envelope.MessageId} => carol", StringComparison.Ordinal))
                           - F.Sink.TimeOf(l => l.StartsWith($"{envelope.MessageId} == carol", StringComparison.Ordinal));
        Assert.True(retriedAfter >= TimeSpan.FromMilliseconds(900) && retriedAfter < TimeSpan.FromSeconds(5), $"retried after {retriedAfter}:\n{string.Join('\n', F.Sink.Lines)}");
        Assert.Single(F.Sink.Lines, l => l.StartsWith($"{envelope.MessageId} => carol@remote.example R=smarthost", StringComparison.Ordinal));
        Assert.Single(F.Sink.Lines, l => l == $"{envelope.MessageId} => bob@test.example R=local_user T=maildir_delivery");
        Assert.Single(F.MaildirFiles("bob"));
        Assert.Equal(2, server.ConnectionCount);
        Assert.Empty(F.SpoolFiles());
    }

    [Fact]
    public async Task A_5xx_recipient_bounces_with_a_delivery_status_notification_delivered_to_the_local_sender()
    {
        var server = Sink((_, line) => line.Contains("carol", StringComparison.Ordinal) ? "550 5.1.1 No such user here" : "250 Accepted");
        var queue = StartQueue(server);
        var envelope = await StoreAsync("alice@test.example", To("carol@remote.example"), To("dave@remote.example"));

        queue.Tell(new QueueManager.Enqueue(envelope));

        var bounce = await WaitForMaildirMessageAsync("alice");
        await WaitForLogAsync($"^{Id(envelope)} Completed$");
        var failedLine = Assert.Single(F.Sink.Lines, l => l.StartsWith($"{envelope.MessageId} ** ", StringComparison.Ordinal));
        Assert.Contains("carol@remote.example", failedLine, StringComparison.Ordinal);
        Assert.Contains("550 5.1.1 No such user here", failedLine, StringComparison.Ordinal);
        var received = await WaitForLogAsync($@"^\S+ <= <> R={Id(envelope)} U=actormta P=local S=\d+ id=[^<>\s]+@[^<>\s]+ for alice@test\.example$");
        string bounceId = received.Split(' ')[0];
        await WaitForLogAsync($"^{System.Text.RegularExpressions.Regex.Escape(bounceId)} => alice@test\\.example R=local_user");

        var report = Assert.IsType<MultipartReport>(bounce.Body);
        Assert.Equal("delivery-status", report.ReportType);
        Assert.Equal("", bounce.Headers[HeaderId.ReturnPath]?.Trim('<', '>', ' ') ?? "");
        Assert.Equal("alice@test.example", Assert.Single(bounce.To.Mailboxes).Address);
        var status = Assert.Single(report.OfType<MessageDeliveryStatus>());
        Assert.Equal("dns; mx.test.example", status.StatusGroups[0]["Reporting-MTA"]);
        Assert.NotNull(status.StatusGroups[0]["Arrival-Date"]);
        var group = Assert.Single(status.StatusGroups.Skip(1), g => g.Count > 0);
        Assert.Equal("rfc822; carol@remote.example", group["Final-Recipient"]);
        Assert.Equal("failed", group["Action"]);
        Assert.Equal("5.1.1", group["Status"]);
        Assert.Equal("smtp; 550 5.1.1 No such user here", group["Diagnostic-Code"]);
        Assert.StartsWith("dns; ", group["Remote-MTA"], StringComparison.Ordinal);
        var headers = Assert.Single(report.OfType<TextRfc822Headers>());
        Assert.Equal("hello", headers.Message?.Subject);
        Assert.Contains("carol@remote.example", Assert.Single(report.OfType<TextPart>()).Text, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_domain_with_a_null_MX_fails_at_once_and_bounces_with_5_1_10()
    {
        var queue = StartQueue(server: null, dns: new StubDns { NullMx = { "nullmx.example" } });
        var envelope = await StoreAsync("alice@test.example", To("carol@nullmx.example"));

        queue.Tell(new QueueManager.Enqueue(envelope));

        var bounce = await WaitForMaildirMessageAsync("alice");
        Assert.Contains($"{envelope.MessageId} ** carol@nullmx.example: 556 5.1.10 Recipient address has null MX", F.Sink.Lines);
        var group = Assert.Single(report(bounce).StatusGroups.Skip(1), g => g.Count > 0);
        Assert.Equal("5.1.10", group["Status"]);
        Assert.Equal("rfc822; carol@nullmx.example", group["Final-Recipient"]);

        static MessageDeliveryStatus report(MimeMessage m) => Assert.Single(Assert.IsType<MultipartReport>(m.Body).OfType<MessageDeliveryStatus>());
    }

    [Fact]
    public async Task A_recipient_with_notify_never_fails_without_a_bounce()
    {
        var server = Sink((_, _) => "550 5.1.1 No such user here");
        var queue = StartQueue(server);
        var envelope = await StoreAsync("alice@test.example", To("carol@remote.example", notify: "NEVER"));

        queue.Tell(new QueueManager.Enqueue(envelope));

        await WaitForLogAsync($"^{Id(envelope)} Completed$");
        await Task.Delay(200);
        Assert.Single(F.Sink.Lines, l => l.StartsWith($"{envelope.MessageId} ** carol@remote.example", StringComparison.Ordinal));
        Assert.DoesNotContain(F.Sink.Lines, l => l.Contains(" <= ", StringComparison.Ordinal));
        Assert.Empty(F.MaildirFiles("alice"));
        Assert.Empty(F.SpoolFiles());
    }

    [Fact]
    public async Task A_failure_of_a_message_from_the_null_sender_is_logged_and_no_bounce_is_sent()
    {
        var server = Sink((_, _) => "550 5.1.1 No such user here");
        var queue = StartQueue(server);
        var envelope = await StoreAsync("", To("carol@remote.example"));

        queue.Tell(new QueueManager.Enqueue(envelope));

        await WaitForLogAsync($"^{Id(envelope)} Completed$");
        Assert.Contains($"{envelope.MessageId} bounce message not sent: null sender (carol@remote.example)", F.Sink.Lines);
        Assert.DoesNotContain(F.Sink.Lines, l => l.Contains(" <= ", StringComparison.Ordinal));
        Assert.Empty(F.SpoolFiles());
    }

    [Fact]
    public async Task After_a_crash_between_recipients_a_new_queue_on_the_same_spool_does_not_deliver_the_journaled_one_again()
    {
        var server = Sink();
        CreateFixture(server);
        // The crashed run: carol was delivered and journaled, then the process died before dave.
        var envelope = await StoreAsync("alice@test.example", To("carol@remote.example"), To("dave@remote.example"));
        await F.Spool.MarkRecipientAsync(envelope.MessageId, 0, RecipientState.Delivered);

        StartQueueOn(F.Reopen());

        await WaitForLogAsync($"^{Id(envelope)} Completed$");
        var connection = Assert.Single(server.Connections);
        Assert.DoesNotContain("carol@remote.example", connection.Received, StringComparison.Ordinal);
        Assert.Contains("RCPT TO:<dave@remote.example>", connection.Received, StringComparison.Ordinal);
        Assert.Single(F.Sink.Lines, l => l.Contains(" => ", StringComparison.Ordinal));
        Assert.Empty(F.SpoolFiles());
    }
}
