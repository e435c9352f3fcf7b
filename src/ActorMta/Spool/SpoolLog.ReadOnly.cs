using Microsoft.Win32.SafeHandles;

namespace ActorMta.Spool;

internal sealed partial class SpoolLog
{
    /// <summary>
    /// The log of a spool this process does not own, read without changing it: what the queue
    /// commands see, whether the MTA runs or not. The records are scanned one segment at a time and
    /// a message's bytes are read only when asked for, so the memory this takes is an index of the
    /// messages in the log, not the log's size (<c>spool.log-size-limit</c>, 256 MB by default, and
    /// up to twice that).
    /// </summary>
    /// <remarks>
    /// A running MTA may retire a segment after the scan: it gives each message there its own file
    /// first, and only then reuses the segment, under a new sequence. A read checks the record again
    /// against the sequence the scan saw, so a reused segment answers "no longer in the log", and a
    /// caller that lists <c>input/</c> after its reads finds the message's file there.
    /// </remarks>
    public sealed class ReadOnlyView : IDisposable
    {
        private readonly List<SafeFileHandle> _segments;
        private readonly Scan _scan;

        private ReadOnlyView(List<SafeFileHandle> segments)
        {
            _segments = segments;
            _scan = Scan.Of(segments);
        }

        /// <summary>Scans the log of <paramref name="spoolDirectory"/> (a spool without one has an empty view).</summary>
        public static ReadOnlyView Open(string spoolDirectory)
        {
            var segments = new List<SafeFileHandle>();
            string dir = Path.Combine(spoolDirectory, Directory);
            try
            {
                if (System.IO.Directory.Exists(dir))
                {
                    foreach (var (path, _) in SegmentFiles(dir))
                    {
                        try
                        {
                            segments.Add(File.OpenHandle(path, FileMode.Open, FileAccess.Read, FileShare.ReadWrite | FileShare.Delete));
                        }
                        catch (Exception e) when (e is FileNotFoundException or DirectoryNotFoundException)
                        {
                            // Discarded while we listed.
                        }
                    }
                }
                return new ReadOnlyView(segments);
            }
            catch
            {
                foreach (var segment in segments) segment.Dispose();
                throw;
            }
        }

        /// <summary>The messages the log held when it was scanned, in id order (oldest first).</summary>
        public IEnumerable<string> Ids => _scan.Stored.Keys.Order(StringComparer.Ordinal);

        /// <summary>
        /// The bytes the message's file would hold (its image, then its journal); null if the scan
        /// did not find it or it has left the log since.
        /// </summary>
        public byte[]? TryRead(string id)
        {
            if (!_scan.Stored.TryGetValue(id, out var found)) return null;
            // The whole record again, from its magic to its CRC: the scan's copy of it is gone.
            int before = RecordFixed + id.Length;
            var record = new byte[before + found.Length + RecordCrc];
            if (ReadAt(_segments[found.Image], record, found.Offset - before) < record.Length) return null;
            if (TryRecord(record, 0, record.Length, _scan.Sequences[found.Image]!.Value) is not { Kind: KindStore } again
                || again.Id != id || again.Length != found.Length)
                return null;
            return Scan.Bytes(record.AsSpan(again.Offset, again.Length), found);
        }

        public void Dispose()
        {
            foreach (var segment in _segments) segment.Dispose();
        }
    }
}
