using System.Runtime.InteropServices;

namespace ActorMta.Host;

/// <summary>
/// SIGHUP tells the daemon to read its certificate files again. A process started under nohup, by a
/// shell with <c>trap '' HUP</c>, or by some supervisors inherits SIGHUP as ignored, and the .NET
/// runtime deliberately installs no handler for a signal that is ignored when it is first registered:
/// <c>kill -HUP</c> would then do nothing, silently, and a renewed certificate would never be used.
/// Like sshd and Exim, the daemon takes the signal back: it restores default handling just before its
/// own registration, so the handler is installed. Nothing is lost by that: what nohup protects
/// against is being killed by a terminal hang-up, and with the handler a hang-up only causes a reload.
/// </summary>
internal static class HangupSignal
{
    private const int Sighup = 1; // Linux and macOS
    private static readonly IntPtr SigDfl = IntPtr.Zero;
    private static readonly IntPtr SigIgn = new(1);

    /// <summary>
    /// Registers <paramref name="handler"/> for SIGHUP. Returns whether SIGHUP had been inherited as
    /// ignored (the caller says so in the main log, since the operator may have meant it).
    /// </summary>
    public static PosixSignalRegistration Register(Action<PosixSignalContext> handler, out bool wasIgnored)
    {
        wasIgnored = false;
        if (!OperatingSystem.IsWindows() && IsIgnored())
        {
            // Between this call and the registration a hang-up would stop the process, as it would
            // for any process that has not registered yet; the window is a few instructions long.
            Native.signal(Sighup, SigDfl);
            wasIgnored = true;
        }

        return PosixSignalRegistration.Create(PosixSignal.SIGHUP, handler);
    }

    /// <summary>
    /// The current disposition, read without changing it. The handler pointer is the first field of
    /// struct sigaction on Linux and macOS; the buffer is larger than the struct on either.
    /// </summary>
    private static bool IsIgnored()
    {
        IntPtr buffer = Marshal.AllocHGlobal(256);
        try
        {
            return Native.sigaction(Sighup, IntPtr.Zero, buffer) == 0 && Marshal.ReadIntPtr(buffer) == SigIgn;
        }
        finally
        {
            Marshal.FreeHGlobal(buffer);
        }
    }

    private static class Native
    {
        [DllImport("libc", SetLastError = true)]
        public static extern IntPtr signal(int signum, IntPtr handler);

        [DllImport("libc", SetLastError = true)]
        public static extern int sigaction(int signum, IntPtr act, IntPtr oldact);
    }
}
