namespace ActorMta.Benchmarks.Support;

/// <summary>
/// Deletes a server's data directory when the benchmark process ends, not when the server stops.
/// </summary>
/// <remarks>
/// Deleting tens of thousands of spool and maildir files right before the next server starts made
/// that server pay for them: ext4 without a journal (this machine's file system) skips inodes freed
/// in the last 30 seconds when it allocates new ones, reading each candidate from disk. A run that
/// followed such a deletion took about twice the CPU per message, whichever server it was.
/// </remarks>
public static class DeferredCleanup
{
    private static readonly List<string> Directories = [];
    private static bool _hooked;

    public static void Add(string directory)
    {
        lock (Directories)
        {
            Directories.Add(directory);
            if (_hooked) return;
            _hooked = true;
        }
        AppDomain.CurrentDomain.ProcessExit += (_, _) => DeleteAll();
    }

    private static void DeleteAll()
    {
        string[] all;
        lock (Directories) all = [.. Directories];
        foreach (string directory in all)
        {
            try
            {
                Directory.Delete(directory, recursive: true);
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
            }
        }
    }
}
