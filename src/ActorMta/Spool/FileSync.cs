using Microsoft.Win32.SafeHandles;
using static ActorMta.Unix.Libc;

namespace ActorMta.Spool;

/// <summary>The flushes .NET does not expose: fsync(2) of a directory or of a raw descriptor, fdatasync(2) and syncfs(2).</summary>
internal static class FileSync
{
    /// <summary>fsync(2) of a directory, so that renames and creations in it survive a crash.
    /// .NET cannot open a directory as a file on Unix, hence the direct libc calls.</summary>
    public static void Directory(string path)
    {
        if (!OperatingSystem.IsLinux() && !OperatingSystem.IsMacOS() && !OperatingSystem.IsFreeBSD())
            return; // Windows: NTFS metadata is journaled and directory handles cannot be flushed this way.
        OnDirectory(path, fsync, "fsync of directory");
    }

    /// <summary>
    /// fdatasync(2): the file's data (and its size, if it changed) on disk, without the timestamps
    /// fsync(2) would also write. For a log overwritten in place that is one write, not two.
    /// </summary>
    public static void DataSync(SafeFileHandle handle, string path)
    {
        bool added = false;
        handle.DangerousAddRef(ref added);
        try
        {
            int fd = (int)handle.DangerousGetHandle();
            if ((OperatingSystem.IsLinux() ? fdatasync(fd) : fsync(fd)) != 0)
                throw new IOException($"fdatasync of {path} failed: {LastError()}");
        }
        finally
        {
            if (added) handle.DangerousRelease();
        }
    }

    /// <summary>fsync(2) of a file the caller opened itself (<see cref="NewFile"/>).</summary>
    public static void File(int fd, string path)
    {
        if (fsync(fd) != 0) throw new IOException($"fsync of {path} failed: {LastError()}");
    }

    /// <summary>
    /// syncfs(2) of the file system holding <paramref name="directory"/>: every dirty file, name and
    /// unlink on it reaches the disk before this returns. Elsewhere than Linux, sync(2).
    /// </summary>
    public static void FileSystem(string directory)
    {
        if (!OperatingSystem.IsLinux())
        {
            sync();
            return;
        }
        OnDirectory(directory, syncfs, "syncfs of");
    }

    /// <summary>Opens a directory (which .NET cannot do on Unix), runs <paramref name="call"/> on it, closes it.</summary>
    private static void OnDirectory(string path, Func<int, int> call, string what)
    {
        int fd = open(path, O_RDONLY | O_CLOEXEC, 0);
        if (fd < 0) throw new IOException($"cannot open {path} for {what}: {LastError()}");
        try
        {
            if (call(fd) != 0) throw new IOException($"{what} {path} failed: {LastError()}");
        }
        finally
        {
            _ = close(fd);
        }
    }
}
