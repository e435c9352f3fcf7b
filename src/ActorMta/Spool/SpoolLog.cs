using System.Buffers.Binary;
using System.Collections.Concurrent;
using System.Text;
using Microsoft.Win32.SafeHandles;

namespace ActorMta.Spool;

/// <summary>
/// The spool's write-ahead log: what makes an accepted message durable with ONE fdatasync shared by
/// every message accepted meanwhile, instead of a file fsync plus a directory fsync each.
/// </summary>
/// <remarks>
/// <para><b>Why.</b> Measured on the target machine, the per-message fsyncs were the ceiling of
/// inbound throughput: a virtual disk completes a bounded number of flushes per second, and with
/// two per message (the file, then the group-committed directory) a hundred sessions spent most of
/// their time queued behind each other's flushes. A log written sequentially and synced once per
/// batch turns N flushes into one.</para>
/// <para><b>How a store works with the log.</b> The message file is written and renamed into
/// <c>input/</c> exactly as before but NOT fsynced; then its bytes (the whole file as written) are
/// appended to the log as a <c>store</c> record, and the session's 250 waits for the batch's
/// fdatasync. A crash can now lose the file's bytes or name (they were only in the page cache) but
/// not the record, and <see cref="Replay"/> rewrites the file from it at the next start.</para>
/// <para><b>Removals</b> go through the log too: a <c>gone</c> record is committed first and the
/// file unlinked after, on the log's own thread. Otherwise replaying a <c>store</c> record would
/// bring back a message that was delivered and removed before a crash: a duplicate delivery.</para>
/// <para><b>Checkpoints.</b> The log has two segment files that take turns. The current one takes
/// records; once it is older than the checkpoint interval or larger than the segment size, the
/// other becomes current and the old one is checkpointed on an I/O thread: one syncfs(2) of the
/// spool's file system makes every file it covered durable on its own (bytes, names, unlinks),
/// then its header is rewritten with a new sequence number, which voids its records. Records carry
/// their segment's sequence number and a CRC-32C, so replay stops at the first torn or stale
/// record. A segment is overwritten in place, never truncated: its blocks stay allocated and an
/// fdatasync writes data blocks only, no metadata. If a checkpoint is slow the current segment
/// just grows; nothing waits for it.</para>
/// <para>Messages larger than <see cref="MaxRecordPayload"/> do not go through the log: for them
/// the per-file fsync costs little next to writing the bytes twice.</para>
/// </remarks>
internal sealed class SpoolLog
{
    /// <summary>Largest message file (header + data + trailer) stored through the log.</summary>
    public const int MaxRecordPayload = 512 * 1024;

    internal const int HeaderSize = 64;
    internal const string Directory = "log";
    private const uint HeaderMagic = 0x4C53_4D41;  // "AMSL" little-endian
    private const uint RecordMagic = 0x5253_4D41;  // "AMSR"
    private const int RecordFixed = 4 + 8 + 1 + 1 + 4; // magic, sequence, kind, id length, payload length
    private const int RecordCrc = 4;
    private const byte KindStore = 1;
    private const byte KindGone = 2;

    private static readonly ConcurrentDictionary<string, Lazy<SpoolLog>> Logs = new(StringComparer.Ordinal);

    private readonly string _spoolDirectory;
    private readonly string _input;
    private readonly bool _fsync;
    private readonly long _segmentSize;
    private readonly TimeSpan _interval;
    private readonly long _hardLimit;
    private readonly Timer _timer;
    private readonly object _gate = new();
    private readonly List<string> _replayReport = [];

    private List<Item> _pending = [];
    private List<Item> _draining = [];
    private bool _running;
    private bool _rotateRequested;
    private bool _timerArmed;

    // Owned by whichever thread runs the commit loop (one at a time, handed over under _gate).
    private Segment _current;
    private Segment? _spare;          // null while the previous segment is being checkpointed
    private const int InitialBuffer = 64 * 1024;
    private const int MaxKeptBuffer = 4 * 1024 * 1024;
    private byte[] _buffer = new byte[InitialBuffer];
    private volatile string? _failure;

    /// <summary>
    /// True when the current segment has grown past its hard limit (checkpoints too slow for the
    /// arrivals): stores then take the per-file fsync path until a checkpoint catches up, so that a
    /// segment never grows too large to replay.
    /// </summary>
    public bool Full => _current.Position >= _hardLimit;

    /// <summary>Log flushes done (for measurements and tests).</summary>
    public long Commits;

    /// <summary>Checkpoints completed (for tests).</summary>
    public long Checkpoints;

