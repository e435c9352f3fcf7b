using Akka.Actor;
using Akka.TestKit.Xunit2;
using ActorMta.Configuration;
using ActorMta.Delivery.Local;
using ActorMta.Queue;
using ActorMta.Spool;
using Envelope = ActorMta.Spool.Envelope;

namespace ActorMta.Tests.Queue;

public sealed class QueueManagerTests : TestKit, IDisposable
{
    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(15);

    private SpoolFixture _f = new();

    void IDisposable.Dispose()
    {
        _f.Dispose();
        Dispose();
    }

    private IActorRef StartQueue(QueueTuning? tuning = null)
        => Sys.ActorOf(QueueManager.Props(_f.Settings, _f.Spool, _f.MainLog, ActorRefs.Nobody, ActorRefs.Nobody, tuning));

    private Task<QueueSnapshot> SnapshotAsync(IActorRef queue) => queue.Ask<QueueSnapshot>(QueueManager.GetQueue.Instance, Patience);

    private void UseSettings(Func<MtaSettings, MtaSettings> adjust)
    {
        _f.Dispose();
        _f = new SpoolFixture(adjust);
    }

    private Task WaitForLogAsync(string line) =>
        AwaitAssertAsync(() => Assert.Contains(line, _f.Sink.Lines), Patience, TimeSpan.FromMilliseconds(20));

    private string MaildirFile(string user, Envelope envelope, int index)
        => $"new/{envelope.ReceivedAt.ToUnixTimeSeconds()}.{envelope.MessageId}_{index}.mx.test.example";

    [Fact]
    public async Task A_message_for_a_local_user_is_delivered_to_the_maildir_logged_and_removed_from_the_spool()
    {
        var queue = StartQueue();
        var envelope = await _f.StoreAsync("bob@test.example");

        queue.Tell(new QueueManager.Enqueue(envelope));

        await WaitForLogAsync($"{envelope.MessageId} Completed");
        Assert.Equal([$"{envelope.MessageId} => bob@test.example R=local_user T=maildir_delivery", $"{envelope.MessageId} Completed"], _f.Sink.Lines);
        Assert.Equal([MaildirFile("bob", envelope, 0)], _f.MaildirFiles("bob"));
        Assert.Equal(
            SpoolFixture.Expected("alice@remote.example", "bob@test.example", SpoolFixture.SampleData),
            File.ReadAllBytes(Path.Combine(_f.MaildirRoot, "bob", MaildirFile("bob", envelope, 0))));
        Assert.Empty(_f.SpoolFiles());
        Assert.Empty((await SnapshotAsync(queue)).Messages);
    }

    [Fact]
    public async Task A_remote_recipient_is_deferred_honestly_and_stays_in_the_queue_with_a_retry_time()
    {
        var queue = StartQueue();
        var envelope = await _f.StoreAsync("bob@test.example", "carol@remote.example");

        queue.Tell(new QueueManager.Enqueue(envelope));

        await WaitForLogAsync($"{envelope.MessageId} == carol@remote.example R=remote defer (-1): no remote transport configured yet");
        await AwaitAssertAsync(async () =>
        {
            var message = Assert.Single((await SnapshotAsync(queue)).Messages);
            Assert.False(message.InFlight);
            Assert.Equal(
                [new QueuedRecipient("bob@test.example", RecipientState.Delivered), new QueuedRecipient("carol@remote.example", RecipientState.Pending)],
                message.Recipients);
            Assert.InRange(message.NextAttempt!.Value, DateTimeOffset.UtcNow.AddMinutes(14), DateTimeOffset.UtcNow.AddMinutes(16));
            Assert.Equal("alice@remote.example", message.Sender);
            Assert.Equal(SpoolFixture.SampleData.Length, message.Size);
        }, Patience);
        Assert.DoesNotContain($"{envelope.MessageId} Completed", _f.Sink.Lines);
        Assert.True(_f.Spool.Contains(envelope.MessageId));

        // The journal has both facts: a restarted queue knows bob is done and when to retry carol.
        var recovered = Assert.Single(_f.Reopen().Recover());
        Assert.Equal([RecipientState.Delivered, RecipientState.Pending], recovered.Recipients);
        Assert.NotNull(recovered.NextAttempt);
    }

