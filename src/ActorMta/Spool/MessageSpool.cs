using ActorMta.Configuration;

namespace ActorMta.Spool;

/// <summary>
/// The durable message spool: each message in the spool's log (<see cref="SpoolLog"/>) or in a file
/// of its own under <c>&lt;spool&gt;/input/</c>, holding the envelope, the data and, at its tail,
/// the message's delivery journal.
/// </summary>
/// <remarks>
/// <para><b>The invariant.</b> The SMTP session sends its 250 only after <see cref="StoreAsync"/>
/// completed, and StoreAsync completes only once the message would survive a crash of the process
/// or of the machine at any instant from then on. Accepting a message is a promise; a promise we
/// keep only in the page cache is a promise the next power cut breaks. So, per message:</para>
/// <list type="number">
/// <item>write envelope + data + an empty journal to <c>input/&lt;id&gt;.tmp</c>;</item>
/// <item>fsync that file: its bytes are on disk, but its name is not necessarily;</item>
/// <item>rename it to <c>input/&lt;id&gt;</c>: atomic, so the final name only ever denotes a
/// complete, fsynced file;</item>
/// <item>fsync the <c>input/</c> directory: now the NAME is on disk too;</item>
/// <item>only then complete the task (and the session may say 250).</item>
/// </list>
/// <para>A crash before step 4 completes loses at most a message we never acknowledged; the client
/// still has it and will send it again. What a crash can leave behind is a <c>*.tmp</c> file (removed
/// at recovery) or, before the directory fsync, a complete file under its final name (delivered
/// normally: a duplicate at worst, the direction SMTP prefers over a loss). A failing step deletes
/// what it wrote and throws <see cref="SpoolException"/>, so the session can answer 451 cleanly.</para>
/// <para><b>With the log</b> (<see cref="SpoolSettings.WriteAheadLog"/>, the default), steps 1 to 4
/// are replaced: the file's image is appended to <see cref="SpoolLog"/>, whose group commit (one
/// fdatasync for every message accepted meanwhile) completes the task, and the message lives in the
/// log: its journal records and its removal are log records too, read back from there. Only a
/// message still queued when its log segment is retired gets the file described here (see the log's
/// remarks). What follows describes the file, which is also how a message larger than
/// <see cref="SpoolLog.MaxRecordPayload"/>, or any message with the log off, is stored.</para>
/// <para><b>Cost, and why it is affordable.</b> Steps 2 and 4 wait for the disk (~1 ms each). The
/// file fsyncs run on dedicated I/O threads (<see cref="DurableIo"/>), many at once, which the file
/// system commits together; the directory fsync is group-committed (<see cref="DirectorySync"/>): all
/// renames done while one directory fsync runs are made durable by the next one, which completes all
/// of their tasks. Under load one directory fsync covers tens of messages. One file per message (not
/// a data file and an envelope file) halves the fsyncs and the renames.</para>
/// <para><b>The journal.</b> Delivery progress is appended to the same file, after the data: one
/// record per recipient when it is done (delivered or failed for good), fsynced BEFORE the queue
/// moves on, and the message is deleted only when every recipient is done. Hence after a crash:
/// a recipient with a record is never attempted again; one without is attempted again. The only
/// window left is "delivered, crashed before its record was fsynced": local delivery closes it by
/// writing a maildir file whose name is derived from (message id, recipient index), so the second
/// attempt finds the first one's file and does not deliver twice. Appending to the message's own
/// file needs no directory change, so a record costs one fsync and no directory fsync. A record is
/// complete only with its final LF; a torn record (crash during the append) counts as not written
/// and is cut off at recovery before anything is appended after it. Retry times are journaled too,
/// without fsync: losing one only makes the next attempt come earlier.</para>
/// <para><b>Removal</b> is a plain unlink without directory fsync: if a crash undoes it, recovery
/// finds a message whose recipients are all done and just removes it again. The delivery that
/// ends a message journals nothing and removes it with <see cref="RemoveDurablyAsync"/> instead
/// (unlink, then the group-committed directory fsync): one fsync fewer per message. Before that
/// fsync a crash leaves the last recipient pending, and its repeated delivery finds its file (a
/// maildir name is derived from the message), as after a crash between a delivery and its record.</para>
/// <para><b>Recovery</b> (<see cref="Recover()"/>) reads the spool alone: it deletes <c>*.tmp</c>,
/// moves files it cannot read to <c>corrupt/</c> for the operator, cuts torn journal records, and
/// pushes the id generator past every id it saw.</para>
/// <para>With <see cref="SpoolSettings.Fsync"/> off every fsync is skipped (tests, benchmarks of
/// other parts): the order of operations stays, durability against power loss goes.</para>
/// </remarks>
public sealed class MessageSpool
{
    private const string TempSuffix = ".tmp";

