using System.Buffers.Text;
using System.Text;

namespace ActorMta.Smtp;

/// <summary>MAIL FROM parameters: SIZE (RFC 1870), BODY (RFC 6152, 3030), SMTPUTF8 (RFC 6531),
/// RET and ENVID (RFC 3461), AUTH (RFC 4954). Anything else, or any of them twice, is 555.</summary>
internal static class MailParameterParser
{
    // RFC 3461 4.4: ENVID is at most 100 characters.
    private const int MaxEnvIdLength = 100;

    [Flags]
    private enum Seen
    {
        None = 0,
        Size = 1,
        Body = 2,
        SmtpUtf8 = 4,
        Ret = 8,
        EnvId = 16,
        Auth = 32,
    }

    public static SmtpReply? TryParse(ReadOnlySpan<byte> rest, out MailParameters parameters)
    {
        parameters = MailParameters.None;
        long? size = null;
        BodyType body = BodyType.Unspecified;
        bool smtpUtf8 = false;
        string? ret = null, envId = null, auth = null;
        Seen seen = Seen.None;

        while (!rest.TrimStart((byte)' ').IsEmpty)
        {
            if (EsmtpParameter.TryRead(ref rest, out EsmtpParameter p) is { } error)
            {
                return error;
            }

            Seen which = Identify(p.Keyword);
            if (which == Seen.None)
            {
                return CommandErrors.UnknownParameter;
            }

            if ((seen & which) != 0)
            {
                return CommandErrors.DuplicateParameter;
            }

            seen |= which;
            bool ok = which switch
            {
                Seen.Size => TryParseSize(p, out size),
                Seen.Body => TryParseBody(p, out body),
                Seen.SmtpUtf8 => smtpUtf8 = !p.HasValue,
                Seen.Ret => TryParseRet(p, out ret),
                Seen.EnvId => p.HasValue && p.Value.Length <= MaxEnvIdLength && Xtext.TryDecode(p.Value, out envId),
                Seen.Auth => TryParseAuth(p, out auth),
                _ => false,
            };
            if (!ok)
            {
                return CommandErrors.BadParameterValue;
            }
        }

        if (seen != Seen.None)
        {
            parameters = new MailParameters(size, body, smtpUtf8, ret, envId, auth);
        }

        return null;
    }

    private static Seen Identify(ReadOnlySpan<byte> keyword)
    {
        if (Ascii.EqualsIgnoreCase(keyword, "SIZE"u8))
        {
            return Seen.Size;
        }

        if (Ascii.EqualsIgnoreCase(keyword, "BODY"u8))
        {
            return Seen.Body;
        }

        if (Ascii.EqualsIgnoreCase(keyword, "SMTPUTF8"u8))
        {
            return Seen.SmtpUtf8;
        }

        if (Ascii.EqualsIgnoreCase(keyword, "RET"u8))
        {
            return Seen.Ret;
        }

        if (Ascii.EqualsIgnoreCase(keyword, "ENVID"u8))
        {
            return Seen.EnvId;
        }

        return Ascii.EqualsIgnoreCase(keyword, "AUTH"u8) ? Seen.Auth : Seen.None;
    }

    private static bool TryParseSize(EsmtpParameter p, out long? size)
    {
        size = null;

        // size-value = 1*20DIGIT; Utf8Parser alone would also take a sign or stop early.
        if (!p.HasValue || p.Value.Length > 20 || p.Value.ContainsAnyExceptInRange((byte)'0', (byte)'9'))
        {
            return false;
        }

        if (!Utf8Parser.TryParse(p.Value, out long value, out int used) || used != p.Value.Length)
        {
            return false;
        }

        size = value;
        return true;
    }

    private static bool TryParseBody(EsmtpParameter p, out BodyType body)
    {
        body = BodyType.Unspecified;
        if (!p.HasValue)
        {
            return false;
        }

        if (Ascii.EqualsIgnoreCase(p.Value, "7BIT"u8))
        {
            body = BodyType.SevenBit;
        }
        else if (Ascii.EqualsIgnoreCase(p.Value, "8BITMIME"u8))
        {
            body = BodyType.EightBitMime;
        }
        else if (Ascii.EqualsIgnoreCase(p.Value, "BINARYMIME"u8))
        {
            body = BodyType.BinaryMime;
        }

        return body != BodyType.Unspecified;
    }

    private static bool TryParseRet(EsmtpParameter p, out string? ret)
    {
        ret = !p.HasValue ? null
            : Ascii.EqualsIgnoreCase(p.Value, "FULL"u8) ? "FULL"
            : Ascii.EqualsIgnoreCase(p.Value, "HDRS"u8) ? "HDRS"
            : null;
        return ret is not null;
    }

    // AUTH=<> or AUTH=xtext(mailbox) (RFC 4954 5).
    private static bool TryParseAuth(EsmtpParameter p, out string? auth)
    {
        auth = null;
        if (!p.HasValue)
        {
            return false;
        }

        if (p.Value.SequenceEqual("<>"u8))
        {
            auth = "<>";
            return true;
        }

        return Xtext.TryDecode(p.Value, out auth);
    }
}
