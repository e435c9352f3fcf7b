using System.Buffers;

namespace ActorMta.Smtp;

/// <summary>
/// Decodes DATA content (RFC 5321 4.5.2): removes dot-stuffing and stops at the end-of-data line.
/// <para>
/// SMTP smuggling (CVE-2023-51764/51765/51766) works when two MTAs disagree on where a message ends.
/// So the only terminator is the exact octets CR LF "." CR LF, where the first CR LF may be the start
/// of the content. A bare CR or LF never starts a line for this purpose, even when normalising: after a
/// bare line ending neither the terminator nor dot-unstuffing applies, and such a "." line is kept as
/// text (and will be dot-stuffed again when relayed). This is what keeps "&lt;LF&gt;.&lt;LF&gt;",
/// "&lt;CR&gt;.&lt;CR&gt;", "&lt;LF&gt;.&lt;CRLF&gt;" and "&lt;CRLF&gt;.&lt;LF&gt;" inside the message.
/// </para>
/// <para>
/// State survives between calls with no buffered bytes: each pending state stands for known octets
/// (a CR, a leading dot), so input may be split anywhere, down to one byte per call.
/// </para>
/// </summary>
public sealed class DataDecoder
{
    private ContentWriter _writer;
    private State _state;

    public DataDecoder(long maxSize, int maxLineLength, bool normalize) => Reset(maxSize, maxLineLength, normalize);

    private enum State
    {
        /// <summary>Just after a real CRLF (or at the very start): a dot here is stuffing or the terminator.</summary>
        LineStart,

        /// <summary>Inside a line.</summary>
        Text,

        /// <summary>A CR was seen inside a line; the next octet decides CRLF or bare CR.</summary>
        Cr,

        /// <summary>A dot at the start of a line (not yet written).</summary>
        Dot,

        /// <summary>Line start, dot, CR: an LF now ends the data.</summary>
        DotCr,

        Done,
    }

    /// <summary>Output octets counted so far, including any past the size limit.</summary>
    public long Size => _writer.Size;

    public DataProblems Problems => _writer.Problems;

    /// <summary>
    /// Decodes as much of <paramref name="input"/> as belongs to the message. On
    /// <see cref="DataStatus.Complete"/>, <paramref name="consumed"/> points just past the terminator and
    /// the rest of the input is pipelined commands; otherwise all of the input was taken.
    /// </summary>
    public DataStatus Decode(ReadOnlySpan<byte> input, IBufferWriter<byte> output, out int consumed)
    {
        int i = 0;
        while (i < input.Length)
        {
            switch (_state)
            {
                case State.Done:
                    consumed = i;
                    return DataStatus.Complete;

                case State.Text:
                {
                    // The hot loop: copy everything up to the next CR or LF in one go.
                    ReadOnlySpan<byte> rest = input[i..];
                    int special = rest.IndexOfAny((byte)'\r', (byte)'\n');
                    if (special < 0)
                    {
                        _writer.WriteText(rest, output);
                        i = input.Length;
                        break;
                    }

                    if (rest[special] == (byte)'\r' && special + 1 < rest.Length && rest[special + 1] == (byte)'\n')
                    {
                        _writer.WriteLine(rest[..(special + 2)], output);
                        i += special + 2;
                        _state = State.LineStart;
                        break;
                    }

                    _writer.WriteText(rest[..special], output);
                    i += special + 1;
                    if (rest[special] == (byte)'\r')
                    {
                        _state = State.Cr;
                    }
                    else
                    {
                        _writer.WriteBare((byte)'\n', output);
                    }

                    break;
                }

                case State.Cr:
                    if (input[i] == (byte)'\n')
                    {
                        _writer.WriteCrlf(output);
                        _state = State.LineStart;
                        i++;
                    }
                    else
                    {
                        // Bare CR; the current octet is looked at again as ordinary text.
                        _writer.WriteBare((byte)'\r', output);
                        _state = State.Text;
                    }

                    break;

                case State.LineStart:
                    if (input[i] == (byte)'.')
                    {
                        _state = State.Dot;
                        i++;
                    }
                    else
                    {
                        _state = State.Text;
                    }

                    break;

                case State.Dot:
                    // The leading dot is dropped whatever follows (RFC 5321 4.5.2), except that
                    // dot CR LF is the terminator; that is decided in DotCr.
                    if (input[i] == (byte)'\r')
                    {
                        _state = State.DotCr;
                        i++;
                    }
                    else
                    {
                        _state = State.Text;
                    }

                    break;

                case State.DotCr:
                    if (input[i] == (byte)'\n')
                    {
                        _state = State.Done;
                        consumed = i + 1;
                        return DataStatus.Complete;
                    }

                    _writer.WriteBare((byte)'\r', output);
                    _state = State.Text;
                    break;
            }
        }

        consumed = input.Length;
        return _state == State.Done ? DataStatus.Complete : DataStatus.NeedMoreInput;
    }

    /// <summary>Prepares for the next message without allocating.</summary>
    public void Reset(long maxSize, int maxLineLength, bool normalize)
    {
        _writer.Reset(maxSize, maxLineLength, normalize);
        _state = State.LineStart;
    }
}