    /// <summary>Files being written right now by this process (full paths; temporary ones, or final
    /// ones with the log): recovery must not take them for leftovers of a crash when it runs while
    /// sessions already store.</summary>
    private static readonly System.Collections.Concurrent.ConcurrentDictionary<string, bool> Writing = new(StringComparer.Ordinal);

    /// <summary>
    /// Journal appends to message files and the cutting of torn records exclude each other, striped
    /// by path. A recovery can run while deliveries journal (a restarted queue manager), and what it
    /// reads as a torn last record may be an append in progress: cut without this, an append that
    /// completed between the read and the cut lost its record, though its caller was told it was
    /// on disk. The lock covers the write, not the fsync.
    /// </summary>
    private static readonly object[] AppendLocks = [.. Enumerable.Range(0, 64).Select(_ => new object())];

    private static object AppendLock(string path) => AppendLocks[(uint)StringComparer.Ordinal.GetHashCode(path) % (uint)AppendLocks.Length];

    private readonly bool _fsync;
    private readonly string _input;
    private readonly string _corrupt;
    private readonly SpoolLog? _log;
    private readonly IReadOnlyList<string> _replayReport = [];

    /// <summary>For tests: called by <see cref="Recover(Action{string}?)"/> after it read the log's
    /// messages and before it lists <c>input/</c>, where a move out of the log can overtake it.</summary>
    internal Action? BetweenRecoveryReads;

    /// <summary>For tests: called by <see cref="Recover(Action{string}?)"/> once it listed <c>input/</c>
    /// and before it reads the files, which a delivery finishing meanwhile can remove.</summary>
    internal Action? InputListed;

    /// <summary>For tests: called with the path when a read found a torn last journal record and
    /// before the cut takes the append lock, where an append in progress can complete.</summary>
    internal Action<string>? TornRecordFound;

    /// <summary>Opens (creating if missing) the spool directory tree.</summary>
    /// <exception cref="SpoolException">The directories cannot be created.</exception>
    public MessageSpool(SpoolSettings settings)
    {
        _fsync = settings.Fsync;
        Directory = Path.GetFullPath(settings.Directory);
        Space = new SpoolSpace(Directory, settings.MinFreeSpace, settings.WriteAheadLog && settings.Fsync ? settings.LogSegmentSize : 0);
        _input = Path.Combine(Directory, "input");
        _corrupt = Path.Combine(Directory, "corrupt");
        try
        {
            System.IO.Directory.CreateDirectory(_input);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or NotSupportedException)
        {
            throw new SpoolException($"cannot create spool directory {_input}: {e.Message}", e);
        }
        if (_fsync && settings.WriteAheadLog)
            _log = SpoolLog.For(Directory, _input, _fsync,
                new SpoolLogLimits(settings.LogSegmentSize, settings.LogCheckpointInterval, settings.LogRetention, settings.LogSizeLimit));
        else
            _replayReport = SpoolLog.ReplayAndRetire(Directory, _input);
    }

    /// <summary>Where problems found while running go (a failed log write or checkpoint): the main log.</summary>
    public Action<string>? Report
    {
        set
        {
            if (_log is not null) _log.Report = value;
        }
    }

    /// <summary>Absolute path of the spool root.</summary>
    public string Directory { get; }

    /// <summary>Whether the file system under the spool has room for another message (MAIL asks).</summary>
    public SpoolSpace Space { get; }

