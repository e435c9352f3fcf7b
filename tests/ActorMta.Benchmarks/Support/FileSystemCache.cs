namespace ActorMta.Benchmarks.Support;

/// <summary>
/// Gives every server of a benchmark the same file-system state to start from: a clean, cold page
/// cache (<c>sync</c>, then the kernel's clean pages dropped).
/// </summary>
/// <remarks>
/// <para>This machine's root file system is ext4 without a journal. When such an ext4 allocates an
/// inode it passes over every free inode that was deleted recently and whose inode-table block is
/// still in the page cache, looking each one up. After 100,000 files were created and deleted,
/// creating a file in a new directory cost about 210 µs of CPU instead of 17 µs, for the first
/// 5,000 to 15,000 files of each new directory (measured 2026-11-30 00:50 UTC with a small script:
/// four new directories of 20,000 files each, CPU time per 5,000). A <c>sync</c> followed by 65 s of
/// waiting did not help; dropping the page cache did, at once: 16-20 µs from the first file.</para>
/// <para>A delivering MTA deletes a spool file for every message it delivers: ActorMta delivering
/// removes about 80,000 in its run, and the server started after it could pay for them.
/// <see cref="DeferredCleanup"/> keeps the servers' own directories until the end; this covers what
/// a server deletes while it runs. In two 5-round inbound runs on the quiet machine (2026-11-30,
/// 00:26-00:45 UTC without this step, 01:27-01:45 with it) the 100-session rates ranged over
/// 3,833-6,416/s (ActorMta queue-only, 167-358 µs of CPU per message) and 1,208-1,503/s (Exim)
/// without, over 5,939-6,120/s (174-186 µs) and 1,436-1,574/s with.</para>
/// <para>Without root (the cache cannot be dropped) the benchmark says so once and goes on.</para>
/// </remarks>
public static class FileSystemCache
{
    private const string DropCaches = "/proc/sys/vm/drop_caches";
    private static bool _told;

    public static async Task SettleAsync()
    {
        await Proc.RunAsync("sync");
        try
        {
            // 1: the page cache only, which holds the inode-table blocks; dentries and inodes stay.
            await File.WriteAllTextAsync(DropCaches, "1\n");
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            if (_told) return;
            _told = true;
            Console.WriteLine($"note: cannot drop the page cache ({DropCaches}: {e.Message}); a server started "
                + "after another deleted many files may be measured slower (see FileSystemCache)");
        }
    }
}
