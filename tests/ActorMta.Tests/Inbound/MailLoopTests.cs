using System.Text;
using ActorMta.Inbound;
using ActorMta.Tests.Support;

namespace ActorMta.Tests.Inbound;

/// <summary>Loop detection by counting Received: header fields (RFC 5321 section 6.3, smtp.max-received-headers).</summary>
public sealed class MailLoopTests
{
    private static string Hops(int count) =>
        string.Concat(Enumerable.Range(1, count).Select(i => $"Received: from hop{i}.example by hop{i + 1}.example;\r\n\tMon, 30 Nov 2026 22:00:00 +0000\r\n"));

    [Fact]
    public async Task A_message_over_the_limit_is_refused_after_its_data_with_554_and_one_at_it_is_taken()
    {
        await using var mta = await TestMta.StartAsync(s => s with { Smtp = s.Smtp with { MaxReceivedHeaders = 3 } });
        using var client = await mta.GreetedAsync();

        await client.SendAsync("MAIL FROM:<a@client.test>\r\nRCPT TO:<user@test.example>\r\nDATA\r\n");
        await client.ReadRepliesAsync(3);
        await client.SendAsync($"{Hops(4)}Subject: looping\r\n\r\nround and round\r\n.\r\n");
        Assert.Equal("554 5.4.6 Too many Received: header fields (4, more than 3): suspected mail loop\r\n", await client.ReadRepliesAsync(1));

        // The same through BDAT, and then a message at the limit on the same connection.
        byte[] looping = Encoding.ASCII.GetBytes($"{Hops(5)}Subject: looping\r\n\r\nx\r\n");
        await client.SendAsync($"MAIL FROM:<a@client.test>\r\nRCPT TO:<user@test.example>\r\nBDAT {looping.Length} LAST\r\n{Encoding.ASCII.GetString(looping)}");
        Assert.EndsWith("554 5.4.6 Too many Received: header fields (5, more than 3): suspected mail loop\r\n", await client.ReadRepliesAsync(3));
        await client.SendAsync("MAIL FROM:<a@client.test>\r\nRCPT TO:<user@test.example>\r\nDATA\r\n");
        await client.ReadRepliesAsync(3);
        await client.SendAsync($"{Hops(3)}Subject: three hops\r\n\r\nx\r\nReceived: in the body does not count\r\n.\r\n");
        Assert.StartsWith("250 2.0.0 OK id=", await client.ReadRepliesAsync(1));

        var delivered = Assert.Single(await mta.WaitForMaildirAsync("user"));
        Assert.Contains("Subject: three hops", delivered, StringComparison.Ordinal);
        var refusals = mta.MainLogLines().Where(l => l.Contains("rejected after DATA: too many Received: header fields", StringComparison.Ordinal)).ToArray();
        Assert.Equal(2, refusals.Length);
        Assert.Contains("F=<a@client.test> rejected after DATA: too many Received: header fields (4): suspected mail loop", refusals[0], StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("Received: a\r\nreceived: b\r\nRECEIVED:c\r\n\r\nReceived: body\r\n", 3)]
    [InlineData("Received: a\r\n\tReceived: folded, not a field\r\nX-Received: no\r\nSubject: s\r\n\r\n", 1)]
    [InlineData("Subject: no fields\r\n\r\n", 0)]
    [InlineData("Received: unterminated", 1)]
    [InlineData("", 0)]
    public void Only_the_header_sections_own_fields_count(string message, int expected) =>
        Assert.Equal(expected, MessageHeaders.CountReceived(Encoding.ASCII.GetBytes(message)));
}
