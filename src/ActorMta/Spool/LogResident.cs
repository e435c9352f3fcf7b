namespace ActorMta.Spool;

/// <summary>
/// A message whose only durable copy is its <c>store</c> record in the spool log, with the journal
/// records logged for it since (see <see cref="SpoolLog"/>). Every change of state and every read
/// of the segment's bytes happens under the instance's lock: that is what keeps a reader from
/// reading a segment that was reused, and a journal record from missing the file it moves to.
/// </summary>
internal sealed class LogResident(string id, SpoolLog.Segment segment, long offset, int length)
{
    public enum Where
    {
        /// <summary>In the log only.</summary>
        Log,

        /// <summary>Its own file is being written because its segment is being retired; journal
        /// records and removals wait for <see cref="Moved"/>.</summary>
        Moving,

        /// <summary>In its own file under <c>input/</c>, like a message stored without the log.</summary>
        File,

        /// <summary>Removed (a <c>gone</c> record is on disk).</summary>
        Gone,
    }

    public readonly string Id = id;
    public readonly SpoolLog.Segment Segment = segment;

    /// <summary>Where the message file's image (header, data, trailer) starts in the segment.</summary>
    public readonly long Offset = offset;
    public readonly int Length = length;

    /// <summary>The journal records logged for it, in order: what its file would have after the trailer.</summary>
    public readonly List<byte[]> Journal = [];

    public Where State = Where.Log;

    /// <summary>Completed when a move to its own file ends (set while <see cref="State"/> is Moving).</summary>
    public TaskCompletionSource? Moved;

    /// <summary>The file image followed by the journal, read from the segment. Call under the lock,
    /// with <see cref="State"/> Log or Moving (the segment is not reused before the move ends).</summary>
    public byte[] ReadImage()
    {
        int journalLength = 0;
        foreach (var record in Journal) journalLength += record.Length;
        var bytes = new byte[Length + journalLength];
        int read = SpoolLog.ReadAt(Segment.Handle, bytes.AsSpan(0, Length), Offset);
        if (read < Length) throw new EndOfStreamException($"spool log segment {Segment.Path} ends inside message {Id}");
        foreach (var record in Journal)
        {
            record.CopyTo(bytes, read);
            read += record.Length;
        }
        return bytes;
    }
}
