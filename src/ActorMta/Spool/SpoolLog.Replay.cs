using System.Buffers.Binary;
using System.Text;

namespace ActorMta.Spool;

/// <summary>Reading the log back: at open, when it is switched off, and for an operator's read-only look.</summary>
internal sealed partial class SpoolLog
{
    /// <summary>The two segments of the first log format, which kept every message in a file too.</summary>
    private static readonly string[] LegacySegments = ["segment-a", "segment-b"];

    /// <summary>A message the records say lives in the log: where its image is, and its journal.</summary>
    private sealed class Found(int image, int offset, int length)
    {
        public readonly int Image = image;
        public readonly int Offset = offset;
        public readonly int Length = length;
        public readonly List<byte[]> Journal = [];
    }

    /// <summary>What the valid records of some segment images say, applied in sequence order.</summary>
    private sealed class Scan
    {
        public readonly Dictionary<string, Found> Stored = new(StringComparer.Ordinal);
        public readonly HashSet<string> Gone = new(StringComparer.Ordinal);
        public long Last;

        /// <summary>Invalid bytes with valid records after them, per image: damage, not a torn tail.</summary>
        public readonly List<(int Image, int Offset, int Length)> Damage = [];

        /// <summary>The main-log lines for <see cref="Damage"/>, naming each segment by its path.</summary>
        public IEnumerable<string> DamageReport(IReadOnlyList<string> paths) => Damage.Select(d =>
            $"spool log {paths[d.Image]}: {d.Length} bytes at offset {d.Offset} are not valid records (damaged on disk); " +
            "the records after them were replayed. A message stored there is lost; one removed there may be delivered again");

        /// <summary>Per image: its sequence (null: no valid header) and where its valid records end.</summary>
        public readonly long?[] Sequences;
        public readonly int[] Ends;

        public Scan(long?[] sequences)
        {
            Sequences = sequences;
            Ends = Enumerable.Repeat(HeaderSize, sequences.Length).ToArray();
        }

        /// <summary>Segment indexes with a valid header, in the order their records apply.</summary>
        public IEnumerable<int> Order => Enumerable.Range(0, Sequences.Length).Where(i => Sequences[i] > 0).OrderBy(i => Sequences[i]);

        /// <summary>
        /// The segments one image at a time, so that a log over its size limit never needs its
        /// whole size in memory: headers first, then each segment's records in sequence order.
        /// </summary>
        public static Scan Of(IReadOnlyList<Microsoft.Win32.SafeHandles.SafeFileHandle> segments)
        {
            var header = new byte[HeaderSize];
            var scan = new Scan(segments.Select(s => ReadAt(s, header, 0) == HeaderSize ? ReadHeader(header) : null).ToArray());
            // One buffer for all of them: a segment is 16 MB by default, garbage the collector
            // would otherwise hold on to until its next full collection.
            byte[] buffer = [];
            foreach (int i in scan.Order)
            {
                int size = (int)Math.Min(RandomAccess.GetLength(segments[i]), Array.MaxLength);
                if (buffer.Length < size) buffer = new byte[size];
                scan.Apply(i, buffer, ReadAt(segments[i], buffer.AsSpan(0, size), 0));
            }
            return scan;
        }

        /// <summary>All images at once (the caller keeps them, for <see cref="Bytes"/>).</summary>
        public static Scan Of(IReadOnlyList<byte[]> images)
        {
            var scan = new Scan(images.Select(image => ReadHeader(image)).ToArray());
            foreach (int i in scan.Order) scan.Apply(i, images[i], images[i].Length);
            return scan;
        }

