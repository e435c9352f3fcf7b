namespace ActorMta.Spool;

/// <summary>
/// Everything the SMTP transaction told us about a message besides its bytes: what the spool
/// persists beside the data file, and what the queue and delivery work from.
/// </summary>
/// <param name="MessageId">Spool id (Exim style, sortable by time, safe as a file name).</param>
/// <param name="Sender">Reverse path without angle brackets; empty for the null sender &lt;&gt;.</param>
/// <param name="Recipients">Forward paths in the order they were accepted.</param>
/// <param name="ReceivedAt">When the final 250 was about to be sent.</param>
/// <param name="HeloName">Name the client gave in EHLO/HELO, if any.</param>
/// <param name="ClientAddress">Client IP address as text (no brackets).</param>
/// <param name="ClientPort">Client TCP port.</param>
/// <param name="Protocol">Exim <c>P=</c> value: smtp, esmtp, utf8esmtp, ... (local submission: local).</param>
/// <param name="Body">RFC 6152 BODY parameter as given (7BIT, 8BITMIME) or null.</param>
/// <param name="SmtpUtf8">RFC 6531 SMTPUTF8 parameter given.</param>
/// <param name="Ret">RFC 3461 RET (FULL/HDRS) or null.</param>
/// <param name="EnvId">RFC 3461 ENVID (xtext-decoded) or null.</param>
/// <param name="HeaderMessageId">Message-ID header value (for the main log's <c>id=</c>), or null.</param>
/// <param name="Size">Size of the spooled data in bytes (with the Received header we added).</param>
public sealed record Envelope(
    string MessageId,
    string Sender,
    IReadOnlyList<EnvelopeRecipient> Recipients,
    DateTimeOffset ReceivedAt,
    string? HeloName,
    string ClientAddress,
    int ClientPort,
    string Protocol,
    string? Body,
    bool SmtpUtf8,
    string? Ret,
    string? EnvId,
    string? HeaderMessageId,
    long Size);

/// <param name="Address">Forward path without angle brackets.</param>
/// <param name="Notify">RFC 3461 NOTIFY as given (e.g. "SUCCESS,FAILURE") or null.</param>
/// <param name="ORcpt">RFC 3461 ORCPT as given (addr-type;xtext) or null.</param>
public sealed record EnvelopeRecipient(string Address, string? Notify, string? ORcpt);