    /// <summary>Directory holding the committed message files (<c>&lt;root&gt;/input</c>).</summary>
    public string InputDirectory => _input;

    /// <summary>
    /// New unique spool id, Exim 4.96 style <c>XXXXXX-YYYYYY-ZZ</c> in base62: 6 digits of unix
    /// seconds, then 8 digits of position within the second. Unique across restarts, sortable by
    /// time in ordinal order, safe as a file name (see <see cref="MessageIds"/>).
    /// </summary>
    public string NewMessageId() => MessageIds.Next();

    /// <summary>True if <paramref name="id"/> has the shape of a spool id.</summary>
    public static bool IsValidMessageId(string? id) => MessageIds.IsValid(id);

    /// <summary>Path of a committed message file (whether or not it exists).</summary>
    public string PathOf(string messageId) => Path.Combine(_input, CheckId(messageId));

    /// <summary>
    /// Durably stores the envelope and the data (the parts concatenated). The task completes only
    /// when both would survive a crash (see the remarks on the class). Runs off the caller's thread.
    /// </summary>
    /// <exception cref="SpoolException">The message could not be stored; nothing was left behind.</exception>
    /// <exception cref="OperationCanceledException">Cancelled before the rename; nothing was left behind.</exception>
    public Task StoreAsync(Envelope envelope, IReadOnlyList<ReadOnlyMemory<byte>> data, CancellationToken cancellationToken = default) =>
        StoreAsync(envelope, data, spilled: null, cancellationToken);

    /// <summary>
    /// Durably stores a message received by a session: <paramref name="prefix"/> (its
    /// <c>Received:</c> header), then <paramref name="data"/>, in memory or spilled to a file. The
    /// caller keeps <paramref name="data"/> untouched until the task completes.
    /// </summary>
    /// <exception cref="SpoolException">The message could not be stored; nothing was left behind.</exception>
    public Task StoreAsync(Envelope envelope, ReadOnlyMemory<byte> prefix, IncomingData data, CancellationToken cancellationToken = default)
    {
        if (!data.Complete()) throw new SpoolException(data.Failure!);
        return data.Spilled
            ? StoreAsync(envelope, [prefix], data, cancellationToken)
            : StoreAsync(envelope, [prefix, data.Memory], spilled: null, cancellationToken);
    }

    private async Task StoreAsync(Envelope envelope, IReadOnlyList<ReadOnlyMemory<byte>> data, IncomingData? spilled, CancellationToken cancellationToken)
    {
        string id = envelope.MessageId;
        if (!MessageIds.IsValid(id)) throw new SpoolException($"\"{id}\" is not a spool id");
        string final = Path.Combine(_input, id);
        string temp = final + TempSuffix;

        long length = spilled?.Length ?? 0;
        foreach (var part in data) length += part.Length;
        var parts = new List<ReadOnlyMemory<byte>>(data.Count + 2) { SpoolFile.Header(envelope, length) };
        parts.AddRange(data);
        parts.Add(SpoolFile.Trailer);

        long fileLength = length + parts[0].Length + SpoolFile.Trailer.Length;
        // A spilled message is too large for the log (IncomingData.SpillAt): it always gets its file.
        if (_log is not null && spilled is null && fileLength <= SpoolLog.MaxRecordPayload && !_log.Full)
        {
            await StoreLoggedAsync(_log, id, final, parts, (int)fileLength, cancellationToken).ConfigureAwait(false);
            return;
        }

        try
        {
            // The directory fsync is requested from the I/O thread right after the rename, so the
            // message joins the next group commit without first queueing for a pool thread.
            var directoryDurable = await DurableIo.Run(() =>
            {
                if (File.Exists(final)) throw new SpoolException($"{id} is already in the spool");
                if (!Writing.TryAdd(temp, true)) throw new SpoolException($"{id} is being stored already");
                try
                {
                    NewFile.Write(temp, parts, _fsync, spilled: spilled, spilledAt: parts.Count - 1); // 1, 2
                    cancellationToken.ThrowIfCancellationRequested();
                    File.Move(temp, final, overwrite: true);                       // 3: rename(2)
                }
                catch
                {
                    TryDelete(temp);
                    throw;
                }
                finally
                {
                    Writing.TryRemove(temp, out _);
                }
                return _fsync ? DirectorySync.For(_input).SyncAsync() : Task.CompletedTask;
            }, cancellationToken).ConfigureAwait(false);

            await directoryDurable.ConfigureAwait(false);                                    // 4
        }                                                                                     // 5
        catch (Exception e) when (e is not SpoolException and not OperationCanceledException)
        {
            TryDelete(final);
            throw new SpoolException($"cannot store {id} in {_input}: {e.Message}", e);
        }
    }