    [Fact]
    public async Task A_deferred_recipient_is_retried_by_the_timer_and_a_delivered_one_is_not_repeated()
    {
        var queue = StartQueue(QueueTuning.Default with { RetryRules = RetrySchedule.Parse(["F,1h,200ms"]) });
        var envelope = await _f.StoreAsync("bob@test.example", "carol@remote.example");

        queue.Tell(new QueueManager.Enqueue(envelope));

        string deferral = $"{envelope.MessageId} == carol@remote.example R=remote defer (-1): no remote transport configured yet";
        await AwaitAssertAsync(() => Assert.True(_f.Sink.Lines.Count(l => l == deferral) >= 3), Patience, TimeSpan.FromMilliseconds(20));
        Assert.Single(_f.Sink.Lines, l => l.Contains(" => ", StringComparison.Ordinal));
        Assert.Single(_f.MaildirFiles("bob"));
    }

    [Fact]
    public async Task After_a_crash_the_queue_rebuilds_from_the_spool_and_delivers_only_the_recipient_not_journaled_exactly_once()
    {
        // The spool a crashed run left: a half-written temp file, and a message whose first recipient
        // was delivered and journaled before the crash.
        var envelope = await _f.StoreAsync("bob@test.example", "carol@test.example");
        await _f.Spool.MarkRecipientAsync(envelope.MessageId, 0, RecipientState.Delivered);
        string temp = Path.Combine(_f.InputDirectory, _f.Spool.NewMessageId() + ".tmp");
        File.WriteAllText(temp, "actormta-spool 1\nenvelope {\"id\":\"x");

        var queue = Sys.ActorOf(QueueManager.Props(_f.Settings, _f.Reopen(), _f.MainLog, ActorRefs.Nobody, ActorRefs.Nobody));

        await WaitForLogAsync($"{envelope.MessageId} Completed");
        Assert.Equal([$"{envelope.MessageId} => carol@test.example R=local_user T=maildir_delivery", $"{envelope.MessageId} Completed"], _f.Sink.Lines);
        Assert.Equal([MaildirFile("carol", envelope, 1)], _f.MaildirFiles("carol"));
        Assert.Empty(_f.MaildirFiles("bob"));
        Assert.Empty(_f.SpoolFiles());
        Assert.Empty((await SnapshotAsync(queue)).Messages);
    }

    [Fact]
    public async Task A_message_whose_recipients_were_all_journaled_before_a_crash_is_only_removed()
    {
        // Crash after the last journal record, before the unlink.
        var envelope = await _f.StoreAsync("bob@test.example", "carol@remote.example");
        await _f.Spool.MarkRecipientAsync(envelope.MessageId, 0, RecipientState.Delivered);
        await _f.Spool.MarkRecipientAsync(envelope.MessageId, 1, RecipientState.Failed);
        await _f.Spool.MarkBouncedAsync(envelope.MessageId, [1], null);

        Sys.ActorOf(QueueManager.Props(_f.Settings, _f.Reopen(), _f.MainLog, ActorRefs.Nobody, ActorRefs.Nobody));

        await WaitForLogAsync($"{envelope.MessageId} Completed");
        Assert.Equal([$"{envelope.MessageId} Completed"], _f.Sink.Lines);
        Assert.Empty(_f.MaildirFiles("bob"));
        Assert.Empty(_f.SpoolFiles());
    }

