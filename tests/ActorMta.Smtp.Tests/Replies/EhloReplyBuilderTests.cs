using System.Buffers;
using System.Text;

namespace ActorMta.Smtp.Tests;

public class EhloReplyBuilderTests
{
    [Fact]
    public void GreetingFirstThenKeywordsInOrderAddedLastLineWithSpace()
    {
        SmtpReply reply = new EhloReplyBuilder("mx.example.com Hello client.example [192.0.2.9]")
            .Add("PIPELINING")
            .Add("PIPECONNECT")
            .Add("SIZE 52428800")
            .Add("8BITMIME")
            .Add("CHUNKING")
            .Build();

        var buffer = new ArrayBufferWriter<byte>();
        reply.WriteTo(buffer);
        Assert.Equal(
            "250-mx.example.com Hello client.example [192.0.2.9]\r\n" +
            "250-PIPELINING\r\n" +
            "250-PIPECONNECT\r\n" +
            "250-SIZE 52428800\r\n" +
            "250-8BITMIME\r\n" +
            "250 CHUNKING\r\n",
            Encoding.ASCII.GetString(buffer.WrittenSpan));
        Assert.Null(reply.Enhanced);
        Assert.Equal(250, reply.Code);
    }

    [Fact]
    public void GreetingAloneIsASingleLine() =>
        Assert.Equal("250 mx.example.com Hello x [192.0.2.1]\r\n"u8.ToArray(),
            new EhloReplyBuilder("mx.example.com Hello x [192.0.2.1]").Build().Encoded.ToArray());

    [Theory]
    [InlineData("")]
    [InlineData(" ")]
    public void EmptyKeywordIsRefused(string keyword) =>
        Assert.ThrowsAny<ArgumentException>(() => new EhloReplyBuilder("mx").Add(keyword));

    [Fact]
    public void KeywordWithLineBreakIsRefused() =>
        Assert.Throws<ArgumentException>(() => new EhloReplyBuilder("mx").Add("SIZE\r\n250 AUTH PLAIN").Build());
}
