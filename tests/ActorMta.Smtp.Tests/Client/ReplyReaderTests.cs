using System.Text;

namespace ActorMta.Smtp.Tests;

/// <summary>The client's reply reader: what a server's bytes become, and what a broken or hostile server's bytes are refused as.</summary>
public class ReplyReaderTests
{
    private static bool Read(string input, out SmtpReply reply, out int consumed) =>
        ReplyReader.TryRead(Encoding.UTF8.GetBytes(input), out reply, out consumed);

    private static string Refusal(byte[] input) =>
        Assert.Throws<FormatException>(() => ReplyReader.TryRead(input, out _, out _)).Message;

    [Theory]
    [InlineData("250 OK\r\n", 250, null, "OK", 8)]
    [InlineData("250 OK\n", 250, null, "OK", 7)]
    [InlineData("250\r\n", 250, null, "", 5)]
    [InlineData("550 5.1.1 No such user\r\nNOOP", 550, "5.1.1", "No such user", 24)]
    [InlineData("250-mx.example\r\n250-PIPELINING\r\n250 CHUNKING\r\n", 250, null, "mx.example|PIPELINING|CHUNKING", 46)]
    [InlineData("451-4.3.0 one\r\n451 4.3.0 two\r\n", 451, "4.3.0", "one|two", 30)]
    [InlineData("250 h\u00e9llo w\u00f6rld\r\n", 250, null, "h\u00e9llo w\u00f6rld", 19)]
    [InlineData("250 a\tb\r\n", 250, null, "a\tb", 9)]
    public void A_complete_reply_is_cut_out_of_the_input(string input, int code, string? enhanced, string lines, int consumed)
    {
        Assert.True(Read(input, out var reply, out int used));
        Assert.Equal((code, enhanced, lines, consumed), (reply.Code, reply.Enhanced, string.Join('|', reply.Lines), used));
    }

    [Theory]
    [InlineData("")]
    [InlineData("25")]
    [InlineData("250 OK")]
    [InlineData("250 OK\r")]
    [InlineData("250-first\r\n")]
    [InlineData("250-first\r\n250 la")]
    public void A_reply_without_its_last_line_is_not_returned_yet(string input)
    {
        Assert.False(Read(input, out _, out int used));
        Assert.Equal(0, used);
    }

    [Fact]
    public void Control_characters_in_a_reply_text_are_escaped_once_here_for_every_log_line_and_bounce()
    {
        Assert.True(Read("550 5.7.1 \u001b[2Jcleared \u0000 \u007f \u009b\r\n", out var reply, out _));
        Assert.Equal(@"\x1b[2Jcleared \x00 \x7f \x9b", Assert.Single(reply.Lines));
    }

    [Fact]
    public void A_malformed_line_is_refused_and_quoted_with_its_bytes_escaped()
    {
        Assert.Equal(@"malformed reply line ""\x00\xff\x1b[31m""", Refusal([0x00, 0xff, 0x1b, (byte)'[', (byte)'3', (byte)'1', (byte)'m', (byte)'\r', (byte)'\n']));
        Assert.Equal(@"malformed reply line ""25""", Refusal(Encoding.ASCII.GetBytes("25\r\n")));
        Assert.Equal(@"malformed reply line ""250x""", Refusal(Encoding.ASCII.GetBytes("250x\r\n")));
        Assert.Equal(@"malformed reply line ""250 a\rb""", Refusal(Encoding.ASCII.GetBytes("250 a\rb\r\n")));
    }

    [Fact]
    public void Broken_replies_are_refused_with_the_reason()
    {
        Assert.Equal("reply code changed from 250 to 550 within one reply", Refusal(Encoding.ASCII.GetBytes("250-a\r\n550 b\r\n")));
        Assert.Equal("reply code 999 out of range", Refusal(Encoding.ASCII.GetBytes("999 x\r\n")));
        Assert.Equal("reply code 100 out of range", Refusal(Encoding.ASCII.GetBytes("100 x\r\n")));
        Assert.Equal("reply too long", Refusal(Encoding.ASCII.GetBytes("250 " + new string('x', ReplyReader.MaxReplyLength))));
        Assert.Equal("reply too long", Refusal(Encoding.ASCII.GetBytes(string.Concat(Enumerable.Repeat("250-x\r\n", ReplyReader.MaxReplyLength / 7 + 1)))));
    }
}
