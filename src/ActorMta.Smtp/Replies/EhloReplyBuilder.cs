namespace ActorMta.Smtp;

/// <summary>
/// Builds the multi-line 250 reply to EHLO (RFC 5321 4.1.1.1): the greeting line first, then the
/// keywords in the order they were added. The order is the caller's on purpose: early pipelining
/// needs PIPECONNECT right after PIPELINING. No enhanced code: the client learns ENHANCEDSTATUSCODES
/// from this very reply.
/// </summary>
public sealed class EhloReplyBuilder
{
    private readonly List<string> _lines = new(16);

    public EhloReplyBuilder(string greetingLine)
    {
        ArgumentNullException.ThrowIfNull(greetingLine);
        _lines.Add(greetingLine);
    }

    /// <summary>Adds one capability line, e.g. "PIPELINING" or "SIZE 52428800".</summary>
    public EhloReplyBuilder Add(string keyword)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(keyword);
        _lines.Add(keyword);
        return this;
    }

    public SmtpReply Build() => new(250, null, [.. _lines]);
}
