using System.Buffers;
using System.Text;

namespace ActorMta.Smtp.Tests;

public class SmtpReplyTests
{
    private static string Wire(SmtpReply reply)
    {
        var buffer = new ArrayBufferWriter<byte>();
        reply.WriteTo(buffer);
        return Encoding.UTF8.GetString(buffer.WrittenSpan);
    }

    [Fact]
    public void SingleLineWithEnhancedCode() =>
        Assert.Equal("250 2.0.0 OK\r\n", Wire(new SmtpReply(250, "2.0.0", "OK")));

    [Fact]
    public void SingleLineWithoutEnhancedCode() =>
        Assert.Equal("220 mx.example.com ESMTP\r\n", Wire(new SmtpReply(220, null, "mx.example.com ESMTP")));

    [Fact]
    public void MultiLineUsesDashUntilTheLastLine() =>
        Assert.Equal("250-a\r\n250-b\r\n250 c\r\n", Wire(new SmtpReply(250, null, "a", "b", "c")));

    [Fact]
    public void EnhancedCodeIsRepeatedOnEveryLine() =>
        Assert.Equal(
            "550-5.7.1 Relay not permitted\r\n550 5.7.1 See the policy page\r\n",
            Wire(new SmtpReply(550, "5.7.1", "Relay not permitted", "See the policy page")));

    [Theory]
    [InlineData(354, null, new string[0], "354\r\n")]
    [InlineData(250, "2.0.0", new string[0], "250 2.0.0\r\n")]
    [InlineData(250, null, new[] { "" }, "250\r\n")]
    [InlineData(250, null, new[] { "", "x" }, "250-\r\n250 x\r\n")]
    [InlineData(421, "4.3.2", new[] { "Shutting down" }, "421 4.3.2 Shutting down\r\n")]
    public void EmptyTextStillGivesAWellFormedLine(int code, string? enhanced, string[] lines, string expected) =>
        Assert.Equal(expected, Wire(new SmtpReply(code, enhanced, lines)));

    [Fact]
    public void TextIsWrittenAsUtf8() =>
        Assert.Equal("250 2.0.0 Grüße\r\n"u8.ToArray(), new SmtpReply(250, "2.0.0", "Grüße").Encoded.ToArray());

    [Fact]
    public void SpanWriteReturnsTheLengthAndRefusesAShortSpan()
    {
        var reply = new SmtpReply(221, "2.0.0", "Bye");
        byte[] buffer = new byte[64];
        int n = reply.WriteTo(buffer);
        Assert.Equal("221 2.0.0 Bye\r\n", Encoding.ASCII.GetString(buffer, 0, n));
        Assert.Throws<ArgumentException>(() => reply.WriteTo(new byte[5].AsSpan()));
    }

    [Theory]
    [InlineData(550, "5.7.1", new[] { "Relay not permitted" }, "550 5.7.1 Relay not permitted")]
    [InlineData(250, null, new[] { "mx Hello", "PIPELINING", "SIZE 100" }, "250 mx Hello / PIPELINING / SIZE 100")]
    [InlineData(354, null, new string[0], "354")]
    public void ToStringIsOneLineForLogs(int code, string? enhanced, string[] lines, string expected) =>
        Assert.Equal(expected, new SmtpReply(code, enhanced, lines).ToString());

    [Theory]
    [InlineData(250, false, false, true)]
    [InlineData(354, false, false, true)]
    [InlineData(421, true, false, false)]
    [InlineData(452, true, false, false)]
    [InlineData(550, false, true, false)]
    public void ClassifiesByFirstDigit(int code, bool transient, bool permanent, bool positive)
    {
        var reply = new SmtpReply(code, null, "x");
        Assert.Equal(transient, reply.IsTransient);
        Assert.Equal(permanent, reply.IsPermanent);
        Assert.Equal(positive, reply.IsPositive);
    }

    [Theory]
    [InlineData("a\r\n250 injected")]
    [InlineData("a\nb")]
    [InlineData("a\rb")]
    public void TextWithLineBreaksIsRefused(string text) =>
        Assert.Throws<ArgumentException>(() => new SmtpReply(250, null, text));

    [Theory]
    [InlineData(250, "5.0.0")]
    [InlineData(550, "5.0")]
    [InlineData(550, "5.0.0.0")]
    [InlineData(550, "5.a.0")]
    [InlineData(550, "5.1234.0")]
    public void EnhancedCodeMustMatchTheReplyClass(int code, string enhanced) =>
        Assert.Throws<ArgumentException>(() => new SmtpReply(code, enhanced, "x"));

    [Theory]
    [InlineData(99)]
    [InlineData(199)]
    [InlineData(600)]
    public void CodeOutsideTwoToFiveHundredsIsRefused(int code) =>
        Assert.Throws<ArgumentOutOfRangeException>(() => new SmtpReply(code, null, "x"));

    [Fact]
    public void LinesAreCopiedSoTheCallerCannotChangeAReply()
    {
        string[] lines = ["one"];
        var reply = new SmtpReply(250, null, lines);
        lines[0] = "two";
        Assert.Equal("250 one\r\n", Wire(reply));
        Assert.Equal(["one"], reply.Lines);
    }

    [Fact]
    public void SendingACachedReplyAllocatesNothing()
    {
        SmtpReply reply = CommandErrors.NotText;
        var buffer = new ArrayBufferWriter<byte>(4096);
        reply.WriteTo(buffer); // first use encodes
        buffer.Clear();
        long before = GC.GetAllocatedBytesForCurrentThread();
        for (int i = 0; i < 10; i++)
        {
            reply.WriteTo(buffer);
        }

        long after = GC.GetAllocatedBytesForCurrentThread();
        Assert.Equal(0, after - before);
    }

    [Theory]
    [MemberData(nameof(ParserErrors))]
    public void ParserErrorsCarryTheirDocumentedCodes(SmtpReply reply, string codes) =>
        Assert.Equal(codes, $"{reply.Code} {reply.Enhanced}");

    public static TheoryData<SmtpReply, string> ParserErrors => new()
    {
        { CommandErrors.EmptyLine, "500 5.5.2" },
        { CommandErrors.NotText, "500 5.5.2" },
        { CommandErrors.LineTooLong, "500 5.5.6" },
        { CommandErrors.MailSyntax, "501 5.5.4" },
        { CommandErrors.BadAddress, "501 5.5.4" },
        { CommandErrors.BdatSyntax, "501 5.5.4" },
        { CommandErrors.UnknownParameter, "555 5.5.4" },
        { CommandErrors.DuplicateParameter, "555 5.5.4" },
        { CommandErrors.BadParameterValue, "555 5.5.4" },
    };
}