    /// <summary>The log this process opened for <paramref name="spoolDirectory"/>, if any.</summary>
    internal static SpoolLog? Find(string spoolDirectory)
        => Logs.TryGetValue(spoolDirectory, out var lazy) && lazy.IsValueCreated ? lazy.Value : null;

    /// <summary>Problems found while running (a failed checkpoint, a failed log write), for the main log.</summary>
    public Action<string>? Report { get; set; }

    private SpoolLog(string spoolDirectory, string input, bool fsync, long segmentSize, TimeSpan interval)
    {
        _spoolDirectory = spoolDirectory;
        _input = input;
        _fsync = fsync;
        _segmentSize = segmentSize;
        _interval = interval;
        _hardLimit = Math.Clamp(8 * segmentSize, 64L * 1024 * 1024, 1L << 30);
        _timer = new Timer(_ => OnTimer());
        (_current, _spare) = OpenSegments();
    }

    /// <summary>
    /// The log of <paramref name="spoolDirectory"/>, opened once per process: the first call replays
    /// what a previous run left (see <see cref="Replay"/>); later calls (a node restarted in the same
    /// process) share the instance, whose state is the page cache's and needs no replay.
    /// </summary>
    /// <exception cref="SpoolException">The log cannot be read or created.</exception>
    public static SpoolLog For(string spoolDirectory, string input, bool fsync, long segmentSize, TimeSpan interval)
    {
        var lazy = Logs.GetOrAdd(spoolDirectory, d => new Lazy<SpoolLog>(() => new SpoolLog(d, input, fsync, segmentSize, interval)));
        try
        {
            return lazy.Value;
        }
        catch
        {
            Logs.TryRemove(new KeyValuePair<string, Lazy<SpoolLog>>(spoolDirectory, lazy));
            throw;
        }
    }

    /// <summary>
    /// With the log switched off: replays a log a previous run left (so switching it off never loses
    /// a message), then deletes it. Returns what the replay did, for the main log.
    /// </summary>
    public static IReadOnlyList<string> ReplayAndRetire(string spoolDirectory, string input)
    {
        string dir = Path.Combine(spoolDirectory, Directory);
        if (!System.IO.Directory.Exists(dir)) return [];
        var report = new List<string>();
        try
        {
            var segments = SegmentPaths(dir).Where(File.Exists).Select(p => (Path: p, Image: File.ReadAllBytes(p))).ToList();
            Replay(segments.Select(s => s.Image).ToList(), input, report);
            SyncFileSystem(spoolDirectory);
            // The older segment goes first, for the reason given in OpenSegments.
            foreach (var (path, _) in segments.OrderBy(s => ReadHeader(s.Image) ?? -1))
            {
                File.Delete(path);
                FileSync.Directory(dir);
            }
            System.IO.Directory.Delete(dir, recursive: true);
            FileSync.Directory(spoolDirectory);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new SpoolException($"cannot replay the spool log in {dir}: {e.Message}", e);
        }
        return report;
    }

    /// <summary>What the replay at open did (restored or removed messages), once.</summary>
    public IReadOnlyList<string> TakeReplayReport()
    {
        lock (_replayReport)
        {
            var lines = _replayReport.ToList();
            _replayReport.Clear();
            return lines;
        }
    }

    /// <summary>Appends a <c>store</c> record holding the whole message file; completes once it is on disk.
    /// <paramref name="parts"/> must stay unchanged until then.</summary>
    public Task AppendStoreAsync(string id, IReadOnlyList<ReadOnlyMemory<byte>> parts, int length)
        => Enqueue(new Item(id, KindStore, parts, length, null));

    /// <summary>Appends a <c>gone</c> record and, once it is on disk, unlinks <paramref name="file"/>.</summary>
    public Task AppendGoneAsync(string id, string file) => Enqueue(new Item(id, KindGone, null, 0, file));

    private sealed class Item(string id, byte kind, IReadOnlyList<ReadOnlyMemory<byte>>? parts, int length, string? unlink)
    {
        public readonly string Id = id;
        public readonly byte Kind = kind;
        public readonly IReadOnlyList<ReadOnlyMemory<byte>>? Parts = parts;
        public readonly int Length = length;
        public readonly string? Unlink = unlink;
        public readonly TaskCompletionSource Done = new(TaskCreationOptions.RunContinuationsAsynchronously);
    }

    private sealed class Segment(string path, SafeFileHandle handle)
    {
        public readonly string Path = path;
        public readonly SafeFileHandle Handle = handle;
        public long Sequence;
        public long Position = HeaderSize;
        public DateTime FirstRecordAt;
        public bool HasRecords => Position > HeaderSize;
    }

