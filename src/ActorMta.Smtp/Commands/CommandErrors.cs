namespace ActorMta.Smtp;

/// <summary>
/// The syntax-error replies the parser returns. Static so that a client sending garbage costs no
/// allocation per line. The split follows RFC 5321 4.2.4 and RFC 3463: 500 5.5.2 when the line is not
/// a command at all, 501 5.5.4 for bad arguments, 555 5.5.4 for MAIL/RCPT parameters (RFC 5321 4.1.1.11).
/// </summary>
public static class CommandErrors
{
    public static readonly SmtpReply EmptyLine = new(500, "5.5.2", "Syntax error, empty command");

    public static readonly SmtpReply NotText = new(500, "5.5.2", "Syntax error, command contains invalid characters");

    public static readonly SmtpReply LineTooLong = new(500, "5.5.6", "Line too long");

    public static readonly SmtpReply HeloSyntax = new(501, "5.5.4", "Syntax: HELO/EHLO <domain>");

    public static readonly SmtpReply MailSyntax = new(501, "5.5.4", "Syntax: MAIL FROM:<address> [parameters]");

    public static readonly SmtpReply RcptSyntax = new(501, "5.5.4", "Syntax: RCPT TO:<address> [parameters]");

    public static readonly SmtpReply TrailingGarbage = new(501, "5.5.4", "Syntax error, unexpected text after the address");

    public static readonly SmtpReply BadAddress = new(501, "5.5.4", "Bad address syntax");

    public static readonly SmtpReply BdatSyntax = new(501, "5.5.4", "Syntax: BDAT <size> [LAST]");

    public static readonly SmtpReply AuthSyntax = new(501, "5.5.4", "Syntax: AUTH <mechanism> [initial-response]");

    public static readonly SmtpReply ArgumentRequired = new(501, "5.5.4", "Syntax error, argument required");

    public static readonly SmtpReply NoArgumentsAllowed = new(501, "5.5.4", "Syntax error, no parameters allowed");

    public static readonly SmtpReply UnknownParameter = new(555, "5.5.4", "Unsupported parameter");

    public static readonly SmtpReply DuplicateParameter = new(555, "5.5.4", "Duplicate parameter");

    public static readonly SmtpReply BadParameterValue = new(555, "5.5.4", "Invalid parameter value");
}
