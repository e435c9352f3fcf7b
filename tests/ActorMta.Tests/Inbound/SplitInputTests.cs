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
}