    private Task Enqueue(Item item)
    {
        bool start;
        lock (_gate)
        {
            _pending.Add(item);
            start = !_running;
            _running = true;
        }
        if (start) DurableIo.Post(RunLoop);
        return item.Done.Task;
    }

    /// <summary>The group commit: everything queued while the previous fdatasync ran goes in the next.</summary>
    private void RunLoop()
    {
        while (true)
        {
            List<Item> batch;
            bool rotate;
            lock (_gate)
            {
                if (_pending.Count == 0 && !_rotateRequested)
                {
                    _running = false;
                    return;
                }
                batch = _pending;
                _pending = _draining;
                _draining = batch;
                rotate = _rotateRequested;
                _rotateRequested = false;
            }
            try
            {
                if (batch.Count > 0) Commit(batch);
                MaybeRotate(rotate);
            }
            catch (Exception e)
            {
                // Nothing may escape onto the I/O thread (it would end the process), and the loop
                // must go on answering: every waiter gets the failure, later ones too.
                Fail($"the spool log failed: {e.Message}", e, batch);
            }
            finally
            {
                batch.Clear();
            }
        }
    }

    /// <summary>From now on the log refuses (stores get 451 and removals fail until a restart):
    /// going on could void records whose files are not on disk, or append after an unknown tail.</summary>
    private void Fail(string why, Exception? cause, List<Item>? batch = null)
    {
        if (_failure is null)
        {
            _failure = why;
            Report?.Invoke(why);
        }
        if (batch is null) return;
        foreach (var item in batch)
            item.Done.TrySetException(cause is null ? new SpoolException(_failure) : new SpoolException(_failure, cause));
    }

    private void Commit(List<Item> batch)
    {
        if (_failure is not null)
        {
            foreach (var item in batch) item.Done.TrySetException(new SpoolException(_failure));
            return;
        }
        int size = 0;
        foreach (var item in batch) size += RecordFixed + item.Id.Length + item.Length + RecordCrc;
        if (_buffer.Length < size) _buffer = new byte[Math.Max(size, _buffer.Length * 2)];
        int at = 0;
        foreach (var item in batch) at += WriteRecord(_buffer.AsSpan(at), _current.Sequence, item);

        try
        {
            RandomAccess.Write(_current.Handle, _buffer.AsSpan(0, at), _current.Position);
            if (_fsync) FileSync.DataSync(_current.Handle, _current.Path);
        }
        catch (Exception e)
        {
            // The segment's tail is now unknown: nothing may be appended after it, or replay would
            // stop before it. Refuse until a restart (the session answers 451, the queue retries).
            Fail($"the spool log {_current.Path} failed: {e.Message}", e, batch);
            return;
        }
        if (!_current.HasRecords) _current.FirstRecordAt = DateTime.UtcNow;
        _current.Position += at;
        Interlocked.Increment(ref Commits);
        // A burst of large messages may have grown the buffer to tens of megabytes: not kept.
        if (_buffer.Length > MaxKeptBuffer) _buffer = new byte[InitialBuffer];

        foreach (var item in batch)
        {
            if (item.Unlink is null)
            {
                item.Done.TrySetResult();
                continue;
            }
            try
            {
                File.Delete(item.Unlink);
                item.Done.TrySetResult();
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
                item.Done.TrySetException(new SpoolException($"cannot remove {item.Unlink}: {e.Message}", e));
            }
        }
        ArmTimer();
    }

    private static int WriteRecord(Span<byte> to, long sequence, Item item)
    {
        int idLength = Encoding.ASCII.GetBytes(item.Id, to[RecordFixed..]);
        BinaryPrimitives.WriteUInt32LittleEndian(to, RecordMagic);
        BinaryPrimitives.WriteInt64LittleEndian(to[4..], sequence);
        to[12] = item.Kind;
        to[13] = checked((byte)idLength);
        BinaryPrimitives.WriteInt32LittleEndian(to[14..], item.Length);
        int at = RecordFixed + idLength;
        if (item.Parts is not null)
        {
            foreach (var part in item.Parts)
            {
                part.Span.CopyTo(to[at..]);
                at += part.Length;
            }
        }
        BinaryPrimitives.WriteUInt32LittleEndian(to[at..], Crc32C.Compute(to[..at]));
        return at + RecordCrc;
    }

    private void MaybeRotate(bool timerFired)
    {
        if (!_current.HasRecords || _failure is not null) return;
        bool due = _current.Position >= _segmentSize || DateTime.UtcNow - _current.FirstRecordAt >= _interval;
        if (!due || _spare is null)
        {
            if (timerFired) ArmTimer(force: true);
            return;
        }
        var old = _current;
        lock (_gate)
        {
            _current = _spare;
            _spare = null;
        }
        DurableIo.Post(() => Checkpoint(old));
    }

