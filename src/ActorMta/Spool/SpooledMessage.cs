namespace ActorMta.Spool;

/// <summary>Where one recipient of a spooled message stands, as recorded in its journal.</summary>
public enum RecipientState
{
    /// <summary>Not yet delivered nor failed: a delivery attempt is (still) due.</summary>
    Pending,

    /// <summary>Delivered (maildir file durable, or accepted by the next hop).</summary>
    Delivered,

    /// <summary>Failed permanently (bounce due; bounces are not implemented yet).</summary>
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

    public bool IsFinished => Recipients.All(static s => s != RecipientState.Pending);
}
