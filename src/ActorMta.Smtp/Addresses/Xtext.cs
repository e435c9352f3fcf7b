using System.Text;

namespace ActorMta.Smtp;

/// <summary>
/// xtext (RFC 3461 4): printable ASCII except '+' and '=' stands for itself, any other octet is "+XX"
/// with upper-case hex. Used by ENVID, ORCPT and AUTH=.
/// </summary>
public static class Xtext
{
    /// <summary>Decodes xtext to a string (the octets read as UTF-8). False when the text is not xtext
    /// or the octets are not UTF-8. Lower-case hex is accepted, as senders get that wrong.</summary>
    public static bool TryDecode(ReadOnlySpan<char> text, out string value)
    {
        value = string.Empty;
        if (text.IndexOf('+') < 0)
        {
            // The common case, nothing escaped: just validate.
            foreach (char c in text)
            {
                if (!IsXchar(c))
                {
                    return false;
                }
            }

            value = text.ToString();
            return true;
        }

        byte[] octets = new byte[text.Length];
        int n = 0;
        for (int i = 0; i < text.Length; i++)
        {
            char c = text[i];
            if (c == '+')
            {
                if (i + 2 >= text.Length)
                {
                    return false;
                }

                int hi = HexValue(text[i + 1]);
                int lo = HexValue(text[i + 2]);
                if (hi < 0 || lo < 0)
                {
                    return false;
                }

                octets[n++] = (byte)((hi << 4) | lo);
                i += 2;
            }
            else if (IsXchar(c))
            {
                octets[n++] = (byte)c;
            }
            else
            {
                return false;
            }
        }

        if (!System.Text.Unicode.Utf8.IsValid(octets.AsSpan(0, n)))
        {
            return false;
        }

        value = Encoding.UTF8.GetString(octets, 0, n);
        return true;
    }

    /// <summary>Decodes xtext; <see cref="FormatException"/> when it is not xtext.</summary>
    public static string Decode(string text) =>
        TryDecode(text, out string value) ? value : throw new FormatException($"'{text}' is not valid xtext.");

    /// <summary>Encodes a string's UTF-8 octets as xtext.</summary>
    public static string Encode(string value)
    {
        var sb = new StringBuilder(value.Length);
        foreach (byte b in Encoding.UTF8.GetBytes(value))
        {
            if (IsXchar((char)b))
            {
                sb.Append((char)b);
            }
            else
            {
                sb.Append('+').Append(b.ToString("X2", System.Globalization.CultureInfo.InvariantCulture));
            }
        }

        return sb.ToString();
    }

    private static bool IsXchar(char c) => c is >= '!' and <= '~' and not '+' and not '=';

    private static int HexValue(char c) => c switch
    {
        >= '0' and <= '9' => c - '0',
        >= 'A' and <= 'F' => c - 'A' + 10,
        >= 'a' and <= 'f' => c - 'a' + 10,
        _ => -1,
    };
}
