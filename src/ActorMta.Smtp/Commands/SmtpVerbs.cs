namespace ActorMta.Smtp;

/// <summary>Facts about verbs that the session's state table needs.</summary>
public static class SmtpVerbs
{
    /// <summary>
    /// RFC 2920 3.1: these commands change the session in a way the client must see before it
    /// sends more, so they may only be the last command of a pipelined group. Anything that follows
    /// them in the same read is early input.
    /// </summary>
    public static bool EndsPipelineGroup(SmtpVerb verb) => verb switch
    {
        SmtpVerb.Ehlo or SmtpVerb.Helo or SmtpVerb.Data or SmtpVerb.Vrfy or SmtpVerb.Expn
            or SmtpVerb.Noop or SmtpVerb.Quit or SmtpVerb.StartTls or SmtpVerb.Auth => true,
        _ => false,
    };

    /// <summary>The verb as it is written on the wire, for replies such as "503 5.5.1 MAIL first".</summary>
    public static string ToWireName(SmtpVerb verb) => verb switch
    {
        SmtpVerb.Helo => "HELO",
        SmtpVerb.Ehlo => "EHLO",
        SmtpVerb.Mail => "MAIL",
        SmtpVerb.Rcpt => "RCPT",
        SmtpVerb.Data => "DATA",
        SmtpVerb.Bdat => "BDAT",
        SmtpVerb.Rset => "RSET",
        SmtpVerb.Noop => "NOOP",
        SmtpVerb.Quit => "QUIT",
        SmtpVerb.Vrfy => "VRFY",
        SmtpVerb.Expn => "EXPN",
        SmtpVerb.Help => "HELP",
        SmtpVerb.StartTls => "STARTTLS",
        SmtpVerb.Auth => "AUTH",
        _ => "UNKNOWN",
    };
}
