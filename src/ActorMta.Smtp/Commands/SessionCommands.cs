namespace ActorMta.Smtp;

// Commands that manage the session rather than a mail transaction.

/// <summary>HELO: the domain is stored as given (it is informational, RFC 5321 4.1.4).</summary>
public sealed record HeloCommand(string Domain) : SmtpCommand(SmtpVerb.Helo);

/// <summary>EHLO: the domain may be an address literal such as "[192.0.2.1]" or "[IPv6:2001:db8::1]".</summary>
public sealed record EhloCommand(string Domain) : SmtpCommand(SmtpVerb.Ehlo);

public sealed record RsetCommand() : SmtpCommand(SmtpVerb.Rset);

public sealed record NoopCommand() : SmtpCommand(SmtpVerb.Noop);

public sealed record QuitCommand() : SmtpCommand(SmtpVerb.Quit);

public sealed record StartTlsCommand() : SmtpCommand(SmtpVerb.StartTls);

/// <summary>
/// AUTH (RFC 4954). <see cref="Mechanism"/> is upper-cased; <see cref="InitialResponse"/> is the
/// base64 text as sent ("=" stands for an empty response), not decoded: the SASL layer owns that.
/// </summary>
public sealed record AuthCommand(string Mechanism, string? InitialResponse) : SmtpCommand(SmtpVerb.Auth);
