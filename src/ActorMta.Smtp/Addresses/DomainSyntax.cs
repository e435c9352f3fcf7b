using System.Net;
using System.Net.Sockets;
using System.Text;

namespace ActorMta.Smtp;

/// <summary>
/// RFC 5321 4.1.2/4.1.3 domain and address-literal syntax over UTF-8 octets. Non-ASCII octets are
/// accepted as label characters (RFC 6531 U-labels); the caller has already checked the line is UTF-8.
/// </summary>
internal static class DomainSyntax
{
    private const int MaxDomainLength = 255;
    private const int MaxLabelLength = 63;

    /// <summary>sub-domain *("." sub-domain). <paramref name="allowUnderscore"/> for HELO names, where
    /// Windows hosts routinely send them and refusing helps nobody.</summary>
    public static bool IsDomain(ReadOnlySpan<byte> s, bool allowUnderscore)
    {
        if (s.IsEmpty || s.Length > MaxDomainLength)
        {
            return false;
        }

        foreach (Range r in s.Split((byte)'.'))
        {
            if (!IsLabel(s[r], allowUnderscore))
            {
                return false;
            }
        }

        return true;
    }

    /// <summary>RFC 5321's <c>Domain / address-literal</c>, the domain of a path (no underscores there).</summary>
    public static bool IsPathDomain(ReadOnlySpan<byte> s)
        => s.Length > 0 && s[0] == (byte)'[' ? IsAddressLiteral(s) : IsDomain(s, allowUnderscore: false);

    /// <summary>"[" (IPv4 / "IPv6:" IPv6 / tag ":" dcontent) "]", brackets included in <paramref name="s"/>.</summary>
    public static bool IsAddressLiteral(ReadOnlySpan<byte> s)
    {
        if (s.Length < 3 || s[0] != (byte)'[' || s[^1] != (byte)']')
        {
            return false;
        }

        ReadOnlySpan<byte> inner = s[1..^1];
        if (IsIPv4(inner))
        {
            return true;
        }

        int colon = inner.IndexOf((byte)':');
        if (colon <= 0)
        {
            return false;
        }

        ReadOnlySpan<byte> tag = inner[..colon];
        ReadOnlySpan<byte> content = inner[(colon + 1)..];
        if (Ascii.EqualsIgnoreCase(tag, "IPv6"u8))
        {
            return IsIPv6(content);
        }

        // General-address-literal: Standardized-tag ":" 1*dcontent. Accepted for syntax only.
        if (!IsLabel(tag, allowUnderscore: false) || content.IsEmpty)
        {
            return false;
        }

        foreach (byte b in content)
        {
            if (b is < 33 or > 126 or (byte)'[' or (byte)']' or (byte)'\\')
            {
                return false;
            }
        }

        return true;
    }

    /// <summary>Four dot-separated decimal numbers 0-255 (Snum), no other forms ("1", "0x7f") that parsers of IP text accept.</summary>
    public static bool IsIPv4(ReadOnlySpan<byte> s)
    {
        int parts = 0;
        foreach (Range r in s.Split((byte)'.'))
        {
            ReadOnlySpan<byte> part = s[r];
            if (part.Length is 0 or > 3 || ++parts > 4)
            {
                return false;
            }

            int value = 0;
            foreach (byte b in part)
            {
                if (!char.IsAsciiDigit((char)b))
                {
                    return false;
                }

                value = (value * 10) + (b - '0');
            }

            if (value > 255)
            {
                return false;
            }
        }

        return parts == 4;
    }

    private static bool IsIPv6(ReadOnlySpan<byte> s)
    {
        // Only hex digits, ':' and '.' (for the embedded IPv4 form): this also keeps out the "%scope"
        // suffix that IPAddress would accept.
        if (s.IsEmpty || s.Length > 45)
        {
            return false;
        }

        Span<char> chars = stackalloc char[s.Length];
        for (int i = 0; i < s.Length; i++)
        {
            byte b = s[i];
            if (!char.IsAsciiHexDigit((char)b) && b != (byte)':' && b != (byte)'.')
            {
                return false;
            }

            chars[i] = (char)b;
        }

        return IPAddress.TryParse(chars, out IPAddress? address) && address.AddressFamily == AddressFamily.InterNetworkV6;
    }

    private static bool IsLabel(ReadOnlySpan<byte> label, bool allowUnderscore)
    {
        // Let-dig [Ldh-str]: no hyphen at either end. Length in octets, as DNS counts it.
        if (label.IsEmpty || label.Length > MaxLabelLength || label[0] == (byte)'-' || label[^1] == (byte)'-')
        {
            return false;
        }

        foreach (byte b in label)
        {
            bool ok = b >= 0x80 || char.IsAsciiLetterOrDigit((char)b) || b == (byte)'-' || (allowUnderscore && b == (byte)'_');
            if (!ok)
            {
                return false;
            }
        }

        return true;
    }
}
