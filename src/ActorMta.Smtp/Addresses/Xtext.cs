using System.Buffers;
using System.Text;

namespace ActorMta.Smtp;

/// <summary>
/// xtext (RFC 3461 4): printable ASCII except '+' and '=' stands for itself, any other octet is "+XX"
/// with upper-case hex. Used by ENVID, ORCPT and AUTH=.
/// </summary>
public static class Xtext
{
    /// <summary>
    /// Decodes xtext octets (as they arrive in a command line) to a string, the decoded octets read as
    /// UTF-8. False when the input is not xtext or the octets are not UTF-8. Lower-case hex is accepted,
    /// as some senders write it.
    /// </summary>
    public static bool TryDecode(ReadOnlySpan<byte> text, out string value)
    {
        value = string.Empty;
        if (text.IndexOf((byte)'+') < 0)
        {
            // The common case, nothing escaped: validate and convert in one step.
            foreach (byte b in text)
            {
                if (!IsXchar(b))
                {
                    return false;
                }
            }

            value = Encoding.ASCII.GetString(text);
            return true;
        }

        // Decoding only shrinks, so the input length bounds the output.
        byte[]? rented = null;
        Span<byte> octets = text.Length <= 256 ? stackalloc byte[256] : (rented = ArrayPool<byte>.Shared.Rent(text.Length));
        try
        {
            int n = 0;
            for (int i = 0; i < text.Length; i++)
            {
                byte b = text[i];
                if (b == (byte)'+')
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
                else if (IsXchar(b))
                {
                    octets[n++] = b;
                }
                else
                {
                    return false;
                }
            }

            if (!System.Text.Unicode.Utf8.IsValid(octets[..n]))
            {
                return false;
            }

            value = Encoding.UTF8.GetString(octets[..n]);
            return true;
        }
        finally
        {
            if (rented is not null)
            {
                ArrayPool<byte>.Shared.Return(rented);
            }
        }
    }

    /// <summary>Decodes xtext held in a string.</summary>
    public static bool TryDecode(string text, out string value)
    {
        value = string.Empty;
        if (!Ascii.IsValid(text))
        {
            return false;
        }

        return TryDecode(Encoding.ASCII.GetBytes(text), out value);
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
            if (IsXchar(b))
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

    /// <summary>True when <paramref name="text"/> is well-formed xtext.</summary>
    public static bool IsValid(ReadOnlySpan<byte> text) => TryDecode(text, out _);

    private static bool IsXchar(byte b) => b is >= (byte)'!' and <= (byte)'~' and not (byte)'+' and not (byte)'=';

    private static int HexValue(byte c) => c switch
    {
        >= (byte)'0' and <= (byte)'9' => c - '0',
        >= (byte)'A' and <= (byte)'F' => c - 'A' + 10,
        >= (byte)'a' and <= (byte)'f' => c - 'a' + 10,
        _ => -1,
    };
}
