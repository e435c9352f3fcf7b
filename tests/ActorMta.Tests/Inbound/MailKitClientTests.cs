using ActorMta.Smtp;
using ActorMta.Tests.Support;
using MailKit.Net.Smtp;
using MailKit.Security;
using MimeKit;

namespace ActorMta.Tests.Inbound;

/// <summary>MailKit, a widely used real client, against the server over loopback.</summary>
public sealed class MailKitClientTests
{
    private static MimeMessage Message(string to, string subject, string body = "Hello from MailKit.")
    {
        var message = new MimeMessage();
        message.From.Add(MailboxAddress.Parse("sender@client.test"));
        message.To.Add(MailboxAddress.Parse(to));
        message.Subject = subject;
        message.Body = new TextPart("plain") { Text = body };
        return message;
    }

    private static async Task<SmtpClient> ConnectAsync(TestMta mta)
    {
        var client = new SmtpClient { LocalDomain = "client.test" };
        await client.ConnectAsync(mta.EndPoint.Address.ToString(), mta.EndPoint.Port, SecureSocketOptions.None);
        return client;
    }

    [Fact]
    public async Task CapabilitiesAreSeenByMailKit()
    {
        await using var mta = await TestMta.StartAsync();
        using var client = await ConnectAsync(mta);
        var expected = SmtpCapabilities.Size | SmtpCapabilities.EightBitMime | SmtpCapabilities.Pipelining | SmtpCapabilities.Chunking
                       | SmtpCapabilities.UTF8 | SmtpCapabilities.EnhancedStatusCodes | SmtpCapabilities.Dsn;
        Assert.Equal(expected, client.Capabilities & expected);
        Assert.Equal(1048576u, client.MaxSize);
        await client.DisconnectAsync(true);
    }

    [Fact]
    public async Task PipelinedMessageLandsInTheMaildir()
    {
        await using var mta = await TestMta.StartAsync();
        using var client = await ConnectAsync(mta);
        var message = Message("user@test.example", "chunked");
        await client.SendAsync(message);
        await client.DisconnectAsync(true);

        var delivered = (await mta.WaitForMaildirAsync("user")).Single();
        Assert.Contains("Subject: chunked\r\n", delivered);
        Assert.Contains("Hello from MailKit.", delivered);
        var line = await mta.WaitForLogLineAsync("<= sender@client.test");
        // MailKit pipelines MAIL/RCPT/DATA (it keeps BDAT for BINARYMIME): offered early pipelining, not used.
        Assert.True(line.Contains(" P=esmtp L. S="), line);
        Assert.Contains($" id={message.MessageId} for user@test.example", line);
    }

    [Fact]
    public async Task MessageSentWithDataWhenChunkingIsNotOffered()
    {
        await using var mta = await TestMta.StartAsync(s => s with { Smtp = s.Smtp with { ChunkingAdvertiseHosts = HostList.Empty } });
        using var client = await ConnectAsync(mta);
        await client.SendAsync(Message("user@test.example", "plain data", ".leading dot\r\n.\r\nend"));
        await client.DisconnectAsync(true);
        var delivered = (await mta.WaitForMaildirAsync("user")).Single();
        Assert.Contains("\r\n.leading dot\r\n.\r\nend", delivered);
        var line = await mta.WaitForLogLineAsync("<= sender@client.test");
        Assert.DoesNotContain(" K ", line);
    }

    [Fact]
    public async Task PipelinedTransactionWithSeveralRecipients()
    {
        await using var mta = await TestMta.StartAsync();
        using var client = await ConnectAsync(mta);
        var message = Message("one@test.example", "many");
        message.To.Add(MailboxAddress.Parse("two@test.example"));
        message.Cc.Add(MailboxAddress.Parse("three@test.example"));
        await client.SendAsync(message);
        await client.DisconnectAsync(true);
        foreach (var user in new[] { "one", "two", "three" })
        {
            var delivered = (await mta.WaitForMaildirAsync(user)).Single();
            Assert.Contains($"Delivered-To: {user}@test.example\r\n", delivered);
        }
    }

    [Fact]
    public async Task InternationalAddressesTravelWithSmtpUtf8()
    {
        await using var mta = await TestMta.StartAsync();
        using var client = await ConnectAsync(mta);
        var message = Message("jörg@test.example", "Grüße", "Hallo Jörg");
        await client.SendAsync(message);
        await client.DisconnectAsync(true);
        var delivered = (await mta.WaitForMaildirAsync("jörg")).Single();
        Assert.Contains("Delivered-To: jörg@test.example", delivered);
        Assert.Contains(" P=utf8esmtp ", await mta.WaitForLogLineAsync("for jörg@test.example"));
    }

    [Fact]
    public async Task OversizedMessageIsRefusedWithSize()
    {
        await using var mta = await TestMta.StartAsync(s => s with { Smtp = s.Smtp with { MaxMessageSize = 2000 } });
        using var client = await ConnectAsync(mta);
        var error = await Assert.ThrowsAsync<SmtpCommandException>(() => client.SendAsync(Message("user@test.example", "big", new string('x', 5000))));
        Assert.Equal(SmtpStatusCode.ExceededStorageAllocation, error.StatusCode);
        Assert.Equal(0, mta.SpooledFileCount());
    }

    [Fact]
    public async Task RelayAttemptIsRefused()
    {
        await using var mta = await TestMta.StartAsync();
        using var client = await ConnectAsync(mta);
        var error = await Assert.ThrowsAsync<SmtpCommandException>(() => client.SendAsync(Message("victim@elsewhere.example", "relay?")));
        Assert.Equal(SmtpErrorCode.RecipientNotAccepted, error.ErrorCode);
        Assert.Equal(SmtpStatusCode.MailboxUnavailable, error.StatusCode);
    }

    [Fact]
    public async Task ConnectionsBeyondTheLimitAreRefused()
    {
        await using var mta = await TestMta.StartAsync(s => s with { Smtp = s.Smtp with { MaxConnections = 2 } });
        using var first = await ConnectAsync(mta);
        using var second = await ConnectAsync(mta);
        using var third = new SmtpClient();
        var error = await Assert.ThrowsAsync<SmtpCommandException>(() => third.ConnectAsync(mta.EndPoint.Address.ToString(), mta.EndPoint.Port, SecureSocketOptions.None));
        Assert.Equal(SmtpStatusCode.ServiceNotAvailable, error.StatusCode);
    }
}