    /// <summary>
    /// The store with the write-ahead log: the message file's image is appended to the log, whose
    /// group commit makes it durable (see <see cref="SpoolLog"/>); the message then lives in the log
    /// and gets a file of its own only if it is still queued when its log segment is retired.
    /// </summary>
    private async Task StoreLoggedAsync(SpoolLog log, string id, string final, List<ReadOnlyMemory<byte>> parts, int fileLength, CancellationToken cancellationToken)
    {
        if (!Writing.TryAdd(final, true)) throw new SpoolException($"{id} is being stored already");
        try
        {
            // Ids are unique by construction (MessageIds), so this guards against a caller's mistake
            // only, in memory: a stat of input/ per message cost 3-4 % of the server's CPU (a failed
            // path lookup). A file under the same id is taken care of at replay (see SpoolLog).
            if (log.Holds(id)) throw new SpoolException($"{id} is already in the spool");
            cancellationToken.ThrowIfCancellationRequested();
            // Not acknowledged if this fails, so not kept. If the record reached the disk after all,
            // a restart restores the message: a duplicate at worst, never a loss.
            await log.AppendStoreAsync(id, parts, fileLength).ConfigureAwait(false);
        }
        catch (Exception e) when (e is not (OperationCanceledException or SpoolException))
        {
            throw new SpoolException($"cannot store {id} in the spool log of {Directory}: {e.Message}", e);
        }
        finally
        {
            Writing.TryRemove(final, out _);
        }
    }

    /// <summary>Everything in the spool at start, with per-recipient state from each journal.</summary>
    public IEnumerable<SpooledMessage> Recover() => Recover(null);

    /// <summary>
    /// Everything in the spool, oldest first: deletes stale temporary files, moves unreadable files to
    /// <c>corrupt/</c> (telling <paramref name="report"/> why), cuts torn journal records.
    /// </summary>
    public IReadOnlyList<SpooledMessage> Recover(Action<string>? report)
    {
        foreach (string line in _log?.TakeReplayReport() ?? _replayReport) report?.Invoke(line);
        var found = new List<SpooledMessage>();
        // The log first, then input/. A recovery may run while the log moves messages out to their
        // files (a node restarted in the same process shares the log; so does a restarted queue
        // manager), and a moving message's file is complete before it leaves the log: read in this
        // order it is found in one place or both. Listed the other way round, one that moved in
        // between was in neither (not yet a file, no longer in the log) and stayed unqueued.
        var inLog = new HashSet<string>(StringComparer.Ordinal);
        foreach (string id in _log?.ResidentIds.ToList() ?? [])
        {
            MessageIds.Observe(id);
            if (TryReadResident(id) is not { } message) continue;
            found.Add(message);
            inLog.Add(id);
        }
        BetweenRecoveryReads?.Invoke();
        var listed = System.IO.Directory.EnumerateFiles(_input).Order(StringComparer.Ordinal).ToList();
        InputListed?.Invoke();
        foreach (string path in listed)
        {
            if (Writing.ContainsKey(path)) continue; // being stored by a session right now
            string name = Path.GetFileName(path);
            if (name.EndsWith(TempSuffix, StringComparison.Ordinal))
            {
                // Left by a crash, unless the log is writing it right now to move its message out.
                if (_log?.IsMoving(name[..^TempSuffix.Length]) != true) TryDelete(path);
                continue;
            }
            if (!MessageIds.IsValid(name))
            {
                MoveToCorrupt(path, name, "file name is not a spool id", report);
                continue;
            }
            MessageIds.Observe(name);
            // A copy a move left or is making (read from the log already), or the file of a message
            // removed while it moved, which the move deletes when it ends: not a queued message.
            if (inLog.Contains(name) || _log?.Lives(name) is not null) continue;
            try
            {
                found.Add(ReadMessage(path, name, CutTornRecord));
            }
            catch (FileNotFoundException)
            {
                // Removed since the listing: a delivery that a restarted queue manager's predecessor
                // started finished meanwhile, or a message removed while it moved out of the log.
            }
            catch (Exception e) when (e is FormatException or EndOfStreamException)
            {
                MoveToCorrupt(path, name, e.Message, report);
            }
        }
        found.Sort((a, b) => string.CompareOrdinal(a.Id, b.Id));
        return found;
    }

