namespace ActorMta.Smtp;

/// <summary>The SMTP verbs the parser recognises. <see cref="Unknown"/> is a verb it does not know.</summary>
public enum SmtpVerb
{
    Unknown,
    Helo,
    Ehlo,
    Mail,
    Rcpt,
    Data,
    Bdat,
    Rset,
    Noop,
    Quit,
    Vrfy,
    Expn,
    Help,
    StartTls,
    Auth,
}