        /// <summary>Applies the records of image <paramref name="i"/>, its first <paramref name="length"/>
        /// bytes; call in <see cref="Order"/>. Keeps nothing of the image but copies of its journal records.</summary>
        public void Apply(int i, byte[] image, int length)
        {
            long sequence = Sequences[i]!.Value;
            Last = Math.Max(Last, sequence);
            foreach (var (kind, id, offset, payloadLength, end) in Records(image, length, sequence, (at, count) => Damage.Add((i, at, count))))
            {
                Ends[i] = end;
                if (kind == KindStore)
                {
                    Stored[id] = new Found(i, offset, payloadLength);
                    Gone.Remove(id);
                }
                else if (kind == KindJournal)
                {
                    // For a message that has its own file by now, the record is in that file.
                    if (Stored.TryGetValue(id, out var found)) found.Journal.Add(image.AsSpan(offset, payloadLength).ToArray());
                }
                else
                {
                    Stored.Remove(id);
                    Gone.Add(id);
                }
            }
        }

        /// <summary>What the message's file would hold: its image (<paramref name="payload"/>, the
        /// store record's payload) followed by its journal.</summary>
        public static byte[] Bytes(ReadOnlySpan<byte> payload, Found found)
        {
            var bytes = new byte[found.Length + found.Journal.Sum(r => r.Length)];
            payload.CopyTo(bytes);
            int at = found.Length;
            foreach (var record in found.Journal)
            {
                record.CopyTo(bytes, at);
                at += record.Length;
            }
            return bytes;
        }
    }

    /// <summary>
    /// Opens the segments a previous run left and takes over the messages their records hold (what
    /// the log says is the truth: a file under <c>input/</c> for a message that lives in the log is
    /// what an interrupted move left, and goes), then starts a new current segment.
    /// </summary>
    private Segment OpenSegments()
    {
        var opened = new List<Segment>();
        try
        {
            bool created = !System.IO.Directory.Exists(_logDirectory);
            System.IO.Directory.CreateDirectory(_logDirectory);
            RetireLegacy(_spoolDirectory, _input, _fsync, _replayReport);

            foreach (var (path, number) in SegmentFiles(_logDirectory))
            {
                var handle = File.OpenHandle(path, FileMode.Open, FileAccess.ReadWrite, FileShare.ReadWrite);
                opened.Add(new Segment(path, handle));
                _nextFileNumber = Math.Max(_nextFileNumber, number + 1);
            }
            var scan = Scan.Of(opened.Select(s => s.Handle).ToList());
            _lastSequence = scan.Last;
            _replayReport.AddRange(scan.DamageReport(opened.Select(s => s.Path).ToList()));

            for (int i = 0; i < opened.Count; i++)
            {
                var segment = opened[i];
                segment.Sequence = scan.Sequences[i] ?? 0;
                segment.Position = scan.Sequences[i] > 0 ? scan.Ends[i] : HeaderSize;
                segment.FirstRecordAt = DateTime.UtcNow; // its age is unknown: the retention starts now
            }
            foreach (var segment in opened.Where(s => s.Sequence > 0 && s.HasRecords).OrderBy(s => s.Sequence))
            {
                _sealed.Add(segment);
                _sealedBytes += segment.Position;
            }
            foreach (var segment in opened.Where(s => !_sealed.Contains(s))) _spares.Push(segment);

            // One listing of input/ answers "has it a file?" for every message the log names; a stat
            // each would cost a system call per message the log still holds or has removed.
            var files = FileNames(_input);
            foreach (var (id, found) in scan.Stored.OrderBy(p => p.Key, StringComparer.Ordinal))
            {
                var segment = opened[found.Image];
                var entry = new LogResident(id, segment, found.Offset, found.Length);
                entry.Journal.AddRange(found.Journal);
                _residents[id] = entry;
                segment.Live++;
                if (!files.Contains(id)) continue;
                string path = Path.Combine(_input, id);
                // A move writes the image first, so a copy it left starts with it (or is shorter,
                // torn). Anything else is another message under the same id, which a store never
                // checks for on disk: kept aside for the operator, never deleted.
                if (IsPrefixOrCopy(path, entry.ReadImage()))
                {
                    File.Delete(path);
                    _replayReport.Add($"{id}: removed a copy in input/ that a move out of the spool log left unfinished; the message is still in the log");
                }
                else
                {
                    string corrupt = Path.Combine(_spoolDirectory, "corrupt");
                    System.IO.Directory.CreateDirectory(corrupt);
                    File.Move(path, Path.Combine(corrupt, id), overwrite: true);
                    _replayReport.Add($"{id} spool file moved to {Path.Combine(corrupt, id)}: the spool log holds another message under its id");
                }
            }
            foreach (string id in scan.Gone.Where(files.Contains)) RemoveAgain(_input, id, _replayReport);

            var current = StartCurrent();
            if (created && _fsync)
            {
                FileSync.Directory(_logDirectory);
                FileSync.Directory(_spoolDirectory);
            }
            return current;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            foreach (var segment in opened) segment.Handle.Dispose();
            throw new SpoolException($"cannot open the spool log in {_logDirectory}: {e.Message}", e);
        }
    }

