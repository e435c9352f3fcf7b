using ActorMta.Configuration;
using ActorMta.Spool;
using ActorMta.Tests.Queue;

namespace ActorMta.Tests.Spool;

/// <summary>
/// The spool's log. A power cut cannot be staged in a test, so each test copies the spool directory
/// (what the disk holds) and then changes the copy as a power cut could have: a torn last record, a
/// file only partly written, an unlink that never reached the disk. A second spool opened on the
/// copy is the restart.
/// </summary>
public sealed class SpoolLogTests : IDisposable
{
    private readonly SpoolFixture _f = new();
    private readonly List<string> _copies = [];

    public void Dispose()
    {
        _f.Dispose();
        foreach (string copy in _copies)
        {
            try
            {
                Directory.Delete(copy, recursive: true);
            }
            catch (IOException)
            {
            }
        }
    }

    [Fact]
    public async Task A_stored_message_lives_in_the_log_without_a_file_and_a_restart_finds_it_byte_for_byte()
    {
        var envelope = await _f.StoreAsync("bob@test.example", "carol@test.example");
        await _f.Spool.MarkRecipientAsync(envelope.MessageId, 0, RecipientState.Delivered);

        Assert.Empty(_f.SpoolFiles());
        var image = CrashImage();
        var restarted = Open(image);
        var recovered = Assert.Single(restarted.Recover());

        Assert.Equal(envelope.MessageId, recovered.Id);
        Assert.Equal([RecipientState.Delivered, RecipientState.Pending], recovered.Recipients);
        Assert.Equal(SpoolFixture.SampleData, SpoolFixture.DataOf(restarted, envelope.MessageId));
        Assert.False(File.Exists(InputOf(image, envelope.MessageId)));
    }

    [Fact]
    public async Task A_removed_message_is_not_brought_back_even_when_the_unlink_of_its_file_was_lost()
    {
        var delivered = await _f.StoreAsync("bob@test.example");
        var kept = await _f.StoreAsync("carol@test.example");
        await _f.Spool.RemoveDurablyAsync(delivered.MessageId);
        Assert.False(_f.Spool.Contains(delivered.MessageId));

        // Its store record is still in the log; say a file of it was on disk and its unlink was not.
        var image = CrashImage();
        File.WriteAllText(InputOf(image, delivered.MessageId), "actormta-spool 1\n");

        var reports = new List<string>();
        var recovered = Open(image).Recover(reports.Add);

        Assert.Equal([kept.MessageId], recovered.Select(m => m.Id));
        Assert.False(File.Exists(InputOf(image, delivered.MessageId)));
        Assert.Contains($"{delivered.MessageId} removed again: the spool log says it was done before the restart", reports);
    }

    [Fact]
    public async Task A_message_removed_without_durability_is_not_brought_back_either()
    {
        var done = await _f.StoreAsync("bob@test.example");
        await _f.Spool.RemoveAsync(done.MessageId);

        var image = CrashImage();

        Assert.Empty(Open(image).Recover());
        Assert.False(File.Exists(InputOf(image, done.MessageId)));
    }

    [Fact]
    public async Task A_torn_last_record_is_ignored_and_the_records_before_it_are_replayed()
    {
        var first = await _f.StoreAsync("bob@test.example");
        var second = await _f.StoreAsync("carol@test.example");

        var image = CrashImage();
        // The second record is the last one written: flip a byte of its data, as a torn write would.
        string segment = CurrentSegment(image);
        byte[] log = File.ReadAllBytes(segment);
        int end = LastRecordEnd(log);
        log[end - 10] ^= 0xFF;
        File.WriteAllBytes(segment, log);

        var recovered = Open(image).Recover();

        Assert.Equal([first.MessageId], recovered.Select(m => m.Id));
        Assert.False(File.Exists(InputOf(image, second.MessageId)));
    }