    [Fact]
    public async Task No_more_messages_are_in_flight_than_the_configured_parallelism()
    {
        var envelopes = await Task.WhenAll(Enumerable.Range(0, 30).Select(_ => _f.StoreAsync("bob@test.example")));
        var queue = StartQueue(QueueTuning.Default with { ParallelAttempts = 2 }); // recovers all 30 at once

        int most = 0;
        var deadline = DateTime.UtcNow + Patience;
        while (_f.Sink.Lines.Count(l => l.EndsWith(" Completed", StringComparison.Ordinal)) < envelopes.Length)
        {
            Assert.True(DateTime.UtcNow < deadline, "the 30 messages were not delivered in time");
            most = Math.Max(most, (await SnapshotAsync(queue)).Messages.Count(m => m.InFlight));
            await Task.Delay(1);
        }

        Assert.InRange(most, 1, 2);
        Assert.Equal(30, _f.MaildirFiles("bob").Length);
    }

    [Theory]
    [InlineData(1)]
    [InlineData(2)]
    public async Task No_more_local_deliveries_run_at_once_than_local_delivery_parallelism(int parallelism)
    {
        UseSettings(s => s with { Queue = s.Queue with { LocalDeliveryParallelism = parallelism } });
        // Bob's delivery hangs: its maildir file's name in tmp/ is taken by a FIFO, and opening a FIFO
        // for writing waits for a reader.
        var hanging = await _f.StoreAsync("bob@test.example");
        string tmp = Path.Combine(_f.MaildirRoot, "bob", "tmp");
        Directory.CreateDirectory(tmp);
        string fifo = Path.Combine(tmp, Path.GetFileName(MaildirFile("bob", hanging, 0)));
        Assert.Equal(0, mkfifo(fifo, 0b110_000_000));
        var queue = StartQueue();
        queue.Tell(new QueueManager.Enqueue(hanging));
        await Task.Delay(300);

        var other = await _f.StoreAsync("carol@test.example");
        queue.Tell(new QueueManager.Enqueue(other));
        if (parallelism == 1)
        {
            await Task.Delay(700);
            Assert.Empty(_f.MaildirFiles("carol"));
        }
        else
        {
            await WaitForLogAsync($"{other.MessageId} Completed");
        }

        // A reader lets Bob's delivery go on (it then fails to fsync a FIFO and is deferred), which
        // frees its slot for Carol's. The reader opens the FIFO with open(2) itself: a FileStream
        // would take .NET's advisory lock, which fails (or fails the delivery's own lock) whenever
        // the two opens meet, as they do here by design.
        await Task.Run(() =>
        {
            int fd = open(fifo, 0 /* O_RDONLY */);
            Assert.True(fd >= 0, $"open {fifo}: errno {System.Runtime.InteropServices.Marshal.GetLastPInvokeError()}");
            using var reader = new FileStream(new Microsoft.Win32.SafeHandles.SafeFileHandle(fd, ownsHandle: true), FileAccess.Read);
            reader.CopyTo(Stream.Null);
        }).WaitAsync(Patience);
        await WaitForLogAsync($"{other.MessageId} Completed");
        Assert.Equal([MaildirFile("carol", other, 0)], _f.MaildirFiles("carol"));
    }

    [System.Runtime.InteropServices.DllImport("libc", SetLastError = true)]
    private static extern int mkfifo(string path, uint mode);

    [System.Runtime.InteropServices.DllImport("libc", SetLastError = true)]
    private static extern int open(string path, int flags);

    [Fact]
    public async Task A_crash_between_the_maildir_rename_and_the_journal_record_does_not_deliver_twice()
    {
        // The crashed run delivered bob (file renamed into new/, and bob's mail reader has since moved
        // it to cur/) but died before journaling it.
        var envelope = await _f.StoreAsync("bob@test.example", "carol@test.example");
        var maildir = new MaildirDelivery(_f.Settings.LocalDelivery, _f.Settings.PrimaryHostname);
        var first = (LocalDeliveryResult.Delivered)await maildir.DeliverAsync(envelope, 0, () => _f.Spool.OpenData(envelope.MessageId), false);
        File.Move(first.Path, Path.Combine(_f.MaildirRoot, "bob", "cur", Path.GetFileName(first.Path) + ":2,S"));

        Sys.ActorOf(QueueManager.Props(_f.Settings, _f.Reopen(), _f.MainLog, ActorRefs.Nobody, ActorRefs.Nobody));

        await WaitForLogAsync($"{envelope.MessageId} Completed");
        Assert.Equal([$"cur/{Path.GetFileName(first.Path)}:2,S"], _f.MaildirFiles("bob"));
        Assert.Equal([MaildirFile("carol", envelope, 1)], _f.MaildirFiles("carol"));
        Assert.Empty(_f.SpoolFiles());
    }

