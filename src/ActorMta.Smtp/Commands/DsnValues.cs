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

    /// <summary>RET's value upper-cased ("FULL" or "HDRS"), or null.</summary>
    public static string? Ret(string text)
    {
        string ret = text.Trim().ToUpperInvariant();
        return ret is "FULL" or "HDRS" ? ret : null;
    }
}
