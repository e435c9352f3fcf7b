using System.Security.Authentication;
using ActorMta.Configuration;
using ActorMta.Smtp;
using ActorMta.Tests.Support;

namespace ActorMta.Tests.Tls;

/// <summary>STARTTLS (RFC 3207) on the server, byte by byte: what is offered, what is forgotten, what is never executed.</summary>
public sealed class StartTlsTests(TlsFixture tls) : IClassFixture<TlsFixture>
{
    private const string Message = "Subject: tls\r\nMessage-ID: <tls-1@client.test>\r\n\r\nover TLS\r\n";

    private static async Task<TlsSmtpClient> GreetedAsync(TestMta mta)
    {
        var client = await TlsSmtpClient.ConnectAsync(mta.EndPoint);
        Assert.Equal("220 mx.test.example ESMTP ActorMta\r\n", await client.ReadRepliesAsync(1));
        return client;
    }

    [Fact]
    public async Task StartTlsIsOfferedInClearAndNotAfterTheUpgrade()
    {
        await using var mta = await TestMta.StartAsync(tls.Settings());
        await using var client = await GreetedAsync(mta);
        await client.SendAsync("EHLO client.test\r\n");
        var clear = await client.ReadRepliesAsync(1);
        Assert.Contains("250-CHUNKING\r\n250-STARTTLS\r\n250-SMTPUTF8\r\n", clear);

        await client.SendAsync("STARTTLS\r\n");
        Assert.Equal("220 2.0.0 Ready to start TLS\r\n", await client.ReadRepliesAsync(1));
        await client.StartTlsAsync();
        Assert.Equal(SslProtocols.Tls13, client.Protocol);
        Assert.True(tls.Authority.Trusts(client.ServerCertificate!));

        await client.SendAsync("EHLO client.test\r\n");
        var secure = await client.ReadRepliesAsync(1);
        Assert.DoesNotContain("STARTTLS", secure);
        Assert.Contains("250-PIPELINING\r\n250-PIPECONNECT\r\n", secure); // spec rule 1: offered after STARTTLS too

        await client.SendAsync("STARTTLS\r\n");
        Assert.Equal("503 5.5.1 TLS already active\r\n", await client.ReadRepliesAsync(1));
    }

    [Fact]
    public async Task TheSessionForgetsEverythingAndWantsEhloAgain()
    {
        await using var mta = await TestMta.StartAsync(tls.Settings());
        await using var client = await GreetedAsync(mta);
        await client.SendAsync("EHLO client.test\r\n");
        await client.ReadRepliesAsync(1);
        await client.SendAsync("MAIL FROM:<before@client.test>\r\n");
        Assert.Equal("250 2.1.0 Sender OK\r\n", await client.ReadRepliesAsync(1));
        await client.SendAsync("STARTTLS\r\n");
        await client.ReadRepliesAsync(1);
        await client.StartTlsAsync();

        await client.SendAsync("RCPT TO:<user@test.example>\r\n");
        Assert.StartsWith("503 5.5.1 Bad sequence of commands: expected EHLO, HELO", await client.ReadRepliesAsync(1));
        await client.SendAsync("MAIL FROM:<a@client.test>\r\n");
        Assert.StartsWith("503 5.5.1 Bad sequence of commands: expected EHLO, HELO", await client.ReadRepliesAsync(1));
    }

    /// <summary>CVE-2011-0411: commands pipelined after STARTTLS in clear text must never run inside the TLS session.</summary>
    [Fact]
    public async Task CommandsInjectedAfterStartTlsAreDiscardedNeverExecuted()
    {
        await using var mta = await TestMta.StartAsync(tls.Settings());
        await using var client = await GreetedAsync(mta);
        await client.SendAsync("EHLO client.test\r\n");
        await client.ReadRepliesAsync(1);

        await client.SendAsync("STARTTLS\r\nMAIL FROM:<evil@x>\r\n"); // one segment
        Assert.Equal("220 2.0.0 Ready to start TLS\r\n", await client.ReadOnceAsync()); // nothing for the MAIL
        await client.StartTlsAsync();

        await client.SendAsync("EHLO client.test\r\n");
        await client.ReadRepliesAsync(1);
        await client.SendAsync("RCPT TO:<user@test.example>\r\n");
        Assert.Equal("503 5.5.1 Bad sequence of commands: expected EHLO, HELO, MAIL\r\n", await client.ReadRepliesAsync(1)); // no sender: the MAIL never ran

        await client.SendAsync("MAIL FROM:<good@client.test>\r\nRCPT TO:<user@test.example>\r\nDATA\r\n");
        Assert.Equal("250 2.1.0 Sender OK\r\n250 2.1.5 Recipient OK\r\n354 Enter message, ending with \".\" on a line by itself\r\n",
            await client.ReadRepliesAsync(3));
        await client.SendAsync(Message + ".\r\nQUIT\r\n");
        Assert.Matches(@"^250 2\.0\.0 OK id=\S+\r\n221 ", await client.ReadRepliesAsync(2));

        var discarded = await mta.WaitForLogLineAsync("sent after STARTTLS before the TLS handshake discarded");
        Assert.Contains("20 bytes", discarded);
        Assert.Contains("input=\"MAIL FROM:<evil@x>\\r\\n\"", discarded);
        var received = await mta.WaitForLogLineAsync("<= good@client.test");
        Assert.Matches(@" P=esmtps L\. X=TLS1\.3:TLS_\w+:(128|256) CV=no S=", received);
        Assert.DoesNotContain(mta.MainLogLines(), l => l.Contains("evil", StringComparison.Ordinal) && !l.Contains("discarded", StringComparison.Ordinal));
        var delivered = (await mta.WaitForMaildirAsync("user")).Single();
        Assert.Contains(" (ActorMta) with ESMTPS\r\n", delivered);
        Assert.EndsWith(Message, delivered);
    }

