using System.Net.Sockets;

namespace ActorMta.Control;

/// <summary>
/// Who is on the other end of a Unix socket, as the kernel says (SO_PEERCRED), not as the client
/// claims: the user named in "removed by USER" and in a local submission's <c>U=</c>, and whether
/// that user administers the MTA.
/// </summary>
internal static class PeerCredentials
{
    private const int SolSocket = 1;   // Linux SOL_SOCKET
    private const int SoPeerCred = 17; // Linux SO_PEERCRED: struct ucred { pid_t pid; uid_t uid; gid_t gid; }

    /// <summary>The peer's login name (from /etc/passwd), its uid as text if it has none, or
    /// "unknown"; and whether it is root or the MTA's own user, Exim's admin users.</summary>
    public static (string Name, bool Admin) Of(Socket socket)
    {
        if (!OperatingSystem.IsLinux()) return (Environment.UserName, true);
        Span<byte> ucred = stackalloc byte[12];
        int length;
        try
        {
            length = socket.GetRawSocketOption(SolSocket, SoPeerCred, ucred);
        }
        catch (SocketException)
        {
            return ("unknown", false);
        }
        if (length < 12) return ("unknown", false);
        uint uid = BitConverter.ToUInt32(ucred[4..8]);
        return (NameOf(uid) ?? uid.ToString(System.Globalization.CultureInfo.InvariantCulture), uid == 0 || uid == Unix.Libc.geteuid());
    }

    private static string? NameOf(uint uid)
    {
        try
        {
            foreach (var line in File.ReadLines("/etc/passwd"))
            {
                var fields = line.Split(':');
                if (fields.Length > 2 && uint.TryParse(fields[2], out var id) && id == uid) return fields[0];
            }
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
        }
        return null;
    }
}
