using System.Net;
using System.Net.Sockets;

namespace ActorMta.Benchmarks.Support;

public static class SmtpProbe
{
    public static int FreeLoopbackPort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }

    /// <summary>Waits until the server answers a connection with a 220 banner.</summary>
    public static async Task WaitForBannerAsync(IPEndPoint endPoint, TimeSpan timeout, Func<bool> exited, Func<string> diagnostics)
    {
        var deadline = DateTime.UtcNow + timeout;
        while (DateTime.UtcNow < deadline && !exited())
        {
            try
            {
                using var socket = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
                using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(2));
                await socket.ConnectAsync(endPoint, cts.Token);
                var buffer = new byte[512];
                var n = await socket.ReceiveAsync(buffer, SocketFlags.None, cts.Token);
                if (n >= 3 && buffer.AsSpan(0, 3).SequenceEqual("220"u8))
                {
                    await socket.SendAsync("QUIT\r\n"u8.ToArray(), SocketFlags.None);
                    return;
                }
            }
            catch (Exception e) when (e is SocketException or OperationCanceledException)
            {
            }
            await Task.Delay(100);
        }
        throw new InvalidOperationException($"no SMTP banner from {endPoint}:\n{diagnostics()}");
    }
}
