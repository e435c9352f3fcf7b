using System.Collections.Concurrent;
using System.Net;
using System.Net.Security;
using System.Net.Sockets;
using System.Security.Cryptography.X509Certificates;
using System.Text;

namespace ActorMta.Tests.Support;

/// <summary>
/// A scripted SMTP server on loopback for client tests: each accepted connection runs the script,
/// which decides what to answer (or not), and everything the client sent is recorded, including
/// the bytes that arrived before the banner.
/// </summary>
public sealed class FakeSmtpServer : IAsyncDisposable
{
    private readonly Socket _listener;
    private readonly Func<FakeConnection, int, Task> _script;
    private readonly CancellationTokenSource _stop = new();
    private readonly Task _acceptLoop;
    private int _connections;

    public FakeSmtpServer(Func<FakeConnection, int, Task> script)
    {
        _script = script;
        _listener = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        _listener.Bind(new IPEndPoint(IPAddress.Loopback, 0));
        _listener.Listen(64);
        _acceptLoop = AcceptLoopAsync();
    }

    public IPEndPoint EndPoint => (IPEndPoint)_listener.LocalEndPoint!;

    public ConcurrentQueue<FakeConnection> Connections { get; } = new();

    public int ConnectionCount => Volatile.Read(ref _connections);

    private async Task AcceptLoopAsync()
    {
        while (!_stop.IsCancellationRequested)
        {
            Socket socket;
            try { socket = await _listener.AcceptAsync(_stop.Token); }
            catch (Exception) { return; }
            var number = Interlocked.Increment(ref _connections);
            var connection = new FakeConnection(socket);
            Connections.Enqueue(connection);
            _ = Task.Run(async () =>
            {
                try { await _script(connection, number); }
                catch (Exception e) when (e is IOException or SocketException or ObjectDisposedException or OperationCanceledException) { }
                finally { connection.Dispose(); }
            });
        }
    }

    public async ValueTask DisposeAsync()
    {
        _stop.Cancel();
        _listener.Dispose();
        try { await _acceptLoop; } catch (Exception) { }
        foreach (var connection in Connections) connection.Dispose();
    }

    /// <summary>
    /// A plain, correct SMTP server: answers EHLO with <paramref name="keywords"/>, accepts every
    /// sender and recipient (unless <paramref name="rcptReply"/> says otherwise), reads DATA and BDAT.
    /// </summary>
    /// <param name="certificate">With one, STARTTLS is answered with 220 and a real handshake (SslStream); the EHLO after it
    /// gets <paramref name="tlsKeywords"/> (default: <paramref name="keywords"/> without STARTTLS).</param>
    public static async Task SinkAsync(FakeConnection c, string[] keywords, Func<string, string>? rcptReply = null, string banner = "220 fake.test ESMTP",
        X509Certificate2? certificate = null, string[]? tlsKeywords = null)
    {
        await c.SendAsync(banner + "\r\n");
        await ServeAsync(c, keywords, rcptReply, certificate, tlsKeywords);
    }

