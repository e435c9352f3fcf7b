using ActorMta.Configuration;
using ActorMta.Spool;
using ActorMta.Tests.Queue;

namespace ActorMta.Tests.Spool;

/// <summary>
/// The spool's write-ahead log. A power cut cannot be staged in a test, so each test copies the
/// spool directory (what the disk holds) and then takes away from the copy what a power cut could
/// take: a message file that never left the page cache, or one only partly written, or an unlink
/// that never reached the disk. A second spool opened on the copy is the restart.
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
    public async Task Messages_whose_files_were_lost_or_torn_come_back_from_the_log_byte_for_byte()
    {
        var lost = await _f.StoreAsync("bob@test.example");
        var torn = await _f.StoreAsync("carol@test.example");
        var intact = await _f.StoreAsync("dave@test.example");
        byte[] lostBytes = File.ReadAllBytes(_f.Spool.PathOf(lost.MessageId));
        byte[] tornBytes = File.ReadAllBytes(_f.Spool.PathOf(torn.MessageId));

        var image = CrashImage();
        File.Delete(InputOf(image, lost.MessageId));
        File.WriteAllBytes(InputOf(image, torn.MessageId), tornBytes[..(tornBytes.Length / 2)]);

        var restarted = Open(image);
        var reports = new List<string>();
        var recovered = restarted.Recover(reports.Add);

        Assert.Equal(new[] { lost.MessageId, torn.MessageId, intact.MessageId }.Order(StringComparer.Ordinal), recovered.Select(m => m.Id));
        Assert.Equal(lostBytes, File.ReadAllBytes(InputOf(image, lost.MessageId)));
        Assert.Equal(tornBytes, File.ReadAllBytes(InputOf(image, torn.MessageId)));
        Assert.Contains($"{lost.MessageId} restored from the spool log: its spool file was lost or incomplete after the restart", reports);
        Assert.Contains($"{torn.MessageId} restored from the spool log: its spool file was lost or incomplete after the restart", reports);
        Assert.DoesNotContain(reports, r => r.StartsWith(intact.MessageId, StringComparison.Ordinal));
    }

    [Fact]
    public async Task A_removed_message_is_not_brought_back_even_when_its_unlink_was_lost()
    {
        var delivered = await _f.StoreAsync("bob@test.example");
        byte[] bytes = File.ReadAllBytes(_f.Spool.PathOf(delivered.MessageId));
        var kept = await _f.StoreAsync("carol@test.example");
        await _f.Spool.RemoveDurablyAsync(delivered.MessageId);
        Assert.False(File.Exists(_f.Spool.PathOf(delivered.MessageId)));

        // Its store record is still in the log; the unlink did not reach the disk.
        var image = CrashImage();
        File.WriteAllBytes(InputOf(image, delivered.MessageId), bytes);

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
        File.Delete(InputOf(image, first.MessageId));
        File.Delete(InputOf(image, second.MessageId));
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
    public async Task After_a_checkpoint_the_records_are_void_because_the_files_are_durable_by_themselves()
    {
        // The smallest segment, so that a few hundred messages fill it and it is checkpointed now.
        using var f = new SpoolFixture(s => s with { Spool = s.Spool with { LogSegmentSize = 64 * 1024 } });
        var log = SpoolLog.Find(f.Settings.Spool.Directory)!;
        var first = new List<Envelope>();
        while (Interlocked.Read(ref log.Checkpoints) == 0 && first.Count < 2000)
        {
            first.Add(await f.StoreAsync("bob@test.example"));
            if (first.Count % 50 == 0) await Task.Delay(50);
        }
        Assert.Equal(1, Interlocked.Read(ref log.Checkpoints));

        // Taking the files away now is no crash this log can mend (the checkpoint's syncfs put them
        // on disk): the point is that the voided records are not replayed over whatever is there.
        // Those stored while the checkpoint ran are in the other segment, and do replay: a tail.
        var image = CrashImage(f.Settings.Spool.Directory);
        foreach (var envelope in first) File.Delete(InputOf(image, envelope.MessageId));
        var replayed = Open(image).Recover().Select(m => m.Id).ToList();
        Assert.InRange(replayed.Count, 0, first.Count - 100);
        Assert.Equal(first.TakeLast(replayed.Count).Select(e => e.MessageId), replayed);

        // The segments take turns: a store after the checkpoint is in the other one, and replays.
        var later = await f.StoreAsync("carol@test.example");
        image = CrashImage(f.Settings.Spool.Directory);
        File.Delete(InputOf(image, later.MessageId));
        Assert.Contains(later.MessageId, Open(image).Recover().Select(m => m.Id));
        Assert.True(File.Exists(InputOf(image, later.MessageId)));
    }

    [Fact]
    public async Task Switching_the_log_off_replays_it_once_and_removes_it()
    {
        var envelope = await _f.StoreAsync("bob@test.example");
        byte[] bytes = File.ReadAllBytes(_f.Spool.PathOf(envelope.MessageId));

        var image = CrashImage();
        File.Delete(InputOf(image, envelope.MessageId));

        var reports = new List<string>();
        var spool = new MessageSpool(new SpoolSettings(image, Fsync: true) { WriteAheadLog = false });
        var recovered = spool.Recover(reports.Add);

        Assert.Equal([envelope.MessageId], recovered.Select(m => m.Id));
        Assert.Equal(bytes, File.ReadAllBytes(InputOf(image, envelope.MessageId)));
        Assert.False(Directory.Exists(Path.Combine(image, "log")));
        Assert.Contains(reports, r => r.StartsWith(envelope.MessageId + " restored from the spool log", StringComparison.Ordinal));
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

    private string CrashImage(string? spool = null)
    {
        string from = spool ?? _f.Settings.Spool.Directory;
        string to = Path.Combine(Path.GetTempPath(), "actormta-crashimage-" + Guid.NewGuid().ToString("N")[..12]);
        _copies.Add(to);
        foreach (string file in Directory.GetFiles(from, "*", SearchOption.AllDirectories))
        {
            string target = Path.Combine(to, Path.GetRelativePath(from, file));
            Directory.CreateDirectory(Path.GetDirectoryName(target)!);
            File.Copy(file, target);
        }
        return to;
    }

    private static MessageSpool Open(string spool) => new(new SpoolSettings(spool, Fsync: true));

    private static string InputOf(string spool, string id) => Path.Combine(spool, "input", id);

    /// <summary>The segment with the lower sequence number: the current one right after the first open.</summary>
    private static string CurrentSegment(string spool)
        => Directory.GetFiles(Path.Combine(spool, "log")).OrderBy(p => BitConverter.ToInt64(File.ReadAllBytes(p), 4)).First();

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
