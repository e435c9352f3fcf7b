using System.Buffers;

namespace ActorMta.Smtp;

/// <summary>
/// Decodes BDAT content (RFC 3030): the chunk sizes frame the message, so there is no dot-stuffing and
/// no terminator, only the same line-ending policy, size and line-length accounting as DATA. A CR at
/// the end of one chunk is held until the next octet is known, because CRLF may straddle chunks.
/// </summary>
public sealed class BdatDecoder
{
    private ContentWriter _writer;
    private bool _pendingCr;

    public BdatDecoder(long maxSize, int maxLineLength, bool normalize) => Reset(maxSize, maxLineLength, normalize);

    public long Size => _writer.Size;

    public DataProblems Problems => _writer.Problems;

    /// <summary>Decodes all of <paramref name="chunkBytes"/> (the session slices off exactly the chunk's octets).</summary>
    public void Write(ReadOnlySpan<byte> chunkBytes, IBufferWriter<byte> output)
    {
        ReadOnlySpan<byte> rest = chunkBytes;
        if (_pendingCr && !rest.IsEmpty)
        {
            _pendingCr = false;
            if (rest[0] == (byte)'\n')
            {
                _writer.WriteCrlf(output);
                rest = rest[1..];
            }
            else
            {
                _writer.WriteBare((byte)'\r', output);
            }
        }

        while (!rest.IsEmpty)
        {
            int special = rest.IndexOfAny((byte)'\r', (byte)'\n');
            if (special < 0)
            {
                _writer.WriteText(rest, output);
                return;
            }

            if (rest[special] == (byte)'\r' && special + 1 < rest.Length && rest[special + 1] == (byte)'\n')
            {
                _writer.WriteLine(rest[..(special + 2)], output);
                rest = rest[(special + 2)..];
                continue;
            }

            _writer.WriteText(rest[..special], output);
            if (rest[special] == (byte)'\n')
            {
                _writer.WriteBare((byte)'\n', output);
                rest = rest[(special + 1)..];
            }
            else if (special + 1 == rest.Length)
            {
                // CR as the chunk's last octet: CRLF or bare CR depends on the next chunk.
                _pendingCr = true;
                return;
            }
            else
            {
                _writer.WriteBare((byte)'\r', output);
                rest = rest[(special + 1)..];
            }
        }
    }

    /// <summary>After the LAST chunk: a CR still held is a bare line ending.</summary>
    public void Finish(IBufferWriter<byte> output)
    {
        if (_pendingCr)
        {
            _pendingCr = false;
            _writer.WriteBare((byte)'\r', output);
        }
    }

    /// <summary>Prepares for the next message without allocating.</summary>
    public void Reset(long maxSize, int maxLineLength, bool normalize)
    {
        _writer.Reset(maxSize, maxLineLength, normalize);
        _pendingCr = false;
    }
}
