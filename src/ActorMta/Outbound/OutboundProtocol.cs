using ActorMta.Routing;
using ActorMta.Smtp;
using ActorMta.Spool;

namespace ActorMta.Outbound;

/// <summary>
/// Some recipients of one spooled message, all routed the same way: the unit the queue hands to
/// the <see cref="DeliveryAgent"/>. <paramref name="RecipientIndexes"/> index
/// <see cref="Envelope.Recipients"/>, so results map back onto the spool journal.
/// </summary>
public sealed record OutboundJob(Envelope Envelope, IReadOnlyList<int> RecipientIndexes, RemoteRoute Route)
{
    public string MessageId => Envelope.MessageId;
}

/// <summary>Queue → delivery agent: deliver this job now.</summary>
public sealed record DeliverRemote(OutboundJob Job);

public enum DeliveryStatus { Delivered, Deferred, Failed }

/// <summary>What happened to one recipient, with what the main log's <c>=&gt;</c>/<c>==</c>/<c>**</c> line needs.</summary>
/// <param name="RecipientIndex">Index into the envelope's recipients.</param>
/// <param name="Status">Delivered (2xx), deferred (4xx, connection trouble) or failed for good (5xx).</param>
/// <param name="Reply">The remote reply that decided it, when there was one.</param>
/// <param name="Text">What to log and, for failures, put in the DSN's Diagnostic-Code.</param>
/// <param name="Connection">The connection it went over, when one was made.</param>
public sealed record RecipientOutcome(int RecipientIndex, DeliveryStatus Status, SmtpReply? Reply, string Text, ConnectionFacts? Connection);

/// <summary>Facts about the delivering connection for the log line: <c>H=name [ip]:port L* K TFO* DT=</c>.</summary>
public sealed record ConnectionFacts(
    string RouteName,
    string HostName,
    string Address,
    int Port,
    bool PipeliningUsed,
    bool EarlyPipelined,
    bool ChunkingUsed,
    bool FastOpen,
    TimeSpan DeliveryTime)
{
    /// <summary>Which message this was on its connection (1: the first). Above 1 the <c>=&gt;</c> line shows Exim's <c>*</c> after the host.</summary>
    public int MessageOnConnection { get; init; } = 1;

    /// <summary>Exim's <c>X=</c>: protocol, cipher suite and key bits (<c>TLS1.3:TLS_AES_256_GCM_SHA384:256</c>); null in clear text.</summary>
    public string? Tls { get; init; }

    /// <summary>Exim's <c>CV=</c>: the server certificate chained to a trusted root and named the host.</summary>
    public bool CertificateVerified { get; init; }

    /// <summary>Exim's <c>A=</c>: how the client authenticated, <c>plain:user</c>; null without SMTP AUTH.</summary>
    public string? Auth { get; init; }

    /// <summary>The server announced DSN, so NOTIFY went on with each RCPT and a success report
    /// is the next hop's to send (RFC 3461 section 6.2.1); without it, ours ("relayed").</summary>
    public bool DsnPassedOn { get; init; }
}

/// <summary>Delivery agent → queue: the outcome of a job (every recipient of the job is in it).</summary>
public sealed record RemoteDeliveryResult(OutboundJob Job, IReadOnlyList<RecipientOutcome> Outcomes);
