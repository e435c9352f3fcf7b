using System.Collections.Concurrent;
using System.Text;
using System.Text.RegularExpressions;
using Akka.Actor;
using Akka.Event;
using ActorMta.Configuration;
using ActorMta.Destinations;
using ActorMta.Outbound;
using ActorMta.Queue;
using ActorMta.Routing;
using ActorMta.Spool;
using ActorMta.Tests.Support;
using Envelope = ActorMta.Spool.Envelope;

namespace ActorMta.Tests.Queue;

/// <summary>
/// Random work on a running queue: messages for local users and for a remote server (which
/// refuses some recipients for good), with the operator's verbs (deliver, freeze, thaw, remove,
/// bounce) and crashes of the queue manager (its supervisor restarts it, and the new incarnation
/// rebuilds the queue from the spool while the old one's attempts go on) thrown in at random. At
/// the end everything is thawed and the queue run until it is empty. Checked: no recipient got a
/// message twice; nothing was delivered after the operator's removal or bounce said done; every
/// other recipient was delivered once or failed with one <c>**</c> line; the queue and the spool
/// end empty; and no actor failed but by the crashes the test caused. Fixed seeds, so a failure replays.
/// </summary>
public sealed class QueueFuzzTests : QueueTestKit
{
    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(30);
    private static readonly Regex FuzzId = new(@"^X-Fuzz-Id: (\S+)\r$", RegexOptions.Multiline | RegexOptions.CultureInvariant);

    public QueueFuzzTests() : base("queue-fuzz") { }

    private SpoolFixture F => Fixture!;

    /// <summary>Collects the actor system's Error events.</summary>
    private sealed class ErrorCollector : ReceiveActor
    {
        public ErrorCollector(List<Error> errors) => Receive<Error>(e => { lock (errors) errors.Add(e); });
    }

    /// <summary>What the test did to one message, and what the operator's verbs said.</summary>
    private sealed class Sent(Envelope envelope)
    {
        public readonly Envelope Envelope = envelope;

        /// <summary>Deliveries counted when the operator's remove or bounce said done (null: never).</summary>
        public int? DeliveriesWhenEnded;

        /// <summary>A remove or bounce got no answer: it may or may not have been done.</summary>
        public bool Uncertain;

        public string Id => Envelope.MessageId;
    }

