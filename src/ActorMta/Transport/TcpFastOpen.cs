using System.Net.Sockets;

namespace ActorMta.Transport;

/// <summary>
/// TCP Fast Open (RFC 7413) on Linux, through raw socket options .NET does not name. With early
/// pipelining SMTP becomes client-speaks-first, so the client's first flight can ride in the SYN
/// (spec Part A rule 14). The kernel decides: the server side needs <c>net.ipv4.tcp_fastopen</c>
/// bit 2 (value 2 or 3), the client side bit 1 (the default 1). Elsewhere these calls do nothing.
/// </summary>
public static class TcpFastOpen
{
    private const int IpProtoTcp = 6;
    private const int TcpInfo = 11;
    private const int TcpFastOpenOption = 23;
    private const int TcpFastOpenConnect = 30;
    /// <summary><c>TCPI_OPT_SYN_DATA</c> in <c>tcp_info.tcpi_options</c> (byte 5): data in the SYN was accepted.</summary>
    private const byte SynDataAcked = 0x20;

    /// <summary>Accept data in SYNs on a listening socket, with a queue of pending TFO requests.</summary>
    public static void EnableOnListener(Socket socket, int queueLength)
    {
        if (!OperatingSystem.IsLinux() || queueLength <= 0) return;
        try { socket.SetRawSocketOption(IpProtoTcp, TcpFastOpenOption, BitConverter.GetBytes(queueLength)); }
        catch (SocketException) { }
    }

    /// <summary>
    /// Before connect: let the kernel hold the SYN until the first write and put that write in it
    /// (when it has a cookie for the server; otherwise it asks for one and sends normally).
    /// </summary>
    public static bool EnableOnConnect(Socket socket)
    {
        if (!OperatingSystem.IsLinux()) return false;
        try
        {
            socket.SetRawSocketOption(IpProtoTcp, TcpFastOpenConnect, BitConverter.GetBytes(1));
            return true;
        }
        catch (SocketException) { return false; }
    }

    /// <summary>True when this connection's SYN carried data that the other side accepted (Exim's <c>TFO*</c>).</summary>
    public static bool SynCarriedData(Socket socket)
    {
        if (!OperatingSystem.IsLinux()) return false;
        Span<byte> info = stackalloc byte[232];
        try
        {
            var length = socket.GetRawSocketOption(IpProtoTcp, TcpInfo, info);
            return length > 5 && (info[5] & SynDataAcked) != 0;
        }
        catch (Exception e) when (e is SocketException or ObjectDisposedException) { return false; }
    }
}
