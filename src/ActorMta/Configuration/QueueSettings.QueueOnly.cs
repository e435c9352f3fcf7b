namespace ActorMta.Configuration;

public sealed partial record QueueSettings
{
    /// <summary><c>queue.queue-only</c> (Exim's <c>queue_only</c>): arrivals wait for the next queue run.</summary>
    public bool QueueOnly { get; init; }

    /// <summary><c>queue.queue-run-interval</c>: the period of queue runs when <see cref="QueueOnly"/> is on.</summary>
    public TimeSpan QueueRunInterval { get; init; } = TimeSpan.FromMinutes(5);
}
