using System.Net;
using System.Net.Sockets;

namespace ActorMta.Tests.Support;

/// <summary>A TCP port on loopback that nothing listens on right now, for a server the test starts by port.</summary>
public static class FreePorts
{
    public static int Tcp()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }
}
