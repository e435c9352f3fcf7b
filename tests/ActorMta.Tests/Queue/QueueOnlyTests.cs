using Akka.Actor;
using Akka.TestKit.Xunit2;
using ActorMta.Queue;

namespace ActorMta.Tests.Queue;

/// <summary><c>queue.queue-only</c> (Exim's queue_only): arrivals wait for the next queue run.</summary>
public sealed class QueueOnlyTests : TestKit, IDisposable
{
    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(15);

    private readonly SpoolFixture _f;

    public QueueOnlyTests() : this(TimeSpan.FromHours(1)) { }

    private QueueOnlyTests(TimeSpan interval) =>
        _f = new SpoolFixture(s => s with { Queue = s.Queue with { QueueOnly = true, QueueRunInterval = interval } });

    void IDisposable.Dispose()
    {
        _f.Dispose();
        Dispose();
    }

    /// <summary>The queue manager, once it has recovered the (empty) spool: a message stored before
    /// that would be a recovered one, which a start attempts at once even in queue-only mode.</summary>
    private async Task<IActorRef> StartQueue(SpoolFixture f)
    {
        var queue = Sys.ActorOf(QueueManager.Props(f.Settings, f.Spool, f.MainLog, ActorRefs.Nobody, ActorRefs.Nobody));
        await queue.Ask<QueueSnapshot>(QueueManager.GetQueue.Instance, Patience);
        return queue;
    }

    [Fact]
    public async Task An_arrival_stays_spooled_and_undelivered_until_the_queue_is_run()
    {
        var queue = await StartQueue(_f);
        var envelope = await _f.StoreAsync("bob@test.example");

        queue.Tell(new QueueManager.Enqueue(envelope));

        // The snapshot is answered after the Enqueue (same mailbox, in order): the message is
        // known, waiting, and no attempt is running.
        var waiting = Assert.Single((await queue.Ask<QueueSnapshot>(QueueManager.GetQueue.Instance, Patience)).Messages);
        Assert.False(waiting.InFlight);
        Assert.Equal(0, waiting.Attempts);
        await Task.Delay(300);
        Assert.Empty(_f.MaildirFiles("bob"));
        Assert.True(_f.Spool.Contains(envelope.MessageId));

        queue.Tell(QueueManager.RunQueue.Instance);

        await AwaitAssertAsync(() => Assert.Contains($"{envelope.MessageId} Completed", _f.Sink.Lines), Patience);
        Assert.Single(_f.MaildirFiles("bob"));
        Assert.False(_f.Spool.Contains(envelope.MessageId));
        Assert.Empty(_f.SpoolFiles());
    }

    [Fact]
    public async Task The_periodic_queue_run_delivers_what_arrived_since_the_last_one()
    {
        using var f = new SpoolFixture(s => s with { Queue = s.Queue with { QueueOnly = true, QueueRunInterval = TimeSpan.FromSeconds(2) } });
        var queue = await StartQueue(f);
        var started = DateTimeOffset.UtcNow;
        var envelope = await f.StoreAsync("bob@test.example");

        queue.Tell(new QueueManager.Enqueue(envelope));

        await AwaitAssertAsync(() => Assert.Contains($"{envelope.MessageId} Completed", f.Sink.Lines), Patience, TimeSpan.FromMilliseconds(20));
        // Not at once: only the first run, one interval after the queue started, delivered it.
        Assert.True(DateTimeOffset.UtcNow - started >= TimeSpan.FromSeconds(1.9), "delivered before the first queue run");
        Assert.Single(f.MaildirFiles("bob"));
    }
}