    [Fact]
    public async Task TlsPhaseEhloWithTheTransactionBehindItIsEarlyAndAnsweredInOneWrite()
    {
        await using var mta = await TestMta.StartAsync(tls.Settings());
        await using var client = await GreetedAsync(mta);
        await client.SendAsync("EHLO client.test\r\n");
        await client.ReadRepliesAsync(1);
        await client.SendAsync("STARTTLS\r\n");
        await client.ReadRepliesAsync(1);
        await client.StartTlsAsync();

        await client.SendAsync("EHLO client.test\r\nMAIL FROM:<a@client.test>\r\nRCPT TO:<user@test.example>\r\nDATA\r\n");
        var read = await client.ReadOnceAsync();
        Assert.StartsWith("250-mx.test.example Hello client.test [127.0.0.1]\r\n", read);
        Assert.EndsWith("250 HELP\r\n250 2.1.0 Sender OK\r\n250 2.1.5 Recipient OK\r\n354 Enter message, ending with \".\" on a line by itself\r\n", read);
        await client.SendAsync(Message + ".\r\nQUIT\r\n");
        await client.ReadRepliesAsync(2);
        Assert.Contains(" P=esmtps L* X=TLS1.3:", await mta.WaitForLogLineAsync("<= a@client.test"));
    }

    [Fact]
    public async Task WithoutTlsStartTlsIsNotOfferedAndGets454()
    {
        await using var mta = await TestMta.StartAsync();
        await using var client = await GreetedAsync(mta);
        await client.SendAsync("EHLO client.test\r\n");
        Assert.DoesNotContain("STARTTLS", await client.ReadRepliesAsync(1));
        await client.SendAsync("STARTTLS\r\n");
        Assert.Equal("454 4.7.0 TLS currently unavailable\r\n", await client.ReadRepliesAsync(1));
        await client.SendAsync("NOOP\r\n");
        Assert.Equal("250 2.0.0 OK\r\n", await client.ReadRepliesAsync(1));
    }

    [Fact]
    public async Task HostsOutsideAdvertiseHostsAreNotOfferedStartTls()
    {
        await using var mta = await TestMta.StartAsync(tls.Settings(more: s => s with { Tls = s.Tls with { AdvertiseHosts = HostList.Parse(["192.0.2.0/24"]) } }));
        await using var client = await GreetedAsync(mta);
        await client.SendAsync("EHLO client.test\r\n");
        Assert.DoesNotContain("STARTTLS", await client.ReadRepliesAsync(1));
        await client.SendAsync("STARTTLS\r\n");
        Assert.Equal("503 5.5.1 STARTTLS command used when not advertised\r\n", await client.ReadRepliesAsync(1));
    }

    [Fact]
    public async Task PlainTextInsteadOfAHandshakeClosesTheConnectionAndIsLogged()
    {
        await using var mta = await TestMta.StartAsync(tls.Settings());
        await using var client = await GreetedAsync(mta);
        await client.SendAsync("STARTTLS\r\n");
        await client.ReadRepliesAsync(1);
        await client.SendAsync("this is not a TLS client hello\r\n");
        Assert.True(await client.IsClosedByServerAsync());
        Assert.Contains("(STARTTLS)", await mta.WaitForLogLineAsync("TLS error on connection from H=[127.0.0.1]"));
    }

    [Fact]
    public async Task AClientThatNeverStartsTheHandshakeIsDroppedAfterTheHandshakeTimeout()
    {
        await using var mta = await TestMta.StartAsync(tls.Settings(more: s => s with { Tls = s.Tls with { HandshakeTimeout = TimeSpan.FromMilliseconds(500) } }));
        await using var client = await GreetedAsync(mta);
        await client.SendAsync("STARTTLS\r\n");
        await client.ReadRepliesAsync(1);
        Assert.True(await client.IsClosedByServerAsync(TimeSpan.FromSeconds(5)));
        Assert.Contains("handshake timed out after 0.5s", await mta.WaitForLogLineAsync("TLS error on connection from"));
    }

    [Fact]
    public async Task Tls12OnlyWhenConfiguredSo()
    {
        await using var mta = await TestMta.StartAsync(tls.Settings(more: s => s with { Tls = s.Tls with { Protocols = SslProtocols.Tls12 } }));
        await using var client = await GreetedAsync(mta);
        await client.SendAsync("STARTTLS\r\n");
        await client.ReadRepliesAsync(1);
        await client.StartTlsAsync();
        Assert.Equal(SslProtocols.Tls12, client.Protocol);
        await client.SendAsync("EHLO client.test\r\nMAIL FROM:<a@client.test>\r\nRCPT TO:<user@test.example>\r\nDATA\r\n");
        await client.ReadRepliesAsync(4);
        await client.SendAsync(Message + ".\r\n");
        await client.ReadRepliesAsync(1);
        Assert.Matches(@" X=TLS1\.2:TLS_ECDHE_RSA_WITH_AES_(256|128)_GCM_SHA(384|256):(256|128) CV=no ", await mta.WaitForLogLineAsync("<= a@client.test"));
    }
}
