using System.Text;

namespace ActorMta.Smtp.Tests;

public class LineFramerTests
{
    [Theory]
    [InlineData("NOOP\r\n", 4, 6)]
    [InlineData("NOOP\n", 4, 5)]
    [InlineData("\r\n", 0, 2)]
    [InlineData("\n", 0, 1)]
    [InlineData("MAIL FROM:<>\r\nRCPT TO:<a@b.c>\r\n", 12, 14)]
    [InlineData("A\rB\r\n", 3, 5)]
    public void FindsTheFirstLine(string input, int lineLength, int consumed)
    {
        Assert.True(LineFramer.TryReadLine(Encoding.ASCII.GetBytes(input), 512, out int length, out int used, out bool tooLong));
        Assert.Equal(lineLength, length);
        Assert.Equal(consumed, used);
        Assert.False(tooLong);
    }

    [Theory]
    [InlineData("")]
    [InlineData("NOOP")]
    [InlineData("NOOP\r")]
    public void IncompleteLineNeedsMoreInput(string input)
    {
        Assert.False(LineFramer.TryReadLine(Encoding.ASCII.GetBytes(input), 512, out _, out int used, out bool tooLong));
        Assert.False(tooLong);
        Assert.Equal(0, used);
    }

    [Theory]
    [InlineData(10, "0123456789\r\n", true, 10)]
    [InlineData(10, "0123456789\n", true, 10)]
    [InlineData(10, "01234567890\r\n", false, 0)]
    [InlineData(10, "01234567890\n", false, 0)]
    [InlineData(10, "012345678901", false, 0)]
    [InlineData(10, "012345678901234567890", false, 0)]
    [InlineData(10, "0123456789\r", false, 0)]
    [InlineData(10, "01234567890", false, 0)]
    public void LineLimitExcludesTheTerminator(int max, string input, bool found, int lineLength)
    {
        bool ok = LineFramer.TryReadLine(Encoding.ASCII.GetBytes(input), max, out int length, out _, out bool tooLong);
        Assert.Equal(found, ok);
        Assert.Equal(lineLength, length);

        // Too long once max + 2 octets are in without a terminator that fits; before that, just wait.
        bool expectTooLong = !found && (input.Length >= max + 2 || (input.EndsWith('\n') && input.Length > max + 1));
        Assert.Equal(expectTooLong, tooLong);
    }

    [Fact]
    public void TooLongIsReportedWithoutScanningTheWholeFlood()
    {
        byte[] flood = new byte[1_000_000];
        flood.AsSpan().Fill((byte)'A');
        flood[^1] = (byte)'\n';
        Assert.False(LineFramer.TryReadLine(flood, 512, out _, out _, out bool tooLong));
        Assert.True(tooLong);
    }

    [Theory]
    [InlineData("xxxx\r\nNOOP\r\n", true, 6)]
    [InlineData("xxxx", false, 4)]
    [InlineData("\n", true, 1)]
    public void SkipFindsTheEndOfTheDiscardedLine(string input, bool found, int consumed)
    {
        Assert.Equal(found, LineFramer.TrySkipLine(Encoding.ASCII.GetBytes(input), out int used));
        Assert.Equal(consumed, used);
    }
}