    [Fact]
    public async Task An_enqueue_for_a_message_already_recovered_does_not_deliver_it_twice()
    {
        var envelope = await _f.StoreAsync("bob@test.example");

        var queue = StartQueue(); // recovers the message ...
        queue.Tell(new QueueManager.Enqueue(envelope)); // ... that the session also announces

        await WaitForLogAsync($"{envelope.MessageId} Completed");
        await Task.Delay(200);
        Assert.Single(_f.MaildirFiles("bob"));
        Assert.Single(_f.Sink.Lines, l => l.EndsWith(" Completed", StringComparison.Ordinal));
    }

    [Fact]
    public async Task A_recovered_message_waits_for_its_journaled_retry_time_unless_the_queue_is_run()
    {
        var envelope = await _f.StoreAsync("bob@test.example");
        var due = DateTimeOffset.UtcNow.AddHours(1);
        await _f.Spool.SetNextAttemptAsync(envelope.MessageId, due);

        var queue = Sys.ActorOf(QueueManager.Props(_f.Settings, _f.Reopen(), _f.MainLog, ActorRefs.Nobody, ActorRefs.Nobody));

        var waiting = Assert.Single((await SnapshotAsync(queue)).Messages);
        Assert.Equal(due, waiting.NextAttempt);
        Assert.Empty(_f.MaildirFiles("bob"));

        queue.Tell(QueueManager.RunQueue.Instance);

        await WaitForLogAsync($"{envelope.MessageId} Completed");
        Assert.Single(_f.MaildirFiles("bob"));
    }

    [Fact]
    public async Task A_recipient_deferred_past_the_end_of_its_retry_schedule_fails_bounces_and_the_message_is_removed()
    {
        // The cutoff counts from the recipient's first failure (journaled), not from reception.
        var envelope = _f.NewEnvelope(DateTimeOffset.UtcNow.AddDays(-5), "carol@remote.example");
        await _f.Spool.StoreAsync(envelope, [SpoolFixture.SampleData]);
        await _f.Spool.SetFirstFailureAsync(envelope.MessageId, 0, DateTimeOffset.UtcNow.AddDays(-4.5));

        Sys.ActorOf(QueueManager.Props(_f.Settings, _f.Reopen(), _f.MainLog, ActorRefs.Nobody, ActorRefs.Nobody));

        await WaitForLogAsync($"{envelope.MessageId} Completed");
        var lines = _f.Sink.Lines;
        Assert.Equal($"{envelope.MessageId} ** carol@remote.example: retry timeout exceeded (no remote transport configured yet)", lines[0]);
        Assert.Matches($@"^\S+ <= <> R={envelope.MessageId} U=actormta P=local S=\d+ id=[^<>\s]+@[^<>\s]+ for alice@remote.example$", lines[1]);
        Assert.Equal($"{envelope.MessageId} Completed", lines[2]);
        Assert.DoesNotContain($"input/{envelope.MessageId}", _f.SpoolFiles());
    }

    [Fact]
    public async Task A_recipient_that_fails_late_gets_the_whole_schedule_counted_from_its_first_failure()
    {
        // Received five days ago, but never failed before: deferred, not bounced.
        var queue = StartQueue();
        var envelope = _f.NewEnvelope(DateTimeOffset.UtcNow.AddDays(-5), "carol@remote.example");
        await _f.Spool.StoreAsync(envelope, [SpoolFixture.SampleData]);

        queue.Tell(new QueueManager.Enqueue(envelope));

        await WaitForLogAsync($"{envelope.MessageId} == carol@remote.example R=remote defer (-1): no remote transport configured yet");
        // (Five days on the queue also earn the sender a delay warning, a message of its own.)
        var recovered = Assert.Single(_f.Reopen().Recover(), m => m.Id == envelope.MessageId);
        Assert.NotNull(recovered.FirstFailures[0]);
    }

