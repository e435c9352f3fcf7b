using ActorMta.Smtp;

namespace ActorMta.Inbound;

/// <summary>The server's fixed replies, built once. Texts follow Exim where operators know them.</summary>
internal static class Replies
{
    public static readonly SmtpReply Ok = new(250, "2.0.0", "OK");
    public static readonly SmtpReply SenderOk = new(250, "2.1.0", "Sender OK");
    public static readonly SmtpReply RecipientOk = new(250, "2.1.5", "Recipient OK");
    public static readonly SmtpReply ResetOk = new(250, "2.0.0", "Reset OK");
    public static readonly SmtpReply StartData = new(354, null, "Enter message, ending with \".\" on a line by itself");
    public static readonly SmtpReply Help = new(214, "2.0.0",
        "Commands supported:",
        "EHLO HELO MAIL RCPT DATA BDAT RSET NOOP QUIT VRFY HELP");
    public static readonly SmtpReply CannotVerify = new(252, "2.1.5", "Cannot VRFY user, but will accept message and attempt delivery");
    public static readonly SmtpReply ExpnNotAvailable = new(502, "5.5.1", "EXPN not available");
    public static readonly SmtpReply AuthNotAvailable = new(503, "5.5.1", "AUTH command used when not advertised");
    public static readonly SmtpReply Unrecognized = new(500, "5.5.2", "Unrecognized command");
    public static readonly SmtpReply LineTooLong = new(500, "5.5.6", "Line too long");
    public static readonly SmtpReply SynchronizationError = new(554, "5.5.0", "SMTP synchronization error");
    public static readonly SmtpReply BinaryMimeNotSupported = new(555, "5.5.4", "BODY=BINARYMIME is not supported");
    public static readonly SmtpReply InternationalWithoutSmtpUtf8 = new(553, "5.6.7", "UTF-8 address needs the SMTPUTF8 parameter");
    public static readonly SmtpReply TooManyRecipients = new(452, "4.5.3", "Too many recipients");
    public static readonly SmtpReply InsufficientStorage = new(452, "4.3.1", "Insufficient system storage, please try again later");
    public static readonly SmtpReply RelayDenied = new(550, "5.7.1", "Relay not permitted");
    public static readonly SmtpReply UnknownUser = new(550, "5.1.1", "Unknown user");
    public static readonly SmtpReply SpoolFailure = new(451, "4.3.0", "Local error in processing: message not accepted, please try again later");
    public static readonly SmtpReply BareLineEnding = new(550, "5.6.0", "Message contains a bare CR or LF; lines must end with CRLF (SMTP smuggling protection)");
    public static readonly SmtpReply NoValidRecipients = new(554, "5.5.1", "No valid recipients");

    public static SmtpReply Banner(string text) => new(220, null, text);
    public static SmtpReply Closing(string host) => new(221, "2.0.0", $"{host} closing connection");
    public static SmtpReply Timeout(string host) => new(421, "4.4.2", $"{host} SMTP command timeout - closing connection");
    public static SmtpReply TooManyBadCommands(string host) => new(421, "4.7.0", $"{host} Too many unrecognized or bad commands - closing connection");
    public static SmtpReply TooManyConnections(string host) => new(421, "4.7.0", $"{host} Too many concurrent SMTP connections; please try again later");
    public static SmtpReply ShuttingDown(string host) => new(421, "4.3.2", $"{host} Service shutting down - closing connection");
    public static SmtpReply TooManyMessages(string host) => new(421, "4.7.0", $"{host} Too many messages in this connection - closing connection");
    public static SmtpReply SizeAtMail(long max) => new(552, "5.3.4", $"Message size exceeds fixed maximum message size ({max} octets)");
    public static SmtpReply MailLoop(int received, int max) =>
        new(554, "5.4.6", $"Too many Received: header fields ({received}, more than {max}): suspected mail loop");

    public static SmtpReply TooBig(long max) => new(552, "5.3.4", $"Message size exceeds fixed maximum message size ({max} octets)");
    public static SmtpReply LineTooLongInData(int max) => new(550, "5.6.0", $"Message contains a line longer than {max} octets");
    public static SmtpReply Accepted(string id) => new(250, "2.0.0", $"OK id={id}");
    public static SmtpReply ChunkReceived(long size) => new(250, "2.0.0", $"{size} octets received");
}
