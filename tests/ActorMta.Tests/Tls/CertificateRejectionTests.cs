using System.Net.Security;
using System.Net.Sockets;
using System.Security.Authentication;
using ActorMta.Configuration;
using ActorMta.Tests.Support;
using ActorMta.Transport.Tls;

namespace ActorMta.Tests.Tls;

/// <summary>
/// A client that refuses our certificate leaves one clear main-log line. A .NET client checks the
/// certificate after the handshake and just closes (no alert): our handshake succeeded, so the line
/// says the client closed right after it; OpenSSL-based clients send an alert during the handshake,
/// which the line names (the swaks interop test sees that case on the wire).
/// </summary>
public sealed class CertificateRejectionTests(TlsFixture tls) : IClassFixture<TlsFixture>
{
    /// <summary>Handshakes as a client whose certificate check says no, as one with another CA or name would.</summary>
    private static async Task RejectingHandshakeAsync(Stream stream)
    {
        var ssl = new SslStream(stream, leaveInnerStreamOpen: false);
        var rejected = await Assert.ThrowsAsync<AuthenticationException>(() => ssl.AuthenticateAsClientAsync(new SslClientAuthenticationOptions
        {
            TargetHost = TestMta.Hostname,
            RemoteCertificateValidationCallback = (_, _, _, _) => false,
        }));
        Assert.Contains("rejected", rejected.Message, StringComparison.Ordinal);
        await ssl.DisposeAsync();
    }

    [Fact]
    public async Task AClientThatRejectsTheCertificateAfterStartTlsIsLogged()
    {
        await using var mta = await TestMta.StartAsync(tls.Settings());
        using var socket = new Socket(SocketType.Stream, ProtocolType.Tcp);
        await socket.ConnectAsync(mta.EndPoint);
        var stream = new NetworkStream(socket, ownsSocket: false);
        var plain = new RawReplies(stream);
        Assert.StartsWith("220 ", await plain.ReadAsync(), StringComparison.Ordinal);
        await stream.WriteAsync("STARTTLS\r\n"u8.ToArray());
        Assert.StartsWith("220 2.0.0 Ready to start TLS", await plain.ReadAsync(), StringComparison.Ordinal);

        await RejectingHandshakeAsync(stream);
        socket.Close(); // what the client does next

        var line = await mta.WaitForLogLineAsync("TLS error on connection from");
        Assert.Matches(@" TLS error on connection from H=\[127\.0\.0\.1\]:\d+ \(STARTTLS\): the client closed the connection right after the handshake, "
                       + "before any command; it may have rejected our certificate$", line);
        Assert.Single(mta.MainLogLines(), l => l.Contains("TLS error", StringComparison.Ordinal));
    }

    [Fact]
    public async Task AClientThatRejectsTheCertificateOnATlsOnConnectPortIsLogged()
    {
        await using var mta = await TestMta.StartAsync(tls.Settings(ListenerKind.TlsOnConnect));
        using var socket = new Socket(SocketType.Stream, ProtocolType.Tcp);
        await socket.ConnectAsync(mta.EndPoint);

        await RejectingHandshakeAsync(new NetworkStream(socket, ownsSocket: false));
        socket.Close();

        Assert.Matches(@" TLS error on connection from H=\[127\.0\.0\.1\]:\d+ \(TLS on connect\): the client closed the connection right after the handshake, "
                       + "before any command; it may have rejected our certificate$", await mta.WaitForLogLineAsync("TLS error on connection from"));
    }

    [Fact]
    public async Task AClientThatTalksAfterTheHandshakeAndThenLeavesIsNoTlsError()
    {
        await using var mta = await TestMta.StartAsync(tls.Settings());
        await using (var client = await TlsSmtpClient.ConnectTlsAsync(mta.EndPoint, viaStartTls: true))
        {
            await client.SendAsync("EHLO client.test\r\n");
            Assert.StartsWith("250-", await client.ReadRepliesAsync(1), StringComparison.Ordinal);
        } // closed without QUIT

        // A later client's rejection is logged; the one before it, which spoke, is not.
        using var socket = new Socket(SocketType.Stream, ProtocolType.Tcp);
        await socket.ConnectAsync(mta.EndPoint);
        var stream = new NetworkStream(socket, ownsSocket: false);
        var plain = new RawReplies(stream);
        await plain.ReadAsync();
        await stream.WriteAsync("STARTTLS\r\n"u8.ToArray());
        await plain.ReadAsync();
        await RejectingHandshakeAsync(stream);
        socket.Close(); // what the client does next
        await mta.WaitForLogLineAsync("TLS error on connection from");
        Assert.Single(mta.MainLogLines(), l => l.Contains("TLS error", StringComparison.Ordinal));
    }

    [Theory]
    [InlineData("Authentication failed, see inner exception.: SSL Handshake failed with OpenSSL error - SSL_ERROR_SSL.: error:0A000418:SSL routines::tlsv1 alert unknown ca", "tlsv1 alert unknown ca")]
    [InlineData("error:0A000412:SSL routines::sslv3 alert bad certificate", "sslv3 alert bad certificate")]
    [InlineData("error:0A00042D:SSL routines::sslv3 alert certificate expired", "sslv3 alert certificate expired")]
    [InlineData("error:0A000410:SSL routines::sslv3 alert handshake failure", null)]
    [InlineData("Received an unexpected EOF or 0 bytes from the transport stream.", null)]
    public void CertificateAlertsAreRecognisedInTheHandshakeError(string error, string? alert) =>
        Assert.Equal(alert, CertificateAlert.Find(error));

    /// <summary>Plain-text replies, one complete reply per call (the banner, the STARTTLS 220).</summary>
    private sealed class RawReplies(NetworkStream stream)
    {
        public async Task<string> ReadAsync()
        {
            // One byte at a time: nothing of the TLS handshake may be read here by mistake.
            var line = new List<byte>();
            var one = new byte[1];
            using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(10));
            while (await stream.ReadAsync(one, timeout.Token) == 1)
            {
                line.Add(one[0]);
                if (line.Count >= 2 && line[^2] == '\r' && line[^1] == '\n')
                {
                    var text = System.Text.Encoding.ASCII.GetString(line.ToArray());
                    if (text.Length >= 4 && text[3] == ' ') return text;
                    line.Clear();
                }
            }
            throw new IOException("closed");
        }
    }
}
