using System.Buffers.Binary;

namespace ActorMta.Spool;

/// <summary>Sealing and retiring segments (see the remarks on <see cref="SpoolLog"/>).</summary>
internal sealed partial class SpoolLog
{
    /// <summary>On the commit thread: seals the current segment when it is full or old enough.</summary>
    private void MaybeSeal(bool timerFired)
    {
        if (_failure is not null) return;
        var current = _current;
        bool due = current.HasRecords
            && (current.Position >= _segmentSize || DateTime.UtcNow - current.FirstRecordAt >= _interval);
        if (due && DateTime.UtcNow >= _nextSealTry)
        {
            Segment? next;
            try
            {
                next = TakeSpare();
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
                // No spare, and none can be made now (a full disk): the current segment goes on
                // past its size, and a new one is tried again an interval later (making one
                // writes its whole size, too much to try at every commit).
                if (_nextSealTry == default) Report?.Invoke($"spool log cannot start a new segment, will try again: {e.Message}");
                _nextSealTry = DateTime.UtcNow + _interval;
                next = null;
            }
            if (next is not null)
            {
                if (_nextSealTry != default) Report?.Invoke("spool log started a new segment again");
                _nextSealTry = default;
                WriteHeader(next, ++_lastSequence);
                lock (_gate)
                {
                    _sealed.Add(current);
                    _sealedBytes += current.Position;
                    _current = next;
                }
            }
        }
        bool waiting;
        lock (_gate) waiting = _sealed.Count > 0;
        // A sealed segment becomes retirable when it is sealed (the size limit may now be passed),
        // when its last message goes (Remove kicks then) or when it ages past the retention (seen
        // here at the timer). Kicking after every commit instead woke an I/O thread per commit for
        // nothing whenever a segment waited with queued messages, as in a queue-only load.
        if (due || (timerFired && waiting)) KickRetire();
        if (timerFired && (waiting || _current.HasRecords)) ArmTimer(force: true);
    }

    private Segment TakeSpare()
    {
        lock (_gate)
        {
            if (_spares.Count > 0) return _spares.Pop();
        }
        return CreateSegment();
    }

