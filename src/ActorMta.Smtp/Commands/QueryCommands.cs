namespace ActorMta.Smtp;

// Commands that ask the server something and change no state.

/// <summary>VRFY: the argument is kept as given (a user name or a mailbox, RFC 5321 3.5).</summary>
public sealed record VrfyCommand(string Argument) : SmtpCommand(SmtpVerb.Vrfy);

public sealed record ExpnCommand(string Argument) : SmtpCommand(SmtpVerb.Expn);

public sealed record HelpCommand(string? Topic) : SmtpCommand(SmtpVerb.Help);

/// <summary>
/// A verb the parser does not know. Not a parse error: the session decides the reply (500) and
/// may count it towards a limit of bad commands. <see cref="Verb"/> here is the word as sent; it hides
/// <see cref="SmtpCommand.Verb"/>, which stays <see cref="SmtpVerb.Unknown"/> when seen through the base type.
/// </summary>
public sealed record UnknownCommand(string Verb) : SmtpCommand(SmtpVerb.Unknown)
{
    public new string Verb { get; init; } = Verb;
}
