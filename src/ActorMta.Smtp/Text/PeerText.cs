using System.Globalization;
using System.Text;

namespace ActorMta.Smtp;

/// <summary>
/// What the other side sent, made safe for one main-log line and for a bounce the way Exim quotes
/// it (<c>\r</c>, <c>\n</c>, <c>\xNN</c>): a client's bytes, a server's reply. Without it a peer could
/// break a log line in two, or put terminal escape sequences in front of whoever reads the log.
/// </summary>
public static class PeerText
{
    /// <summary>Raw bytes, which may be anything: printable ASCII as it is, every other byte escaped.</summary>
    public static string Escape(ReadOnlySpan<byte> bytes)
    {
        var sb = new StringBuilder(bytes.Length + 8);
        foreach (var b in bytes)
        {
            switch (b)
            {
                case (byte)'\r': sb.Append("\\r"); break;
                case (byte)'\n': sb.Append("\\n"); break;
                case (byte)'\t': sb.Append("\\t"); break;
                case (byte)'\\': sb.Append("\\\\"); break;
                case (byte)'"': sb.Append("\\\""); break;
                case < 0x20 or >= 0x7f: sb.Append("\\x").Append(b.ToString("x2", CultureInfo.InvariantCulture)); break;
                default: sb.Append((char)b); break;
            }
        }
        return sb.ToString();
    }

    /// <summary>
    /// Decoded text (a reply's, which RFC 6531 lets be UTF-8): control characters, C0 but the tab,
    /// DEL and C1, become <c>\xNN</c>; letters of any script stay as they are. Text without any is
    /// returned as it is.
    /// </summary>
    public static string Printable(string text)
    {
        int i = 0;
        while (i < text.Length && !IsControl(text[i])) i++;
        if (i == text.Length) return text;
        var sb = new StringBuilder(text.Length + 8).Append(text, 0, i);
        for (; i < text.Length; i++)
        {
            char c = text[i];
            if (IsControl(c)) sb.Append("\\x").Append(((int)c).ToString("x2", CultureInfo.InvariantCulture));
            else sb.Append(c);
        }
        return sb.ToString();
    }

    private static bool IsControl(char c) => c is (< ' ' and not '\t') or (>= '\x7f' and <= '\x9f');
}
