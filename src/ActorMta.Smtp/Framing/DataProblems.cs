namespace ActorMta.Smtp;

/// <summary>What was wrong with message content. None of these stops decoding: the session answers after the end.</summary>
[Flags]
public enum DataProblems
{
    None = 0,

    /// <summary>A CR not followed by LF, or an LF not preceded by CR (RFC 5321 2.3.8; 550 5.6.11 when not normalised).</summary>
    BareLineEnding = 1,

    /// <summary>A line longer than the limit, CRLF included (RFC 5321 4.5.3.1.6).</summary>
    LineTooLong = 2,

    /// <summary>More output than the size limit; output stopped at the limit (552 5.3.4).</summary>
    TooBig = 4,

    /// <summary>A NUL octet in the content (RFC 5321 4.5.2 forbids it in text; recorded, still written).</summary>
    Nul = 8,
}
