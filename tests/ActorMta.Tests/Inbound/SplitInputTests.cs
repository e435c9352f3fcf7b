using System.Text;
using ActorMta.Tests.Support;

namespace ActorMta.Tests.Inbound;

/// <summary>
/// Input that arrives in pieces over a real socket: a person typing, a line split across TCP
/// segments, a command or chunk cut anywhere. The framing tests cover the decoders; these cover
/// the session that must wait for the rest without doing anything else (until 2026-11-30 a
/// partial command line overflowed the stack and took the whole process down).
/// </summary>
public sealed class SplitInputTests
{
    /// <summary>Sends each byte in its own segment (the client has Nagle off) with a pause between, so the server reads them one by one.</summary>
    private static async Task TypeAsync(RawSmtpClient client, string text)
    {
        foreach (byte b in Encoding.UTF8.GetBytes(text))
        {
            await client.SendAsync([b]);
            await Task.Delay(1);
        }
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task A_whole_session_typed_one_byte_per_segment_gets_every_reply_and_its_message_delivered(bool bdat)
    {
        await using var mta = await TestMta.StartAsync();
        using var client = await mta.ConnectAsync();
        Assert.StartsWith("220 ", await client.ReadRepliesAsync(1));

        await TypeAsync(client, "EHLO client.test\r\n");
        Assert.Contains("250 ", await client.ReadRepliesAsync(1));
        await TypeAsync(client, "MAIL FROM:<a@client.test>\r\n");
        Assert.Equal("250 2.1.0 Sender OK\r\n", await client.ReadRepliesAsync(1));
        await TypeAsync(client, "RCPT TO:<user@test.example>\r\n");
        Assert.Equal("250 2.1.5 Recipient OK\r\n", await client.ReadRepliesAsync(1));
        if (bdat)
        {
            // A chunk cut at every byte, its end and the next command in the same pieces.
            await TypeAsync(client, "BDAT 24\r\nSubject: typed\r\n\r\nx\r\n.\r\n");
            Assert.Equal("250 2.0.0 24 octets received\r\n", await client.ReadRepliesAsync(1));
            await TypeAsync(client, "BDAT 0 LAST\r\n");
        }
        else
        {
            await TypeAsync(client, "DATA\r\n");
            Assert.StartsWith("354 ", await client.ReadRepliesAsync(1));
            await TypeAsync(client, "Subject: typed\r\n\r\nx\r\n..\r\n.\r\n"); // a stuffed dot split from its line
        }
        Assert.StartsWith("250 2.0.0 OK id=", await client.ReadRepliesAsync(1));
        await TypeAsync(client, "QUIT\r\n");
        Assert.StartsWith("221 ", await client.ReadRepliesAsync(1));

        var delivered = Assert.Single(await mta.WaitForMaildirAsync("user"));
        Assert.EndsWith("Subject: typed\r\n\r\nx\r\n.\r\n", delivered);
    }

    [Fact]
    public async Task A_partial_command_behind_a_complete_one_waits_for_its_end_and_the_server_goes_on()
    {
        await using var mta = await TestMta.StartAsync();
        using (var client = await mta.ConnectAsync())
        {
            await client.ReadRepliesAsync(1);
            await client.SendAsync("EHLO client.test\r\n");
            await client.ReadRepliesAsync(1);

            await client.SendAsync("MAIL FROM:<a@client.test>\r\nRCPT TO:<user@te");
            Assert.Equal("250 2.1.0 Sender OK\r\n", await client.ReadRepliesAsync(1));
            await Task.Delay(200); // the half line is left alone: no reply, no error
            await client.SendAsync("st.example>\r\n");
            Assert.Equal("250 2.1.5 Recipient OK\r\n", await client.ReadRepliesAsync(1));
            await client.SendAsync("QUIT\r\n");
            Assert.StartsWith("221 ", await client.ReadRepliesAsync(1));
        }

        // The server is still there for the next client.
        using var next = await mta.ConnectAsync();
        Assert.StartsWith("220 ", await next.ReadRepliesAsync(1));
    }

    /// <summary>A pipelined session in flights (what is sent before waiting) and the replies each flight waits for.</summary>
    private static readonly (string Flight, int Replies)[] Session =
    [
        ("EHLO client.test\r\n", 1),
        ("MAIL FROM:<a@client.test>\r\nRCPT TO:<user@test.example>\r\nRCPT TO:<x@elsewhere.example>\r\n"
         + "BDAT 17\r\nSubject: chunks\r\nBDAT 9 LAST\r\n\r\nhello\r\n", 5),
        ("MAIL FROM:<b@client.test>\r\nRCPT TO:<user@test.example>\r\nDATA\r\n", 3),
        ("Subject: data\r\n\r\n..one\r\n.\r\n", 1),
        ("RSET\r\nNOOP\r\n", 2),
        ("QUIT\r\n", 1),
    ];

    private static async Task<string> RunSessionAsync(TestMta mta, Random? splitter)
    {
        using var client = await mta.ConnectAsync();
        var replies = new StringBuilder(await client.ReadRepliesAsync(1));
        foreach (var (flight, count) in Session)
        {
            var bytes = Encoding.UTF8.GetBytes(flight);
            for (int at = 0; at < bytes.Length;)
            {
                int length = splitter is null ? bytes.Length - at : Math.Min(bytes.Length - at, splitter.Next(1, 12));
                await client.SendAsync(bytes[at..(at + length)]);
                at += length;
                if (splitter is not null) await Task.Delay(1);
            }
            replies.Append(await client.ReadRepliesAsync(count));
        }
        return System.Text.RegularExpressions.Regex.Replace(replies.ToString(), @"id=\S+", "id=ID");
    }

    [Fact]
    public async Task A_pipelined_session_cut_at_random_places_gets_the_replies_of_the_whole_one()
    {
        await using var mta = await TestMta.StartAsync();
        string whole = await RunSessionAsync(mta, null);
        Assert.Contains("550 5.7.1 Relay not permitted\r\n", whole);
        Assert.Equal(2, whole.Split("250 2.0.0 OK id=ID").Length - 1);

        for (int seed = 1; seed <= 4; seed++)
            Assert.Equal(whole, await RunSessionAsync(mta, new Random(seed)));

        var delivered = await mta.WaitForMaildirAsync("user", 10);
        Assert.Equal(5, delivered.Count(m => m.EndsWith("Subject: chunks\r\n\r\nhello\r\n", StringComparison.Ordinal)));
        Assert.Equal(5, delivered.Count(m => m.EndsWith("Subject: data\r\n\r\n.one\r\n", StringComparison.Ordinal)));
    }
}
