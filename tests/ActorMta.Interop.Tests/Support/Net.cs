using System.Net;
using System.Net.Sockets;
using System.Text;

namespace ActorMta.Interop.Tests.Support;

public static class Net
{
    /// <summary>A loopback port that was free a moment ago (the OS picks it; we release it at once).</summary>
    public static int FreeLoopbackPort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }

    /// <summary>Waits until a server on <paramref name="endPoint"/> answers with a 220 banner.</summary>
    public static async Task WaitForBannerAsync(IPEndPoint endPoint, TimeSpan timeout, Func<bool>? gaveUp = null)
    {
        var deadline = DateTime.UtcNow + timeout;
        Exception? last = null;
        while (DateTime.UtcNow < deadline)
        {
            if (gaveUp?.Invoke() == true) break;
            try
            {
                using var client = new TcpClient();
                using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(2));
                await client.ConnectAsync(endPoint, cts.Token);
                var buffer = new byte[512];
                var n = await client.GetStream().ReadAsync(buffer, cts.Token);
                if (n >= 3 && Encoding.ASCII.GetString(buffer, 0, 3) == "220")
                {
                    var quit = "QUIT\r\n"u8.ToArray();
                    await client.GetStream().WriteAsync(quit, cts.Token);
                    return;
                }
                last = new InvalidOperationException($"unexpected banner: {Encoding.ASCII.GetString(buffer, 0, n)}");
            }
            catch (Exception e) when (e is SocketException or IOException or OperationCanceledException)
            {
                last = e;
            }
            await Task.Delay(100);
        }
        throw new TimeoutException($"no SMTP banner from {endPoint} within {timeout}", last);
    }
}
