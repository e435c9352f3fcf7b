using System.Buffers;

namespace ActorMta.Smtp;

/// <summary>
/// The output side shared by <see cref="DataDecoder"/> and <see cref="BdatDecoder"/>: writes runs of
/// content, counts size and line length, and applies the bare CR / bare LF policy. A mutable struct
/// held in a field of its decoder, so a decoder reused with Reset allocates nothing.
/// </summary>
internal struct ContentWriter
{
    private long _maxSize;
    private int _maxLineLength;
    private int _lineLength;

    public bool Normalize { get; private set; }

    public long Size { get; private set; }

    public DataProblems Problems { get; private set; }

    public void Reset(long maxSize, int maxLineLength, bool normalize)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(maxSize);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(maxLineLength);
        _maxSize = maxSize;
        _maxLineLength = maxLineLength;
        Normalize = normalize;
        _lineLength = 0;
        Size = 0;
        Problems = DataProblems.None;
    }

    /// <summary>Text inside a line (no CR or LF in it).</summary>
    public void WriteText(ReadOnlySpan<byte> text, IBufferWriter<byte> output)
    {
        if (text.IsEmpty)
        {
            return;
        }

        if ((Problems & DataProblems.Nul) == 0 && text.Contains((byte)0))
        {
            Problems |= DataProblems.Nul;
        }

        _lineLength += text.Length;
        if (_lineLength > _maxLineLength)
        {
            Problems |= DataProblems.LineTooLong;
        }

        Emit(text, output);
    }

    /// <summary>
    /// A whole line ending in a real CRLF, written with one copy: the common case, so the hot path makes
    /// one call into the output per line instead of two.
    /// </summary>
    public void WriteLine(ReadOnlySpan<byte> lineWithCrlf, IBufferWriter<byte> output)
    {
        ReadOnlySpan<byte> text = lineWithCrlf[..^2];
        if ((Problems & DataProblems.Nul) == 0 && text.Contains((byte)0))
        {
            Problems |= DataProblems.Nul;
        }

        if (_lineLength + lineWithCrlf.Length > _maxLineLength)
        {
            Problems |= DataProblems.LineTooLong;
        }

        _lineLength = 0;
        Emit(lineWithCrlf, output);
    }

    /// <summary>A real CRLF from the input.</summary>
    public void WriteCrlf(IBufferWriter<byte> output) => EndLine("\r\n"u8, output);

    /// <summary>A CR or LF that is not half of a CRLF: recorded always; written as CRLF when normalising,
    /// as itself otherwise (the session rejects such content, so its exact form no longer matters).</summary>
    public void WriteBare(byte crOrLf, IBufferWriter<byte> output)
    {
        Problems |= DataProblems.BareLineEnding;
        if (Normalize)
        {
            EndLine("\r\n"u8, output);
        }
        else
        {
            EndLine(crOrLf == (byte)'\r' ? "\r"u8 : "\n"u8, output);
        }
    }

    private void EndLine(ReadOnlySpan<byte> ending, IBufferWriter<byte> output)
    {
        if (_lineLength + ending.Length > _maxLineLength)
        {
            Problems |= DataProblems.LineTooLong;
        }

        _lineLength = 0;
        Emit(ending, output);
    }

    private void Emit(ReadOnlySpan<byte> bytes, IBufferWriter<byte> output)
    {
        Size += bytes.Length;

        // Past the limit the message will be refused (552), so writing more would only fill the spool;
        // the size keeps counting so the log can say how big the attempt was.
        if ((Problems & DataProblems.TooBig) != 0)
        {
            return;
        }

        if (Size > _maxSize)
        {
            Problems |= DataProblems.TooBig;
            return;
        }

        bytes.CopyTo(output.GetSpan(bytes.Length));
        output.Advance(bytes.Length);
    }
}
