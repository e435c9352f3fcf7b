using System.Text;

namespace ActorMta.Smtp;

/// <summary>RCPT TO parameters: NOTIFY and ORCPT (RFC 3461 4.1, 4.2). Anything else, or either twice, is 555.</summary>
internal static class RcptParameterParser
{
    public static SmtpReply? TryParse(ReadOnlySpan<byte> rest, out RcptParameters parameters)
    {
        parameters = RcptParameters.None;
        DsnNotify notify = DsnNotify.Unspecified;
        string? notifyRaw = null, orcpt = null;

        while (!rest.TrimStart((byte)' ').IsEmpty)
        {
            if (EsmtpParameter.TryRead(ref rest, out EsmtpParameter p) is { } error)
            {
                return error;
            }

            if (Ascii.EqualsIgnoreCase(p.Keyword, "NOTIFY"u8))
            {
                if (notifyRaw is not null)
                {
                    return CommandErrors.DuplicateParameter;
                }

                if (!p.HasValue || !TryParseNotify(p.Value, out notify))
                {
                    return CommandErrors.BadParameterValue;
                }

                notifyRaw = Encoding.ASCII.GetString(p.Value).ToUpperInvariant();
            }
            else if (Ascii.EqualsIgnoreCase(p.Keyword, "ORCPT"u8))
            {
                if (orcpt is not null)
                {
                    return CommandErrors.DuplicateParameter;
                }

                if (!p.HasValue || !IsOrcpt(p.Value))
                {
                    return CommandErrors.BadParameterValue;
                }

                orcpt = Encoding.UTF8.GetString(p.Value);
            }
            else
            {
                return CommandErrors.UnknownParameter;
            }
        }

        if (notifyRaw is not null || orcpt is not null)
        {
            parameters = new RcptParameters(notify, notifyRaw, orcpt);
        }

        return null;
    }

    // "NEVER" / 1#("SUCCESS" / "FAILURE" / "DELAY"): NEVER must stand alone (RFC 3461 4.1).
    internal static bool TryParseNotify(ReadOnlySpan<byte> value, out DsnNotify notify)
    {
        notify = DsnNotify.Unspecified;
        foreach (Range r in value.Split((byte)','))
        {
            ReadOnlySpan<byte> item = value[r];
            DsnNotify flag =
                Ascii.EqualsIgnoreCase(item, "NEVER"u8) ? DsnNotify.Never
                : Ascii.EqualsIgnoreCase(item, "SUCCESS"u8) ? DsnNotify.Success
                : Ascii.EqualsIgnoreCase(item, "FAILURE"u8) ? DsnNotify.Failure
                : Ascii.EqualsIgnoreCase(item, "DELAY"u8) ? DsnNotify.Delay
                : DsnNotify.Unspecified;
            if (flag == DsnNotify.Unspecified)
            {
                return false;
            }

            notify |= flag;
        }

        return notify == DsnNotify.Never || (notify & DsnNotify.Never) == 0;
    }

    // orcpt-parameter = addr-type ";" xtext, addr-type an atom such as "rfc822" or "utf-8".
    private static bool IsOrcpt(ReadOnlySpan<byte> value)
    {
        int semi = value.IndexOf((byte)';');
        if (semi <= 0 || semi == value.Length - 1)
        {
            return false;
        }

        foreach (byte b in value[..semi])
        {
            if (b >= 0x80 || !LocalPartSyntax.IsAtext(b))
            {
                return false;
            }
        }

        return Xtext.IsValid(value[(semi + 1)..]);
    }
}
