namespace ActorMta.Spool;

/// <summary>Where one recipient of a spooled message stands, as recorded in its journal.</summary>
public enum RecipientState
{
    /// <summary>Not yet delivered nor failed: a delivery attempt is (still) due.</summary>
    Pending,

    /// <summary>Delivered (maildir file durable, or accepted by the next hop).</summary>
    Delivered,

    /// <summary>Failed permanently (a bounce is due unless the journal says it was sent).</summary>
    Failed,
}

/// <summary>
/// A message as found in the spool: its envelope, the state of each recipient (same order as
/// <see cref="Envelope.Recipients"/>) and the next retry time recorded in its journal, if any.
/// </summary>
/// <param name="Envelope">The envelope exactly as stored.</param>
/// <param name="Recipients">One state per recipient, index-aligned with <c>Envelope.Recipients</c>.</param>
/// <param name="NextAttempt">Last retry time written to the journal, or null (due now).</param>
/// <param name="DataLength">Length in bytes of the message data in the spool file.</param>
public sealed record SpooledMessage(
    Envelope Envelope,
    IReadOnlyList<RecipientState> Recipients,
    DateTimeOffset? NextAttempt,
    long DataLength)
{
    public string Id => Envelope.MessageId;

    /// <summary>Per recipient: when it first failed temporarily (the retry cutoff counts from there), or null.</summary>
    public IReadOnlyList<DateTimeOffset?> FirstFailures { get; init; } = [];

    /// <summary>Per recipient: why it failed for good (for its bounce), or null.</summary>
    public IReadOnlyList<RecipientFailure?> Failures { get; init; } = [];

    /// <summary>Per recipient: its failure was reported (or needed no report): no bounce is due for it any more.</summary>
    public IReadOnlyList<bool> Bounced { get; init; } = [];

    /// <summary>Frozen by the operator (journaled): the queue skips it until it is thawed.</summary>
    public bool Frozen { get; init; }

    /// <summary>Delay warnings sent to the sender so far (or found not wanted), journaled.</summary>
    public int Warnings { get; init; }

    public bool IsFinished => Recipients.All(static s => s != RecipientState.Pending);
}

/// <summary>
/// Why a recipient failed for good, as its bounce reports it (RFC 3464 per-recipient fields).
/// </summary>
/// <param name="Status">Enhanced status code, e.g. 5.1.1 (5.0.0 when the reply had none).</param>
/// <param name="RemoteMta">Host that gave the reply (Remote-MTA), when one did.</param>
/// <param name="Diagnostic">Diagnostic-Code with its type, e.g. <c>smtp; 550 5.1.1 No such user</c>, or null.</param>
/// <param name="Text">What the main log's <c>**</c> line said.</param>
public sealed record RecipientFailure(string Status, string? RemoteMta, string? Diagnostic, string Text);
