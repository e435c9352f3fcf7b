using System.Buffers;

namespace ActorMta.Smtp;

/// <summary>
/// Client side of RFC 5321 4.5.2: writes message content for DATA with dot-stuffing and the
/// terminating ".". The content comes from our own spool, where every line ends in CRLF (the
/// server side guarantees it), so only a missing final CRLF needs adding.
/// </summary>
public static class DataEncoder
{
    private static ReadOnlySpan<byte> Terminator => ".\r\n"u8;

    public static void Encode(ReadOnlySpan<byte> content, IBufferWriter<byte> output)
    {
        var atLineStart = true;
        var runStart = 0;
        for (var i = 0; i < content.Length; i++)
        {
            var b = content[i];
            if (atLineStart && b == (byte)'.')
            {
                Write(content[runStart..i], output);
                Write("."u8, output); // the stuffed dot; the original follows in the next run
                runStart = i;
            }
            atLineStart = b == (byte)'\n';
        }
        Write(content[runStart..], output);
        if (content.Length > 0 && !content.EndsWith("\r\n"u8)) Write("\r\n"u8, output);
        Write(Terminator, output);
    }

    private static void Write(ReadOnlySpan<byte> bytes, IBufferWriter<byte> output)
    {
        if (bytes.IsEmpty) return;
        bytes.CopyTo(output.GetSpan(bytes.Length));
        output.Advance(bytes.Length);
    }
}