    /// <summary>Makes everything <paramref name="old"/>'s records covered durable by themselves, then voids them.</summary>
    private void Checkpoint(Segment old)
    {
        if (!System.IO.Directory.Exists(_spoolDirectory))
        {
            // The spool was taken away under us (a test's temporary directory, or worse): refuse,
            // and leave the handles alone, the loop may still hold them.
            Logs.TryRemove(_spoolDirectory, out _);
            Fail($"the spool directory {_spoolDirectory} is gone", null);
            return;
        }
        try
        {
            if (_fsync) SyncFileSystem(_spoolDirectory);
            long sequence;
            lock (_gate) sequence = _current.Sequence + 1;
            WriteHeader(old, sequence);
            lock (_gate)
            {
                old.Position = HeaderSize;
                _spare = old;
            }
            Interlocked.Increment(ref Checkpoints);
        }
        catch (Exception e)
        {
            // Not tried again: after a failed syncfs the kernel may have dropped the dirty pages,
            // and a later syncfs (on a new descriptor) would not say so, so voiding the records
            // then could lose messages they alone still hold. Refuse instead; a restart replays.
            Fail($"spool log checkpoint of {old.Path} failed, refusing messages until a restart: {e.Message}", e);
        }
    }

    private void ArmTimer(bool force = false)
    {
        lock (_gate)
        {
            if (_timerArmed && !force) return;
            _timerArmed = true;
        }
        _timer.Change(_interval, Timeout.InfiniteTimeSpan);
    }

    private void OnTimer()
    {
        bool start;
        lock (_gate)
        {
            _timerArmed = false;
            _rotateRequested = true;
            start = !_running;
            _running = true;
        }
        if (start) DurableIo.Post(RunLoop);
    }

    private void WriteHeader(Segment segment, long sequence)
    {
        Span<byte> header = stackalloc byte[HeaderSize];
        header.Clear();
        BinaryPrimitives.WriteUInt32LittleEndian(header, HeaderMagic);
        BinaryPrimitives.WriteInt64LittleEndian(header[4..], sequence);
        BinaryPrimitives.WriteUInt32LittleEndian(header[12..], Crc32C.Compute(header[..12]));
        RandomAccess.Write(segment.Handle, header, 0);
        if (_fsync) FileSync.DataSync(segment.Handle, segment.Path);
        segment.Sequence = sequence;
    }

    private static long? ReadHeader(ReadOnlySpan<byte> file)
    {
        if (file.Length < HeaderSize || BinaryPrimitives.ReadUInt32LittleEndian(file) != HeaderMagic) return null;
        if (BinaryPrimitives.ReadUInt32LittleEndian(file[12..]) != Crc32C.Compute(file[..12])) return null;
        return BinaryPrimitives.ReadInt64LittleEndian(file[4..]);
    }

    private static string[] SegmentPaths(string dir) => [Path.Combine(dir, "segment-a"), Path.Combine(dir, "segment-b")];

    /// <summary>Opens (creating if missing) both segments, replays them, and starts a new sequence.</summary>
    private (Segment Current, Segment Spare) OpenSegments()
    {
        string dir = Path.Combine(_spoolDirectory, Directory);
        var opened = new List<Segment>();
        try
        {
            bool created = !System.IO.Directory.Exists(dir);
            System.IO.Directory.CreateDirectory(dir);
            var images = new List<byte[]>();
            foreach (string path in SegmentPaths(dir))
            {
                created |= !File.Exists(path);
                var handle = File.OpenHandle(path, FileMode.OpenOrCreate, FileAccess.ReadWrite, FileShare.ReadWrite);
                opened.Add(new Segment(path, handle));
                var image = new byte[RandomAccess.GetLength(handle)];
                int read = 0;
                while (read < image.Length)
                {
                    int n = RandomAccess.Read(handle, image.AsSpan(read), read);
                    if (n == 0) break;
                    read += n;
                }
                images.Add(image);
            }
            long last = Replay(images, _input, _replayReport);

            // Everything replayed must be durable by itself before the records that restored it are
            // voided; and the OLDER segment is voided first. A crash between the two leaves the
            // newer one, whose replay is harmless again; the other way round it could leave a store
            // record whose gone record was voided, and bring back a delivered message.
            if (_fsync) SyncFileSystem(_spoolDirectory);
            bool firstIsOlder = (ReadHeader(images[0]) ?? -1) <= (ReadHeader(images[1]) ?? -1);
            var (current, spare) = firstIsOlder ? (opened[0], opened[1]) : (opened[1], opened[0]);
            WriteHeader(current, last + 1);
            WriteHeader(spare, last + 2);
            if (created && _fsync)
            {
                FileSync.Directory(dir);
                FileSync.Directory(_spoolDirectory);
            }
            return (current, spare);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            foreach (var segment in opened) segment.Handle.Dispose();
            throw new SpoolException($"cannot open the spool log in {dir}: {e.Message}", e);
        }
    }

