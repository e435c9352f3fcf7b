using System.Net.Security;
using System.Security.Cryptography.X509Certificates;
using ActorMta.Configuration;
using ActorMta.Smtp;
using ActorMta.Tests.Support;
using MailKit.Net.Smtp;
using MailKit.Security;
using MimeKit;

namespace ActorMta.Tests.Tls;

/// <summary>
/// MailKit over STARTTLS and over a TLS-on-connect listener (RFC 8314), validating the server
/// against the test CA only; and early pipelining right after the handshake on such a listener.
/// </summary>
public sealed class TlsOnConnectTests(TlsFixture tls) : IClassFixture<TlsFixture>
{
    private const string Message = "Subject: early\r\nMessage-ID: <smtps-1@client.test>\r\n\r\nearly over TLS\r\n";

    private SmtpClient MailKit() => new()
    {
        LocalDomain = "client.test",
        // The test CA and nothing else: a certificate from anywhere else, or for another name, fails.
        ServerCertificateValidationCallback = (_, certificate, _, errors) =>
            certificate is not null
            && (errors & ~SslPolicyErrors.RemoteCertificateChainErrors) == SslPolicyErrors.None
            && tls.Authority.Trusts(new X509Certificate2(certificate)),
    };

    private static MimeMessage Mail(string subject)
    {
        var message = new MimeMessage();
        message.From.Add(MailboxAddress.Parse("sender@client.test"));
        message.To.Add(MailboxAddress.Parse("user@test.example"));
        message.Subject = subject;
        message.Body = new TextPart("plain") { Text = "Hello over TLS." };
        return message;
    }

    [Fact]
    public async Task MailKitSendsOverStartTls()
    {
        await using var mta = await TestMta.StartAsync(tls.Settings());
        using var client = MailKit();
        await client.ConnectAsync("127.0.0.1", mta.EndPoint.Port, SecureSocketOptions.StartTls);
        Assert.True(client.IsSecure);
        await client.SendAsync(Mail("starttls"));
        await client.DisconnectAsync(true);

        Assert.Contains("Subject: starttls", (await mta.WaitForMaildirAsync("user")).Single());
        Assert.Matches(@" P=esmtps L\. X=TLS1\.3:TLS_\w+:(128|256) CV=no S=", await mta.WaitForLogLineAsync("<= sender@client.test"));
    }

    [Fact]
    public async Task MailKitSendsOverTlsOnConnect()
    {
        await using var mta = await TestMta.StartAsync(tls.Settings(ListenerKind.TlsOnConnect));
        using var client = MailKit();
        await client.ConnectAsync("127.0.0.1", mta.EndPoint.Port, SecureSocketOptions.SslOnConnect);
        Assert.True(client.IsSecure);
        Assert.False(client.Capabilities.HasFlag(SmtpCapabilities.StartTLS));
        await client.SendAsync(Mail("smtps"));
        await client.DisconnectAsync(true);

        Assert.Contains("Subject: smtps", (await mta.WaitForMaildirAsync("user")).Single());
        Assert.Matches(@" P=esmtps L\. X=TLS1\.3:TLS_\w+:(128|256) CV=no S=", await mta.WaitForLogLineAsync("<= sender@client.test"));
    }

    [Fact]
    public async Task MailKitRefusesACertificateFromAnotherAuthority()
    {
        using var other = Shared.TestCertificates.CreateAuthority("Some Other CA");
        using var stranger = other.IssueServer([TestMta.Hostname], [System.Net.IPAddress.Loopback]);
        var (certificate, key) = other.WritePem(stranger, Path.Combine(tls.Folder, "other"));
        await using var mta = await TestMta.StartAsync(tls.Settings(ListenerKind.TlsOnConnect,
            s => s with { Tls = s.Tls with { CertificatePath = certificate, PrivateKeyPath = key } }));
        using var client = MailKit();
        // .NET checks the server's certificate after the handshake, so the server sees a client that leaves.
        await Assert.ThrowsAsync<SslHandshakeException>(() =>
            client.ConnectAsync("127.0.0.1", mta.EndPoint.Port, SecureSocketOptions.SslOnConnect));
        Assert.DoesNotContain(mta.MainLogLines(), l => l.Contains(" <= ", StringComparison.Ordinal));
    }

    [Fact]
    public async Task ACleartextClientOnTheTlsPortGetsNoBannerAndIsLogged()
    {
        await using var mta = await TestMta.StartAsync(tls.Settings(ListenerKind.TlsOnConnect));
        using var client = await RawSmtpClient.ConnectAsync(mta.EndPoint);
        await client.SendAsync("EHLO client.test\r\n");
        Assert.True(await client.IsClosedByServerAsync());
        Assert.Contains("(TLS on connect)", await mta.WaitForLogLineAsync("TLS error on connection from H=[127.0.0.1]"));
    }

    [Fact]
    public async Task EarlyTransactionRightAfterTheHandshakeIsAnsweredInOneTlsWrite()
    {
        await using var mta = await TestMta.StartAsync(tls.Settings(ListenerKind.TlsOnConnect));
        await using var client = await TlsSmtpClient.ConnectTlsAsync(mta.EndPoint);
        // Spec rule 10, TLS on connect: EHLO and the transaction right after the handshake, before the banner.
        await client.SendAsync("EHLO client.test\r\nMAIL FROM:<a@client.test>\r\nRCPT TO:<user@test.example>\r\nDATA\r\n");
        var replies = await client.ReadRepliesAsync(5);
        Assert.StartsWith("220 mx.test.example ESMTP ActorMta\r\n250-mx.test.example Hello client.test [127.0.0.1]\r\n", replies);
        Assert.Contains("250-PIPECONNECT\r\n", replies);
        Assert.DoesNotContain("STARTTLS", replies);
        Assert.EndsWith("250 HELP\r\n250 2.1.0 Sender OK\r\n250 2.1.5 Recipient OK\r\n354 Enter message, ending with \".\" on a line by itself\r\n", replies);
        await client.SendAsync(Message + ".\r\nQUIT\r\n");
        Assert.Matches(@"^250 2\.0\.0 OK id=\S+\r\n221 ", await client.ReadRepliesAsync(2));

        Assert.Matches(@"<= a@client\.test H=\(client\.test\) \[127\.0\.0\.1\]:\d+ P=esmtps L\* X=TLS1\.3:TLS_\w+:(128|256) CV=no S=\d+ id=smtps-1@client\.test for user@test\.example$",
            await mta.WaitForLogLineAsync("<= a@client.test"));
    }

    [Fact]
    public async Task EarlyInputFromAHostNotListedIsRefusedAfterTheHandshake()
    {
        await using var mta = await TestMta.StartAsync(tls.Settings(ListenerKind.TlsOnConnect,
            s => s with { Smtp = s.Smtp with { PipeliningConnectAdvertiseHosts = HostList.Parse(["192.0.2.1"]) } }));
        await using var client = await TlsSmtpClient.ConnectTlsAsync(mta.EndPoint);
        await client.SendAsync("EHLO client.test\r\nMAIL FROM:<a@client.test>\r\n");
        var replies = await client.ReadRepliesAsync(2);
        // Either the input was seen before the banner (554, no banner), or the banner won the race and
        // the EHLO with input queued behind it is the synchronisation error: 554 and close in both cases.
        Assert.EndsWith("554 5.5.0 SMTP synchronization error\r\n", replies);
        Assert.DoesNotContain("250", replies);
        Assert.True(await client.IsClosedByServerAsync());
        Assert.Contains(mta.MainLogLines(), l => l.Contains("SMTP protocol synchronization error", StringComparison.Ordinal));
    }
}
