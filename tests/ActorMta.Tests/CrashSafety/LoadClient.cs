using System.Net;
using System.Net.Sockets;
using System.Text;

namespace ActorMta.Tests.CrashSafety;

/// <summary>
/// One SMTP client that sends distinct messages over one connection, as fast as the server takes
/// them, and records which ones were acknowledged with 250 after the final dot. Any I/O failure
/// (the server was killed) ends it; the message in flight then has an unknown fate.
/// </summary>
public sealed class LoadClient(IPEndPoint server, string recipient, string tokenPrefix)
{
    private readonly List<string> _acknowledged = [];
    private readonly List<string> _inFlight = [];

    /// <summary>Tokens of the messages the server answered 250 after the final dot.</summary>
    public IReadOnlyList<string> Acknowledged => _acknowledged;

    /// <summary>Tokens whose data was sent but whose final reply never came (may or may not exist).</summary>
    public IReadOnlyList<string> InFlight => _inFlight;

    public async Task RunAsync(CancellationToken stop)
    {
        try
        {
            using var socket = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
            await socket.ConnectAsync(server, stop);
            var reader = new ReplyReader(socket);
            Expect(await reader.ReadAsync(), "220");
            await SendAsync(socket, "EHLO crash.test\r\n");
            Expect(await reader.ReadAsync(), "250");
            for (var n = 0; !stop.IsCancellationRequested; n++)
            {
                var token = $"{tokenPrefix}-{n:D5}-{Guid.NewGuid():N}";
                await SendAsync(socket, $"MAIL FROM:<load@client.test>\r\nRCPT TO:<{recipient}>\r\nDATA\r\n");
                Expect(await reader.ReadAsync(), "250");
                Expect(await reader.ReadAsync(), "250");
                Expect(await reader.ReadAsync(), "354");
                _inFlight.Add(token);
                await SendAsync(socket, $"Subject: {token}\r\nFrom: load@client.test\r\n\r\n{token}\r\n{new string('x', 200)}\r\n.\r\n");
                Expect(await reader.ReadAsync(), "250");
                _inFlight.Remove(token);
                _acknowledged.Add(token);
            }
            await SendAsync(socket, "QUIT\r\n");
        }
        catch (Exception e) when (e is SocketException or IOException or OperationCanceledException or EndOfStreamException)
        {
            // The server went away mid-conversation: that is the point of the test.
        }
    }

    private static void Expect(string reply, string code)
    {
        if (!reply.StartsWith(code, StringComparison.Ordinal))
        {
            throw new InvalidOperationException($"expected {code}, got: {reply}");
        }
    }

    private static async Task SendAsync(Socket socket, string text) =>
        await socket.SendAsync(Encoding.ASCII.GetBytes(text), SocketFlags.None);

    /// <summary>Reads complete SMTP replies (multi-line ones joined) from a socket.</summary>
    private sealed class ReplyReader(Socket socket)
    {
        private readonly byte[] _buffer = new byte[8192];
        private readonly StringBuilder _pending = new();

        public async Task<string> ReadAsync()
        {
            using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(20));
            while (true)
            {
                var text = _pending.ToString();
                var start = 0;
                int eol;
                while ((eol = text.IndexOf("\r\n", start, StringComparison.Ordinal)) >= 0)
                {
                    var line = text[start..eol];
                    start = eol + 2;
                    if (line.Length < 4 || line[3] == ' ')
                    {
                        _pending.Remove(0, start);
                        return text[..eol];
                    }
                }
                var n = await socket.ReceiveAsync(_buffer, SocketFlags.None, cts.Token);
                if (n == 0) throw new EndOfStreamException("connection closed");
                _pending.Append(Encoding.ASCII.GetString(_buffer, 0, n));
            }
        }
    }
}
