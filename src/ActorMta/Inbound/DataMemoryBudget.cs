namespace ActorMta.Inbound;

/// <summary>
/// The message data all inbound sessions together hold in memory while receiving
/// (<c>smtp.max-data-in-memory</c>). A session keeps a message in memory up to
/// <see cref="ActorMta.Spool.IncomingData.SpillAt"/> and then spills it to a file, so each holds
/// under a megabyte; but a few thousand clients sending at once would still take the process's
/// memory. Sessions take their share in steps as data arrives and give it back when the message
/// is spooled or dropped.
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