    [Fact]
    public async Task A_delivery_journaled_before_a_crash_still_gets_the_success_report_it_asked_for_once()
    {
        // ann (NOTIFY=SUCCESS) was delivered and journaled, then the process died before the report.
        var envelope = _f.NewEnvelope("ann@test.example", "carol@remote.example") with
        {
            Sender = "alice@test.example",
            Recipients = [new EnvelopeRecipient("ann@test.example", "SUCCESS", null), new EnvelopeRecipient("carol@remote.example", "SUCCESS", null)],
        };
        await _f.Spool.StoreAsync(envelope, [SpoolFixture.SampleData]);
        await _f.Spool.MarkRecipientAsync(envelope.MessageId, 0, RecipientState.Delivered);

        var queue = Sys.ActorOf(QueueManager.Props(_f.Settings, _f.Reopen(), _f.MainLog, ActorRefs.Nobody, ActorRefs.Nobody));

        await WaitForLogAsync($"{envelope.MessageId} == carol@remote.example R=remote defer (-1): no remote transport configured yet");
        await AwaitAssertAsync(() => Assert.Single(_f.MaildirFiles("alice")), Patience);
        Assert.Single(_f.Sink.Lines, l => l.StartsWith($"{envelope.MessageId} success report sent to alice@test.example as ", StringComparison.Ordinal)
                                          && l.EndsWith(" (ann@test.example)", StringComparison.Ordinal));
        var recovered = Assert.Single(_f.Reopen().Recover(), m => m.Id == envelope.MessageId);
        Assert.True(recovered.Bounced[0]);

        // The next attempt defers carol again and reports nothing more.
        queue.Tell(QueueManager.RunQueue.Instance);
        await AwaitAssertAsync(() => Assert.Equal(2, _f.Sink.Lines.Count(l => l.StartsWith($"{envelope.MessageId} == carol@remote.example", StringComparison.Ordinal))), Patience);
        Assert.Single(_f.Sink.Lines, l => l.Contains(" success report sent ", StringComparison.Ordinal));
    }

    [Fact]
    public async Task An_alias_whose_second_maildir_defers_is_completed_by_the_retry_without_a_second_copy_in_the_first()
    {
        UseSettings(s => s with
        {
            LocalDelivery = s.LocalDelivery with
            {
                Aliases = new Dictionary<string, IReadOnlyList<string>>(StringComparer.OrdinalIgnoreCase) { ["staff"] = ["alice", "bob"] },
            },
        });
        Directory.CreateDirectory(_f.MaildirRoot);
        string blocker = Path.Combine(_f.MaildirRoot, "bob");
        File.WriteAllText(blocker, "a file where bob's maildir should be");
        var queue = StartQueue();
        var envelope = await _f.StoreAsync("staff@test.example");

        queue.Tell(new QueueManager.Enqueue(envelope));

        await AwaitAssertAsync(() => Assert.Contains(_f.Sink.Lines, l => l.StartsWith($"{envelope.MessageId} == staff@test.example R=local_user", StringComparison.Ordinal)), Patience);
        // Alice's mail reader takes her copy meanwhile: new/NAME becomes cur/NAME:2,S.
        string copy = Assert.Single(_f.MaildirFiles("alice"));
        string name = Path.GetFileName(copy);
        Directory.CreateDirectory(Path.Combine(_f.MaildirRoot, "alice", "cur"));
        File.Move(Path.Combine(_f.MaildirRoot, "alice", copy), Path.Combine(_f.MaildirRoot, "alice", "cur", name + ":2,S"));
        File.Delete(blocker);
        queue.Tell(QueueManager.RunQueue.Instance);

        await WaitForLogAsync($"{envelope.MessageId} Completed");
        Assert.Equal([$"cur/{name}:2,S"], _f.MaildirFiles("alice").Where(f => !f.StartsWith("tmp/", StringComparison.Ordinal)));
        Assert.Single(_f.MaildirFiles("bob"));
        Assert.Contains($"{envelope.MessageId} => alice@test.example <staff@test.example> R=local_user T=maildir_delivery", _f.Sink.Lines);
        Assert.Contains($"{envelope.MessageId} => bob@test.example <staff@test.example> R=local_user T=maildir_delivery", _f.Sink.Lines);
    }

