using System.Buffers;
using System.Text;

namespace ActorMta.Smtp;

/// <summary>RFC 5321 4.1.2 local-part character classes, shared by the parser and by <see cref="Mailbox.ToString"/>.</summary>
internal static class LocalPartSyntax
{
    // atext (RFC 5322 3.2.3) in ASCII. Non-ASCII is atext too under RFC 6531, handled by the callers.
    private static readonly SearchValues<byte> AtextBytes =
        SearchValues.Create("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789!#$%&'*+-/=?^_`{|}~"u8);

    public static bool IsAtext(byte b) => b >= 0x80 || AtextBytes.Contains(b);

    public static bool IsAtext(char c) => c >= 0x80 || AtextBytes.Contains((byte)c);

    /// <summary>Dot-string = Atom *("." Atom): no empty atom, so no leading, trailing or double dot.</summary>
    public static bool IsDotString(string value)
    {
        if (value.Length == 0)
        {
            return false;
        }

        bool atomStart = true;
        foreach (char c in value)
        {
            if (c == '.')
            {
                if (atomStart)
                {
                    return false;
                }

                atomStart = true;
            }
            else if (IsAtext(c))
            {
                atomStart = false;
            }
            else
            {
                return false;
            }
        }

        return !atomStart;
    }

    /// <summary>Quoted-string form: backslash before every '"' and '\' (the only characters qtextSMTP lacks).</summary>
    public static string Quote(string value)
    {
        var sb = new StringBuilder(value.Length + 4);
        sb.Append('"');
        foreach (char c in value)
        {
            if (c is '"' or '\\')
            {
                sb.Append('\\');
            }

            sb.Append(c);
        }

        sb.Append('"');
        return sb.ToString();
    }
}