    /// <summary>
    /// The segment records go to after a start: a void one (a spare, or a new one), or, when there
    /// is none and no room to make one (a disk that filled up), the newest segment, continued where
    /// its records end under its own sequence. Else the MTA could not start on a full disk at all,
    /// not even to deliver the queue that would free it; a new segment is tried again once this
    /// one is due (see <see cref="MaybeSeal"/>).
    /// </summary>
    private Segment StartCurrent()
    {
        Segment current;
        try
        {
            current = TakeSpare();
        }
        catch (Exception e) when ((e is IOException or UnauthorizedAccessException) && _sealed.Count > 0)
        {
            current = _sealed[^1];
            _sealed.RemoveAt(_sealed.Count - 1);
            _sealedBytes -= current.Position;
            _replayReport.Add($"no room for a new spool log segment ({e.Message}): continuing {current.Path}");
            return current;
        }
        WriteHeader(current, ++_lastSequence);
        return current;
    }

    /// <summary>
    /// With the log switched off: every message that lives in the log gets its own file (so
    /// switching it off never loses one), then the log is deleted. Returns what it did, for the
    /// main log.
    /// </summary>
    public static IReadOnlyList<string> ReplayAndRetire(string spoolDirectory, string input)
    {
        string dir = Path.Combine(spoolDirectory, Directory);
        if (!System.IO.Directory.Exists(dir)) return [];
        var report = new List<string>();
        try
        {
            var paths = LegacySegmentFiles(dir).Concat(SegmentFiles(dir).Select(s => s.Path)).ToList();
            WriteFilesAndDelete(paths, spoolDirectory, input, fsync: true, report);
            System.IO.Directory.Delete(dir, recursive: true);
            FileSync.Directory(spoolDirectory);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new SpoolException($"cannot replay the spool log in {dir}: {e.Message}", e);
        }
        return report;
    }

    /// <summary>The log of the first format (two segments, and a file for every message as well):
    /// replayed into the files and deleted, before the log is opened in this format.</summary>
    private static void RetireLegacy(string spoolDirectory, string input, bool fsync, List<string> report)
    {
        var paths = LegacySegmentFiles(Path.Combine(spoolDirectory, Directory)).ToList();
        if (paths.Count > 0) WriteFilesAndDelete(paths, spoolDirectory, input, fsync, report);
    }

    /// <summary>The first format's segment files that exist in <paramref name="dir"/>.</summary>
    private static IEnumerable<string> LegacySegmentFiles(string dir)
        => LegacySegments.Select(name => Path.Combine(dir, name)).Where(File.Exists);

