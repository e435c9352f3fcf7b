using System.Net.Sockets;
using System.Text;

namespace ActorMta.Benchmarks.Support;

/// <summary>Reads SMTP replies (the last line of each) from a socket, for the load generators.</summary>
public sealed class ReplyReader(Socket socket)
{
    private readonly byte[] _buffer = new byte[8192];
    private readonly StringBuilder _pending = new();

    public async Task<string> NextAsync()
    {
        while (true)
        {
            var text = _pending.ToString();
            int start = 0;
            for (int end; (end = text.IndexOf("\r\n", start, StringComparison.Ordinal)) >= 0; start = end + 2)
            {
                var line = text[start..end];
                if (line.Length >= 4 && line[3] == '-') continue;
                _pending.Remove(0, end + 2);
                return line;
            }
            int n = await socket.ReceiveAsync(_buffer, SocketFlags.None);
            if (n == 0) throw new IOException($"the server closed the connection; last: {text}");
            _pending.Append(Encoding.ASCII.GetString(_buffer, 0, n));
        }
    }

    public async Task ExpectAsync(string code)
    {
        var reply = await NextAsync();
        if (!reply.StartsWith(code, StringComparison.Ordinal)) throw new InvalidOperationException($"expected {code}, got: {reply}");
    }
}
