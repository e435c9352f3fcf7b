using System.Text;
using ActorMta.Configuration;
using ActorMta.Spool;
using ActorMta.Tests.Queue;

namespace ActorMta.Tests.Spool;

public sealed class MessageSpoolTests : IDisposable
{
    private readonly SpoolFixture _f = new();

    public void Dispose() => _f.Dispose();

    /// <summary>A spool without the log: every message in its own file from the start (the log's
    /// messages get the same file when they move out of it, see SpoolLogTests).</summary>
    private static SpoolFixture FileSpool() => new(s => s with { Spool = s.Spool with { WriteAheadLog = false } });

    [Fact]
    public async Task A_stored_message_is_one_file_named_by_its_id_with_a_versioned_text_header_the_data_and_an_empty_journal()
    {
        using var f = FileSpool();
        var envelope = await f.StoreAsync("bob@test.example", "carol@remote.example");

        Assert.Equal([$"input/{envelope.MessageId}"], f.SpoolFiles());
        string text = Encoding.ASCII.GetString(File.ReadAllBytes(f.Spool.PathOf(envelope.MessageId)));
        Assert.StartsWith("actormta-spool 1\nenvelope {\"id\":\"" + envelope.MessageId + "\"", text);
        Assert.DoesNotContain("ActorMta.Spool", text); // never CLR type names
        Assert.EndsWith($"\ndata {SpoolFixture.SampleData.Length}\n" + Encoding.ASCII.GetString(SpoolFixture.SampleData) + "\njournal\n", text);
    }

    [Fact]
    public async Task The_data_reads_back_exactly_and_the_envelope_survives_a_restart_unchanged()
    {
        var envelope = _f.NewEnvelope("bob@test.example") with
        {
            Sender = "",
            HeloName = null,
            Body = "8BITMIME",
            SmtpUtf8 = true,
            Ret = "HDRS",
            EnvId = "QQ314159",
            HeaderMessageId = "<x@y>",
            Recipients = [new EnvelopeRecipient("bob@test.example", "SUCCESS,FAILURE", "rfc822;Bob@Test.Example")],
        };
        byte[] first = Encoding.UTF8.GetBytes("Subject: caf\u00e9\r\n\r\n");
        byte[] second = [0, 1, 2, 255, 13, 10];

        await _f.Spool.StoreAsync(envelope, [first, second]);

        var recovered = Assert.Single(_f.Reopen().Recover());
        Assert.Equal(envelope with { Recipients = null! }, recovered.Envelope with { Recipients = null! });
        Assert.Equal(envelope.Recipients, recovered.Envelope.Recipients);
        Assert.Equal([RecipientState.Pending], recovered.Recipients);
        Assert.Null(recovered.NextAttempt);
        Assert.Equal(first.Length + second.Length, recovered.DataLength);
        Assert.Equal([.. first, .. second], SpoolFixture.DataOf(_f.Spool, envelope.MessageId));
    }

    [Fact]
    public async Task A_head_line_of_many_kilobytes_and_data_far_larger_than_the_read_buffer_read_back_exactly()
    {
        // 400 recipients make the envelope line about 20 KB (the line is gathered in a buffer that
        // starts at 1 KB); 300 KB of data cross the 4 KiB file buffer and the log's record limit.
        var recipients = Enumerable.Range(0, 400).Select(i => new EnvelopeRecipient($"recipient-{i:D4}@far-away.example", null, null)).ToArray();
        var envelope = _f.NewEnvelope("bob@test.example") with { Recipients = recipients };
        var data = new byte[300 * 1024];
        new Random(5321).NextBytes(data);

        await _f.Spool.StoreAsync(envelope, [data]);

        var recovered = Assert.Single(_f.Reopen().Recover());
        Assert.Equal(recipients, recovered.Envelope.Recipients);
        using var stream = _f.Spool.OpenData(envelope.MessageId);
        using var copy = new MemoryStream();
        stream.CopyTo(copy, 1000); // reads smaller than the file buffer, through it
        Assert.Equal(data, copy.ToArray());
    }

    [Fact]
    public async Task Many_concurrent_stores_are_all_durable_and_share_log_flushes()
    {
        var log = SpoolLog.Find(_f.Settings.Spool.Directory)!;
        long before = log.Commits;

        var envelopes = Enumerable.Range(0, 200).Select(_ => _f.NewEnvelope("bob@test.example")).ToArray();
        await Task.WhenAll(envelopes.Select(e => _f.Spool.StoreAsync(e, [SpoolFixture.SampleData])));

        Assert.Equal(envelopes.Select(e => e.MessageId).Order(StringComparer.Ordinal), _f.Reopen().Recover().Select(m => m.Id));
        Assert.Empty(_f.SpoolFiles()); // they live in the log
        Assert.InRange(log.Commits - before, 1, 199); // group commit: fewer log flushes than messages
    }

