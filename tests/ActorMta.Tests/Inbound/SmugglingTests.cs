using ActorMta.Configuration;
using ActorMta.Tests.Support;

namespace ActorMta.Tests.Inbound;

/// <summary>SMTP smuggling (CVE-2023-51764/51765/51766): only CRLF.CRLF ends the data, and bare line endings never reach the spool.</summary>
public sealed class SmugglingTests
{
    private static async Task<RawSmtpClient> InDataAsync(TestMta mta)
    {
        var client = await mta.ConnectAsync();
        await client.ReadRepliesAsync(1);
        await client.SendAsync("EHLO client.test\r\n");
        await client.ReadRepliesAsync(1);
        await client.SendAsync("MAIL FROM:<a@client.test>\r\nRCPT TO:<user@test.example>\r\nDATA\r\n");
        await client.ReadRepliesAsync(3);
        return client;
    }

    [Theory]
    [InlineData("\n.\n")]
    [InlineData("\r.\r")]
    [InlineData("\n.\r\n")]
    [InlineData("\r\n.\n")]
    public async Task SmuggledTerminatorDoesNotEndTheDataAndTheMessageIsRefused(string fakeEnd)
    {
        await using var mta = await TestMta.StartAsync();
        using var client = await InDataAsync(mta);
        await client.SendAsync($"Subject: outer\r\n\r\nhello{fakeEnd}MAIL FROM:<evil@client.test>\r\nRCPT TO:<user@test.example>\r\nDATA\r\nSubject: smuggled\r\n\r\nx\r\n.\r\n");
        Assert.Equal("550 5.6.0 Message contains a bare CR or LF; lines must end with CRLF (SMTP smuggling protection)\r\n", await client.ReadRepliesAsync(1));
        await client.SendAsync("NOOP\r\n");
        Assert.Equal("250 2.0.0 OK\r\n", await client.ReadRepliesAsync(1));
        Assert.Equal(0, mta.SpooledFileCount());
        Assert.DoesNotContain(mta.MainLogLines(), l => l.Contains("<= evil@client.test"));
    }

    [Fact]
    public async Task WithNormalizeBareLineEndingsBecomeCrlfAndStillDoNotEndTheData()
    {
        await using var mta = await TestMta.StartAsync(s => s with { Smtp = s.Smtp with { BareLineEndings = BareLineEndingPolicy.Normalize } });
        using var client = await InDataAsync(mta);
        await client.SendAsync("Subject: outer\r\n\r\nhello\n.\nMAIL FROM:<evil@client.test>\r\n.\r\n");
        Assert.StartsWith("250 2.0.0 OK id=", await client.ReadRepliesAsync(1));
        var delivered = (await mta.WaitForMaildirAsync("user")).Single();
        Assert.EndsWith("Subject: outer\r\n\r\nhello\r\n.\r\nMAIL FROM:<evil@client.test>\r\n", delivered);
        Assert.DoesNotContain(mta.MainLogLines(), l => l.Contains("<= evil@client.test"));
    }
}
