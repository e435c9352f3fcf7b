namespace ActorMta.Smtp;

// Commands that build a mail transaction.

/// <summary>MAIL FROM. <see cref="From"/> is null for the null reverse path "&lt;&gt;".</summary>
public sealed record MailCommand(Mailbox? From, MailParameters Parameters) : SmtpCommand(SmtpVerb.Mail);

/// <summary>
/// RCPT TO. "&lt;Postmaster&gt;" without a domain (any case) arrives as <c>Mailbox("Postmaster", "")</c>
/// because RFC 5321 4.5.1 requires it to be accepted.
/// </summary>
public sealed record RcptCommand(Mailbox To, RcptParameters Parameters) : SmtpCommand(SmtpVerb.Rcpt);

public sealed record DataCommand() : SmtpCommand(SmtpVerb.Data);

/// <summary>BDAT (RFC 3030): <see cref="Size"/> octets of content follow the command line.</summary>
public sealed record BdatCommand(long Size, bool Last) : SmtpCommand(SmtpVerb.Bdat);
