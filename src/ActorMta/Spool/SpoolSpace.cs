namespace ActorMta.Spool;

/// <summary>
/// Whether the spool's file system has room for one more message (Exim's check_spool_space):
/// <c>spool.min-free-space</c> plus what the client declared with SIZE. On a disk that fills up
/// every message would get 451 after its data has been sent, and deliveries could not record that
/// they are done; refusing MAIL with a 452 first costs the sender nothing and tells it to come back.
/// </summary>
/// <remarks>
/// The free space is read (statvfs) at most once a second while there is plenty, not once per
/// MAIL: between two readings a busy server writes a few megabytes; within twice the minimum
/// every MAIL reads it (about a microsecond). Sessions ask
/// concurrently; a reading is one <see cref="long"/> and a stale one is as good as a fresh one.
/// </remarks>
/// <param name="directory">The spool's root.</param>
/// <param name="minimumFree"><c>spool.min-free-space</c> (0: off).</param>
/// <param name="segmentSize"><c>spool.log-segment-size</c>: what the log takes at once for a new segment.</param>
public sealed class SpoolSpace(string directory, long minimumFree, long segmentSize = 0)
{
    private const long ReadingLifetimeMs = 1000;

    /// <summary>
    /// Below this the spool is short of room for deliveries to record their results: the minimum
    /// MAIL keeps, and at least two log segments, since the log's writes fail once its current
    /// segment is full and no new one can be made; never under 1 MiB (a disk with less is full
    /// for any purpose). With <c>min-free-space</c> off the log's need is still a fact of the disk.
    /// </summary>
    public long RoomNeeded { get; } = Math.Max(Math.Max(minimumFree, 2 * segmentSize), 1024 * 1024);

    private long _free = long.MaxValue;
    private long _readAt = -ReadingLifetimeMs; // the first question reads

    /// <summary>Why there is no room, for a log line or an error: "34 MiB free, below actormta.spool.min-free-space (40 MiB)".</summary>
    public string Shortage(long free) =>
        $"{MiB(free)} MiB free, below actormta.spool.min-free-space ({MiB(minimumFree)} MiB)";

    /// <summary>How far a disk short of room (see <see cref="IsShort"/>) is from it: "0 MiB free, 32 MiB needed".</summary>
    public string Missing(long free) => $"{MiB(free)} MiB free, {MiB(RoomNeeded)} MiB needed";

    /// <summary>Whole mebibytes, as the main log gives sizes of free space.</summary>
    public static long MiB(long bytes) => bytes / (1024 * 1024);

    /// <summary>True when a message of <paramref name="declaredSize"/> bytes (0 if not declared) leaves the minimum free.</summary>
    /// <param name="free">The free bytes the decision used.</param>
    public bool HasRoomFor(long declaredSize, out long free)
    {
        free = long.MaxValue;
        if (minimumFree <= 0) return true;
        long now = Environment.TickCount64;
        // Near the minimum every question reads again: one spool log segment more can take tens of megabytes at once.
        if (now - Volatile.Read(ref _readAt) >= ReadingLifetimeMs || Volatile.Read(ref _free) < 2 * minimumFree)
        {
            Volatile.Write(ref _free, ReadFree());
            Volatile.Write(ref _readAt, now);
        }
        free = Volatile.Read(ref _free);
        return free - Math.Max(0, declaredSize) >= minimumFree;
    }

    /// <summary>
    /// True when the file system has less than <see cref="RoomNeeded"/> free, read now: an attempt
    /// that could not record its result then waits for room rather than for the retry interval
    /// (the queue reads this every <c>queue.room-check-interval</c> while such attempts wait).
    /// </summary>
    public bool IsShort(out long free)
    {
        free = ReadFree();
        return free < RoomNeeded;
    }

    private long ReadFree()
    {
        // statvfs itself: DriveInfo wants a mount point, and the spool is rarely one.
        if (!OperatingSystem.IsLinux()) return long.MaxValue;
        var info = new StatVfs();
        if (statvfs(directory, ref info) != 0) return long.MaxValue; // not knowing is no reason to refuse mail; the store still reports a full disk (451)
        return (long)Math.Min(info.AvailableBlocks * info.FragmentSize, (ulong)long.MaxValue);
    }

    /// <summary>glibc's <c>struct statvfs</c> on 64-bit Linux (x86-64 and arm64 alike).</summary>
    [System.Runtime.InteropServices.StructLayout(System.Runtime.InteropServices.LayoutKind.Sequential)]
    private struct StatVfs
    {
        public ulong BlockSize;
        public ulong FragmentSize;
        public ulong Blocks;
        public ulong FreeBlocks;
        public ulong AvailableBlocks; // free to unprivileged users: what the MTA's user may write
        public ulong Files;
        public ulong FreeFiles;
        public ulong AvailableFiles;
        public ulong FileSystemId;
        public ulong Flags;
        public ulong MaxNameLength;
        private unsafe fixed int _spare[6];
    }

    [System.Runtime.InteropServices.DllImport("libc", SetLastError = true)]
    private static extern int statvfs(string path, ref StatVfs buffer);
}
