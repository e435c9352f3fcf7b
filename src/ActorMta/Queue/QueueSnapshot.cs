using ActorMta.Spool;

namespace ActorMta.Queue;

/// <summary>What is in the queue right now (answer to <see cref="QueueManager.GetQueue"/>), oldest first.</summary>
public sealed record QueueSnapshot(DateTimeOffset TakenAt, IReadOnlyList<QueuedMessage> Messages);

/// <summary>One message in a <see cref="QueueSnapshot"/>.</summary>
/// <param name="Id">Spool id.</param>
/// <param name="Sender">Envelope sender (empty for &lt;&gt;).</param>
/// <param name="Recipients">Each recipient with its state.</param>
/// <param name="ReceivedAt">When the message was accepted.</param>
/// <param name="Age">Time in the queue when the snapshot was taken.</param>
/// <param name="Size">Size of the message data in bytes.</param>
/// <param name="NextAttempt">When the next attempt is due; null when due now or running.</param>
/// <param name="InFlight">A delivery attempt is running.</param>
/// <param name="Attempts">Delivery attempts finished in this process.</param>
public sealed record QueuedMessage(
    string Id,
    string Sender,
    IReadOnlyList<QueuedRecipient> Recipients,
    DateTimeOffset ReceivedAt,
    TimeSpan Age,
    long Size,
    DateTimeOffset? NextAttempt,
    bool InFlight,
    int Attempts)
{
    /// <summary>Frozen by the operator: retries and queue runs skip it until it is thawed.</summary>
    public bool Frozen { get; init; }
}

/// <summary>One recipient in a <see cref="QueuedMessage"/>.</summary>
public sealed record QueuedRecipient(string Address, RecipientState State);