    [Theory]
    [InlineData(1)]
    [InlineData(2)]
    [InlineData(3)]
    public async Task Random_messages_verbs_and_crashes_deliver_each_recipient_at_most_once_and_lose_nothing(int seed)
    {
        // Remote deliveries: (fuzz id, recipient) for each recipient whose message the server took.
        var remote = new ConcurrentQueue<(string Id, string Recipient)>();
        var deferred = new ConcurrentDictionary<string, bool>(StringComparer.Ordinal);
        var server = Server((c, _) => ServeAsync(c, remote, deferred));
        // Odd seeds with the spool's write-ahead log (fsync on), even ones with files only.
        bool log = seed % 2 == 1;
        Fixture = new SpoolFixture(s => s with
        {
            Spool = s.Spool with { Fsync = log, LogSegmentSize = 64 * 1024, LogSizeLimit = 128 * 1024 },
            Routing = RoutingSettings.Default with
            {
                LocalDomains = s.Policy.LocalDomains,
                Smarthosts = [new SmarthostRoute("smarthost", ActorMta.Smtp.DomainList.Parse(["remote.example"]), [$"127.0.0.1:{server.EndPoint.Port}"])],
                UseIPv6 = false,
            },
            Outbound = OutboundSettings.Default("mx.test.example") with
            {
                ConnectTimeout = TimeSpan.FromSeconds(5),
                CommandTimeout = TimeSpan.FromSeconds(5),
            },
        });
        var errors = new List<Error>();
        Sys.EventStream.Subscribe(Sys.ActorOf(Props.Create(() => new ErrorCollector(errors))), typeof(Error));

        var destinations = Sys.ActorOf(ActorMta.Destinations.Destinations.Props(DestinationSettings.Default));
        var router = Sys.ActorOf(RouterActor.Props(new Router(F.Settings.Routing, new StubDns())));
        var delivery = Sys.ActorOf(DeliveryAgent.Props(F.Settings.Outbound, F.Spool, destinations));
        var queue = Sys.ActorOf(QueueManager.Props(F.Settings, F.Spool, F.MainLog, router, delivery, QueueTuning.Default));

        var random = new Random(seed);
        var sent = new List<Sent>();
        int crashes = 0;
        var answers = new Dictionary<string, int>();
        void Count(string verb, QueueCommandStatus? status) => answers[$"{verb} {status?.ToString() ?? "no answer"}"] = answers.GetValueOrDefault($"{verb} {status?.ToString() ?? "no answer"}") + 1;
        for (int step = 0; step < 240; step++)
        {
            int roll = random.Next(100);
            if (roll < 40 || sent.Count == 0)
            {
                var message = await StoreAsync(random, sent.Count);
                sent.Add(message);
                queue.Tell(new QueueManager.Enqueue(message.Envelope));
                continue;
            }
            // Mostly among the latest messages, which are more likely still queued.
            var target = random.Next(2) == 0 ? sent[random.Next(sent.Count)] : sent[Math.Max(0, sent.Count - 1 - random.Next(8))];
            if (roll < 50) await AskAsync(queue, new FreezeMessage(target.Id, true, "root"));
            else if (roll < 60) await AskAsync(queue, new FreezeMessage(target.Id, false, "root"));
            else if (roll < 66)
            {
                var status = await AskAsync(queue, new RemoveMessage(target.Id, "root"));
                Count("remove", status);
                if (status == QueueCommandStatus.Done) target.DeliveriesWhenEnded = Deliveries(target, remote);
                target.Uncertain |= status is null;
            }
            else if (roll < 71)
            {
                var status = await AskAsync(queue, new BounceMessage(target.Id, "root"));
                Count("bounce", status);
                if (status == QueueCommandStatus.Done) target.DeliveriesWhenEnded = Deliveries(target, remote);
                target.Uncertain |= status is null;
            }
            else if (roll < 81) await AskAsync(queue, new DeliverNow(random.Next(4) == 0 ? null : target.Id, "root"));
            else if (roll < 85)
            {
                // A bug's exception: the supervisor restarts the queue manager.
                queue.Tell(new QueueManager.Enqueue(null!));
                crashes++;
            }
            else await Task.Delay(random.Next(1, 25));
        }

        // Thaw everything, then run the queue until it is empty.
        var deadline = DateTime.UtcNow + Patience;
        while (await queue.Ask<int>(QueueManager.CountQueue.Instance, Patience) > 0)
        {
            Assert.True(DateTime.UtcNow < deadline, $"seed {seed}: the queue did not empty; log:\n{string.Join('\n', F.Sink.Lines.TakeLast(40))}");
            foreach (var message in sent) await AskAsync(queue, new FreezeMessage(message.Id, false, "root"));
            await AskAsync(queue, new DeliverNow(null, "root"));
            await Task.Delay(200);
        }

        var lines = F.Sink.Lines;
        foreach (var message in sent)
        {
            string what = $"seed {seed}, {message.Id}";
            int total = Deliveries(message, remote);
            if (message.DeliveriesWhenEnded is { } then)
                Assert.True(total == then, $"{what}: {total - then} deliveries after the operator's remove or bounce said done");
            for (int i = 0; i < message.Envelope.Recipients.Count; i++)
            {
                string recipient = message.Envelope.Recipients[i].Address;
                int delivered = DeliveriesTo(message, i, remote);
                Assert.True(delivered <= 1, $"{what}: {recipient} got the message {delivered} times");
                if (message.DeliveriesWhenEnded is not null || message.Uncertain) continue;
                int failed = lines.Count(l => l.StartsWith($"{message.Id} ** {recipient} ", StringComparison.Ordinal));
                if (recipient.StartsWith("refused", StringComparison.Ordinal))
                    Assert.True(delivered == 0 && failed == 1, $"{what}: {recipient}, refused by the server, delivered {delivered}, failed {failed} times");
                else
                    Assert.True(delivered == 1 && failed == 0, $"{what}: {recipient} delivered {delivered}, failed {failed} times; log:\n{string.Join('\n', lines.Where(l => l.Contains(message.Id, StringComparison.Ordinal)))}");
            }
        }
        // The run did what it is for.
        Assert.True(crashes > 0, "no crash was thrown in");
        Assert.True(sent.Count(m => m.DeliveriesWhenEnded is not null) >= 1, "no remove or bounce was done: " + string.Join(", ", answers.Select(a => $"{a.Key}: {a.Value}")));
        Assert.True(remote.Count > 20, $"only {remote.Count} remote deliveries");
        Assert.True(lines.Count(l => l.Contains(" R=local_user ", StringComparison.Ordinal)) > 20, "too few local deliveries");
        Assert.Empty(F.Spool.Recover());
        lock (errors)
        {
            // The crashes the test caused are the only errors: each one's null envelope.
            var unexpected = errors.Where(e => e.Cause is not NullReferenceException).ToList();
            Assert.True(unexpected.Count == 0, $"seed {seed}: {string.Join("\n", unexpected)}");
        }
    }

