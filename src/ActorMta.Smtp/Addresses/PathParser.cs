using System.Text;

namespace ActorMta.Smtp;

/// <summary>
/// Parses a path "&lt;...&gt;" (RFC 5321 4.1.2) from the start of a span: optional source route (accepted
/// and discarded, as RFC 5321 appendix C asks), then a mailbox. Rejects anything the grammar does not
/// allow rather than guessing, because a lenient parse here is where two MTAs start to disagree.
/// </summary>
internal static class PathParser
{
    private const string PostmasterName = "Postmaster";

    /// <summary>
    /// Parses a reverse path (MAIL: "&lt;&gt;" allowed, giving null) or a forward path (RCPT: "&lt;Postmaster&gt;"
    /// allowed). <paramref name="consumed"/> is the length up to and including '&gt;'. False on bad syntax.
    /// </summary>
    public static bool TryParse(ReadOnlySpan<byte> s, bool reversePath, out Mailbox? mailbox, out int consumed)
    {
        mailbox = null;
        consumed = 0;
        if (s.IsEmpty || s[0] != (byte)'<')
        {
            return false;
        }

        int i = 1;
        if (reversePath && s.Length > 1 && s[1] == (byte)'>')
        {
            consumed = 2;
            return true;
        }

        if (i < s.Length && s[i] == (byte)'@' && !TrySkipSourceRoute(s, ref i))
        {
            return false;
        }

        if (!TryReadLocalPart(s, ref i, out string? localPart, out bool quoted))
        {
            return false;
        }

        if (i < s.Length && s[i] == (byte)'>')
        {
            // Only RCPT TO:<Postmaster> may omit the domain (RFC 5321 4.1.1.3).
            if (reversePath || quoted || !localPart.Equals(PostmasterName, StringComparison.OrdinalIgnoreCase))
            {
                return false;
            }

            mailbox = new Mailbox(PostmasterName, string.Empty);
            consumed = i + 1;
            return true;
        }

        if (i >= s.Length || s[i] != (byte)'@')
        {
            return false;
        }

        i++;
        int end = s[i..].IndexOf((byte)'>');
        if (end < 0)
        {
            return false;
        }

        ReadOnlySpan<byte> domain = s.Slice(i, end);
        if (!DomainSyntax.IsPathDomain(domain))
        {
            return false;
        }

        mailbox = new Mailbox(localPart, Encoding.UTF8.GetString(domain));
        consumed = i + end + 1;
        return true;
    }

    // A-d-l = At-domain *( "," At-domain ) ":" ; At-domain = "@" Domain
    private static bool TrySkipSourceRoute(ReadOnlySpan<byte> s, ref int i)
    {
        while (true)
        {
            if (i >= s.Length || s[i] != (byte)'@')
            {
                return false;
            }

            i++;
            int end = s[i..].IndexOfAny((byte)',', (byte)':', (byte)'>');
            if (end < 0 || s[i + end] == (byte)'>')
            {
                return false;
            }

            if (!DomainSyntax.IsPathDomain(s.Slice(i, end)))
            {
                return false;
            }

            i += end + 1;
            if (s[i - 1] == (byte)':')
            {
                return true;
            }
        }
    }

    private static bool TryReadLocalPart(ReadOnlySpan<byte> s, ref int i, out string localPart, out bool quoted)
    {
        localPart = string.Empty;
        quoted = i < s.Length && s[i] == (byte)'"';
        return quoted ? TryReadQuoted(s, ref i, out localPart) : TryReadDotString(s, ref i, out localPart);
    }

    private static bool TryReadDotString(ReadOnlySpan<byte> s, ref int i, out string localPart)
    {
        localPart = string.Empty;
        int start = i;
        bool atomStart = true;
        for (; i < s.Length; i++)
        {
            byte b = s[i];
            if (b == (byte)'.')
            {
                if (atomStart)
                {
                    return false;
                }

                atomStart = true;
            }
            else if (LocalPartSyntax.IsAtext(b))
            {
                atomStart = false;
            }
            else
            {
                break;
            }
        }

        // Empty, or ending in a dot: not a Dot-string.
        if (atomStart)
        {
            return false;
        }

        localPart = Encoding.UTF8.GetString(s[start..i]);
        return true;
    }

    // Quoted-string = DQUOTE *QcontentSMTP DQUOTE. The value is stored unquoted and unescaped.
    private static bool TryReadQuoted(ReadOnlySpan<byte> s, ref int i, out string localPart)
    {
        localPart = string.Empty;
        int start = ++i;
        bool escaped = false;
        for (; i < s.Length; i++)
        {
            byte b = s[i];
            if (b == (byte)'"')
            {
                ReadOnlySpan<byte> raw = s[start..i];
                i++;
                localPart = escaped ? Unescape(raw) : Encoding.UTF8.GetString(raw);
                return true;
            }

            if (b == (byte)'\\')
            {
                // quoted-pairSMTP = "\" followed by any ASCII graphic or space.
                if (i + 1 >= s.Length || s[i + 1] is < 32 or > 126)
                {
                    return false;
                }

                escaped = true;
                i++;
            }
            else if (b < 32 || b == 127)
            {
                return false;
            }
        }

        return false;
    }

    private static string Unescape(ReadOnlySpan<byte> raw)
    {
        byte[] buffer = new byte[raw.Length];
        int n = 0;
        for (int j = 0; j < raw.Length; j++)
        {
            if (raw[j] == (byte)'\\')
            {
                j++;
            }

            buffer[n++] = raw[j];
        }

        return Encoding.UTF8.GetString(buffer, 0, n);
    }
}
