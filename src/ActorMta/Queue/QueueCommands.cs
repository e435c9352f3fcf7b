namespace ActorMta.Queue;

// The operator's commands to the QueueManager (from the control endpoint). Each is answered with a
// QueueCommandResult. A command on a message whose delivery attempt is running is refused as Busy,
// as Exim refuses a message that is locked: the attempt owns the journal until it ends.

/// <summary>Attempt <paramref name="MessageId"/> now, even if frozen (like <c>exim -M</c>); null: every message not frozen (like <c>exim -qf</c>).</summary>
public sealed record DeliverNow(string? MessageId, string User);

/// <summary>Remove the message without a bounce (like <c>exim -Mrm</c>); logged "removed by USER".</summary>
public sealed record RemoveMessage(string MessageId, string User);

/// <summary>Fail every pending recipient with "cancelled by administrator" and bounce them to the sender (like <c>exim -Mg</c>).</summary>
public sealed record BounceMessage(string MessageId, string User);

/// <summary>Freeze (<paramref name="Freeze"/> true) or thaw the message; journaled, so it survives a restart.</summary>
public sealed record FreezeMessage(string MessageId, bool Freeze, string User);

/// <summary>How a queue command ended.</summary>
public enum QueueCommandStatus
{
    /// <summary>Done (or started, for deliver).</summary>
    Done,

    /// <summary>No such message in the queue.</summary>
    NotFound,

    /// <summary>A delivery attempt on the message is running; try again when it ends.</summary>
    Busy,

    /// <summary>The spool refused (disk, permissions); the text says why.</summary>
    Failed,
}

/// <summary>The answer to a queue command: its status and one line for the operator.</summary>
public sealed record QueueCommandResult(QueueCommandStatus Status, string Text);
