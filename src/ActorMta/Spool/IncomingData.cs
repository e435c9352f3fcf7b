using System.Buffers;
using Microsoft.Win32.SafeHandles;

namespace ActorMta.Spool;

/// <summary>
/// The data of a message while it is being received: in memory while it is small, then in a
/// nameless file in the spool's <c>input/</c> directory, the way Exim writes its <c>-D</c> file as
/// the data arrives.
/// </summary>
/// <remarks>
/// <para><b>Why.</b> Held whole in memory, twenty clients sending 40 MB messages slowly took 1.7 GB
/// of the process (measured 2026-11-30); <c>smtp.max-data-in-memory</c> then had to refuse most
/// of them. Past <see cref="SpillAt"/> bytes a message goes to a file and a session holds at most
/// about a megabyte whatever the size of its message.</para>
/// <para><b>Why that threshold.</b> A message that large is stored as a file of its own anyway
/// (it is too large for the spool log), so spilling it costs one copy from the page cache when it
/// is stored; smaller ones stay in memory and keep the log's shared fdatasync. The spill file is
/// never fsynced and is unlinked as soon as it is opened: once the message is stored it is closed
/// and its blocks are freed, usually before the kernel ever wrote them, and a crash leaves nothing.</para>
/// <para>The writes to it are plain blocking writes on the session's thread, 256 KiB at a time,
/// into the page cache. A write that fails (a full disk) does not end the session: the rest of the
/// data is read and dropped, and <see cref="Failure"/> says why, for the 451 after the data.</para>
/// </remarks>
public sealed class IncomingData : IBufferWriter<byte>, IDisposable
{
    /// <summary>Data beyond this many bytes goes to the spill file.</summary>
    public const int SpillAt = SpoolLog.MaxRecordPayload;

    /// <summary>Once spilled, data is written out whenever this much is buffered.</summary>
    private const int StagingSize = 256 * 1024;

    /// <summary>The first bytes of a spilled message, kept in memory: the header section is read from them.</summary>
    private const int HeadSize = 64 * 1024;

    /// <summary>
    /// The buffer a session keeps between messages: the size it starts with. A larger one is
    /// dropped after its message: a session that received one 50 KB message then held 64 KiB while
    /// idle (85 KiB per idle connection in all, against 6 KiB for one that never sent, 2,000
    /// connections, 2026-11-30), and connections reused by relays idle for minutes. A 300-byte
    /// message never grows it, so the common case allocates nothing here.
    /// </summary>
    private const int InitialCapacity = 4096;

    private readonly string _directory;
    private ArrayBufferWriter<byte> _memory = new(InitialCapacity);
    private SafeFileHandle? _file;
    private long _fileLength;
    /// <summary>Bytes written after a <see cref="Failure"/>, counted but not kept.</summary>
    private long _dropped;
    private byte[]? _head;

    /// <param name="directory">Where the spill file goes: the spool's input directory, on the spool's file system.</param>
    public IncomingData(string directory)
    {
        _directory = directory;
    }

    /// <summary>Bytes written so far (dropped ones included, after a <see cref="Failure"/>).</summary>
    public long Length => _fileLength + _memory.WrittenCount + _dropped;

    /// <summary>Bytes held in memory right now.</summary>
    public int InMemory => _memory.WrittenCount;

    /// <summary>Whether the data went to the spill file (then <see cref="Memory"/> is not the data).</summary>
    public bool Spilled => _file is not null;

    /// <summary>The buffer's size now (what an idle session keeps after <see cref="Reset"/>).</summary>
    internal int BufferCapacity => _memory.Capacity;

    /// <summary>Why the data could not be kept (the spill file could not be written), or null.</summary>
    public string? Failure { get; private set; }

    /// <summary>The whole data; only when not <see cref="Spilled"/>.</summary>
    public ReadOnlyMemory<byte> Memory =>
        _file is null ? _memory.WrittenMemory : throw new InvalidOperationException("the data is in the spill file");

