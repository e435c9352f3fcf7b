namespace ActorMta.Configuration;

public static partial class SettingsLoader
{
    /// <summary><c>actormta.queue.queue-only</c>, <c>queue-run-interval</c> and <c>room-check-interval</c>.</summary>
    private static QueueSettings ReadQueueOnly(Reader r, QueueSettings queue) => queue with
    {
        QueueOnly = r.Bool("actormta.queue.queue-only"),
        QueueRunInterval = r.Duration("actormta.queue.queue-run-interval"),
        RoomCheckInterval = r.Duration("actormta.queue.room-check-interval"),
    };
}