    /// <summary>A message that lives in the spool log, read from there (null if it no longer does).</summary>
    private SpooledMessage? TryReadResident(string id)
    {
        if (_log?.TryReadImage(id) is not { } image) return null;
        try
        {
            return ReadMessage(image, id);
        }
        catch (Exception e) when (e is FormatException or EndOfStreamException)
        {
            // Its record passed its CRC, so this is a bug, not a torn write: say so and keep it.
            throw new SpoolException($"cannot read message {id} from the spool log: {e.Message}", e);
        }
    }

    /// <summary>True if the message is in the spool (in the log or in its own file).</summary>
    public bool Contains(string messageId) => _log?.Lives(messageId) ?? File.Exists(PathOf(messageId));

    /// <summary>
    /// Everything in the spool, in no particular order and read one message at a time, changing
    /// nothing (for an operator looking at the spool of a stopped MTA, or while another process
    /// owns it): temporary and unreadable files are skipped and reported, torn journal records
    /// ignored but not cut. A stopped MTA's queue may hold hundreds of thousands of messages, so
    /// nothing here holds them all.
    /// </summary>
    public static IEnumerable<SpooledMessage> ReadEach(string spoolDirectory, Action<string>? report = null)
    {
        string input = Path.Combine(Path.GetFullPath(spoolDirectory), "input");
        // The log first, every read done before input/ is listed: a message moving out of the log
        // has its file complete before it leaves, so it is seen in one place or the other.
        var inLog = new HashSet<string>(StringComparer.Ordinal);
        using (var log = SpoolLog.ReadOnlyView.Open(Path.GetFullPath(spoolDirectory)))
        {
            foreach (string id in log.Ids)
            {
                if (log.TryRead(id) is not { } image) continue;
                inLog.Add(id);
                SpooledMessage message;
                try
                {
                    message = ReadMessage(image, id);
                }
                catch (Exception e) when (e is FormatException or EndOfStreamException)
                {
                    report?.Invoke($"{id}: unreadable message in the spool log ({e.Message})");
                    continue;
                }
                yield return message;
            }
        }
        if (!System.IO.Directory.Exists(input)) yield break;
        foreach (string path in System.IO.Directory.EnumerateFiles(input).Order(StringComparer.Ordinal))
        {
            string name = Path.GetFileName(path);
            if (name.EndsWith(TempSuffix, StringComparison.Ordinal) || !MessageIds.IsValid(name) || inLog.Contains(name)) continue;
            SpooledMessage message;
            try
            {
                message = ReadMessage(path, name, repair: null);
            }
            catch (FileNotFoundException)
            {
                // Completed while we listed.
                continue;
            }
            catch (Exception e) when (e is FormatException or EndOfStreamException or IOException or UnauthorizedAccessException)
            {
                report?.Invoke($"{name}: unreadable spool file ({e.Message})");
                continue;
            }
            yield return message;
        }
    }

