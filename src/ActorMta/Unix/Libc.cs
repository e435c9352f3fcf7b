using System.ComponentModel;
using System.Runtime.InteropServices;

namespace ActorMta.Unix;

/// <summary>
/// The libc calls .NET does not expose the way the spool and the logs need them: one open(2) with
/// exactly the flags asked (no flock, no lseek), pwritev(2), write(2) on an <c>O_APPEND</c>
/// descriptor, and the flushes. The flag values are Linux's, the same on x86-64 and arm64.
/// </summary>
internal static class Libc
{
    public const int O_RDONLY = 0x0;
    public const int O_WRONLY = 0x1;
    public const int O_CREAT = 0x40;
    public const int O_EXCL = 0x80;
    public const int O_TRUNC = 0x200;
    public const int O_APPEND = 0x400;
    public const int O_CLOEXEC = 0x80000;

    public const int EINTR = 4;
    public const int EEXIST = 17;

    /// <summary>The text of an errno value ("No space left on device").</summary>
    public static string Describe(int errno) => new Win32Exception(errno).Message;

    /// <summary>The text of the errno the last call here left.</summary>
    public static string LastError() => Describe(Marshal.GetLastPInvokeError());

    [StructLayout(LayoutKind.Sequential)]
    public unsafe struct IoVector
    {
        public void* Base;
        public nint Length;
    }

    [DllImport("libc", SetLastError = true)]
    public static extern int open(string path, int flags, int mode);

    [DllImport("libc", SetLastError = true)]
    public static extern int close(int fd);

    [DllImport("libc", SetLastError = true)]
    public static extern int unlink(string path);

    [DllImport("libc", SetLastError = true)]
    public static extern unsafe nint write(int fd, byte* buffer, nint count);

    [DllImport("libc", SetLastError = true)]
    public static extern unsafe long pwritev(int fd, IoVector* vectors, int count, long offset);

    [DllImport("libc", SetLastError = true)]
    public static extern int fsync(int fd);

    [DllImport("libc", SetLastError = true)]
    public static extern int fdatasync(int fd);

    [DllImport("libc", SetLastError = true)]
    public static extern int syncfs(int fd);

    [DllImport("libc", SetLastError = true)]
    public static extern void sync();

    [DllImport("libc")]
    public static extern uint geteuid();
}