    [Fact]
    public async Task A_recipient_whose_local_part_is_no_safe_mailbox_fails_for_good_and_the_others_are_delivered()
    {
        var queue = StartQueue();
        var envelope = await _f.StoreAsync("../../etc@test.example", "bob@test.example");

        queue.Tell(new QueueManager.Enqueue(envelope));

        await WaitForLogAsync($"{envelope.MessageId} Completed");
        var lines = _f.Sink.Lines;
        Assert.Equal(
            $"{envelope.MessageId} ** ../../etc@test.example R=local_user T=maildir_delivery: local part of <../../etc@test.example> is not a safe mailbox name",
            lines[0]);
        Assert.Equal($"{envelope.MessageId} => bob@test.example R=local_user T=maildir_delivery", lines[1]);
        Assert.StartsWith("<= <> R=" + envelope.MessageId + " ", lines[2][(lines[2].IndexOf(' ') + 1)..], StringComparison.Ordinal); // the bounce
        Assert.Equal($"{envelope.MessageId} Completed", lines[3]);
        Assert.Single(_f.MaildirFiles("bob"));
        Assert.DoesNotContain($"input/{envelope.MessageId}", _f.SpoolFiles());
    }

    [Fact]
    public async Task Many_messages_at_once_are_each_delivered_exactly_once()
    {
        var queue = StartQueue();
        var envelopes = await Task.WhenAll(Enumerable.Range(0, 50).Select(_ => _f.StoreAsync("bob@test.example", "carol@mx.test.example")));

        foreach (var envelope in envelopes) queue.Tell(new QueueManager.Enqueue(envelope));

        await AwaitAssertAsync(
            () => Assert.Equal(50, _f.Sink.Lines.Count(l => l.EndsWith(" Completed", StringComparison.Ordinal))), Patience, TimeSpan.FromMilliseconds(50));
        Assert.Equal(50, _f.MaildirFiles("bob").Length);
        Assert.Equal(50, _f.MaildirFiles("carol").Length);
        Assert.Empty(_f.SpoolFiles());
    }

    [Fact]
    public async Task An_operators_removal_is_made_durable_without_the_write_ahead_log_too()
    {
        // Without the log a removal is an unlink. The recipients of a message the operator removes
        // are not done, so a crash that undid the unlink would bring the message back to be delivered.
        UseSettings(s => s with { Spool = s.Spool with { Fsync = true, WriteAheadLog = false } });
        var queue = StartQueue();
        var envelope = await _f.StoreAsync("carol@remote.example"); // no router here: it waits, deferred
        queue.Tell(new QueueManager.Enqueue(envelope));
        var input = DirectorySync.For(_f.InputDirectory);

        QueueCommandResult result;
        long before;
        var deadline = DateTime.UtcNow + Patience;
        do
        {
            // Busy while its first attempt runs.
            before = Interlocked.Read(ref input.Batches);
            result = await queue.Ask<QueueCommandResult>(new RemoveMessage(envelope.MessageId, "root"), Patience);
        }
        while (result.Status == QueueCommandStatus.Busy && DateTime.UtcNow < deadline && await Task.Delay(20).ContinueWith(_ => true));

        Assert.Equal(QueueCommandStatus.Done, result.Status);
        Assert.False(File.Exists(Path.Combine(_f.InputDirectory, envelope.MessageId)));
        Assert.True(Interlocked.Read(ref input.Batches) > before, "the spool directory was not fsynced after the unlink");
        await WaitForLogAsync($"{envelope.MessageId} removed by root");
    }
}
