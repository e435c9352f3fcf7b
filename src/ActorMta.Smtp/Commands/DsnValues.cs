using System.Text;

namespace ActorMta.Smtp;

/// <summary>RFC 3461 values given outside SMTP (sendmail's <c>-N</c> and <c>-R</c>), checked by the same rules as RCPT's and MAIL's.</summary>
public static class DsnValues
{
    /// <summary>NOTIFY's value upper-cased ("SUCCESS,FAILURE"), or null when it is not "NEVER" or a list of SUCCESS, FAILURE and DELAY.</summary>
    public static string? Notify(string text)
    {
        string upper = text.Trim().ToUpperInvariant();
        return upper.Length > 0 && Ascii.IsValid(upper) && RcptParameterParser.TryParseNotify(Encoding.ASCII.GetBytes(upper), out _) ? upper : null;
    }

    /// <summary>
    /// Whether a recipient with this NOTIFY value (as kept in the envelope, or null) asks to hear of
    /// <paramref name="outcome"/>: without NOTIFY, of a failure or a delay and not of a success
    /// (RFC 3461 section 4.1); with it, of what it names.
    /// </summary>
    public static bool Asks(string? notify, DsnNotify outcome)
    {
        if (string.IsNullOrWhiteSpace(notify)) return outcome is DsnNotify.Failure or DsnNotify.Delay;
        return RcptParameterParser.TryParseNotify(Encoding.ASCII.GetBytes(notify.Trim()), out DsnNotify named) && (named & outcome) != 0;
    }

    /// <summary>RET's value upper-cased ("FULL" or "HDRS"), or null.</summary>
    public static string? Ret(string text)
    {
        string ret = text.Trim().ToUpperInvariant();
        return ret is "FULL" or "HDRS" ? ret : null;
    }
}