    /// <summary>
    /// Gives every message the segments at <paramref name="paths"/> hold a file (image and journal),
    /// removes the gone ones again, makes that durable, then deletes the segments oldest first: a
    /// crash in between leaves newer segments only, whose replay is harmless again.
    /// </summary>
    private static void WriteFilesAndDelete(List<string> paths, string spoolDirectory, string input, bool fsync, List<string> report)
    {
        var images = paths.Select(File.ReadAllBytes).ToList();
        var scan = Scan.Of(images);
        report.AddRange(scan.DamageReport(paths));
        var files = FileNames(input);
        foreach (string id in scan.Gone.Where(files.Contains)) RemoveAgain(input, id, report);
        foreach (var (id, found) in scan.Stored.OrderBy(p => p.Key, StringComparer.Ordinal))
        {
            string path = Path.Combine(input, id);
            var payload = images[found.Image].AsSpan(found.Offset, found.Length);
            // A file that starts with the image and has no journal in the log is the first format's
            // own file (its journal, if any, is in the file): it stays as it is.
            if (found.Journal.Count == 0 && files.Contains(id) && FileStartsWith(path, payload)) continue;
            WriteFile(path, Scan.Bytes(payload, found));
            report.Add($"{id} written from the spool log to its own spool file");
        }
        if (fsync) SyncFileSystem(spoolDirectory);
        string dir = Path.GetDirectoryName(paths[0])!;
        foreach (int i in Enumerable.Range(0, paths.Count).OrderBy(i => scan.Sequences[i] ?? -1))
        {
            File.Delete(paths[i]);
            if (fsync) FileSync.Directory(dir);
        }
    }

    private static void RemoveAgain(string input, string id, List<string> report)
    {
        string path = Path.Combine(input, id);
        if (!File.Exists(path)) return;
        File.Delete(path);
        report.Add($"{id} removed again: the spool log says it was done before the restart");
    }

    /// <summary>The names of the files in <paramref name="dir"/> (none if it does not exist).</summary>
    private static HashSet<string> FileNames(string dir)
    {
        var names = new HashSet<string>(StringComparer.Ordinal);
        if (!System.IO.Directory.Exists(dir)) return names;
        foreach (string path in System.IO.Directory.EnumerateFiles(dir)) names.Add(Path.GetFileName(path));
        return names;
    }

    /// <summary>This format's segment files (<c>segment-NNNN</c>) and their numbers.</summary>
    private static List<(string Path, int Number)> SegmentFiles(string dir)
    {
        var found = new List<(string, int)>();
        foreach (string path in System.IO.Directory.EnumerateFiles(dir, "segment-*"))
        {
            string suffix = Path.GetFileName(path)["segment-".Length..];
            if (suffix.Length == 4 && int.TryParse(suffix, System.Globalization.NumberStyles.None, null, out int number))
                found.Add((path, number));
        }
        return found.OrderBy(f => f.Item2).ToList();
    }

    /// <summary>Up to <paramref name="length"/> bytes from the start of the file (fewer if it is shorter).</summary>
    private static byte[] ReadStart(Microsoft.Win32.SafeHandles.SafeFileHandle handle, long length)
    {
        var start = new byte[Math.Min(length, RandomAccess.GetLength(handle))];
        int read = ReadAt(handle, start, 0);
        return read == start.Length ? start : start[..read];
    }

    /// <summary>Fills <paramref name="into"/> from <paramref name="offset"/>; returns less only at the end of the file.</summary>
    internal static int ReadAt(Microsoft.Win32.SafeHandles.SafeFileHandle handle, Span<byte> into, long offset)
    {
        int read = 0;
        while (read < into.Length)
        {
            int n = RandomAccess.Read(handle, into[read..], offset + read);
            if (n == 0) break;
            read += n;
        }
        return read;
    }

    /// <summary>
    /// The valid records of one segment image. Where one is not valid, the rest of the image is
    /// searched for the next record of the same incarnation: a torn tail (a crash during a write)
    /// or an earlier incarnation's records have none after them, and the records end there. One
    /// found beyond invalid bytes means the disk damaged a record that was once whole (only a flushed
    /// batch was ever acknowledged, and its records are whole): the replay goes on after it, and
    /// <paramref name="damaged"/> hears where and how many bytes were passed over.
    /// </summary>
    private static IEnumerable<(byte Kind, string Id, int Offset, int Length, int End)> Records(
        byte[] image, int length, long sequence, Action<int, int> damaged)
    {
        int at = HeaderSize;
        while (true)
        {
            if (TryRecord(image, at, length, sequence) is { } record)
            {
                yield return record;
                at = record.End;
                continue;
            }
            int next = NextRecord(image, at + 1, length, sequence);
            if (next < 0) yield break;
            damaged(at, next - at);
            at = next;
        }
    }