    [Fact]
    public async Task Without_the_log_many_concurrent_stores_share_directory_fsyncs()
    {
        using var f = new SpoolFixture(s => s with { Spool = s.Spool with { WriteAheadLog = false } });
        var syncer = DirectorySync.For(f.InputDirectory);
        long before = syncer.Batches;

        var envelopes = Enumerable.Range(0, 200).Select(_ => f.NewEnvelope("bob@test.example")).ToArray();
        await Task.WhenAll(envelopes.Select(e => f.Spool.StoreAsync(e, [SpoolFixture.SampleData])));

        Assert.Equal(envelopes.Select(e => "input/" + e.MessageId).Order(StringComparer.Ordinal), f.SpoolFiles());
        Assert.False(Directory.Exists(Path.Combine(f.Settings.Spool.Directory, "log")));
        Assert.InRange(syncer.Batches - before, 1, 199); // group commit: fewer directory fsyncs than messages
    }

    [Fact]
    public async Task A_store_that_cannot_write_throws_SpoolException_saying_why_and_leaves_nothing()
    {
        // Running as root, chmod does not stop writes: take the directory away instead.
        using var f = FileSpool();
        Directory.Delete(f.InputDirectory);
        File.WriteAllText(f.InputDirectory, "not a directory");
        var envelope = f.NewEnvelope("bob@test.example");

        var e = await Assert.ThrowsAsync<SpoolException>(() => f.Spool.StoreAsync(envelope, [SpoolFixture.SampleData]));

        Assert.Contains(envelope.MessageId, e.Message);
        Assert.Contains(f.InputDirectory, e.Message);
        File.Delete(f.InputDirectory);
        Assert.Empty(f.SpoolFiles());
    }

    [Fact]
    public void A_spool_directory_that_cannot_be_created_is_a_SpoolException()
    {
        string blocker = Path.Combine(_f.Root, "a-file");
        File.WriteAllText(blocker, "x");

        var e = Assert.Throws<SpoolException>(() => new MessageSpool(new SpoolSettings(Path.Combine(blocker, "spool"), true)));

        Assert.Contains(blocker, e.Message);
    }

    [Fact]
    public async Task Storing_an_id_twice_is_refused_and_keeps_the_first_message()
    {
        var envelope = await _f.StoreAsync("bob@test.example");

        var e = await Assert.ThrowsAsync<SpoolException>(() => _f.Spool.StoreAsync(envelope, [new byte[] { 1, 2, 3 }]));

        Assert.Contains("already in the spool", e.Message);
        Assert.Equal(envelope.MessageId, Assert.Single(_f.Reopen().Recover()).Id);
        Assert.Equal(SpoolFixture.SampleData, SpoolFixture.DataOf(_f.Spool, envelope.MessageId));
    }

    [Fact]
    public async Task A_cancelled_store_leaves_nothing()
    {
        using var cancelled = new CancellationTokenSource();
        await cancelled.CancelAsync();

        await Assert.ThrowsAnyAsync<OperationCanceledException>(
            () => _f.Spool.StoreAsync(_f.NewEnvelope("bob@test.example"), [SpoolFixture.SampleData], cancelled.Token));

        Assert.Empty(_f.SpoolFiles());
    }

    [Fact]
    public async Task An_invalid_id_is_refused()
    {
        var envelope = _f.NewEnvelope("bob@test.example") with { MessageId = "../escape" };

        await Assert.ThrowsAsync<SpoolException>(() => _f.Spool.StoreAsync(envelope, [SpoolFixture.SampleData]));

        Assert.Empty(_f.SpoolFiles());
    }

    [Fact]
    public async Task Recovery_removes_temporary_files_and_returns_each_recipients_journaled_state()
    {
        var both = await _f.StoreAsync("bob@test.example", "carol@test.example", "dave@remote.example");
        var untouched = await _f.StoreAsync("erin@test.example");
        await _f.Spool.MarkRecipientAsync(both.MessageId, 0, RecipientState.Delivered);
        await _f.Spool.MarkRecipientAsync(both.MessageId, 2, RecipientState.Failed);
        var retry = new DateTimeOffset(2030, 5, 6, 7, 8, 9, TimeSpan.Zero);
        await _f.Spool.SetNextAttemptAsync(both.MessageId, retry);
        // What a crash mid-store leaves behind.
        File.WriteAllText(Path.Combine(_f.InputDirectory, _f.Spool.NewMessageId() + ".tmp"), "actormta-spool 1\nenvel");

        var recovered = _f.Reopen().Recover().ToArray();

        Assert.Equal([both.MessageId, untouched.MessageId], recovered.Select(m => m.Id));
        Assert.Equal([RecipientState.Delivered, RecipientState.Pending, RecipientState.Failed], recovered[0].Recipients);
        Assert.Equal(retry, recovered[0].NextAttempt);
        Assert.Equal([RecipientState.Pending], recovered[1].Recipients);
        Assert.Empty(_f.SpoolFiles()); // the temporary file is gone; both messages live in the log
    }

