namespace ActorMta.Spool;

/// <summary>
/// One MTA per spool: an exclusive lock on <c>&lt;spool&gt;/lock</c>, held while the node runs (as
/// Postfix's <c>master.lock</c>). Two processes storing into and delivering from one spool would
/// both replay its log and deliver its messages, so the second refuses to start. The control
/// socket already stops a second MTA on the same data directory, but not one with the control
/// socket off, or with the spool directory set to another MTA's.
/// </summary>
/// <remarks>The lock is an flock(2), which .NET takes for <see cref="FileShare.None"/>: the kernel
/// drops it when the process dies, so a crash leaves nothing to clean up. The file stays (deleting
/// it would let two processes each lock a different file of that name).</remarks>
public sealed class SpoolLock : IDisposable
{
    public const string FileName = "lock";

    private readonly FileStream _file;

    private SpoolLock(FileStream file) => _file = file;

    /// <exception cref="SpoolException">Another process holds the lock, or the file cannot be made.</exception>
    public static SpoolLock Acquire(string spoolDirectory)
    {
        string path = Path.Combine(spoolDirectory, FileName);
        FileStream file;
        try
        {
            Directory.CreateDirectory(spoolDirectory);
            file = new FileStream(path, FileMode.OpenOrCreate, FileAccess.ReadWrite, FileShare.None, bufferSize: 0);
        }
        catch (IOException e) when (File.Exists(path) && e is not FileNotFoundException and not DirectoryNotFoundException)
        {
            throw new SpoolException($"the spool {spoolDirectory} is in use by another process (it holds {path}): is ActorMta already running with this spool?", e);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new SpoolException($"cannot lock the spool: {path}: {e.Message}", e);
        }
        // Who holds it, for an operator who looks.
        byte[] pid = System.Text.Encoding.ASCII.GetBytes($"{Environment.ProcessId}\n");
        file.SetLength(0);
        file.Write(pid);
        return new SpoolLock(file);
    }

    public void Dispose() => _file.Dispose();
}