    /// <summary>The command loop of <see cref="SinkAsync"/>, for scripts that send their own banner.</summary>
    /// <param name="handle">Sees each command line first; true when it answered the line itself (the script's own EHLO, AUTH, ...).</param>
    public static async Task ServeAsync(FakeConnection c, string[] keywords, Func<string, string>? rcptReply = null,
        X509Certificate2? certificate = null, string[]? tlsKeywords = null, Func<string, Task<bool>>? handle = null)
    {
        while (true)
        {
            var line = await c.ReadLineAsync();
            if (line is null) return;
            if (handle is not null && await handle(line)) continue;
            var verb = line.Split(' ')[0].ToUpperInvariant();
            switch (verb)
            {
                case "STARTTLS" when certificate is not null && !c.IsTls:
                    await c.SendAsync("220 2.0.0 Ready to start TLS\r\n");
                    await c.StartTlsAsync(certificate);
                    keywords = tlsKeywords ?? keywords.Where(k => !k.Equals("STARTTLS", StringComparison.OrdinalIgnoreCase)).ToArray();
                    break;
                case "EHLO":
                    var lines = new[] { "fake.test hello" }.Concat(keywords).ToArray();
                    var reply = new StringBuilder();
                    for (var i = 0; i < lines.Length; i++) reply.Append(i == lines.Length - 1 ? "250 " : "250-").Append(lines[i]).Append("\r\n");
                    await c.SendAsync(reply.ToString());
                    break;
                case "HELO": await c.SendAsync("250 fake.test\r\n"); break;
                case "MAIL": await c.SendAsync("250 OK\r\n"); break;
                case "RCPT": await c.SendAsync((rcptReply?.Invoke(line) ?? "250 Accepted") + "\r\n"); break;
                case "RSET": await c.SendAsync("250 Reset\r\n"); break;
                case "NOOP": await c.SendAsync("250 OK\r\n"); break;
                case "DATA":
                    await c.SendAsync("354 go ahead\r\n");
                    c.Messages.Add(await c.ReadDataAsync());
                    await c.SendAsync("250 OK queued as FAKE\r\n");
                    break;
                case "BDAT":
                    var parts = line.Split(' ');
                    c.Messages.Add(await c.ReadBytesAsync(int.Parse(parts[1])));
                    await c.SendAsync("250 OK chunk\r\n");
                    break;
                case "QUIT":
                    await c.SendAsync("221 bye\r\n");
                    return;
                default:
                    await c.SendAsync("500 unrecognised\r\n");
                    break;
            }
        }
    }
}

public sealed class FakeConnection : IDisposable
{
    private readonly Socket _socket;
    private readonly List<byte> _buffer = new();
    private readonly StringBuilder _transcript = new();
    private readonly StringBuilder _clearText = new();
    private Stream _stream;

    public FakeConnection(Socket socket)
    {
        _socket = socket;
        _stream = new NetworkStream(socket, ownsSocket: false);
    }

    /// <summary>Everything the client sent, in order (decrypted after STARTTLS).</summary>
    public string Received { get { lock (_transcript) return _transcript.ToString(); } }

    /// <summary>What the client sent before TLS started: the only part an eavesdropper could read.</summary>
    public string ReceivedInClear { get { lock (_transcript) return _clearText.ToString(); } }

    /// <summary>A TLS session is up (after <see cref="StartTlsAsync"/>).</summary>
    public bool IsTls { get; private set; }

    /// <summary>What the client sent in the TLS session before this script answered anything there (set by <see cref="CaptureAfterTlsAsync"/>).</summary>
    public string FirstTlsFlight { get; private set; } = "";

    /// <summary>
    /// Server side of the handshake, on this connection. Bytes the client pipelined after STARTTLS are
    /// dropped first, as a server must (RFC 3207); they stay in <see cref="ReceivedInClear"/>.
    /// </summary>
    public async Task StartTlsAsync(X509Certificate2 certificate)
    {
        _buffer.Clear();
        var ssl = new SslStream(_stream, leaveInnerStreamOpen: false);
        await ssl.AuthenticateAsServerAsync(new SslServerAuthenticationOptions { ServerCertificate = certificate });
        _stream = ssl;
        IsTls = true;
    }

    /// <summary>
    /// Waits <paramref name="wait"/> after the handshake, then records what the client sent meanwhile
    /// (a TLS-phase early flight: its EHLO and the transaction, in one TLS record).
    /// </summary>
    public async Task<string> CaptureAfterTlsAsync(TimeSpan wait)
    {
        // SslStream may already hold the flight (it arrived with the client's Finished), so read once
        // whatever the socket says; then take what is still arriving.
        await Task.Delay(wait);
        using (var limit = new CancellationTokenSource(TimeSpan.FromSeconds(2)))
        {
            try { await FillAsync(limit.Token); } catch (OperationCanceledException) { }
        }
        while (_socket.Available > 0) await FillAsync();
        FirstTlsFlight = Encoding.UTF8.GetString(_buffer.ToArray());
        return FirstTlsFlight;
    }

    /// <summary>What the client sent before this script sent its banner (set by <see cref="CaptureBeforeBannerAsync"/>).</summary>
    public string BeforeBanner { get; private set; } = "";

    public List<string> Messages { get; } = new();