    /// <summary>
    /// Applies the records of <paramref name="segments"/> (file images) to <paramref name="input"/>:
    /// a stored message whose file is missing or differs from its record is written again, a message
    /// with a <c>gone</c> record is removed again. Returns the highest sequence number seen.
    /// </summary>
    internal static long Replay(IReadOnlyList<byte[]> segments, string input, List<string> report)
    {
        var ordered = segments
            .Select(image => (Image: image, Sequence: ReadHeader(image)))
            .Where(s => s.Sequence is not null)
            .OrderBy(s => s.Sequence)
            .ToList();
        var stored = new Dictionary<string, ReadOnlyMemory<byte>>(StringComparer.Ordinal);
        var gone = new HashSet<string>(StringComparer.Ordinal);
        long last = 0;
        foreach (var (image, sequence) in ordered)
        {
            last = Math.Max(last, sequence!.Value);
            foreach (var (kind, id, payload) in Records(image, sequence.Value))
            {
                if (kind == KindStore)
                {
                    stored[id] = payload;
                    gone.Remove(id);
                }
                else
                {
                    stored.Remove(id);
                    gone.Add(id);
                }
            }
        }

        foreach (string id in gone)
        {
            string path = Path.Combine(input, id);
            if (!File.Exists(path)) continue;
            File.Delete(path);
            report.Add($"{id} removed again: the spool log says it was done before the restart");
        }
        foreach (var (id, payload) in stored)
        {
            string path = Path.Combine(input, id);
            if (FileStartsWith(path, payload.Span)) continue;
            string temp = path + ".tmp"; // what recovery removes, should this be cut short
            using (var file = new FileStream(temp, FileMode.Create, FileAccess.Write, FileShare.None, bufferSize: 0))
                file.Write(payload.Span);
            File.Move(temp, path, overwrite: true);
            report.Add($"{id} restored from the spool log: its spool file was lost or incomplete after the restart");
        }
        return last;
    }

    /// <summary>The valid records of one segment image, stopping at the first torn, stale or foreign one.</summary>
    private static IEnumerable<(byte Kind, string Id, ReadOnlyMemory<byte> Payload)> Records(byte[] image, long sequence)
    {
        int at = HeaderSize;
        while (image.Length - at >= RecordFixed + RecordCrc)
        {
            var fixedPart = image.AsSpan(at, RecordFixed);
            if (BinaryPrimitives.ReadUInt32LittleEndian(fixedPart) != RecordMagic) yield break;
            if (BinaryPrimitives.ReadInt64LittleEndian(fixedPart[4..]) != sequence) yield break;
            byte kind = fixedPart[12];
            int idLength = fixedPart[13];
            int length = BinaryPrimitives.ReadInt32LittleEndian(fixedPart[14..]);
            if (kind is not (KindStore or KindGone) || length < 0 || length > MaxRecordPayload) yield break;
            int end = at + RecordFixed + idLength + length;
            if (end > image.Length - RecordCrc) yield break;
            if (BinaryPrimitives.ReadUInt32LittleEndian(image.AsSpan(end)) != Crc32C.Compute(image.AsSpan(at, end - at))) yield break;
            string id = Encoding.ASCII.GetString(image, at + RecordFixed, idLength);
            if (!MessageIds.IsValid(id)) yield break;
            yield return (kind, id, image.AsMemory(at + RecordFixed + idLength, length));
            at = end + RecordCrc;
        }
    }

    private static bool FileStartsWith(string path, ReadOnlySpan<byte> expected)
    {
        try
        {
            using var file = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.ReadWrite | FileShare.Delete, bufferSize: 0);
            if (file.Length < expected.Length) return false;
            var actual = new byte[expected.Length];
            file.ReadExactly(actual);
            return actual.AsSpan().SequenceEqual(expected);
        }
        catch (Exception e) when (e is FileNotFoundException or DirectoryNotFoundException or EndOfStreamException)
        {
            return false;
        }
    }

    /// <summary>syncfs(2) of the file system holding <paramref name="directory"/>; sync(2) where there is none.</summary>
    private static void SyncFileSystem(string directory) => FileSync.FileSystem(directory);
}
