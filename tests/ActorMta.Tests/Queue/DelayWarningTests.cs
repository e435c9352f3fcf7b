using System.Text;
using System.Text.RegularExpressions;
using Akka.Actor;
using Akka.TestKit.Xunit2;
using ActorMta.Queue;
using ActorMta.Spool;
using Envelope = ActorMta.Spool.Envelope;

namespace ActorMta.Tests.Queue;

/// <summary>
/// <c>queue.delay-warning</c> (Exim's delay_warning): the delay report a sender gets, what it says,
/// that it is journaled and not sent again, and the messages and recipients that get none.
/// </summary>
public sealed class DelayWarningTests : TestKit, IDisposable
{
    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(15);
    private const string Sender = "alice@test.example";

    private SpoolFixture _f = new();

    void IDisposable.Dispose()
    {
        _f.Dispose();
        Dispose();
    }

    private IActorRef StartQueue(MessageSpool? spool = null)
        => Sys.ActorOf(QueueManager.Props(_f.Settings, spool ?? _f.Spool, _f.MainLog, ActorRefs.Nobody, ActorRefs.Nobody));

    private Task WaitForLogAsync(string line, int count = 1) =>
        AwaitAssertAsync(() => Assert.Equal(count, _f.Sink.Lines.Count(l => l == line)), Patience, TimeSpan.FromMilliseconds(20));

    private string[] Warnings() => _f.Sink.Lines.Where(l => l.Contains(" delay warning ", StringComparison.Ordinal)).ToArray();

    /// <summary>Waits until the queue's attempt on the message has ended (it waits for a retry).</summary>
    private Task WaitForAttemptEndAsync(IActorRef queue, Envelope envelope) => AwaitAssertAsync(async () =>
    {
        var message = Assert.Single((await queue.Ask<QueueSnapshot>(QueueManager.GetQueue.Instance, Patience)).Messages, m => m.Id == envelope.MessageId);
        Assert.False(message.InFlight);
        Assert.NotNull(message.NextAttempt);
    }, Patience, TimeSpan.FromMilliseconds(20));

    /// <summary>Stores a message <paramref name="age"/> old from <paramref name="sender"/> to bob (local) and carol (remote: deferred here).</summary>
    private async Task<Envelope> StoreAsync(TimeSpan age, string sender = Sender, string? carolsNotify = null, string headers = "")
    {
        byte[] data = Encoding.ASCII.GetBytes($"From: <{sender}>\r\nSubject: hello\r\n{headers}\r\nHi there.\r\n");
        var envelope = _f.NewEnvelope(DateTimeOffset.UtcNow - age, "bob@test.example", "carol@remote.example") with
        {
            Sender = sender,
            Recipients = [new EnvelopeRecipient("bob@test.example", null, null), new EnvelopeRecipient("carol@remote.example", carolsNotify, null)],
            Size = data.Length,
        };
        await _f.Spool.StoreAsync(envelope, [data]);
        return envelope;
    }

    private static string DeferLine(Envelope envelope) =>
        $"{envelope.MessageId} == carol@remote.example R=remote defer (-1): no remote transport configured yet";

