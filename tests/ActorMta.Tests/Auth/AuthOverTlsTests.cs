using System.Net.Security;
using System.Security.Cryptography.X509Certificates;
using ActorMta.Configuration;
using ActorMta.Tests.Support;
using ActorMta.Tests.Tls;
using MailKit.Net.Smtp;
using MailKit.Security;
using MimeKit;
using static ActorMta.Tests.Auth.AuthTestKit;

namespace ActorMta.Tests.Auth;

/// <summary>
/// AUTH with the default policy (not in clear text): offered after STARTTLS and on TLS-on-connect
/// listeners, refused before; forgotten across STARTTLS (RFC 3207); P=esmtpsa on the log line.
/// </summary>
public sealed class AuthOverTlsTests(TlsFixture tls) : IClassFixture<TlsFixture>
{
    private async Task<TestMta> StartAsync(ListenerKind kind, bool allowCleartext = false)
    {
        var mta = await TestMta.StartAsync(tls.Settings(kind, s => s with
        {
            Auth = s.Auth with { AllowCleartext = allowCleartext, FailureDelay = TimeSpan.Zero },
        }));
        AddUser(mta.Settings.Auth.UsersFile, "alice", "wonderland");
        return mta;
    }

    private SmtpClient MailKit() => new()
    {
        LocalDomain = "client.test",
        ServerCertificateValidationCallback = (_, certificate, _, errors) =>
            certificate is not null
            && (errors & ~SslPolicyErrors.RemoteCertificateChainErrors) == SslPolicyErrors.None
            && tls.Authority.Trusts(new X509Certificate2(certificate)),
    };

    private static MimeMessage Message(string to)
    {
        var message = new MimeMessage();
        message.From.Add(MailboxAddress.Parse("alice@client.test"));
        message.To.Add(MailboxAddress.Parse(to));
        message.Subject = "submitted over TLS";
        message.Body = new TextPart("plain") { Text = "Hello." };
        return message;
    }

    [Fact]
    public async Task OnTheSubmissionPortAuthComesOnlyAfterStartTls()
    {
        await using var mta = await StartAsync(ListenerKind.Submission);
        await using var client = await TlsSmtpClient.ConnectAsync(mta.EndPoint);
        await client.ReadRepliesAsync(1);
        await client.SendAsync("EHLO client.test\r\n");
        var clear = await client.ReadRepliesAsync(1);
        Assert.DoesNotContain("AUTH", clear, StringComparison.Ordinal);
        Assert.Contains("250-STARTTLS\r\n", clear, StringComparison.Ordinal);

        await client.SendAsync($"AUTH PLAIN {Plain("alice", "wonderland")}\r\n");
        Assert.Equal("538 5.7.11 Encryption required for requested authentication mechanism\r\n", await client.ReadRepliesAsync(1));
        await client.SendAsync("MAIL FROM:<alice@client.test>\r\n");
        Assert.Equal("530 5.7.0 Authentication required\r\n", await client.ReadRepliesAsync(1));

        await client.SendAsync("STARTTLS\r\n");
        await client.ReadRepliesAsync(1);
        await client.StartTlsAsync();
        await client.SendAsync("EHLO client.test\r\n");
        Assert.Contains("250-AUTH PLAIN LOGIN\r\n", await client.ReadRepliesAsync(1), StringComparison.Ordinal);
        await client.SendAsync($"AUTH PLAIN {Plain("alice", "wonderland")}\r\n");
        Assert.Equal("235 2.7.0 Authentication succeeded\r\n", await client.ReadRepliesAsync(1));
        await client.SendAsync("MAIL FROM:<alice@client.test>\r\nRCPT TO:<bob@elsewhere.example>\r\nDATA\r\n");
        await client.ReadRepliesAsync(3);
        await client.SendAsync("Subject: s\r\n\r\nbody\r\n.\r\n");
        Assert.StartsWith("250 2.0.0 OK id=", await client.ReadRepliesAsync(1), StringComparison.Ordinal);

        Assert.Matches(@" <= alice@client\.test H=\(client\.test\) \[127\.0\.0\.1\]:\d+ P=esmtpsa L\. X=TLS1\.3:TLS_\w+:(128|256) CV=no A=plain:alice S=\d+ for bob@elsewhere\.example$",
            await mta.WaitForLogLineAsync("<= alice@client.test"));
    }

    [Fact]
    public async Task MailKitAuthenticatesOverStartTlsOnTheSubmissionPort()
    {
        await using var mta = await StartAsync(ListenerKind.Submission);
        using var client = MailKit();
        await client.ConnectAsync("127.0.0.1", mta.EndPoint.Port, SecureSocketOptions.StartTls);
        Assert.True(client.IsSecure);
        await client.AuthenticateAsync("alice", "wonderland");
        await client.SendAsync(Message("user@test.example"));
        await client.DisconnectAsync(true);

        Assert.Matches(@" P=esmtpsa L\. X=TLS1\.3:\S+ CV=no A=plain:alice S=\d+ ", await mta.WaitForLogLineAsync("<= alice@client.test"));
        Assert.Contains("(ActorMta) with ESMTPSA\r\n", (await mta.WaitForMaildirAsync("user")).Single(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task MailKitAuthenticatesOnATlsOnConnectListener()
    {
        await using var mta = await StartAsync(ListenerKind.TlsOnConnect);
        using var client = MailKit();
        await client.ConnectAsync("127.0.0.1", mta.EndPoint.Port, SecureSocketOptions.SslOnConnect);
        Assert.Contains("PLAIN", client.AuthenticationMechanisms);
        await client.AuthenticateAsync("alice", "wonderland");
        await client.SendAsync(Message("user@test.example"));
        await client.DisconnectAsync(true);

        Assert.Matches(@" P=esmtpsa L\. X=TLS1\.3:\S+ CV=no A=plain:alice S=\d+ id=\S+ for user@test\.example$", await mta.WaitForLogLineAsync("<= alice@client.test"));
    }

    [Fact]
    public async Task AuthenticationBeforeStartTlsIsForgotten()
    {
        await using var mta = await StartAsync(ListenerKind.Submission, allowCleartext: true);
        await using var client = await TlsSmtpClient.ConnectAsync(mta.EndPoint);
        await client.ReadRepliesAsync(1);
        await client.SendAsync("EHLO client.test\r\n");
        await client.ReadRepliesAsync(1);
        await client.SendAsync($"AUTH PLAIN {Plain("alice", "wonderland")}\r\n");
        Assert.Equal("235 2.7.0 Authentication succeeded\r\n", await client.ReadRepliesAsync(1));

        await client.SendAsync("STARTTLS\r\n");
        await client.ReadRepliesAsync(1);
        await client.StartTlsAsync();
        await client.SendAsync("EHLO client.test\r\n");
        await client.ReadRepliesAsync(1);
        await client.SendAsync("MAIL FROM:<alice@client.test>\r\n");
        Assert.Equal("530 5.7.0 Authentication required\r\n", await client.ReadRepliesAsync(1));
    }
}
