namespace ActorMta.Configuration;

public sealed partial record QueueSettings
{
    /// <summary><c>queue.queue-only</c> (Exim's <c>queue_only</c>): arrivals wait for the next queue run.</summary>
    public bool QueueOnly { get; init; }

    /// <summary><c>queue.queue-run-interval</c>: the period of queue runs when <see cref="QueueOnly"/> is on.</summary>
    public TimeSpan QueueRunInterval { get; init; } = TimeSpan.FromMinutes(5);

    /// <summary><c>queue.room-check-interval</c>: how often the spool's free space is read while
    /// attempts aborted by a full spool disk wait for room (see <see cref="Spool.SpoolSpace.IsShort"/>).</summary>
    public TimeSpan RoomCheckInterval { get; init; } = TimeSpan.FromSeconds(10);
}