    /// <summary>
    /// A new segment file, written full of zeros and durable by name before any record goes into it.
    /// The zeros are for the commits: an fdatasync after a write that extends a file must write the
    /// inode too, one written in place only the data (as a reused spare is).
    /// </summary>
    private Segment CreateSegment()
    {
        string path;
        lock (_gate) path = Path.Combine(_logDirectory, $"segment-{_nextFileNumber++:D4}");
        var handle = File.OpenHandle(path, FileMode.CreateNew, FileAccess.ReadWrite, FileShare.ReadWrite);
        var segment = new Segment(path, handle);
        try
        {
            var zeros = new byte[Math.Min(_segmentSize, 1024 * 1024)];
            for (long at = 0; at < _segmentSize; at += zeros.Length)
                RandomAccess.Write(handle, zeros.AsSpan(0, (int)Math.Min(zeros.Length, _segmentSize - at)), at);
            WriteHeader(segment, 0);
            if (_fsync) FileSync.Directory(_logDirectory);
        }
        catch
        {
            // A half-made segment (a full disk) would hold the space it got; its header says
            // nothing yet, so it is not one of the log's files.
            handle.Dispose();
            try { File.Delete(path); }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException) { }
            throw;
        }
        return segment;
    }

    private void KickRetire()
    {
        lock (_gate)
        {
            // A kick while a pass runs makes that pass look again when it ends: the pass may have
            // looked at the segment before its last message went.
            _retireAgain = true;
            if (_retireRunning) return;
            _retireRunning = true;
        }
        DurableIo.Post(Retire);
    }

    /// <summary>On an I/O thread, one at a time: retires sealed segments, oldest first, while it may.</summary>
    private void Retire()
    {
        try
        {
            while (RetireAgain())
            {
                RetireWhileAny();
                if (_checkpointDeferred)
                {
                    Report?.Invoke("spool log checkpoint done again");
                    _checkpointDeferred = false;
                }
            }
        }
        catch (CheckpointDeferred e)
        {
            // Nothing was synced or voided: the segment keeps its records and the log goes on
            // taking messages. The timer kicks the checkpoint again (every checkpoint interval).
            if (!_checkpointDeferred) Report?.Invoke($"spool log checkpoint failed, will try again: {e.Message}");
            _checkpointDeferred = true;
            lock (_gate) _retireRunning = false;
            ArmTimer(force: true);
        }
        catch (Exception e)
        {
            // Not tried again: after a failed syncfs the kernel may have dropped the dirty pages,
            // and a later syncfs (on a new descriptor) would not say so, so voiding the records
            // then could lose messages they alone still hold. Refuse instead; a restart replays.
            Fail($"spool log checkpoint failed, refusing messages until a restart: {e.Message}", e);
            lock (_gate) _retireRunning = false;
        }
    }

    /// <summary>
    /// A checkpoint that failed before it synced or voided anything (a message file or a spare
    /// segment could not be written: a full disk, no descriptors left): what it wrote is undone,
    /// and it is tried again later, unlike a failed sync.
    /// </summary>
    private sealed class CheckpointDeferred(string message, Exception cause) : Exception(message, cause);

    /// <summary>Whether another pass is wanted; if not, the pass ends (a later kick starts a new one).</summary>
    private bool RetireAgain()
    {
        lock (_gate)
        {
            if (_retireAgain && _failure is null)
            {
                _retireAgain = false;
                return true;
            }
            _retireRunning = false;
            return false;
        }
    }

    private void RetireWhileAny()
    {
        Interlocked.Increment(ref RetirePasses);
        while (_failure is null)
        {
            if (!System.IO.Directory.Exists(_spoolDirectory))
            {
                // The spool was taken away under us (a test's temporary directory, or worse):
                // refuse, and leave the handles alone, the commit loop may still hold them.
                Logs.TryRemove(_spoolDirectory, out _);
                Fail($"the spool directory {_spoolDirectory} is gone", null);
                return;
            }
            var done = new List<Segment>();
            List<LogResident> moved = [];
            lock (_gate)
            {
                foreach (var segment in _sealed)
                {
                    if (Volatile.Read(ref segment.Live) > 0) break;
                    done.Add(segment);
                }
                if (done.Count == 0 && _sealed.Count > 0)
                {
                    var oldest = _sealed[0];
                    bool due = _sealedBytes > _sizeLimit || DateTime.UtcNow - oldest.FirstRecordAt >= _retention;
                    if (due) done.Add(oldest);
                }
            }
            if (done.Count == 0) break;
            if (Volatile.Read(ref done[0].Live) > 0) moved = MoveToFiles(done[0]);
            if (moved.Count > 0) MoveWritten?.Invoke();

            // What the records of these segments vouched for must be durable by itself before
            // they are voided: the files just written (syncfs), or else the unlinks of their
            // gone records (an fsync of input/).
            if (_fsync)
            {
                if (moved.Count > 0) SyncFileSystem(_spoolDirectory);
                else FileSync.Directory(_input);
            }
            foreach (var segment in done) WriteHeader(segment, 0);
            foreach (var entry in moved) EndMove(entry);
            lock (_gate)
            {
                foreach (var segment in done)
                {
                    _sealed.Remove(segment);
                    _sealedBytes -= segment.Position;
                    segment.Position = HeaderSize;
                    segment.Live = 0;
                    if (_spares.Count < SparesKept) _spares.Push(segment);
                    else Discard(segment);
                }
            }
            Interlocked.Add(ref Checkpoints, done.Count);
        }
        bool needSpare;
        lock (_gate) needSpare = _spares.Count == 0;
        if (needSpare && _failure is null)
        {
            Segment spare;
            try { spare = CreateSegment(); }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
                throw new CheckpointDeferred($"cannot make a spare log segment: {e.Message}", e);
            }
            lock (_gate) _spares.Push(spare);
        }
    }

    /// <summary>Writes every message of <paramref name="segment"/> still in the log its own file.</summary>
    /// <exception cref="CheckpointDeferred">A file could not be written; the messages moved so far are back in the log.</exception>
    private List<LogResident> MoveToFiles(Segment segment)
    {
        var moved = new List<LogResident>();
        foreach (var entry in _residents.Values)
        {
            if (entry.Segment != segment) continue;
            byte[] image;
            lock (entry)
            {
                if (entry.State != LogResident.Where.Log) continue;
                image = entry.ReadImage();
                entry.State = LogResident.Where.Moving;
                entry.Moved = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
            }
            moved.Add(entry);
            string path = Path.Combine(_input, entry.Id);
            try
            {
                WriteFile(path, image);
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
                UndoMoves(moved);
                throw new CheckpointDeferred($"cannot write {path}: {e.Message}", e);
            }
        }
        Interlocked.Add(ref MovedToFiles, moved.Count);
        return moved;
    }

    /// <summary>
    /// The messages live in the log again, as before the move. Their files go: unsynced, they may
    /// or may not survive a crash, and a file beside a live log record is ignored at replay anyway.
    /// Waiting journal records and removals go on (to the log).
    /// </summary>
    private void UndoMoves(List<LogResident> moved)
    {
        foreach (var entry in moved)
        {
            lock (entry)
            {
                if (entry.State == LogResident.Where.Moving) entry.State = LogResident.Where.Log;
            }
            string path = Path.Combine(_input, entry.Id);
            foreach (var leftover in new[] { path, path + ".tmp" })
            {
                try { File.Delete(leftover); }
                catch (Exception e) when (e is IOException or UnauthorizedAccessException) { } // ignored at replay, as said
            }
            entry.Moved!.TrySetResult();
        }
    }

    /// <summary>The message now has its file (durable, and its segment void): journal records and
    /// removals go to the file from now on.</summary>
    private void EndMove(LogResident entry)
    {
        lock (entry)
        {
            if (entry.State == LogResident.Where.Gone)
            {
                // Removed while it moved; its gone record is on disk, so the file may go.
                File.Delete(Path.Combine(_input, entry.Id));
            }
            else
            {
                entry.State = LogResident.Where.File;
            }
            _residents.TryRemove(entry.Id, out _);
        }
        entry.Moved!.TrySetResult();
    }

    /// <summary>Writes a message file under its final name through a temporary one (a crash leaves
    /// a *.tmp, which recovery deletes, never a torn file under a spool id).</summary>
    private static void WriteFile(string path, ReadOnlySpan<byte> bytes)
    {
        string temp = path + ".tmp";
        using (var file = new FileStream(temp, FileMode.Create, FileAccess.Write, FileShare.None, bufferSize: 0))
            file.Write(bytes);
        File.Move(temp, path, overwrite: true);
    }

    private void Discard(Segment segment)
    {
        segment.Handle.Dispose();
        File.Delete(segment.Path);
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
}