    /// <summary>The start of the data (all of it when in memory): enough to read its header section.</summary>
    public ReadOnlySpan<byte> Head => _file is null ? _memory.WrittenSpan : _head;

    public Span<byte> GetSpan(int sizeHint = 0)
    {
        MakeRoom(sizeHint);
        return _memory.GetSpan(sizeHint);
    }

    public Memory<byte> GetMemory(int sizeHint = 0)
    {
        MakeRoom(sizeHint);
        return _memory.GetMemory(sizeHint);
    }

    public void Advance(int count) => _memory.Advance(count);

    /// <summary>Writes out what is still buffered; false (and <see cref="Failure"/> set) if the data could not be kept.</summary>
    public bool Complete()
    {
        if (Failure is null && _file is not null) WriteOut();
        return Failure is null;
    }

    /// <summary>
    /// Copies the spilled data to <paramref name="write"/> in pieces, from the start. The pieces
    /// are lent: valid only during the call.
    /// </summary>
    public void CopySpilled(Action<ReadOnlyMemory<byte>> write)
    {
        if (_file is null) throw new InvalidOperationException("the data is not spilled");
        var buffer = ArrayPool<byte>.Shared.Rent(StagingSize);
        try
        {
            for (long at = 0; at < _fileLength;)
            {
                int read = RandomAccess.Read(_file, buffer.AsSpan(0, (int)Math.Min(buffer.Length, _fileLength - at)), at);
                if (read <= 0) throw new IOException($"the spill file in {_directory} ended at {at} of {_fileLength} bytes");
                write(buffer.AsMemory(0, read));
                at += read;
            }
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(buffer);
        }
    }

    /// <summary>Empty again, for the next message: the spill file is closed (and so freed).</summary>
    public void Reset()
    {
        _file?.Dispose();
        _file = null;
        _fileLength = 0;
        _dropped = 0;
        _head = null;
        Failure = null;
        if (_memory.Capacity > InitialCapacity) _memory = new ArrayBufferWriter<byte>(InitialCapacity);
        else _memory.ResetWrittenCount();
    }

    public void Dispose()
    {
        _file?.Dispose();
        _file = null;
    }

    private void MakeRoom(int sizeHint)
    {
        if (Failure is not null)
        {
            Drop();
            return;
        }
        if (_file is null)
        {
            if ((long)_memory.WrittenCount + sizeHint > SpillAt) Spill();
        }
        else if (_memory.WrittenCount + (long)sizeHint > StagingSize)
        {
            WriteOut();
        }
    }

    private void Spill()
    {
        try
        {
            _file = OpenNameless();
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            Fail(e);
            return;
        }
        _head = _memory.WrittenSpan[..Math.Min(HeadSize, _memory.WrittenCount)].ToArray();
        WriteOut();
    }

    private void WriteOut()
    {
        if (_memory.WrittenCount == 0) return; // Complete() after the last write-out, or twice
        try
        {
            RandomAccess.Write(_file!, _memory.WrittenSpan, _fileLength);
            _fileLength += _memory.WrittenCount;
            _memory.ResetWrittenCount();
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            Fail(e);
        }
    }

    private void Fail(Exception error)
    {
        Failure = $"cannot write message data to {_directory}: {error.Message}";
        Drop();
    }

    private void Drop()
    {
        _dropped += _memory.WrittenCount;
        _memory.ResetWrittenCount();
    }

    /// <summary>A new file in the spool's input directory whose name is gone at once (elsewhere than
    /// Unix, gone when it is closed). The <c>.tmp</c> suffix lets recovery delete it should a crash
    /// come between the two.</summary>
    private SafeFileHandle OpenNameless()
    {
        var path = Path.Combine(_directory, $"spill-{Guid.NewGuid():N}.tmp");
        var options = OperatingSystem.IsWindows() ? FileOptions.DeleteOnClose : FileOptions.None;
        var handle = File.OpenHandle(path, FileMode.CreateNew, FileAccess.ReadWrite, FileShare.None, options);
        if (!OperatingSystem.IsWindows()) File.Delete(path);
        return handle;
    }
}