    /// <summary>Where the next valid record of incarnation <paramref name="sequence"/> starts at or after <paramref name="from"/>; -1 if none.</summary>
    private static int NextRecord(byte[] image, int from, int limit, long sequence)
    {
        // A record starts with its magic and its incarnation's sequence: 12 bytes a vectorised
        // search finds quickly, so only their places get a CRC check.
        var start = new byte[12];
        BinaryPrimitives.WriteUInt32LittleEndian(start, RecordMagic);
        BinaryPrimitives.WriteInt64LittleEndian(start.AsSpan(4), sequence);
        var bytes = image.AsSpan(0, limit);
        for (int at = from; at < limit;)
        {
            int found = bytes[at..].IndexOf(start);
            if (found < 0) return -1;
            at += found;
            if (TryRecord(image, at, limit, sequence) is not null) return at;
            at++;
        }
        return -1;
    }

    /// <summary>
    /// The record that starts at <paramref name="at"/> in the first <paramref name="limit"/> bytes of
    /// <paramref name="bytes"/>, if it is whole,
    /// its CRC holds and it was written in the segment's incarnation <paramref name="sequence"/>
    /// (null otherwise: torn, stale or foreign). Offset and End are positions in <paramref name="bytes"/>.
    /// </summary>
    private static (byte Kind, string Id, int Offset, int Length, int End)? TryRecord(byte[] bytes, int at, int limit, long sequence)
    {
        if (limit - at < RecordFixed + RecordCrc) return null;
        var fixedPart = bytes.AsSpan(at, RecordFixed);
        if (BinaryPrimitives.ReadUInt32LittleEndian(fixedPart) != RecordMagic) return null;
        if (BinaryPrimitives.ReadInt64LittleEndian(fixedPart[4..]) != sequence) return null;
        byte kind = fixedPart[12];
        int idLength = fixedPart[13];
        int length = BinaryPrimitives.ReadInt32LittleEndian(fixedPart[14..]);
        if (kind is not (KindStore or KindGone or KindJournal) || length < 0 || length > MaxRecordPayload) return null;
        int end = at + RecordFixed + idLength + length;
        if (end > limit - RecordCrc) return null;
        if (BinaryPrimitives.ReadUInt32LittleEndian(bytes.AsSpan(end)) != Crc32C.Compute(bytes.AsSpan(at, end - at))) return null;
        string id = Encoding.ASCII.GetString(bytes, at + RecordFixed, idLength);
        if (!MessageIds.IsValid(id)) return null;
        return (kind, id, at + RecordFixed + idLength, length, end + RecordCrc);
    }

    /// <summary>True if the file holds <paramref name="image"/> and maybe more, or a beginning of it.</summary>
    private static bool IsPrefixOrCopy(string path, ReadOnlySpan<byte> image)
        => ReadStart(path, image.Length) is { } start && image.StartsWith(start);

    private static bool FileStartsWith(string path, ReadOnlySpan<byte> expected)
        => ReadStart(path, expected.Length) is { } start && start.Length == expected.Length && start.AsSpan().SequenceEqual(expected);

    /// <summary>Up to <paramref name="length"/> bytes from the start of the file; null if there is none.</summary>
    private static byte[]? ReadStart(string path, int length)
    {
        try
        {
            using var handle = File.OpenHandle(path, FileMode.Open, FileAccess.Read, FileShare.ReadWrite | FileShare.Delete);
            return ReadStart(handle, length);
        }
        catch (Exception e) when (e is FileNotFoundException or DirectoryNotFoundException)
        {
            return null;
        }
    }
}