    [Fact]
    public async Task A_torn_journal_record_counts_as_not_written_and_is_cut_off_at_recovery()
    {
        using var f = FileSpool();
        var envelope = await f.StoreAsync("bob@test.example", "carol@test.example");
        await f.Spool.MarkRecipientAsync(envelope.MessageId, 0, RecipientState.Delivered);
        string path = f.Spool.PathOf(envelope.MessageId);
        long complete = new FileInfo(path).Length;
        File.AppendAllText(path, "rcpt 1 deliv"); // crash in the middle of the append

        var recovered = Assert.Single(f.Reopen().Recover());

        Assert.Equal([RecipientState.Delivered, RecipientState.Pending], recovered.Recipients);
        Assert.Equal(complete, new FileInfo(path).Length);
        await f.Spool.MarkRecipientAsync(envelope.MessageId, 1, RecipientState.Delivered);
        Assert.Equal([RecipientState.Delivered, RecipientState.Delivered], Assert.Single(f.Reopen().Recover()).Recipients);
    }

    [Fact]
    public async Task Unreadable_files_are_moved_aside_with_a_reason_and_the_rest_is_recovered()
    {
        var good = await _f.StoreAsync("bob@test.example");
        string truncatedId = _f.Spool.NewMessageId();
        File.WriteAllText(Path.Combine(_f.InputDirectory, truncatedId), "actormta-spool 1\nenvelope {\"id\":");
        File.WriteAllText(Path.Combine(_f.InputDirectory, "stray-file"), "?");
        var reports = new List<string>();

        var recovered = _f.Reopen().Recover(reports.Add);

        Assert.Equal(good.MessageId, Assert.Single(recovered).Id);
        Assert.Equal(["corrupt/" + truncatedId, "corrupt/stray-file"], _f.SpoolFiles()); // the good one lives in the log
        Assert.Equal(2, reports.Count);
        Assert.Contains(reports, r => r.StartsWith(truncatedId + " spool file moved to ", StringComparison.Ordinal) && r.Contains("truncated"));
    }

    [Fact]
    public async Task Remove_deletes_the_message_and_journaling_a_removed_message_fails_instead_of_creating_a_file()
    {
        var envelope = await _f.StoreAsync("bob@test.example");

        await _f.Spool.RemoveAsync(envelope.MessageId);

        Assert.Empty(_f.SpoolFiles());
        await Assert.ThrowsAsync<SpoolException>(() => _f.Spool.MarkRecipientAsync(envelope.MessageId, 0, RecipientState.Delivered));
        Assert.Empty(_f.SpoolFiles());
        Assert.Throws<SpoolException>(() => _f.Spool.OpenData(envelope.MessageId));
    }

    [Fact]
    public async Task A_message_removed_while_a_recovery_reads_the_others_is_left_out_and_the_recovery_goes_on()
    {
        // A restarted queue manager recovers while the deliveries its predecessor started go on;
        // one that ends removes its message's file between the listing of input/ and its read.
        using var f = new SpoolFixture(s => s with { Spool = s.Spool with { WriteAheadLog = false } });
        var delivered = await f.StoreAsync("bob@test.example");
        var queued = await f.StoreAsync("carol@test.example");
        f.Spool.InputListed = () => f.Spool.RemoveAsync(delivered.MessageId).GetAwaiter().GetResult();

        var recovered = f.Spool.Recover();

        Assert.Equal(queued.MessageId, Assert.Single(recovered).Id);
        Assert.False(File.Exists(f.Spool.PathOf(delivered.MessageId)));
    }

    [Fact]
    public async Task A_journal_record_that_completes_while_a_recovery_cuts_what_it_read_as_torn_is_kept()
    {
        // A recovery beside live deliveries (a restarted queue manager) can read a record half
        // written by an append in progress and take it for a crash's torn record. The append
        // completes before the cut: cutting what the read saw lost a record whose caller was
        // told it was on disk.
        using var f = FileSpool();
        var envelope = await f.StoreAsync("bob@test.example", "carol@test.example");
        string path = f.Spool.PathOf(envelope.MessageId);
        byte[] record = System.Text.Encoding.UTF8.GetBytes(SpoolFile.RecipientRecord(1, RecipientState.Delivered));
        using (var file = new FileStream(path, FileMode.Append))
        {
            file.Write(record, 0, record.Length / 2);
        }
        int found = 0;
        f.Spool.TornRecordFound = torn =>
        {
            found++;
            using var file = new FileStream(torn, FileMode.Append);
            file.Write(record, record.Length / 2, record.Length - record.Length / 2);
        };

        f.Spool.Recover();

        Assert.Equal(1, found);
        Assert.EndsWith(SpoolFile.RecipientRecord(1, RecipientState.Delivered), File.ReadAllText(path));
        Assert.Equal([RecipientState.Pending, RecipientState.Delivered], Assert.Single(f.Reopen().Recover()).Recipients);
    }
}