    /// <summary>From alice to one to three recipients: local users, remote ones, remote ones the server
    /// defers at first (so that messages wait in the queue for the operator's verbs), and remote ones it refuses.</summary>
    private async Task<Sent> StoreAsync(Random random, int n)
    {
        string[] choices = ["bob@test.example", "carol@test.example", $"r{n}@remote.example", $"later{n}@remote.example", $"refused{n}@remote.example"];
        var recipients = choices.OrderBy(_ => random.Next()).Take(random.Next(1, 4))
            .Select(a => new EnvelopeRecipient(a, null, null)).ToArray();
        var envelope = F.NewEnvelope() with { Sender = "alice@test.example", Recipients = recipients };
        var data = Encoding.ASCII.GetBytes($"X-Fuzz-Id: {envelope.MessageId}\r\nSubject: fuzz {n}\r\n\r\nbody {n}\r\n");
        envelope = envelope with { Size = data.Length };
        await F.Spool.StoreAsync(envelope, [data]);
        return new Sent(envelope);
    }

    /// <summary>
    /// The command's answer, or null if none came (it may or may not have been done). Busy (an
    /// attempt runs) is tried again a few times, as an operator would.
    /// </summary>
    private static async Task<QueueCommandStatus?> AskAsync(IActorRef queue, object command)
    {
        for (int tries = 1; ; tries++)
        {
            QueueCommandStatus status;
            try
            {
                status = (await queue.Ask<QueueCommandResult>(command, TimeSpan.FromSeconds(5))).Status;
            }
            catch (AskTimeoutException)
            {
                return null;
            }
            if (status != QueueCommandStatus.Busy || tries == 10) return status;
            await Task.Delay(50);
        }
    }

    private int Deliveries(Sent message, ConcurrentQueue<(string Id, string Recipient)> remote)
        => Enumerable.Range(0, message.Envelope.Recipients.Count).Sum(i => DeliveriesTo(message, i, remote));

    /// <summary>Maildir files for a local recipient (named for the message and the recipient's index), server records for a remote one.</summary>
    private int DeliveriesTo(Sent message, int index, ConcurrentQueue<(string Id, string Recipient)> remote)
    {
        string address = message.Envelope.Recipients[index].Address;
        if (!address.EndsWith("@remote.example", StringComparison.Ordinal))
        {
            string user = address.Split('@')[0];
            return F.MaildirFiles(user).Count(f => f.StartsWith("new/", StringComparison.Ordinal) && f.Contains($".{message.Id}_{index}.", StringComparison.Ordinal));
        }
        return remote.Count(r => r.Id == message.Id && r.Recipient == address);
    }

    /// <summary>A pipelining server that refuses recipients named refused*, defers those named later*
    /// the first time it sees them, and records what it took, per recipient.</summary>
    private static async Task ServeAsync(FakeConnection c, ConcurrentQueue<(string, string)> taken, ConcurrentDictionary<string, bool> deferred)
    {
        await c.SendAsync("220 fake.test ESMTP\r\n");
        var accepted = new List<string>();
        while (await c.ReadLineAsync() is { } line)
        {
            switch (line.Split(' ')[0].ToUpperInvariant())
            {
                case "EHLO": await c.SendAsync("250-fake.test hello\r\n250-PIPELINING\r\n250 8BITMIME\r\n"); break;
                case "MAIL": accepted.Clear(); await c.SendAsync("250 OK\r\n"); break;
                case "RCPT":
                    string to = line[(line.IndexOf('<') + 1)..line.IndexOf('>')];
                    if (to.StartsWith("refused", StringComparison.Ordinal))
                    {
                        await c.SendAsync("550 5.1.1 no such user\r\n");
                    }
                    else if (to.StartsWith("later", StringComparison.Ordinal) && deferred.TryAdd(to, true))
                    {
                        await c.SendAsync("451 4.2.0 try again later\r\n");
                    }
                    else
                    {
                        accepted.Add(to);
                        await c.SendAsync("250 Accepted\r\n");
                    }
                    break;
                case "DATA" when accepted.Count == 0: await c.SendAsync("554 5.5.1 No valid recipients\r\n"); break;
                case "DATA":
                    await c.SendAsync("354 go ahead\r\n");
                    string data = await c.ReadDataAsync();
                    string id = FuzzId.Match(data) is { Success: true } m ? m.Groups[1].Value : "?";
                    foreach (var address in accepted) taken.Enqueue((id, address));
                    await c.SendAsync("250 OK queued\r\n");
                    break;
                case "RSET": accepted.Clear(); await c.SendAsync("250 Reset\r\n"); break;
                case "QUIT": await c.SendAsync("221 bye\r\n"); return;
                default: await c.SendAsync("500 unrecognised\r\n"); break;
            }
        }
    }
}
