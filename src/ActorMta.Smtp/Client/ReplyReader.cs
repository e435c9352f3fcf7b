using System.Text;

namespace ActorMta.Smtp;

/// <summary>
/// Client side: cuts complete SMTP replies (RFC 5321 4.2, multi-line "250-" ... "250 ") out of the
/// bytes received. A reply is complete only when its final line has arrived, so a reply split over
/// reads is simply not returned yet.
/// </summary>
public static class ReplyReader
{
    /// <summary>Longest reply accepted, all lines together; a server sending more is broken or hostile.</summary>
    public const int MaxReplyLength = 64 * 1024;

    /// <summary>
    /// Returns true with the reply and the bytes it used when <paramref name="input"/> starts with a
    /// complete reply. Malformed input (no 3-digit code, mixed codes, over-long) throws
    /// <see cref="FormatException"/>: the session treats that as a protocol failure.
    /// </summary>
    public static bool TryRead(ReadOnlySpan<byte> input, out SmtpReply reply, out int consumed)
    {
        reply = null!;
        consumed = 0;
        var lines = new List<string>(4);
        var code = -1;
        var position = 0;
        while (true)
        {
            var rest = input[position..];
            var lf = rest.IndexOf((byte)'\n');
            if (lf < 0)
            {
                if (input.Length > MaxReplyLength) throw new FormatException("reply too long");
                return false;
            }
            var line = rest[..lf];
            if (line.Length > 0 && line[^1] == '\r') line = line[..^1];
            if (line.Length < 3 || !IsDigit(line[0]) || !IsDigit(line[1]) || !IsDigit(line[2]))
                throw Malformed(line);
            var lineCode = (line[0] - '0') * 100 + (line[1] - '0') * 10 + (line[2] - '0');
            if (code >= 0 && lineCode != code) throw new FormatException($"reply code changed from {code} to {lineCode} within one reply");
            code = lineCode;
            var last = line.Length == 3 || line[3] == ' ';
            if (!last && line[3] != '-') throw Malformed(line);
            if (line.IndexOf((byte)'\r') >= 0) throw Malformed(line); // a CR inside a line: the text of no reply
            // The text goes into log lines and bounces: its control characters are escaped here, once.
            lines.Add(line.Length > 4 ? PeerText.Printable(Encoding.UTF8.GetString(line[4..])) : "");
            position += lf + 1;
            if (position > MaxReplyLength) throw new FormatException("reply too long");
            if (!last) continue;

            if (code is < 200 or > 599) throw new FormatException($"reply code {code} out of range");
            consumed = position;
            reply = Create(code, lines);
            return true;
        }
    }

    /// <summary>Keeps an enhanced status code (RFC 3463) found at the start of the first line, as a separate field.</summary>
    private static SmtpReply Create(int code, List<string> lines)
    {
        var first = lines[0];
        var space = first.IndexOf(' ');
        var candidate = space < 0 ? first : first[..space];
        if (EnhancedStatusCode.IsValid(candidate, code) && lines.TrueForAll(l => l.StartsWith(candidate, StringComparison.Ordinal)))
        {
            var texts = lines.Select(l => l.Length > candidate.Length ? l[(candidate.Length + 1)..] : "").ToArray();
            return new SmtpReply(code, candidate, texts);
        }
        return new SmtpReply(code, null, [.. lines]);
    }

    private static FormatException Malformed(ReadOnlySpan<byte> line) => new($"malformed reply line \"{PeerText.Escape(line)}\"");

    private static bool IsDigit(byte b) => b is >= (byte)'0' and <= (byte)'9';
}
