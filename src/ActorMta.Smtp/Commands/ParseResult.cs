namespace ActorMta.Smtp;

/// <summary>The outcome of parsing one command line: exactly one of the two is non-null.</summary>
public readonly record struct ParseResult(SmtpCommand? Command, SmtpReply? Error)
{
    public bool IsSuccess => Command is not null;

    internal static ParseResult Ok(SmtpCommand command) => new(command, null);

    internal static ParseResult Fail(SmtpReply error) => new(null, error);
}