    [Fact]
    public async Task A_message_past_the_period_earns_its_sender_one_delay_report_for_the_recipients_still_waiting()
    {
        var envelope = await StoreAsync(TimeSpan.FromHours(25));
        var queue = StartQueue();

        queue.Tell(new QueueManager.Enqueue(envelope));

        await WaitForAttemptEndAsync(queue, envelope);
        var warned = Regex.Match(Assert.Single(Warnings()), $@"^{envelope.MessageId} delay warning 1 sent to {Sender} as (\S+) \(carol@remote\.example\)$");
        Assert.True(warned.Success, Warnings()[0]);
        string warningId = warned.Groups[1].Value;
        Assert.Contains($"{warningId} <= <> R={envelope.MessageId} U=actormta P=local S=", string.Join('\n', _f.Sink.Lines));

        // The report is delivered like any message: to alice's maildir.
        await AwaitAssertAsync(() => Assert.Single(_f.MaildirFiles("alice")), Patience);
        string report = File.ReadAllText(Path.Combine(_f.MaildirRoot, "alice", _f.MaildirFiles("alice")[0]));
        Assert.Contains("Return-Path: <>\r\n", report, StringComparison.Ordinal);
        Assert.Contains($"Subject: Warning: message {envelope.MessageId} delayed 25 hours\r\n", report, StringComparison.Ordinal);
        Assert.Contains("Auto-Submitted: auto-replied\r\n", report, StringComparison.Ordinal);
        Assert.Contains("report-type=delivery-status", report, StringComparison.Ordinal);
        Assert.Contains("you need not send the message again", report, StringComparison.Ordinal);
        Assert.Contains("Final-Recipient: rfc822; carol@remote.example\r\nAction: delayed\r\nStatus: 4.4.0\r\n", report, StringComparison.Ordinal);
        Assert.DoesNotContain("Final-Recipient: rfc822; bob@test.example", report, StringComparison.Ordinal);
        // The original's headers, never its body (RET is about failure reports only).
        Assert.Contains("Content-Type: text/rfc822-headers", report, StringComparison.Ordinal);
        Assert.Contains("Subject: hello", report, StringComparison.Ordinal);
        Assert.DoesNotContain("Hi there.", report, StringComparison.Ordinal);

        // Journaled: after a restart the next attempt defers carol again and sends nothing more.
        var reopened = _f.Reopen();
        var recovered = Assert.Single(reopened.Recover(), m => m.Id == envelope.MessageId);
        Assert.Equal(1, recovered.Warnings);
        await queue.GracefulStop(Patience);
        var again = StartQueue(reopened);
        again.Tell(QueueManager.RunQueue.Instance);
        await WaitForLogAsync(DeferLine(envelope), count: 2);
        await WaitForAttemptEndAsync(again, envelope);
        Assert.Single(Warnings());
    }

    [Fact]
    public async Task A_message_a_second_period_later_earns_a_second_report()
    {
        var envelope = await StoreAsync(TimeSpan.FromHours(49));
        await _f.Spool.MarkWarnedAsync(envelope.MessageId, 1, "1xYAAA-AAAAAA-AA");
        var queue = StartQueue(_f.Reopen());

        queue.Tell(QueueManager.RunQueue.Instance);

        await WaitForLogAsync(DeferLine(envelope));
        await WaitForAttemptEndAsync(queue, envelope);
        Assert.Matches($@"^{envelope.MessageId} delay warning 2 sent to {Sender} as \S+ \(carol@remote\.example\)$", Assert.Single(Warnings()));
        await AwaitAssertAsync(() => Assert.Single(_f.MaildirFiles("alice")), Patience);
        Assert.Contains("delayed 49 hours", File.ReadAllText(Path.Combine(_f.MaildirRoot, "alice", _f.MaildirFiles("alice")[0])), StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("young", 0)]
    [InlineData("null sender", 0)]
    [InlineData("NOTIFY=FAILURE", 0)]
    [InlineData("Precedence: bulk", 1)]
    [InlineData("List-Id: <list.example.org>", 1)]
    [InlineData("Auto-Submitted: auto-generated", 1)]
    [InlineData("off", 0)]
    public async Task No_report_goes_where_none_is_wanted(string why, int journaled)
    {
        if (why == "off")
        {
            _f.Dispose();
            _f = new SpoolFixture(s => s with { Queue = s.Queue with { DelayWarning = TimeSpan.Zero } });
        }
        var envelope = why switch
        {
            "young" => await StoreAsync(TimeSpan.FromHours(23)),
            "null sender" => await StoreAsync(TimeSpan.FromHours(25), sender: ""),
            "NOTIFY=FAILURE" => await StoreAsync(TimeSpan.FromHours(25), carolsNotify: "FAILURE"),
            "off" => await StoreAsync(TimeSpan.FromDays(3)),
            _ => await StoreAsync(TimeSpan.FromHours(25), headers: why + "\r\n"),
        };
        var queue = StartQueue();

        queue.Tell(new QueueManager.Enqueue(envelope));

        await WaitForLogAsync($"{envelope.MessageId} => bob@test.example R=local_user T=maildir_delivery");
        await WaitForLogAsync(DeferLine(envelope));
        await WaitForAttemptEndAsync(queue, envelope);
        Assert.Empty(Warnings());
        Assert.Empty(_f.MaildirFiles("alice"));
        // List, bulk and automatic mail is marked as warned, so later attempts do not read it again.
        Assert.Equal(journaled, Assert.Single(_f.Reopen().Recover(), m => m.Id == envelope.MessageId).Warnings);
    }
}
