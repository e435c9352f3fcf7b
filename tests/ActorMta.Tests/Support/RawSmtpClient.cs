using System.Net;
using System.Net.Sockets;
using System.Text;

namespace ActorMta.Tests.Support;

/// <summary>
/// A byte-exact SMTP client for tests: sends exactly what it is told (even before the banner)
/// and returns exactly what arrived, so tests assert the bytes on the wire.
/// </summary>
public sealed class RawSmtpClient : IDisposable
{
    private readonly Socket _socket;
    private readonly StringBuilder _pending = new();

    private RawSmtpClient(Socket socket) => _socket = socket;

    public static async Task<RawSmtpClient> ConnectAsync(IPEndPoint endPoint)
    {
        var socket = new Socket(endPoint.AddressFamily, SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
        await socket.ConnectAsync(endPoint);
        return new RawSmtpClient(socket);
    }

    public Task SendAsync(string text) => SendAsync(Encoding.UTF8.GetBytes(text));

    public async Task SendAsync(byte[] bytes) => await _socket.SendAsync(bytes, SocketFlags.None);

    /// <summary>One receive: what a single read returns (used to check that replies were coalesced).</summary>
    public async Task<string> ReadOnceAsync(TimeSpan? timeout = null)
    {
        var buffer = new byte[65536];
        using var cts = new CancellationTokenSource(timeout ?? TimeSpan.FromSeconds(10));
        var n = await _socket.ReceiveAsync(buffer, SocketFlags.None, cts.Token);
        return Encoding.UTF8.GetString(buffer, 0, n);
    }

    /// <summary>Reads until <paramref name="count"/> complete replies (final lines "NNN ") have arrived; returns the raw text.</summary>
    public async Task<string> ReadRepliesAsync(int count, TimeSpan? timeout = null)
    {
        using var cts = new CancellationTokenSource(timeout ?? TimeSpan.FromSeconds(10));
        var buffer = new byte[65536];
        while (CountFinalLines(_pending.ToString()) < count)
        {
            var n = await _socket.ReceiveAsync(buffer, SocketFlags.None, cts.Token);
            if (n == 0) break;
            _pending.Append(Encoding.UTF8.GetString(buffer, 0, n));
        }
        var text = _pending.ToString();
        var end = EndOfFinalLine(text, count);
        _pending.Clear();
        if (end < text.Length) _pending.Append(text[end..]);
        return text[..end];
    }

    /// <summary>True when the server closed the connection (EOF) within the timeout.</summary>
    public async Task<bool> IsClosedByServerAsync(TimeSpan? timeout = null)
    {
        var buffer = new byte[4096];
        using var cts = new CancellationTokenSource(timeout ?? TimeSpan.FromSeconds(5));
        try
        {
            while (true)
            {
                var n = await _socket.ReceiveAsync(buffer, SocketFlags.None, cts.Token);
                if (n == 0) return true;
            }
        }
        catch (OperationCanceledException) { return false; }
        catch (SocketException) { return true; }
    }

    private static int CountFinalLines(string text) => text.Split("\r\n").Count(IsFinalLine);

    private static bool IsFinalLine(string line) => line.Length >= 4 && char.IsDigit(line[0]) && line[3] == ' ';

    private static int EndOfFinalLine(string text, int count)
    {
        var position = 0;
        var seen = 0;
        while (seen < count)
        {
            var end = text.IndexOf("\r\n", position, StringComparison.Ordinal);
            if (end < 0) return text.Length;
            if (IsFinalLine(text[position..end])) seen++;
            position = end + 2;
        }
        return position;
    }

    public void Dispose() => _socket.Dispose();
}
