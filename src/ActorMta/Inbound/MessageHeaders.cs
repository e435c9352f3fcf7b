using System.Text;

namespace ActorMta.Inbound;

/// <summary>Small, allocation-light reads of the header section of a received message.</summary>
internal static class MessageHeaders
{
    private static ReadOnlySpan<byte> MessageIdName => "message-id:"u8;

    private static ReadOnlySpan<byte> ReceivedName => "received:"u8;

    /// <summary>How many <c>Received:</c> fields the header section has (a field's continuation
    /// lines start with white space, so only its first line can match).</summary>
    public static int CountReceived(ReadOnlySpan<byte> message)
    {
        int count = 0;
        while (message.Length > 0)
        {
            var lineEnd = message.IndexOf((byte)'\n');
            var line = lineEnd < 0 ? message : message[..lineEnd];
            if (line.Length == 0 || (line.Length == 1 && line[0] == '\r')) break; // end of headers
            if (line.Length >= ReceivedName.Length && Ascii.EqualsIgnoreCase(line[..ReceivedName.Length], ReceivedName)) count++;
            if (lineEnd < 0) break;
            message = message[(lineEnd + 1)..];
        }
        return count;
    }

    /// <summary>The Message-ID header's value (for the main log's <c>id=</c>), or null. Only the header section is scanned.</summary>
    public static string? FindMessageId(ReadOnlySpan<byte> message)
    {
        var position = 0;
        while (position < message.Length)
        {
            var rest = message[position..];
            var lineEnd = rest.IndexOf((byte)'\n');
            var line = lineEnd < 0 ? rest : rest[..lineEnd];
            if (line.Length == 0 || (line.Length == 1 && line[0] == '\r')) return null; // end of headers
            if (line.Length > MessageIdName.Length && Ascii.EqualsIgnoreCase(line[..MessageIdName.Length], MessageIdName))
            {
                var value = line[MessageIdName.Length..].TrimEnd((byte)'\r').Trim((byte)' ').Trim((byte)'\t');
                // A header is the sender's text: its control characters must not reach the log line.
                var text = ActorMta.Smtp.PeerText.Printable(Encoding.UTF8.GetString(value));
                return text.Length > 0 ? text.Trim('<', '>') : null;
            }
            if (lineEnd < 0) return null;
            position += lineEnd + 1;
        }
        return null;
    }
}