    /// <summary>
    /// Reads one message of a spool this process does not own, changing nothing (null if absent),
    /// with a way to open its data from where it was found: the log is read once for both.
    /// </summary>
    /// <exception cref="SpoolException">Unreadable.</exception>
    public static ReadOnlyMessage? TryOpenReadOnly(string spoolDirectory, string messageId)
    {
        string path = Path.Combine(Path.GetFullPath(spoolDirectory), "input", CheckId(messageId));
        try
        {
            byte[]? image;
            using (var log = SpoolLog.ReadOnlyView.Open(Path.GetFullPath(spoolDirectory))) image = log.TryRead(messageId);
            if (image is not null)
                return new ReadOnlyMessage(ReadMessage(image, messageId), () => OpenDataIn(image, messageId));
            return new ReadOnlyMessage(ReadMessage(path, messageId, repair: null), () => OpenDataAt(path, messageId));
        }
        catch (Exception e) when (e is FileNotFoundException or DirectoryNotFoundException)
        {
            return null;
        }
        catch (Exception e) when (e is FormatException or EndOfStreamException or IOException or UnauthorizedAccessException)
        {
            throw new SpoolException($"cannot read spool file {path}: {e.Message}", e);
        }
    }

    /// <summary>Reads one message's envelope and journal (null if it is not in the spool).</summary>
    public SpooledMessage? TryRead(string messageId)
    {
        string path = PathOf(messageId);
        if (TryReadResident(messageId) is { } resident) return resident;
        try
        {
            return ReadMessage(path, messageId, CutTornRecord);
        }
        catch (FileNotFoundException)
        {
            return null;
        }
        catch (Exception e) when (e is FormatException or EndOfStreamException or IOException)
        {
            throw new SpoolException($"cannot read spool file {path}: {e.Message}", e);
        }
    }

    /// <summary>Opens the message data: a read-only stream over exactly the bytes given to StoreAsync.</summary>
    /// <exception cref="SpoolException">The message is not in the spool or its file is unreadable.</exception>
    public Stream OpenData(string messageId)
        => _log?.TryReadImage(CheckId(messageId)) is { } image ? OpenDataIn(image, messageId) : OpenDataAt(PathOf(messageId), messageId);

    /// <summary>The data of a message read from the spool log (its image, with the journal after it).</summary>
    private static Stream OpenDataIn(byte[] image, string messageId)
    {
        try
        {
            var head = SpoolFile.ReadHead(new MemoryStream(image, writable: false));
            if (image.Length < head.DataOffset + head.DataLength) throw new FormatException("image shorter than its data length");
            return new MemoryStream(image, (int)head.DataOffset, (int)head.DataLength, writable: false);
        }
        catch (FormatException e)
        {
            throw new SpoolException($"cannot read data of {messageId} from the spool log: {e.Message}", e);
        }
    }

    private static Stream OpenDataAt(string path, string messageId)
    {
        FileStream? file = null;
        try
        {
            file = OpenForReading(path);
            var head = SpoolFile.ReadHead(file);
            if (file.Length < head.DataOffset + head.DataLength) throw new FormatException("file shorter than its data length (truncated)");
            return new SpoolDataStream(file, head.DataOffset, head.DataLength);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or FormatException)
        {
            file?.Dispose();
            throw new SpoolException($"cannot read data of {messageId} from {path}: {e.Message}", e);
        }
    }

    /// <summary>
    /// Records that a recipient is done (delivered or failed for good): appends a journal record and
    /// fsyncs it before the task completes. Runs on an I/O thread.
    /// </summary>
    public Task MarkRecipientAsync(string messageId, int recipientIndex, RecipientState state, CancellationToken cancellationToken = default)
    {
        if (state == RecipientState.Pending) throw new ArgumentException("a recipient can only be marked done", nameof(state));
        ArgumentOutOfRangeException.ThrowIfNegative(recipientIndex);
        return AppendAsync(messageId, SpoolFile.RecipientRecord(recipientIndex, state), _fsync, cancellationToken);
    }