    [Fact]
    public async Task A_record_damaged_on_disk_loses_only_itself_and_the_replay_goes_on_after_it_saying_where()
    {
        var first = await _f.StoreAsync("bob@test.example");
        var second = await _f.StoreAsync("carol@test.example");
        var third = await _f.StoreAsync("dave@test.example");
        await _f.Spool.MarkRecipientAsync(third.MessageId, 0, RecipientState.Delivered);

        var image = CrashImage();
        // Not a torn tail: bytes in the middle of the log go bad, as a failing disk would do.
        string segment = CurrentSegment(image);
        byte[] log = File.ReadAllBytes(segment);
        int record = log.AsSpan().IndexOf(System.Text.Encoding.ASCII.GetBytes(second.MessageId)) - 18;
        int damagedAt = record + 18 + second.MessageId.Length + 40;
        log[damagedAt] ^= 0xFF;
        File.WriteAllBytes(segment, log);

        var reports = new List<string>();
        var recovered = Open(image).Recover(reports.Add);

        Assert.Equal([first.MessageId, third.MessageId], recovered.Select(m => m.Id));
        Assert.Equal([RecipientState.Delivered], recovered[1].Recipients); // its journal record, after the damage, too
        string line = Assert.Single(reports, r => r.Contains("damaged on disk", StringComparison.Ordinal));
        Assert.StartsWith($"spool log {segment}: ", line, StringComparison.Ordinal);
        Assert.Contains($" bytes at offset {record} are not valid records", line, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_segment_whose_messages_are_all_gone_is_retired_without_a_single_message_file()
    {
        // A short interval seals the segment at once; with every message removed, it is retired.
        using var f = new SpoolFixture(s => s with { Spool = s.Spool with { LogCheckpointInterval = TimeSpan.FromMilliseconds(50) } });
        var log = SpoolLog.Find(f.Settings.Spool.Directory)!;
        var stored = new List<Envelope>();
        for (int i = 0; i < 20; i++) stored.Add(await f.StoreAsync("bob@test.example"));
        foreach (var envelope in stored) await f.Spool.RemoveDurablyAsync(envelope.MessageId);

        await Until(() => Interlocked.Read(ref log.Checkpoints) >= 1);
        Assert.Equal(0, Interlocked.Read(ref log.MovedToFiles));
        Assert.Empty(f.SpoolFiles());

        // Its records are void: a restart brings nothing back, and writes no file.
        var image = CrashImage(f.Settings.Spool.Directory);
        Assert.Empty(Open(image).Recover());
        Assert.Empty(Directory.GetFiles(Path.Combine(image, "input")));
    }

    [Fact]
    public async Task A_sealed_segment_waiting_for_its_queued_messages_costs_no_retire_pass_per_commit()
    {
        // A queued message keeps its sealed segment (retention one hour); stores go on meanwhile.
        using var f = new SpoolFixture(s => s with
        {
            Spool = s.Spool with { LogCheckpointInterval = TimeSpan.FromMilliseconds(300), LogRetention = TimeSpan.FromHours(1) },
        });
        var log = SpoolLog.Find(f.Settings.Spool.Directory)!;
        var queued = await f.StoreAsync("bob@test.example");
        // Sealing kicks the retiring thread once: that pass is how the test knows a segment waits.
        await Until(() => Interlocked.Read(ref log.RetirePasses) >= 1);
        Assert.True(log.Holds(queued.MessageId));

        long passes = Interlocked.Read(ref log.RetirePasses);
        long commits = Interlocked.Read(ref log.Commits);
        for (int i = 0; i < 100; i++) await f.StoreAsync("carol@test.example");

        // Each store was a commit of its own; the passes are the seals and timer ticks meanwhile.
        Assert.True(Interlocked.Read(ref log.Commits) - commits >= 100);
        long extra = Interlocked.Read(ref log.RetirePasses) - passes;
        Assert.True(extra < 20, $"{extra} retire passes for 100 commits");
        Assert.True(log.Holds(queued.MessageId));
        Assert.Equal(0, Interlocked.Read(ref log.MovedToFiles));
    }

    [Fact]
    public async Task A_message_still_queued_when_its_segment_is_retired_moves_to_its_own_file_with_its_journal()
    {
        using var f = RetiringAtOnce(TimeSpan.FromMilliseconds(50));
        var log = SpoolLog.Find(f.Settings.Spool.Directory)!;
        var envelope = await f.StoreAsync("bob@test.example", "carol@test.example", "dave@test.example");
        await f.Spool.MarkRecipientAsync(envelope.MessageId, 0, RecipientState.Delivered);

        await Until(() => !log.Holds(envelope.MessageId));
        string path = f.Spool.PathOf(envelope.MessageId);
        string text = File.ReadAllText(path);
        Assert.StartsWith("actormta-spool 1\nenvelope {\"id\":\"" + envelope.MessageId + "\"", text);
        Assert.EndsWith("\njournal\n" + SpoolFile.RecipientRecord(0, RecipientState.Delivered), text);
        Assert.Equal(1, Interlocked.Read(ref log.MovedToFiles));

        // From now on its journal is its file's, as for a message stored without the log.
        await f.Spool.MarkRecipientAsync(envelope.MessageId, 2, RecipientState.Failed);
        Assert.EndsWith(SpoolFile.RecipientRecord(2, RecipientState.Failed), File.ReadAllText(path));

        // The segment is void: a restart reads the file alone.
        var image = CrashImage(f.Settings.Spool.Directory);
        var restarted = Open(image);
        var recovered = Assert.Single(restarted.Recover());
        Assert.Equal([RecipientState.Delivered, RecipientState.Pending, RecipientState.Failed], recovered.Recipients);
        Assert.Equal(SpoolFixture.SampleData, SpoolFixture.DataOf(restarted, envelope.MessageId));
    }

    [Fact]
    public async Task A_removal_and_a_journal_record_arriving_while_messages_move_to_their_files_wait_for_the_move()
    {
        using var f = RetiringAtOnce(TimeSpan.FromMilliseconds(200));
        var log = SpoolLog.Find(f.Settings.Spool.Directory)!;
        using var moveWritten = new SemaphoreSlim(0);
        using var release = new ManualResetEventSlim();
        log.MoveWritten = () =>
        {
            moveWritten.Release();
            release.Wait(TimeSpan.FromSeconds(30));
        };
        // Both in one segment: stored together, well inside the checkpoint interval.
        var stored = await Task.WhenAll(f.StoreAsync("bob@test.example"), f.StoreAsync("bob@test.example", "carol@test.example"));
        var (removed, kept) = (stored[0], stored[1]);
        Assert.True(await moveWritten.WaitAsync(TimeSpan.FromSeconds(10)), "the segment was not retired");

        // The files are written but not yet durable, and the segment not yet void: both must wait.
        Assert.True(File.Exists(f.Spool.PathOf(removed.MessageId)));
        var removal = f.Spool.RemoveAsync(removed.MessageId);
        var journal = f.Spool.MarkRecipientAsync(kept.MessageId, 1, RecipientState.Delivered);
        await Task.Delay(300);
        Assert.False(removal.IsCompleted, "a removal went ahead while its message was moving");
        Assert.False(journal.IsCompleted, "a journal record went ahead while its message was moving");

        release.Set();
        await Task.WhenAll(removal, journal).WaitAsync(TimeSpan.FromSeconds(10));
        Assert.False(File.Exists(f.Spool.PathOf(removed.MessageId)));
        Assert.False(f.Spool.Contains(removed.MessageId));
        Assert.EndsWith(SpoolFile.RecipientRecord(1, RecipientState.Delivered), File.ReadAllText(f.Spool.PathOf(kept.MessageId)));

        var recovered = Assert.Single(Open(CrashImage(f.Settings.Spool.Directory)).Recover());
        Assert.Equal(kept.MessageId, recovered.Id);
        Assert.Equal([RecipientState.Pending, RecipientState.Delivered], recovered.Recipients);
    }

    [Fact]
    public async Task A_recovery_overtaken_by_a_move_out_of_the_log_still_finds_the_message_once()
    {
        // A node restarted in the same process (or a restarted queue manager) recovers while the
        // shared log goes on retiring segments: here a move runs, start to end, inside the recovery.
        using var f = RetiringAtOnce(TimeSpan.FromSeconds(1));
        var log = SpoolLog.Find(f.Settings.Spool.Directory)!;
        var envelope = await f.StoreAsync("bob@test.example");
        string path = f.Spool.PathOf(envelope.MessageId);
        bool fileBefore = true;
        f.Spool.BetweenRecoveryReads = () =>
        {
            fileBefore = File.Exists(path);
            SpinWait.SpinUntil(() => !log.Holds(envelope.MessageId) && Interlocked.Read(ref log.MovedToFiles) == 1, TimeSpan.FromSeconds(10));
        };

        var recovered = f.Spool.Recover();

        Assert.False(fileBefore, "the move was done before the recovery began: nothing overtook it");
        Assert.False(log.Holds(envelope.MessageId));
        Assert.True(File.Exists(path));
        Assert.Equal(envelope.MessageId, Assert.Single(recovered).Id);
    }

    [Fact]
    public async Task A_recovery_during_a_move_leaves_the_moves_temporary_file_alone_and_deletes_a_crashs()
    {
        // A move writes <id>.tmp and renames it; a recovery beside it (a restarted queue manager)
        // took that for a crash's leftover and deleted it, and the checkpoint failed.
        using var f = RetiringAtOnce(TimeSpan.FromMilliseconds(200));
        var log = SpoolLog.Find(f.Settings.Spool.Directory)!;
        var moving = await f.StoreAsync("bob@test.example");
        string movesTemp = f.Spool.PathOf(moving.MessageId) + ".tmp";
        string crashsTemp = f.Spool.PathOf(f.Spool.NewMessageId()) + ".tmp";
        File.WriteAllText(crashsTemp, "left by a crash");
        var inside = new TaskCompletionSource<(bool Moves, bool Crashs)>(TaskCreationOptions.RunContinuationsAsynchronously);
        log.MoveWritten = () =>
        {
            // The message is moving: stand its temporary file back in place, as while it is written.
            File.WriteAllText(movesTemp, "being written");
            f.Reopen().Recover();
            inside.TrySetResult((File.Exists(movesTemp), File.Exists(crashsTemp)));
            File.Delete(movesTemp);
        };

        var (moves, crashs) = await inside.Task.WaitAsync(TimeSpan.FromSeconds(10));

        Assert.True(moves, "recovery deleted the temporary file of a message the log was moving");
        Assert.False(crashs, "recovery kept a temporary file no move was writing");
    }

    [Fact]
    public async Task A_message_removed_while_it_moves_to_its_file_is_not_recovered_from_the_file_the_move_wrote()
    {
        // A removal queued just before a move began is applied while the move writes the file. A
        // recovery in that window (a restarted queue manager) took the file for a queued message,
        // and a message whose recipients were all done was delivered again.
        using var f = RetiringAtOnce(TimeSpan.FromSeconds(1));
        var log = SpoolLog.Find(f.Settings.Spool.Directory)!;
        var stored = await Task.WhenAll(f.StoreAsync("bob@test.example"), f.StoreAsync("carol@test.example"));
        var (removed, kept) = (stored[0], stored[1]);
        string removedPath = f.Spool.PathOf(removed.MessageId);
        using var moveStarted = new ManualResetEventSlim();
        using var release = new ManualResetEventSlim();
        bool movingWhenQueued = true;
        log.GoneQueuing = id =>
        {
            if (id != removed.MessageId) return;
            movingWhenQueued = log.IsMoving(id);
            moveStarted.Wait(TimeSpan.FromSeconds(10));
        };
        log.MoveWritten = () =>
        {
            moveStarted.Set();
            release.Wait(TimeSpan.FromSeconds(30));
        };
        try
        {
            // Queued while the message is in the log; applied once the move has written its file.
            await Task.Run(() => f.Spool.RemoveAsync(removed.MessageId)).WaitAsync(TimeSpan.FromSeconds(10));
            Assert.False(movingWhenQueued, "the move began before the removal was queued: the window was missed");
            Assert.False(log.Lives(removed.MessageId));
            Assert.True(File.Exists(removedPath), "the move had not written the removed message's file");

            var recovered = f.Reopen().Recover();

            Assert.Equal(kept.MessageId, Assert.Single(recovered).Id);
        }
        finally
        {
            release.Set();
        }
        // The move, ending, deletes the file it wrote for the removed message.
        await Until(() => !File.Exists(removedPath));
        Assert.Equal(kept.MessageId, Assert.Single(Open(CrashImage(f.Settings.Spool.Directory)).Recover()).Id);
    }

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public async Task A_reader_that_does_not_own_the_spool_finds_a_message_and_its_data_in_the_log_or_in_its_file(bool log)
    {
        using var f = new SpoolFixture(s => s with { Spool = s.Spool with { WriteAheadLog = log } });
        var envelope = await f.StoreAsync("bob@test.example", "carol@test.example");
        await f.Spool.MarkRecipientAsync(envelope.MessageId, 1, RecipientState.Delivered);
        Assert.Equal(log, f.SpoolFiles().Length == 0);

        var found = MessageSpool.TryOpenReadOnly(f.Settings.Spool.Directory, envelope.MessageId)!;
        Assert.Equal(envelope.MessageId, found.Message.Id);
        Assert.Equal([RecipientState.Pending, RecipientState.Delivered], found.Message.Recipients);
        using var data = found.OpenData();
        using var copy = new MemoryStream();
        await data.CopyToAsync(copy);
        Assert.Equal(SpoolFixture.SampleData, copy.ToArray());
        Assert.Null(MessageSpool.TryOpenReadOnly(f.Settings.Spool.Directory, "1xXu4b-wdoUKP-6D"));
    }

    [Fact]
    public async Task A_read_only_view_reads_a_message_its_scan_found_and_answers_none_once_the_segment_is_reused()
    {
        var envelope = await _f.StoreAsync("bob@test.example", "carol@test.example");
        await _f.Spool.MarkRecipientAsync(envelope.MessageId, 1, RecipientState.Delivered);
        var image = CrashImage();
        string segment = CurrentSegment(image);

        using var view = SpoolLog.ReadOnlyView.Open(image);
        Assert.Equal([envelope.MessageId], view.Ids);
        var bytes = view.TryRead(envelope.MessageId)!;
        Assert.Equal([.. SpoolImage(envelope), .. System.Text.Encoding.ASCII.GetBytes(SpoolFile.RecipientRecord(1, RecipientState.Delivered))], bytes);

        // What the running MTA may do between the scan and a read: the message gets its own file,
        // then its segment is reused under the next sequence, a newer (and longer) message where it was.
        File.WriteAllBytes(InputOf(image, envelope.MessageId), bytes);
        var newer = await _f.StoreAsync("dave@test.example", "erin@test.example", "frank@test.example");
        long sequence = BitConverter.ToInt64(File.ReadAllBytes(segment), 4);
        File.WriteAllBytes(segment, Segment(sequence + 1, (newer.MessageId, SpoolImage(newer))));

        Assert.Null(view.TryRead(envelope.MessageId));
        Assert.Null(view.TryRead(newer.MessageId)); // not in the log when it was scanned
        var all = MessageSpool.ReadEach(image).OrderBy(m => m.Id, StringComparer.Ordinal).ToList();
        Assert.Equal([envelope.MessageId, newer.MessageId], all.Select(m => m.Id));
        Assert.Equal([RecipientState.Pending, RecipientState.Delivered], all[0].Recipients);
    }

    [Fact]
    public async Task Over_the_size_limit_the_oldest_segments_move_their_messages_to_files_and_none_is_lost()
    {
        // The smallest segment and limit: a few hundred messages go over it long before the retention.
        using var f = new SpoolFixture(s => s with { Spool = s.Spool with { LogSegmentSize = 64 * 1024, LogSizeLimit = 64 * 1024 } });
        var log = SpoolLog.Find(f.Settings.Spool.Directory)!;
        var stored = new List<Envelope>();
        while (Interlocked.Read(ref log.MovedToFiles) == 0 && stored.Count < 3000)
        {
            stored.Add(await f.StoreAsync("bob@test.example"));
            if (stored.Count % 100 == 0) await Task.Delay(20);
        }
        await Until(() => Interlocked.Read(ref log.Checkpoints) >= 1);

        var files = f.SpoolFiles();
        Assert.NotEmpty(files);
        // The oldest moved, the newest did not.
        Assert.Equal("input/" + stored[0].MessageId, files[0]);
        Assert.True(log.Holds(stored[^1].MessageId));
        var image = CrashImage(f.Settings.Spool.Directory);
        Assert.Equal(stored.Select(e => e.MessageId), Open(image).Recover().Select(m => m.Id));
    }

    [Fact]
    public void A_size_that_does_not_parse_is_one_error_not_also_a_range_error_about_a_placeholder()
    {
        var e = Assert.Throws<ConfigurationException>(() => SettingsLoader.Load(null, ["actormta.spool.log-size-limit=abc"]));
        var error = Assert.Single(e.Errors);
        Assert.Equal("actormta.spool.log-size-limit: expected a positive size such as 52428800, 50M or 50MiB, got \"abc\"", $"{error.Path}: {error.Message}");
    }

    [Fact]
    public void A_log_size_limit_below_the_segment_size_is_a_configuration_error_naming_the_key()
    {
        var e = Assert.Throws<ConfigurationException>(() => SettingsLoader.Load(null, ["actormta.spool.log-size-limit=1M"]));
        Assert.Contains("actormta.spool.log-size-limit: expected at least log-segment-size", e.Message);
    }

    [Fact]
    public async Task A_copy_in_input_left_by_an_interrupted_move_gives_way_to_the_log()
    {
        var envelope = await _f.StoreAsync("bob@test.example", "carol@test.example");
        await _f.Spool.MarkRecipientAsync(envelope.MessageId, 1, RecipientState.Delivered);

        // A move writes the file, then voids the segment: say the crash came in between, with the
        // file only partly on disk.
        var image = CrashImage();
        File.WriteAllText(InputOf(image, envelope.MessageId), "actormta-spool 1\nenvel");

        var reports = new List<string>();
        var restarted = Open(image);
        var recovered = Assert.Single(restarted.Recover(reports.Add));

        Assert.Equal([RecipientState.Pending, RecipientState.Delivered], recovered.Recipients);
        Assert.False(File.Exists(InputOf(image, envelope.MessageId)));
        Assert.Contains(reports, r => r.StartsWith(envelope.MessageId + ": removed a copy in input/", StringComparison.Ordinal));
        Assert.Empty(Directory.GetDirectories(image, "corrupt"));
    }

    [Fact]
    public async Task A_different_file_under_the_id_of_a_message_in_the_log_is_kept_aside_not_deleted()
    {
        var envelope = await _f.StoreAsync("bob@test.example");
        var image = CrashImage();
        File.WriteAllText(InputOf(image, envelope.MessageId), "actormta-spool 1\nenvelope {\"id\":\"someone else\"}\n");

        var reports = new List<string>();
        var recovered = Assert.Single(Open(image).Recover(reports.Add));

        Assert.Equal(envelope.MessageId, recovered.Id);
        Assert.True(File.Exists(Path.Combine(image, "corrupt", envelope.MessageId)));
        Assert.Contains(reports, r => r.EndsWith(": the spool log holds another message under its id", StringComparison.Ordinal));
    }

    [Fact]
    public async Task Switching_the_log_off_writes_each_of_its_messages_a_file_with_its_journal_and_removes_it()
    {
        var envelope = await _f.StoreAsync("bob@test.example", "carol@test.example");
        await _f.Spool.MarkRecipientAsync(envelope.MessageId, 1, RecipientState.Delivered);
        var gone = await _f.StoreAsync("dave@test.example");
        await _f.Spool.RemoveAsync(gone.MessageId);

        var image = CrashImage();
        var reports = new List<string>();
        var spool = new MessageSpool(new SpoolSettings(image, Fsync: true) { WriteAheadLog = false });
        var recovered = Assert.Single(spool.Recover(reports.Add));

        Assert.Equal(envelope.MessageId, recovered.Id);
        Assert.Equal([RecipientState.Pending, RecipientState.Delivered], recovered.Recipients);
        Assert.EndsWith("\njournal\n" + SpoolFile.RecipientRecord(1, RecipientState.Delivered), File.ReadAllText(InputOf(image, envelope.MessageId)));
        Assert.False(File.Exists(InputOf(image, gone.MessageId)));
        Assert.False(Directory.Exists(Path.Combine(image, "log")));
        Assert.Equal([$"{envelope.MessageId} written from the spool log to its own spool file"], reports);
    }

    [Fact]
    public void A_log_of_the_first_format_is_replayed_into_files_and_removed()
    {
        // The first format kept every message in a file as well, so a store record whose file is
        // intact changes nothing (that file may have journal records after the image); a lost one
        // is written again.
        string spool = Path.Combine(_f.Root, "old-spool");
        string input = Path.Combine(spool, "input");
        Directory.CreateDirectory(input);
        Directory.CreateDirectory(Path.Combine(spool, "log"));
        var intact = _f.NewEnvelope("bob@test.example");
        var lost = _f.NewEnvelope("carol@test.example");
        byte[] intactImage = SpoolImage(intact);
        File.WriteAllBytes(Path.Combine(input, intact.MessageId), [.. intactImage, .. "rcpt 0 delivered\n"u8]);
        File.WriteAllBytes(Path.Combine(spool, "log", "segment-a"), Segment(7, (intact.MessageId, intactImage), (lost.MessageId, SpoolImage(lost))));

        var recovered = Open(spool).Recover();

        Assert.Equal(new[] { intact.MessageId, lost.MessageId }.Order(StringComparer.Ordinal), recovered.Select(m => m.Id));
        Assert.Equal([RecipientState.Delivered], recovered.Single(m => m.Id == intact.MessageId).Recipients);
        Assert.Equal(SpoolImage(lost), File.ReadAllBytes(Path.Combine(input, lost.MessageId)));
        Assert.False(File.Exists(Path.Combine(spool, "log", "segment-a")));
    }

    [Fact]
    public async Task Large_messages_bypass_the_log_and_are_fsynced_as_files()
    {
        var log = SpoolLog.Find(_f.Settings.Spool.Directory)!;
        long before = log.Commits;
        var envelope = _f.NewEnvelope("bob@test.example");
        byte[] big = new byte[SpoolLog.MaxRecordPayload + 1];
        Array.Fill(big, (byte)'x');

        await _f.Spool.StoreAsync(envelope, [big]);

        Assert.Equal(before, log.Commits);
        var recovered = Assert.Single(_f.Reopen().Recover());
        Assert.Equal(big.Length, recovered.DataLength);
    }

    [Fact]
    public void A_segment_size_below_64K_is_a_configuration_error_naming_the_key()
    {
        var e = Assert.Throws<ConfigurationException>(() => SettingsLoader.Load(null, ["actormta.spool.log-segment-size=1K"]));
        Assert.Contains("actormta.spool.log-segment-size: expected at least 64K", e.Message);
    }

    [Fact]
    public async Task A_checkpoint_that_cannot_write_a_message_file_is_tried_again_and_the_log_takes_messages_meanwhile()
    {
        using var f = RetiringAtOnce(TimeSpan.FromMilliseconds(300));
        var reports = new System.Collections.Concurrent.ConcurrentQueue<string>();
        f.Spool.Report = reports.Enqueue;
        var log = SpoolLog.Find(f.Settings.Spool.Directory)!;
        var stuck = await f.StoreAsync("bob@test.example", "carol@test.example");

        // The move writes <id>.tmp first: a directory under that name makes the write fail, as a
        // full disk or a process out of descriptors would.
        var blocker = Path.Combine(f.InputDirectory, stuck.MessageId + ".tmp");
        Directory.CreateDirectory(blocker);
        await Until(() => reports.Any(r => r.StartsWith("spool log checkpoint failed, will try again: cannot write ", StringComparison.Ordinal)));
        Assert.True(log.Holds(stuck.MessageId));
        Assert.False(File.Exists(f.Spool.PathOf(stuck.MessageId)));

        // Meanwhile the log takes stores and journal records (before, it refused them until a restart).
        var later = await f.StoreAsync("dave@test.example");
        await f.Spool.MarkRecipientAsync(stuck.MessageId, 0, RecipientState.Delivered);
        Assert.Single(reports, r => r.StartsWith("spool log checkpoint failed", StringComparison.Ordinal)); // said once, not at every try

        Directory.Delete(blocker);
        await Until(() => !log.Holds(stuck.MessageId));
        // Said when the pass that moved it ends, a moment after the move.
        await Until(() => reports.Contains("spool log checkpoint done again"));
        Assert.EndsWith("\njournal\n" + SpoolFile.RecipientRecord(0, RecipientState.Delivered), File.ReadAllText(f.Spool.PathOf(stuck.MessageId)));

        // A restart finds each message once, with its journal.
        var restarted = Open(CrashImage(f.Settings.Spool.Directory));
        var recovered = restarted.Recover().OrderBy(m => m.Id, StringComparer.Ordinal).ToList();
        Assert.Equal(new[] { stuck.MessageId, later.MessageId }.Order(StringComparer.Ordinal), recovered.Select(m => m.Id));
        Assert.Equal([RecipientState.Delivered, RecipientState.Pending], recovered.Single(m => m.Id == stuck.MessageId).Recipients);
    }

    [Fact]
    public async Task A_restart_with_no_room_for_a_new_segment_continues_the_newest_one_and_loses_nothing()
    {
        var first = await _f.StoreAsync("bob@test.example");
        var image = CrashImage();
        // No void segment is left, and a new one cannot be made: its name is taken by a directory,
        // as a full disk would refuse its blocks.
        var newest = Assert.Single(Directory.GetFiles(Path.Combine(image, "log"), "segment-*"));
        int number = int.Parse(Path.GetFileName(newest)["segment-".Length..], System.Globalization.CultureInfo.InvariantCulture);
        Directory.CreateDirectory(Path.Combine(image, "log", $"segment-{number + 1:D4}"));

        var restarted = Open(image);
        var reports = new List<string>();
        var recovered = restarted.Recover(reports.Add);
        Assert.Equal(first.MessageId, Assert.Single(recovered).Id);
        Assert.Contains(reports, r => r.StartsWith("no room for a new spool log segment (", StringComparison.Ordinal)
            && r.EndsWith("): continuing " + newest, StringComparison.Ordinal));

        // It takes messages, after the first one's records, and a second restart finds both.
        var second = _f.NewEnvelope("carol@test.example");
        await restarted.StoreAsync(second, [SpoolFixture.SampleData]);
        await restarted.MarkRecipientAsync(first.MessageId, 0, RecipientState.Delivered);
        var again = Open(CrashImage(image)).Recover().OrderBy(m => m.Id, StringComparer.Ordinal).ToList();
        Assert.Equal(new[] { first.MessageId, second.MessageId }.Order(StringComparer.Ordinal), again.Select(m => m.Id));
        Assert.Equal([RecipientState.Delivered], again.Single(m => m.Id == first.MessageId).Recipients);
        Assert.Equal(SpoolFixture.SampleData, SpoolFixture.DataOf(Open(CrashImage(image)), second.MessageId));
    }

    private string CrashImage(string? spool = null)
    {
        string from = spool ?? _f.Settings.Spool.Directory;
        string to = Path.Combine(Path.GetTempPath(), "actormta-crashimage-" + Guid.NewGuid().ToString("N")[..12]);
        _copies.Add(to);
        foreach (string directory in Directory.GetDirectories(from, "*", SearchOption.AllDirectories))
            Directory.CreateDirectory(Path.Combine(to, Path.GetRelativePath(from, directory)));
        foreach (string file in Directory.GetFiles(from, "*", SearchOption.AllDirectories))
        {
            string target = Path.Combine(to, Path.GetRelativePath(from, file));
            Directory.CreateDirectory(Path.GetDirectoryName(target)!);
            try
            {
                File.Copy(file, target);
            }
            catch (FileNotFoundException)
            {
                // Deleted by the running log since the listing (a spare segment beyond the two kept, a
                // file whose message went): as if deleted just before the crash.
            }
        }
        return to;
    }

    /// <summary>
    /// A spool whose log seals its segment <paramref name="checkpointInterval"/> after its first record
    /// and retires it at once, moving the messages still queued in it to their own files.
    /// </summary>
    private static SpoolFixture RetiringAtOnce(TimeSpan checkpointInterval) => new(s => s with
    {
        Spool = s.Spool with { LogCheckpointInterval = checkpointInterval, LogRetention = TimeSpan.Zero },
    });

    private static MessageSpool Open(string spool) => new(new SpoolSettings(spool, Fsync: true));

    private static async Task Until(Func<bool> condition)
    {
        var deadline = DateTime.UtcNow.AddSeconds(10);
        while (!condition())
        {
            Assert.True(DateTime.UtcNow < deadline, "timed out waiting for the spool log");
            await Task.Delay(20);
        }
    }

    /// <summary>A message file's image as the spool writes it: header, data, trailer.</summary>
    private static byte[] SpoolImage(Envelope envelope)
        => [.. SpoolFile.Header(envelope, SpoolFixture.SampleData.Length), .. SpoolFixture.SampleData, .. SpoolFile.Trailer];

    /// <summary>A segment file: header (magic, sequence, CRC) and one store record per message.</summary>
    private static byte[] Segment(long sequence, params (string Id, byte[] Image)[] stores)
    {
        var bytes = new List<byte>();
        var header = new byte[64];
        BitConverter.TryWriteBytes(header.AsSpan(0), 0x4C53_4D41u);
        BitConverter.TryWriteBytes(header.AsSpan(4), sequence);
        BitConverter.TryWriteBytes(header.AsSpan(12), Crc32C.Compute(header.AsSpan(0, 12)));
        bytes.AddRange(header);
        foreach (var (id, image) in stores)
        {
            var record = new List<byte>();
            record.AddRange(BitConverter.GetBytes(0x5253_4D41u));
            record.AddRange(BitConverter.GetBytes(sequence));
            record.Add(1);
            record.Add((byte)id.Length);
            record.AddRange(BitConverter.GetBytes(image.Length));
            record.AddRange(System.Text.Encoding.ASCII.GetBytes(id));
            record.AddRange(image);
            record.AddRange(BitConverter.GetBytes(Crc32C.Compute(record.ToArray())));
            bytes.AddRange(record);
        }
        return [.. bytes];
    }

    private static string InputOf(string spool, string id) => Path.Combine(spool, "input", id);

    /// <summary>The segment with the highest sequence number: the current one.</summary>
    private static string CurrentSegment(string spool)
        => Directory.GetFiles(Path.Combine(spool, "log")).OrderBy(p => BitConverter.ToInt64(File.ReadAllBytes(p), 4)).Last();

    /// <summary>Walks the records (magic, sequence, kind, id length, payload length, id, payload, CRC) to the last one's end.</summary>
    private static int LastRecordEnd(byte[] log)
    {
        const int header = 64, fixedPart = 18, crc = 4;
        long sequence = BitConverter.ToInt64(log, 4);
        int at = header, end = header;
        while (at + fixedPart <= log.Length && BitConverter.ToUInt32(log, at) == 0x5253_4D41 && BitConverter.ToInt64(log, at + 4) == sequence)
        {
            at += fixedPart + log[at + 13] + BitConverter.ToInt32(log, at + 14) + crc;
            end = at;
        }
        return end;
    }
}
