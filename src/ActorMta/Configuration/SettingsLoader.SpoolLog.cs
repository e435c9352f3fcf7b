namespace ActorMta.Configuration;

public static partial class SettingsLoader
{
    /// <summary>Smallest log segment: below it checkpoints would run for every few messages.</summary>
    private const long MinLogSegmentSize = 64 * 1024;

    /// <summary><c>actormta.spool.write-ahead-log</c>, the <c>log-*</c> keys and <c>min-free-space</c>.</summary>
    private static SpoolSettings ReadSpoolLog(Reader r, SpoolSettings spool)
    {
        const string SegmentSize = "actormta.spool.log-segment-size";
        long segmentSize = r.Size(SegmentSize);
        if (segmentSize < MinLogSegmentSize && !r.HasFailed(SegmentSize))
            r.Fail(SegmentSize, $"expected at least 64K, got {segmentSize} bytes");
        const string SizeLimit = "actormta.spool.log-size-limit";
        long sizeLimit = r.Size(SizeLimit);
        if (sizeLimit < segmentSize && !r.HasFailed(SizeLimit) && !r.HasFailed(SegmentSize))
            r.Fail(SizeLimit, $"expected at least log-segment-size ({segmentSize} bytes), got {sizeLimit} bytes");
        return spool with
        {
            WriteAheadLog = r.Bool("actormta.spool.write-ahead-log"),
            LogSegmentSize = segmentSize,
            LogCheckpointInterval = r.Duration("actormta.spool.log-checkpoint-interval"),
            LogRetention = r.Duration("actormta.spool.log-retention"),
            LogSizeLimit = sizeLimit,
            MinFreeSpace = r.SizeOrOff("actormta.spool.min-free-space"),
        };
    }
}
