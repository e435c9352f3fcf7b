using System.Net;
using System.Net.Sockets;

namespace ActorMta.Transport;

/// <summary>Creates bound, listening sockets up front, so a port in use fails start-up with a clear message.</summary>
public static class ListenSocket
{
    public static Socket Bind(IPEndPoint endPoint, int fastOpenQueue = 0, int backlog = 4096)
    {
        var socket = new Socket(endPoint.AddressFamily, SocketType.Stream, ProtocolType.Tcp);
        try
        {
            socket.SetSocketOption(SocketOptionLevel.Socket, SocketOptionName.ReuseAddress, true);
            if (endPoint.AddressFamily == AddressFamily.InterNetworkV6 && endPoint.Address.Equals(IPAddress.IPv6Any))
                socket.DualMode = true;
            socket.Bind(endPoint);
            TcpFastOpen.EnableOnListener(socket, fastOpenQueue);
            socket.Listen(backlog);
            return socket;
        }
        catch (SocketException e)
        {
            socket.Dispose();
            throw new InvalidOperationException($"cannot listen on {endPoint}: {e.Message}", e);
        }
    }
}
