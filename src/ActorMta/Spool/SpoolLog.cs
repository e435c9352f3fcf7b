using System.Buffers.Binary;
using System.Collections.Concurrent;
using System.Text;
using Microsoft.Win32.SafeHandles;

namespace ActorMta.Spool;

/// <summary>
/// The spool's log: where an accepted message is made durable with ONE fdatasync shared by every
/// message accepted meanwhile, and where it stays, without a file of its own, for as long as it
/// is in the queue for a short while.
/// </summary>
/// <remarks>
/// <para><b>Why a log.</b> Measured on the target machine, per-message fsyncs were the ceiling of
/// inbound throughput: a virtual disk completes a bounded number of flushes per second. A log
/// written sequentially and synced once per batch turns N flushes into one.</para>
/// <para><b>Why messages live in it.</b> Once the flushes were shared, creating the message's own
/// file was the largest cost left in the spool: on ext4 an <c>open(O_CREAT)</c> in the spool
/// directory, contended by every session, plus the write and, after delivery, the unlink, took about
/// a sixth of the server's CPU per message. Most messages leave the queue seconds after they came,
/// so a message now gets its own file only if it is still queued when its segment is retired.</para>
/// <para><b>Records.</b> <c>store</c> holds the whole message file image (header, data, trailer, as
/// <see cref="SpoolFile"/> writes it); <c>journal</c> one journal record for a message that lives
/// in the log (what would be appended to its file); <c>gone</c> says a message was removed (and, if
/// it had a file, the file is unlinked only after the record is on disk, or replaying an older
/// <c>store</c> record could bring a delivered message back). Each record carries its segment's
/// sequence number and a CRC-32C, so replay stops at the first torn or stale record.</para>
/// <para><b>Segments.</b> Records go to the current segment; once it holds the segment size or its
/// oldest record is the checkpoint interval old, it is sealed and a spare becomes current (on the
/// commit thread: sealing is a header write). Sealed segments are retired oldest first, on an I/O
/// thread: a segment whose messages are all gone right away (after an fsync of <c>input/</c>, for
/// the unlinks its <c>gone</c> records covered); one whose messages are still queued once it is
/// older than the retention or the log is over its size limit, by writing each of those messages
/// its own file (with its journal so far), one syncfs, and then voiding the segment. Oldest first,
/// because a segment's <c>gone</c> and <c>journal</c> records may concern messages stored in older
/// ones. A retired segment's header is rewritten (sequence 0), which voids its records, and it is
/// kept as a spare: overwritten in place, its blocks stay allocated and an fdatasync writes data
/// blocks only.</para>
/// <para>Messages larger than <see cref="MaxRecordPayload"/> do not go through the log: for them
/// the per-file fsync costs little next to writing the bytes twice.</para>
/// </remarks>
internal sealed partial class SpoolLog
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
    private const byte KindJournal = 3;
    private const int SparesKept = 2;

    private static readonly ConcurrentDictionary<string, Lazy<SpoolLog>> Logs = new(StringComparer.Ordinal);

    private readonly string _spoolDirectory;
    private readonly string _input;
    private readonly string _logDirectory;
    private readonly bool _fsync;
    private readonly long _segmentSize;
    private readonly TimeSpan _interval;
    private readonly TimeSpan _retention;
    private readonly long _sizeLimit;
    private readonly long _hardLimit;
    private readonly Timer _timer;
    private readonly object _gate = new();
    private readonly List<string> _replayReport = [];
    private readonly ConcurrentDictionary<string, LogResident> _residents = new(StringComparer.Ordinal);

    private List<Item> _pending = [];
    private List<Item> _draining = [];
    private bool _running;
    private bool _rotateRequested;
    private bool _timerArmed;
    private bool _retireRunning;
    private bool _retireAgain;

    // Under _gate: sealed segments oldest first, their total size, and spares.
    private readonly List<Segment> _sealed = [];
    private readonly Stack<Segment> _spares = new();
    private long _sealedBytes;
    private long _lastSequence;
    private int _nextFileNumber;

    // Owned by whichever thread runs the commit loop (one at a time, handed over under _gate).
    private Segment _current;
    private const int InitialBuffer = 64 * 1024;
    private const int MaxKeptBuffer = 4 * 1024 * 1024;
    private byte[] _buffer = new byte[InitialBuffer];
    private volatile string? _failure;
    /// <summary>The last checkpoint failed and waits to be tried again (see <c>CheckpointDeferred</c>).</summary>
    private volatile bool _checkpointDeferred;
    /// <summary>The last commit's write failed (it is tried again with the next).</summary>
    private bool _writeFailing;
    private bool _writeFailureSaid;
    private DateTime _writeFailureSaidAt;
    /// <summary>No new segment before then: the last attempt to make one failed (see MaybeSeal).</summary>
    private DateTime _nextSealTry;

    /// <summary>
    /// True when the log has grown past its hard limit (retirement too slow for the arrivals):
    /// stores then take the per-file fsync path until it catches up, so that the log never grows
    /// too large to replay.
    /// </summary>
    public bool Full => Volatile.Read(ref _sealedBytes) + _current.Position >= _hardLimit;

    /// <summary>Log flushes done (for measurements and tests).</summary>
    public long Commits;

    /// <summary>Segments retired (for tests).</summary>
    public long Checkpoints;

    /// <summary>Passes of the retiring thread over the sealed segments (for tests).</summary>
    public long RetirePasses;

    /// <summary>Messages moved out of the log into their own files (for tests).</summary>
    public long MovedToFiles;

    /// <summary>For tests: whether a retiring pass is running (or about to).</summary>
    internal bool Retiring
    {
        get
        {
            lock (_gate) return _retireRunning;
        }
    }

    /// <summary>For tests: called on the retiring thread once moved messages' files are written and
    /// before they are made durable, the window in which a removal or a journal record can arrive
    /// for a message that is neither in the log nor in its file yet.</summary>
    internal Action? MoveWritten;

    /// <summary>For tests: called by <see cref="AppendGoneAsync"/> with the id once it found the
    /// message not moving and before it queues the gone record, so a move can start in between and
    /// the record be applied while the move writes the file.</summary>
    internal Action<string>? GoneQueuing;

    /// <summary>The log this process opened for <paramref name="spoolDirectory"/>, if any.</summary>
    internal static SpoolLog? Find(string spoolDirectory)
        => Logs.TryGetValue(spoolDirectory, out var lazy) && lazy.IsValueCreated ? lazy.Value : null;

    /// <summary>Problems found while running (a failed checkpoint, a failed log write), for the main log.</summary>
    public Action<string>? Report { get; set; }

    private SpoolLog(string spoolDirectory, string input, bool fsync, SpoolLogLimits limits)
    {
        _spoolDirectory = spoolDirectory;
        _input = input;
        _logDirectory = Path.Combine(spoolDirectory, Directory);
        _fsync = fsync;
        _segmentSize = limits.SegmentSize;
        _interval = limits.CheckpointInterval;
        _retention = limits.Retention;
        _sizeLimit = limits.SizeLimit;
        _hardLimit = 2 * Math.Max(limits.SizeLimit, limits.SegmentSize);
        _timer = new Timer(_ => OnTimer());
        _current = OpenSegments();
        if (_sealed.Count > 0)
        {
            ArmTimer();
            KickRetire();
        }
    }

    /// <summary>
    /// The log of <paramref name="spoolDirectory"/>, opened once per process: the first call replays
    /// what a previous run left (see <see cref="OpenSegments"/>); later calls (a node restarted in the
    /// same process) share the instance and the messages it holds.
    /// </summary>
    /// <exception cref="SpoolException">The log cannot be read or created.</exception>
    public static SpoolLog For(string spoolDirectory, string input, bool fsync, SpoolLogLimits limits)
    {
        var lazy = Logs.GetOrAdd(spoolDirectory, d => new Lazy<SpoolLog>(() => new SpoolLog(d, input, fsync, limits)));
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

    /// <summary>What the replay at open did (removed messages, stale copies), once.</summary>
    public IReadOnlyList<string> TakeReplayReport()
    {
        lock (_replayReport)
        {
            var lines = _replayReport.ToList();
            _replayReport.Clear();
            return lines;
        }
    }

    /// <summary>Ids of the messages that live in the log now.</summary>
    public IEnumerable<string> ResidentIds => _residents.Keys;

    /// <summary>True if <paramref name="id"/> lives in the log (not in a file of its own).</summary>
    public bool Holds(string id) => Lives(id) == true;

    /// <summary>
    /// What the log knows of <paramref name="id"/>. True: it lives in the log (a file of it in
    /// <c>input/</c> is a move's copy, not yet its home). False: removed while it moved, and the
    /// file the move wrote is about to go. Null: the log does not know it; its file, if any, is
    /// where it lives.
    /// </summary>
    public bool? Lives(string id)
    {
        if (!_residents.TryGetValue(id, out var entry)) return null;
        return entry.State switch
        {
            LogResident.Where.Log or LogResident.Where.Moving => true,
            LogResident.Where.Gone => false,
            _ => null,
        };
    }

    /// <summary>True while a move out of the log writes the message's file (a message removed
    /// meanwhile stays in the index as Gone until the move ends).</summary>
    public bool IsMoving(string id)
        => _residents.TryGetValue(id, out var entry) && entry.State is LogResident.Where.Moving or LogResident.Where.Gone;

    /// <summary>
    /// The file image of a message that lives in the log, with its journal: the bytes its file would
    /// hold. Null if it does not live in the log (it has a file, or is gone).
    /// </summary>
    public byte[]? TryReadImage(string id)
    {
        if (!_residents.TryGetValue(id, out var entry)) return null;
        lock (entry)
        {
            return entry.State is LogResident.Where.Log or LogResident.Where.Moving ? entry.ReadImage() : null;
        }
    }

    /// <summary>Appends a <c>store</c> record holding the whole message file; completes once it is on
    /// disk, and from then the message lives in the log. <paramref name="parts"/> must stay unchanged
    /// until then.</summary>
    public Task AppendStoreAsync(string id, IReadOnlyList<ReadOnlyMemory<byte>> parts, int length)
        => Enqueue(new Item(id, KindStore, parts, length, null));

    /// <summary>
    /// Journals <paramref name="record"/> for a message that lives in the log; completes once it is on
    /// disk. False if the message does not live in the log (any more): the caller appends to its file.
    /// </summary>
    public async Task<bool> TryAppendJournalAsync(string id, byte[] record)
    {
        while (_residents.TryGetValue(id, out var entry))
        {
            Task? moving;
            lock (entry)
            {
                moving = entry.State == LogResident.Where.Moving ? entry.Moved!.Task : null;
                if (entry.State == LogResident.Where.Log)
                {
                    // Added before the record is written: a move that starts meanwhile must copy it
                    // into the file, since once the segment is retired its record here is ignored.
                    entry.Journal.Add(record);
                }
                else if (moving is null)
                {
                    return false;
                }
            }
            if (moving is not null)
            {
                await moving.ConfigureAwait(false);
                continue;
            }
            await Enqueue(new Item(id, KindJournal, [record], record.Length, null)).ConfigureAwait(false);
            return true;
        }
        return false;
    }

    /// <summary>
    /// Appends a <c>gone</c> record. A message that lives in the log is then gone; one with a file of
    /// its own, <paramref name="file"/>, has it unlinked once the record is on disk.
    /// </summary>
    public async Task AppendGoneAsync(string id, string file)
    {
        // A message being moved to its file: wait, then remove the file (the move may have finished
        // writing it already, and its segment may be void by the time this record is on disk).
        while (_residents.TryGetValue(id, out var entry))
        {
            Task? moving;
            lock (entry) moving = entry.State == LogResident.Where.Moving ? entry.Moved!.Task : null;
            if (moving is null) break;
            await moving.ConfigureAwait(false);
        }
        GoneQueuing?.Invoke(id);
        await Enqueue(new Item(id, KindGone, null, 0, file)).ConfigureAwait(false);
    }

    private sealed class Item(string id, byte kind, IReadOnlyList<ReadOnlyMemory<byte>>? parts, int length, string? unlink)
    {
        public readonly string Id = id;
        public readonly byte Kind = kind;
        public readonly IReadOnlyList<ReadOnlyMemory<byte>>? Parts = parts;
        public readonly int Length = length;
        public readonly string? Unlink = unlink;
        public long PayloadAt;
        public readonly TaskCompletionSource Done = new(TaskCreationOptions.RunContinuationsAsynchronously);
    }

    internal sealed class Segment(string path, SafeFileHandle handle)
    {
        public readonly string Path = path;
        public readonly SafeFileHandle Handle = handle;

        /// <summary>0: a spare, its records void.</summary>
        public long Sequence;
        public long Position = HeaderSize;
        public DateTime FirstRecordAt;

        /// <summary>Messages stored here that still live in the log (changed with Interlocked).</summary>
        public int Live;
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
                MaybeSeal(rotate);
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
        var segment = _current;
        foreach (var item in batch)
        {
            item.PayloadAt = segment.Position + at + RecordFixed + item.Id.Length;
            at += WriteRecord(_buffer.AsSpan(at), segment.Sequence, item);
        }

        try
        {
            RandomAccess.Write(segment.Handle, _buffer.AsSpan(0, at), segment.Position);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            WriteFailed(segment, at, e, batch);
            return;
        }
        try
        {
            if (_fsync) FileSync.DataSync(segment.Handle, segment.Path);
        }
        catch (Exception e)
        {
            // After a failed sync the kernel may have dropped the pages, and a later sync would not
            // say so: the segment's tail is unknown. Refuse until a restart (the session answers
            // 451, the queue retries), which replays what is really on disk.
            Fail($"the spool log {segment.Path} failed: {e.Message}", e, batch);
            return;
        }
        if (_writeFailing)
        {
            if (_writeFailureSaid) Report?.Invoke($"the spool log {segment.Path} is written again");
            _writeFailing = false;
            _writeFailureSaid = false;
        }
        if (!segment.HasRecords) segment.FirstRecordAt = DateTime.UtcNow;
        Volatile.Write(ref segment.Position, segment.Position + at);
        Interlocked.Increment(ref Commits);
        // A burst of large messages may have grown the buffer to tens of megabytes: not kept.
        if (_buffer.Length > MaxKeptBuffer) _buffer = new byte[InitialBuffer];

        foreach (var item in batch)
        {
            try
            {
                if (item.Kind == KindStore) Admit(item, segment);
                else if (item.Kind == KindGone) Remove(item);
                item.Done.TrySetResult();
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
                item.Done.TrySetException(new SpoolException($"cannot remove {item.Unlink}: {e.Message}", e));
            }
        }
        ArmTimer();
    }

    /// <summary>
    /// A write that failed (a full disk): nothing of the batch was acknowledged and nothing after it
    /// is written yet, so the log goes on, and the next commit writes at the same place. What part
    /// of the batch reached the page cache is zeroed first, or a replay could take a message
    /// refused here for a stored one. Unlike a failed sync, a failed write loses nothing the kernel
    /// held: a disk that fills up and then has room again is survived without a restart.
    /// </summary>
    private void WriteFailed(Segment segment, int length, Exception error, List<Item> batch)
    {
        try
        {
            RandomAccess.Write(segment.Handle, new byte[length], segment.Position);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            // Past the blocks the disk had: the failed write put nothing there either.
        }
        string why = $"the spool log {segment.Path} could not be written, will try again: {error.Message}";
        // A disk at its last blocks fails and succeeds by turns, as removals free a few: said at
        // most once a minute, with its recovery, not at every turn.
        if (!_writeFailing && DateTime.UtcNow - _writeFailureSaidAt >= TimeSpan.FromMinutes(1))
        {
            Report?.Invoke(why);
            _writeFailureSaidAt = DateTime.UtcNow;
            _writeFailureSaid = true;
        }
        _writeFailing = true;
        foreach (var item in batch) item.Done.TrySetException(new SpoolException(why, error));
    }

    private void Admit(Item item, Segment segment)
    {
        Interlocked.Increment(ref segment.Live);
        _residents[item.Id] = new LogResident(item.Id, segment, item.PayloadAt, item.Length);
    }

    private void Remove(Item item)
    {
        if (_residents.TryGetValue(item.Id, out var entry))
        {
            lock (entry)
            {
                if (entry.State is LogResident.Where.Log or LogResident.Where.Moving)
                {
                    // A move in progress sees Gone when it ends and deletes the file it wrote.
                    if (entry.State == LogResident.Where.Log) _residents.TryRemove(item.Id, out _);
                    entry.State = LogResident.Where.Gone;
                    // The last message of a sealed segment gone: it can be retired now, not at the
                    // next timer tick.
                    if (Interlocked.Decrement(ref entry.Segment.Live) == 0 && entry.Segment != _current) KickRetire();
                    return;
                }
            }
        }
        if (item.Unlink is not null) File.Delete(item.Unlink);
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

    private void ArmTimer(bool force = false)
    {
        lock (_gate)
        {
            if ((_timerArmed && !force) || _failure is not null) return;
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

    /// <summary>syncfs(2) of the file system holding <paramref name="directory"/>; sync(2) where there is none.</summary>
    private static void SyncFileSystem(string directory) => FileSync.FileSystem(directory);
}

/// <summary>The log's sizes and times (from <c>actormta.spool.log-*</c>).</summary>
internal readonly record struct SpoolLogLimits(long SegmentSize, TimeSpan CheckpointInterval, TimeSpan Retention, long SizeLimit);
