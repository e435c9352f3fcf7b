using System.Net;
using System.Net.Security;
using System.Net.Sockets;
using System.Security.Authentication;
using System.Security.Cryptography.X509Certificates;
using System.Text;

namespace ActorMta.Tests.Support;

/// <summary>
/// A byte-exact SMTP client that can switch to TLS: plain until <see cref="StartTlsAsync"/>
/// (after the server's 220) or from the first byte (<see cref="ConnectTlsAsync"/>). It records the
/// certificate the server presented and the version agreed, for tests to assert on.
/// </summary>
public sealed class TlsSmtpClient : IAsyncDisposable
{
    private readonly Socket _socket;
    private Stream _stream;
    private readonly StringBuilder _pending = new();

    private TlsSmtpClient(Socket socket)
    {
        _socket = socket;
        _stream = new NetworkStream(socket, ownsSocket: true);
    }

    /// <summary>The server certificate seen in the last handshake.</summary>
    public X509Certificate2? ServerCertificate { get; private set; }
    public SslProtocols Protocol { get; private set; }

    public static async Task<TlsSmtpClient> ConnectAsync(IPEndPoint endPoint)
    {
        var socket = new Socket(endPoint.AddressFamily, SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
        await socket.ConnectAsync(endPoint);
        return new TlsSmtpClient(socket);
    }

    /// <summary>
    /// An encrypted session: TLS on connect (port 465 style, the handshake is the first thing on the
    /// wire), or with <paramref name="viaStartTls"/> banner, STARTTLS and its 220 first.
    /// </summary>
    public static async Task<TlsSmtpClient> ConnectTlsAsync(IPEndPoint endPoint, SslProtocols protocols = SslProtocols.None, bool viaStartTls = false)
    {
        var client = await ConnectAsync(endPoint);
        if (viaStartTls)
        {
            await client.ReadRepliesAsync(1);
            await client.SendAsync("STARTTLS\r\n");
            var reply = await client.ReadRepliesAsync(1);
            if (!reply.StartsWith("220 ", StringComparison.Ordinal)) throw new InvalidOperationException("STARTTLS refused: " + reply);
        }
        await client.StartTlsAsync(protocols);
        return client;
    }

    /// <summary>The handshake; the caller has read the 220 to STARTTLS. Any certificate is accepted and recorded.</summary>
    public async Task StartTlsAsync(SslProtocols protocols = SslProtocols.None)
    {
        if (_pending.Length > 0) throw new InvalidOperationException($"bytes after the 220 before TLS: {_pending}");
        var ssl = new SslStream(_stream, leaveInnerStreamOpen: false);
        using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(10));
        await ssl.AuthenticateAsClientAsync(new SslClientAuthenticationOptions
        {
            TargetHost = TestMta.Hostname,
            EnabledSslProtocols = protocols,
            RemoteCertificateValidationCallback = (_, certificate, _, _) =>
            {
                ServerCertificate = certificate is null ? null : new X509Certificate2(certificate);
                return true;
            },
        }, cts.Token);
        Protocol = ssl.SslProtocol;
        _stream = ssl;
    }

    /// <summary>Sends <paramref name="text"/> in one write (one TCP segment or one TLS record).</summary>
    public async Task SendAsync(string text)
    {
        await _stream.WriteAsync(Encoding.UTF8.GetBytes(text));
        await _stream.FlushAsync();
    }

    /// <summary>One read: what arrived together (to check that replies were coalesced).</summary>
    public async Task<string> ReadOnceAsync(TimeSpan? timeout = null)
    {
        if (_pending.Length > 0)
        {
            var text = _pending.ToString();
            _pending.Clear();
            return text;
        }
        var buffer = new byte[65536];
        using var cts = new CancellationTokenSource(timeout ?? TimeSpan.FromSeconds(10));
        var n = await _stream.ReadAsync(buffer, cts.Token);
        return Encoding.UTF8.GetString(buffer, 0, n);
    }

    /// <summary>Reads until <paramref name="count"/> complete replies have arrived; returns exactly them.</summary>
    public async Task<string> ReadRepliesAsync(int count, TimeSpan? timeout = null)
    {
        using var cts = new CancellationTokenSource(timeout ?? TimeSpan.FromSeconds(10));
        var buffer = new byte[65536];
        while (FinalLineEnds(_pending.ToString()).Count < count)
        {
            var n = await _stream.ReadAsync(buffer, cts.Token);
            if (n == 0) break;
            _pending.Append(Encoding.UTF8.GetString(buffer, 0, n));
        }
        var all = _pending.ToString();
        var ends = FinalLineEnds(all);
        var end = ends.Count >= count ? ends[count - 1] : all.Length;
        _pending.Clear().Append(all[end..]);
        return all[..end];
    }

    /// <summary>True when the server closed the connection (EOF or reset) within the timeout.</summary>
    public async Task<bool> IsClosedByServerAsync(TimeSpan? timeout = null)
    {
        var buffer = new byte[4096];
        using var cts = new CancellationTokenSource(timeout ?? TimeSpan.FromSeconds(5));
        try
        {
            while (await _stream.ReadAsync(buffer, cts.Token) > 0) { }
            return true;
        }
        catch (OperationCanceledException) { return false; }
        catch (IOException) { return true; }
    }

    private static List<int> FinalLineEnds(string text)
    {
        var ends = new List<int>();
        var position = 0;
        while (true)
        {
            var end = text.IndexOf("\r\n", position, StringComparison.Ordinal);
            if (end < 0) return ends;
            var line = text[position..end];
            if (line.Length >= 4 && char.IsDigit(line[0]) && line[3] == ' ') ends.Add(end + 2);
            position = end + 2;
        }
    }

    public async ValueTask DisposeAsync()
    {
        try { await _stream.DisposeAsync(); } catch (IOException) { }
        _socket.Dispose();
    }
}