    /// <summary>Waits <paramref name="wait"/>, then records what arrived meanwhile: an early-pipelining client's first flight.</summary>
    public async Task<string> CaptureBeforeBannerAsync(TimeSpan wait)
    {
        await Task.Delay(wait);
        while (_socket.Available > 0) await FillAsync();
        BeforeBanner = Encoding.UTF8.GetString(_buffer.ToArray());
        return BeforeBanner;
    }

    /// <summary>Send every reply one byte per TCP segment, with a pause between: a slow or fragmenting link.</summary>
    public bool Trickle { get; set; }

    public async Task SendAsync(string text)
    {
        var bytes = Encoding.UTF8.GetBytes(text);
        if (!Trickle)
        {
            await _stream.WriteAsync(bytes);
            await _stream.FlushAsync();
            return;
        }
        _socket.NoDelay = true;
        for (int i = 0; i < bytes.Length; i++)
        {
            await _stream.WriteAsync(bytes.AsMemory(i, 1));
            await _stream.FlushAsync();
            await Task.Delay(1);
        }
    }

    public async Task<string?> ReadLineAsync()
    {
        while (true)
        {
            var index = IndexOf("\r\n");
            if (index >= 0) return Take(index + 2)[..^2];
            if (!await FillAsync()) return null;
        }
    }

    public async Task<string> ReadUntilAsync(string terminator)
    {
        while (true)
        {
            var index = IndexOf(terminator);
            if (index >= 0) return Take(index + terminator.Length);
            if (!await FillAsync()) throw new IOException("closed");
        }
    }

    /// <summary>
    /// DATA content up to and including its terminator. The CRLF before the dot belongs to the
    /// content, except for an empty message, which is just ".\r\n" (a client whose recipients were
    /// all refused ends the 354 at once).
    /// </summary>
    public async Task<string> ReadDataAsync()
    {
        while (true)
        {
            if (_buffer.Count >= 3 && _buffer[0] == '.' && _buffer[1] == '\r' && _buffer[2] == '\n') return Take(3);
            var index = IndexOf("\r\n.\r\n");
            if (index >= 0) return Take(index + 5);
            if (!await FillAsync()) throw new IOException("closed");
        }
    }

    public async Task<string> ReadBytesAsync(int count)
    {
        while (_buffer.Count < count)
            if (!await FillAsync()) throw new IOException("closed");
        return Take(count);
    }

    /// <summary>Waits until the client closes (or the timeout passes).</summary>
    public async Task<bool> WaitForCloseAsync(TimeSpan timeout)
    {
        using var cts = new CancellationTokenSource(timeout);
        try { while (await FillAsync(cts.Token)) { } return true; }
        catch (OperationCanceledException) { return false; }
    }

    private int IndexOf(string text)
    {
        var pattern = Encoding.ASCII.GetBytes(text);
        for (var i = 0; i + pattern.Length <= _buffer.Count; i++)
        {
            var match = true;
            for (var j = 0; j < pattern.Length && match; j++) match = _buffer[i + j] == pattern[j];
            if (match) return i;
        }
        return -1;
    }

    private string Take(int count)
    {
        var text = Encoding.UTF8.GetString(_buffer.GetRange(0, count).ToArray());
        _buffer.RemoveRange(0, count);
        return text;
    }

    private async Task<bool> FillAsync(CancellationToken ct = default)
    {
        var chunk = new byte[65536];
        int n;
        try { n = await _stream.ReadAsync(chunk, ct); }
        catch (SocketException) { return false; }
        catch (IOException) { return false; }
        catch (ObjectDisposedException) { return false; }
        if (n == 0) return false;
        _buffer.AddRange(chunk.AsSpan(0, n).ToArray());
        lock (_transcript)
        {
            _transcript.Append(Encoding.UTF8.GetString(chunk, 0, n));
            if (!IsTls) _clearText.Append(Encoding.UTF8.GetString(chunk, 0, n));
        }
        return true;
    }

    public void Dispose()
    {
        try { _stream.Dispose(); } catch (IOException) { } catch (ObjectDisposedException) { }
        _socket.Dispose();
    }
}
