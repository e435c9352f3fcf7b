namespace ActorMta.Inbound;

/// <summary>
/// The message data all inbound sessions together hold in memory while receiving
/// (<c>smtp.max-data-in-memory</c>). A session keeps a message whole until it is spooled, so
/// without a bound a few hundred clients each sending a 50 MB message slowly would take the
/// process's memory (20 such messages held 1.7 GB on 2026-11-30). Sessions take their share in
/// steps as data arrives and give it back when the message is spooled or dropped.
/// </summary>
public sealed class DataMemoryBudget(long limit)
{
    /// <summary>No limit (<c>max-data-in-memory = 0</c>).</summary>
    public static readonly DataMemoryBudget Unlimited = new(0);

    private long _taken;

    /// <summary>The configured limit in bytes; 0 for none.</summary>
    public long Limit => limit;

    /// <summary>Takes <paramref name="bytes"/> if that stays within the limit.</summary>
    public bool TryTake(long bytes)
    {
        if (limit <= 0) return true;
        if (Interlocked.Add(ref _taken, bytes) <= limit) return true;
        Interlocked.Add(ref _taken, -bytes);
        return false;
    }

    public void Give(long bytes)
    {
        if (limit > 0 && bytes > 0) Interlocked.Add(ref _taken, -bytes);
    }
}
