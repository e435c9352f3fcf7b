using ActorMta.Smtp;

namespace ActorMta.Inbound;

/// <summary>Where an inbound session stands in the RFC 5321 dialogue.</summary>
[Flags]
public enum ServerState
{
    /// <summary>Banner sent (or queued), no EHLO/HELO yet.</summary>
    Connected = 1,
    /// <summary>EHLO/HELO done, no transaction.</summary>
    Greeted = 2,
    /// <summary>MAIL accepted, no recipient yet.</summary>
    MailGiven = 4,
    /// <summary>At least one RCPT accepted.</summary>
    RcptGiven = 8,
    /// <summary>BDAT chunks received, LAST not yet.</summary>
    InChunks = 16,

    Any = Connected | Greeted | MailGiven | RcptGiven | InChunks,
}

/// <summary>
/// The server protocol as one table: which verb is allowed in which state. The session consults
/// it before dispatching, so the handlers never repeat sequencing checks, and a refused command
/// gets a 503 naming the verbs that are expected instead (DESIGN.md section 4).
/// </summary>
public static class ServerStateTable
{
    private static readonly (SmtpVerb Verb, ServerState AllowedIn)[] Rows =
    [
        (SmtpVerb.Ehlo,     ServerState.Connected | ServerState.Greeted | ServerState.MailGiven | ServerState.RcptGiven),
        (SmtpVerb.Helo,     ServerState.Connected | ServerState.Greeted | ServerState.MailGiven | ServerState.RcptGiven),
        (SmtpVerb.Mail,     ServerState.Greeted),
        (SmtpVerb.Rcpt,     ServerState.MailGiven | ServerState.RcptGiven),
        (SmtpVerb.Data,     ServerState.RcptGiven),
        (SmtpVerb.Bdat,     ServerState.RcptGiven | ServerState.InChunks),
        (SmtpVerb.Rset,     ServerState.Any),
        (SmtpVerb.Noop,     ServerState.Any),
        (SmtpVerb.Quit,     ServerState.Any),
        (SmtpVerb.Help,     ServerState.Any),
        (SmtpVerb.Vrfy,     ServerState.Any),
        (SmtpVerb.Expn,     ServerState.Any),
        (SmtpVerb.StartTls, ServerState.Any),
        // RFC 4954 section 4: after EHLO, and not during a mail transaction.
        (SmtpVerb.Auth,     ServerState.Greeted),
        (SmtpVerb.Unknown,  ServerState.Any),
    ];

    private static readonly ServerState[] AllowedByVerb = BuildIndex();
    private static readonly Dictionary<ServerState, SmtpReply> OutOfSequence = new();

    public static bool IsAllowed(ServerState state, SmtpVerb verb) => (AllowedByVerb[(int)verb] & state) != 0;

    /// <summary>503 naming the transaction verbs that would be accepted now (cached per state).</summary>
    public static SmtpReply BadSequence(ServerState state)
    {
        lock (OutOfSequence)
        {
            if (OutOfSequence.TryGetValue(state, out var reply)) return reply;
            var expected = Rows
                // AUTH is optional: it is never what the client is "expected" to send.
                .Where(r => r.AllowedIn != ServerState.Any && r.Verb != SmtpVerb.Auth && (r.AllowedIn & state) != 0)
                .Select(r => r.Verb.ToString().ToUpperInvariant());
            reply = new SmtpReply(503, "5.5.1", $"Bad sequence of commands: expected {string.Join(", ", expected)}");
            OutOfSequence[state] = reply;
            return reply;
        }
    }

    private static ServerState[] BuildIndex()
    {
        var index = new ServerState[Enum.GetValues<SmtpVerb>().Max(v => (int)v) + 1];
        foreach (var (verb, allowed) in Rows) index[(int)verb] = allowed;
        return index;
    }
}
