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
        foreach (var line in new HeaderLines(message))
        {
            if (StartsWithName(line, ReceivedName)) count++;
        }
        return count;
    }

    /// <summary>The Message-ID header's value (for the main log's <c>id=</c>), or null. Only the header section is scanned.</summary>
    public static string? FindMessageId(ReadOnlySpan<byte> message)
    {
        foreach (var line in new HeaderLines(message))
        {
            if (line.Length == MessageIdName.Length || !StartsWithName(line, MessageIdName)) continue;
            var value = line[MessageIdName.Length..].TrimEnd((byte)'\r').Trim((byte)' ').Trim((byte)'\t');
            // A header is the sender's text: its control characters must not reach the log line.
            var text = ActorMta.Smtp.PeerText.Printable(Encoding.UTF8.GetString(value));
            return text.Length > 0 ? text.Trim('<', '>') : null;
        }
        return null;
    }

    private static bool StartsWithName(ReadOnlySpan<byte> line, ReadOnlySpan<byte> name)
        => line.Length >= name.Length && Ascii.EqualsIgnoreCase(line[..name.Length], name);

    /// <summary>The lines of the header section, each without its LF, up to the empty line that ends it.</summary>
    private ref struct HeaderLines(ReadOnlySpan<byte> message)
    {
        private ReadOnlySpan<byte> _rest = message;
        private bool _done = message.IsEmpty;

        public ReadOnlySpan<byte> Current { get; private set; }

        public readonly HeaderLines GetEnumerator() => this;

        public bool MoveNext()
        {
            if (_done) return false;
            int lineEnd = _rest.IndexOf((byte)'\n');
            var line = lineEnd < 0 ? _rest : _rest[..lineEnd];
            if (line.IsEmpty || (line.Length == 1 && line[0] == '\r'))
            {
                _done = true; // the empty line that ends the headers
                return false;
            }
            Current = line;
            if (lineEnd < 0) _done = true;
            else _rest = _rest[(lineEnd + 1)..];
            return true;
        }
    }
}
