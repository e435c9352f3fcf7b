using System.Net.Sockets;
using System.Text;

namespace ActorMta.Host;

/// <summary>
/// sd_notify(3) without libsystemd: under a unit with <c>Type=notify</c>, systemd names a datagram
/// socket in <c>$NOTIFY_SOCKET</c>, and the daemon says <c>READY=1</c> there once it listens (so
/// units ordered after it start when mail is really accepted, and <c>systemctl start</c> reports a
/// failed start), and <c>STOPPING=1</c> when it begins to stop. Without the variable nothing is sent.
/// </summary>
internal static class SystemdNotify
{
    public const string Variable = "NOTIFY_SOCKET";

    /// <summary>Sends <paramref name="state"/> (newline-separated assignments); returns why it could not, or null.</summary>
    public static string? Send(string state)
    {
        string? path = Environment.GetEnvironmentVariable(Variable);
        if (string.IsNullOrEmpty(path)) return null;
        // "@name" is a socket in the abstract namespace, whose address starts with a NUL byte.
        string address = path[0] == '@' ? "\0" + path[1..] : path;
        try
        {
            using var socket = new Socket(AddressFamily.Unix, SocketType.Dgram, ProtocolType.Unspecified);
            socket.SendTo(Encoding.UTF8.GetBytes(state), new UnixDomainSocketEndPoint(address));
            return null;
        }
        catch (Exception e) when (e is SocketException or ArgumentException)
        {
            return $"cannot notify systemd at {Variable}={path}: {e.Message}";
        }
    }
}
