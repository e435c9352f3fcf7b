namespace ActorMta.Smtp;

/// <summary>
/// One parsed command line. The concrete records below are the whole command set; the session
/// switches on the type (or on <see cref="Verb"/> for table lookups) and never looks at raw bytes again.
/// </summary>
public abstract record SmtpCommand(SmtpVerb Verb);