    /// <summary>
    /// Records that a recipient failed for good and why (for its bounce): one append, fsynced before
    /// the task completes.
    /// </summary>
    public Task MarkFailedAsync(string messageId, int recipientIndex, RecipientFailure failure, CancellationToken cancellationToken = default)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(recipientIndex);
        return AppendAsync(messageId, SpoolFile.FailRecords(recipientIndex, failure), _fsync, cancellationToken);
    }

    /// <summary>Journals when a recipient first failed temporarily (not fsynced: losing it only restarts its retry clock).</summary>
    public Task SetFirstFailureAsync(string messageId, int recipientIndex, DateTimeOffset firstFailure, CancellationToken cancellationToken = default)
        => AppendAsync(messageId, SpoolFile.DeferRecord(recipientIndex, firstFailure), false, cancellationToken);

    /// <summary>
    /// Journals that the failures of <paramref name="recipientIndexes"/> are reported by bounce
    /// <paramref name="bounceId"/> (null: none was due, e.g. NOTIFY=NEVER or a null sender). Fsynced:
    /// without it a restart would send the bounce again.
    /// </summary>
    public Task MarkBouncedAsync(string messageId, IReadOnlyCollection<int> recipientIndexes, string? bounceId, CancellationToken cancellationToken = default)
        => AppendAsync(messageId, SpoolFile.BouncedRecord(recipientIndexes, bounceId), _fsync, cancellationToken);

    /// <summary>Journals delay warning number <paramref name="count"/> (sent as <paramref name="warningId"/>, or
    /// not wanted); fsynced, so a restart does not send it again.</summary>
    public Task MarkWarnedAsync(string messageId, int count, string? warningId, CancellationToken cancellationToken = default)
        => AppendAsync(messageId, SpoolFile.WarnedRecord(count, warningId), _fsync, cancellationToken);

    /// <summary>Journals that the operator froze (or thawed) the message; fsynced, so the state survives a crash.</summary>
    public Task SetFrozenAsync(string messageId, bool frozen, string user, CancellationToken cancellationToken = default)
        => AppendAsync(messageId, SpoolFile.FrozenRecord(frozen, user), _fsync, cancellationToken);

    /// <summary>Journals the next retry time (not fsynced: losing it only makes a retry come earlier).</summary>
    public Task SetNextAttemptAsync(string messageId, DateTimeOffset nextAttempt, CancellationToken cancellationToken = default)
        => AppendAsync(messageId, SpoolFile.RetryRecord(nextAttempt), false, cancellationToken);

    /// <summary>
    /// Removes a message from the spool (every recipient done). No-op if already gone. Not made
    /// durable by itself: if a crash undoes it, recovery finds every recipient done and removes the
    /// message again. With the write-ahead log the unlink waits for a <c>gone</c> record, or a replay
    /// of the message's <c>store</c> record could bring it back without its journal.
    /// </summary>
    public Task RemoveAsync(string messageId)
    {
        string path = PathOf(messageId);
        if (_log is not null) return _log.AppendGoneAsync(messageId, path);
        try
        {
            File.Delete(path);
            return Task.CompletedTask;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return Task.FromException(new SpoolException($"cannot remove {path}: {e.Message}", e));
        }
    }

    /// <summary>
    /// Removes a message whose last recipient just got its final outcome, durably and without a
    /// journal record for it. Either a <c>gone</c> record in the write-ahead log, group-committed
    /// with the stores, or (without the log) an fsync of the spool directory group-committed with
    /// other removals. Under load one flush then covers many messages, where a journal record costs
    /// one file fsync per message. Either way a restart cannot deliver the message again.
    /// </summary>
    public async Task RemoveDurablyAsync(string messageId)
    {
        await RemoveAsync(messageId).ConfigureAwait(false);
        if (_log is null && _fsync) await DirectorySync.For(_input).SyncAsync().ConfigureAwait(false);
    }

    private async Task AppendAsync(string messageId, string record, bool fsync, CancellationToken cancellationToken)
    {
        if (_log is not null)
        {
            // A message that lives in the log is journaled there: the record joins the next group
            // commit, with no file to open and no fsync of its own.
            cancellationToken.ThrowIfCancellationRequested();
            if (await _log.TryAppendJournalAsync(messageId, System.Text.Encoding.UTF8.GetBytes(record)).ConfigureAwait(false)) return;
        }
        // A message with a file of its own has a durable name whichever way it got there (stored
        // with the directory fsync, or moved out of the log before a syncfs), so the file's own
        // fsync is all a journal record needs.
        await AppendToFileAsync(messageId, record, fsync, cancellationToken).ConfigureAwait(false);
    }

    private Task AppendToFileAsync(string messageId, string record, bool fsync, CancellationToken cancellationToken)
    {
        string path = PathOf(messageId);
        byte[] bytes = System.Text.Encoding.UTF8.GetBytes(record);
        return DurableIo.Run(() =>
        {
            try
            {
                // FileMode.Open, not Append: appending to a message that is gone must fail, not create a file.
                using var file = new FileStream(path, FileMode.Open, FileAccess.Write, FileShare.ReadWrite | FileShare.Delete, bufferSize: 0);
                lock (AppendLock(path))
                {
                    file.Seek(0, SeekOrigin.End);
                    file.Write(bytes);
                }
                if (fsync) file.Flush(flushToDisk: true);
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
                throw new SpoolException($"cannot append to the journal of {messageId} in {path}: {e.Message}", e);
            }
        }, cancellationToken);
    }

    /// <summary>
    /// A spool file opened for reading while others may append to it or delete it. The 4 KiB buffer
    /// serves the head, read a byte at a time; the data goes in the reader's chunks, which a
    /// FileStream serves directly when they are not smaller than its buffer. The buffer is allocated
    /// per stream: at 64 KiB (the first choice for message data) it was two thirds of all the bytes
    /// a delivering server allocated per message.
    /// </summary>
    private static FileStream OpenForReading(string path) =>
        new(path, FileMode.Open, FileAccess.Read, FileShare.ReadWrite | FileShare.Delete, 4096);

    /// <param name="repair">Cuts a torn last journal record of the file at the path; null: leave the file alone.</param>
    private static SpooledMessage ReadMessage(string path, string name, Action<string>? repair)
    {
        using var file = OpenForReading(path);
        return ReadMessage(file, name, repair is null ? null : () => repair(path));
    }

    /// <summary>A message from the bytes its file would hold (as the spool log gives them).</summary>
    private static SpooledMessage ReadMessage(byte[] image, string name) => ReadMessage(new MemoryStream(image, writable: false), name);

    /// <param name="cut">Called, with the file closed, when the last journal record is torn.</param>
    private static SpooledMessage ReadMessage(Stream file, string name, Action? cut = null)
    {
        var head = SpoolFile.ReadHead(file);
        if (head.Envelope.MessageId != name) throw new FormatException($"file holds message {head.Envelope.MessageId}");
        var journal = SpoolFile.ReadFullJournal(file, head);
        if (journal.CompleteLength < file.Length && cut is not null)
        {
            file.Dispose();
            cut();
        }
        return new SpooledMessage(head.Envelope, journal.States, journal.Retry, head.DataLength)
        {
            FirstFailures = journal.FirstFailures,
            Failures = journal.Failures,
            Bounced = journal.Bounced,
            Frozen = journal.Frozen,
            Warnings = journal.Warnings,
        };
    }

    /// <summary>
    /// Cuts the torn last journal record a read found, if it is still torn with appends held off:
    /// it may have been an append in progress (see <see cref="AppendLocks"/>).
    /// </summary>
    private void CutTornRecord(string path)
    {
        TornRecordFound?.Invoke(path);
        using var file = new FileStream(path, FileMode.Open, FileAccess.ReadWrite, FileShare.ReadWrite | FileShare.Delete, bufferSize: 4096);
        lock (AppendLock(path))
        {
            var complete = SpoolFile.ReadFullJournal(file, SpoolFile.ReadHead(file)).CompleteLength;
            if (complete >= file.Length) return;
            file.SetLength(complete);
        }
        if (_fsync) file.Flush(flushToDisk: true);
    }

    private void MoveToCorrupt(string path, string name, string why, Action<string>? report)
    {
        System.IO.Directory.CreateDirectory(_corrupt);
        string target = Path.Combine(_corrupt, name);
        File.Move(path, target, overwrite: true);
        report?.Invoke($"{name} spool file moved to {target}: {why}");
    }

    private static string CheckId(string messageId)
        => MessageIds.IsValid(messageId) ? messageId : throw new SpoolException($"\"{messageId}\" is not a spool id");

    private static void TryDelete(string path)
    {
        try
        {
            File.Delete(path);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            // Nothing more we can do; recovery removes *.tmp files at the next start.
        }
    }
}
