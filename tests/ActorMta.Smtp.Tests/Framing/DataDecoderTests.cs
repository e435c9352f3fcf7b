using System.Buffers;
using System.Text;

namespace ActorMta.Smtp.Tests;

public class DataDecoderTests
{
    private const long Big = 1 << 20;

    private sealed record Outcome(DataStatus Status, string Output, int Consumed, DataProblems Problems, long Size);

    private static Outcome Decode(string input, bool normalize = false, long maxSize = Big, int maxLine = 1000)
    {
        var decoder = new DataDecoder(maxSize, maxLine, normalize);
        var output = new ArrayBufferWriter<byte>();
        byte[] bytes = Encoding.UTF8.GetBytes(input);
        DataStatus status = decoder.Decode(bytes, output, out int consumed);
        return new Outcome(status, Encoding.UTF8.GetString(output.WrittenSpan), consumed, decoder.Problems, decoder.Size);
    }

    [Theory]
    [InlineData(".\r\n", "")]
    [InlineData("Subject: x\r\n\r\nbody\r\n.\r\n", "Subject: x\r\n\r\nbody\r\n")]
    [InlineData("..\r\n.\r\n", ".\r\n")]
    [InlineData("..leading dot\r\n.\r\n", ".leading dot\r\n")]
    [InlineData("...\r\n.\r\n", "..\r\n")]
    [InlineData("a\r\n..b\r\n..\r\n.\r\n", "a\r\n.b\r\n.\r\n")]
    [InlineData("a.\r\n.\r\n", "a.\r\n")]
    [InlineData("a\r\n.b\r\n.\r\n", "a\r\nb\r\n")]
    [InlineData("\r\n.\r\n", "\r\n")]
    [InlineData("a\r\n\r\n.\r\n", "a\r\n\r\n")]
    public void UnstuffsDotsAndStopsAtTheTerminator(string input, string expected)
    {
        Outcome o = Decode(input);
        Assert.Equal(DataStatus.Complete, o.Status);
        Assert.Equal(expected, o.Output);
        Assert.Equal(input.Length, o.Consumed);
        Assert.Equal(DataProblems.None, o.Problems);
        Assert.Equal(expected.Length, o.Size);
    }

    [Fact]
    public void ConsumedStopsJustPastTheTerminatorSoPipelinedCommandsFollow()
    {
        Outcome o = Decode("hi\r\n.\r\nMAIL FROM:<>\r\n");
        Assert.Equal(DataStatus.Complete, o.Status);
        Assert.Equal("hi\r\n", o.Output);
        Assert.Equal(7, o.Consumed);
    }

    [Fact]
    public void DecodingAfterCompleteTakesNothing()
    {
        var decoder = new DataDecoder(Big, 1000, false);
        var output = new ArrayBufferWriter<byte>();
        Assert.Equal(DataStatus.Complete, decoder.Decode(".\r\n"u8, output, out _));
        Assert.Equal(DataStatus.Complete, decoder.Decode("more\r\n"u8, output, out int consumed));
        Assert.Equal(0, consumed);
        Assert.Equal(0, output.WrittenCount);
    }

    // CVE-2023-51764/51765/51766: none of these may end the message, normalising or not.
    [Theory]
    [InlineData("a\n.\nMAIL FROM:<evil@x>\r\n")]
    [InlineData("a\r.\rMAIL FROM:<evil@x>\r\n")]
    [InlineData("a\n.\r\nMAIL FROM:<evil@x>\r\n")]
    [InlineData("a\r\n.\nMAIL FROM:<evil@x>\r\n")]
    [InlineData("a\r.\r\nMAIL FROM:<evil@x>\r\n")]
    [InlineData("a\r\n.\rMAIL FROM:<evil@x>\r\n")]
    [InlineData("a\r\n .\r\nMAIL FROM:<evil@x>\r\n")]
    [InlineData("a\r\r\n.\r\r\n")]
    [InlineData("\n.\n")]
    [InlineData(".\n")]
    [InlineData(".\r")]
    [InlineData(".\rX\r\n")]
    [InlineData("a\r\n.\n\r\n")]
    public void SmugglingSequencesNeverEndTheData(string input)
    {
        foreach (bool normalize in new[] { false, true })
        {
            Outcome o = Decode(input, normalize);
            Assert.Equal(DataStatus.NeedMoreInput, o.Status);
            Assert.Equal(input.Length, o.Consumed);
        }
    }

    [Theory]
    [InlineData("a\n.\nMAIL FROM:<evil@x>\r\n.\r\n", "a\r\n.\r\nMAIL FROM:<evil@x>\r\n")]
    [InlineData("a\r.\rb\r\n.\r\n", "a\r\n.\r\nb\r\n")]
    [InlineData("a\n.\r\nb\r\n.\r\n", "a\r\n.\r\nb\r\n")]
    [InlineData("a\r\n.\nb\r\n.\r\n", "a\r\n\r\nb\r\n")]
    [InlineData("a\r\n.\rb\r\n.\r\n", "a\r\n\r\nb\r\n")]
    [InlineData("line1\nline2\r\n.\r\n", "line1\r\nline2\r\n")]
    [InlineData("a\rb\r\n.\r\n", "a\r\nb\r\n")]
    [InlineData("a\r\rb\r\n.\r\n", "a\r\n\r\nb\r\n")]
    [InlineData("a\n\n.\r\n.\r\n", "a\r\n\r\n.\r\n")]
    public void NormalisingWritesEveryBareLineEndingAsCrlfButStillOnlyCrlfDotCrlfEnds(string input, string expected)
    {
        // After a bare line ending a dot is ordinary text: it is neither a terminator nor stuffing.
        Outcome o = Decode(input, normalize: true);
        Assert.Equal(DataStatus.Complete, o.Status);
        Assert.Equal(expected, o.Output);
        Assert.Equal(DataProblems.BareLineEnding, o.Problems);
        Assert.Equal(input.Length, o.Consumed);
    }

    [Theory]
    [InlineData("a\nb\r\n.\r\n", "a\nb\r\n")]
    [InlineData("a\rb\r\n.\r\n", "a\rb\r\n")]
    [InlineData("a\n.\nb\r\n.\r\n", "a\n.\nb\r\n")]
    [InlineData("a\r\n.\nb\r\n.\r\n", "a\r\n\nb\r\n")]
    public void WithoutNormalisingBareLineEndingsAreRecordedAndDataRunsToTheRealEnd(string input, string expected)
    {
        Outcome o = Decode(input, normalize: false);
        Assert.Equal(DataStatus.Complete, o.Status);
        Assert.Equal(DataProblems.BareLineEnding, o.Problems);
        Assert.Equal(expected, o.Output);
        Assert.Equal(input.Length, o.Consumed);
    }

    [Theory]
    [InlineData("a\r\n.|\r\n")]
    [InlineData("a\r\n|.\r\n")]
    [InlineData("a\r|\n.\r\n")]
    [InlineData("a\r\n.\r|\n")]
    [InlineData("a|\r|\n|.|\r|\n")]
    public void TerminatorSplitOverReadsIsFound(string splitInput)
    {
        string[] reads = splitInput.Split('|');
        var decoder = new DataDecoder(Big, 1000, false);
        var output = new ArrayBufferWriter<byte>();
        for (int i = 0; i < reads.Length; i++)
        {
            DataStatus status = decoder.Decode(Encoding.ASCII.GetBytes(reads[i]), output, out int consumed);
            Assert.Equal(reads[i].Length, consumed);
            Assert.Equal(i == reads.Length - 1 ? DataStatus.Complete : DataStatus.NeedMoreInput, status);
        }

        Assert.Equal("a\r\n", Encoding.ASCII.GetString(output.WrittenSpan));
        Assert.Equal(DataProblems.None, decoder.Problems);
    }

    [Fact]
    public void CrAtTheEndOfOneReadAndLfAtTheStartOfTheNextIsCrlf()
    {
        var decoder = new DataDecoder(Big, 1000, false);
        var output = new ArrayBufferWriter<byte>();
        decoder.Decode("line one\r"u8, output, out _);
        decoder.Decode("\nline two\r\n.\r\n"u8, output, out _);
        Assert.Equal("line one\r\nline two\r\n", Encoding.ASCII.GetString(output.WrittenSpan));
        Assert.Equal(DataProblems.None, decoder.Problems);
    }

    public static TheoryData<string, bool> Messages => new()
    {
        { "Subject: test\r\n\r\n..dot\r\n.x\r\n...\r\nlast\r\n.\r\n", false },
        { "a\nb\rc\r\r\n\n.\n..\r\n.\rx\r\n.\r\n", true },
        { "a\nb\rc\r\r\n\n.\n..\r\n.\rx\r\n.\r\n", false },
        { ".\r\n", false },
        { "\r\n\r\n\r\n.\r\n", false },
        { new string('x', 3000) + "\r\n.\r\n", false },
    };

    [Theory]
    [MemberData(nameof(Messages))]
    public void AnySplitOfTheInputGivesTheSameResultAsOneRead(string message, bool normalize)
    {
        byte[] bytes = Encoding.ASCII.GetBytes(message + "QUIT\r\n");
        (string whole, DataProblems problems, long size, int end) = Run(bytes, [bytes.Length], normalize);
        Assert.Equal(message.Length, end);

        // One byte per read.
        Assert.Equal((whole, problems, size, end), Run(bytes, Enumerable.Repeat(1, bytes.Length).ToArray(), normalize));

        // Random split points, fixed seed so a failure reproduces.
        var random = new Random(5321);
        for (int round = 0; round < 200; round++)
        {
            var sizes = new List<int>();
            for (int left = bytes.Length; left > 0;)
            {
                int n = Math.Min(left, random.Next(1, 8));
                sizes.Add(n);
                left -= n;
            }

            Assert.Equal((whole, problems, size, end), Run(bytes, [.. sizes], normalize));
        }
    }

    private static (string Output, DataProblems Problems, long Size, int End) Run(byte[] bytes, int[] readSizes, bool normalize)
    {
        var decoder = new DataDecoder(Big, 100, normalize);
        var output = new ArrayBufferWriter<byte>();
        int offset = 0;
        foreach (int n in readSizes)
        {
            DataStatus status = decoder.Decode(bytes.AsSpan(offset, n), output, out int consumed);
            offset += consumed;
            if (status == DataStatus.Complete)
            {
                break;
            }

            Assert.Equal(n, consumed);
        }

        return (Encoding.ASCII.GetString(output.WrittenSpan), decoder.Problems, decoder.Size, offset);
    }

    [Fact]
    public void SizeLimitStopsOutputButScanningContinuesToTheTerminator()
    {
        Outcome o = Decode("0123456789\r\n0123456789\r\n.\r\nNOOP\r\n", maxSize: 15);
        Assert.Equal(DataStatus.Complete, o.Status);
        Assert.Equal(DataProblems.TooBig, o.Problems);
        Assert.Equal(24, o.Size);
        Assert.Equal(27, o.Consumed);
        Assert.True(o.Output.Length <= 15);
        Assert.Equal("0123456789\r\n", o.Output);
    }

    [Theory]
    [InlineData(12, false)]
    [InlineData(11, true)]
    public void SizeLimitIsInclusive(long max, bool tooBig) =>
        Assert.Equal(tooBig, (Decode("0123456789\r\n.\r\n", maxSize: max).Problems & DataProblems.TooBig) != 0);

    [Theory]
    [InlineData(10, "12345678\r\n.\r\n", false)]
    [InlineData(10, "123456789\r\n.\r\n", true)]
    [InlineData(10, "short\r\n123456789\r\nshort\r\n.\r\n", true)]
    [InlineData(10, "..2345678\r\n.\r\n", false)]
    [InlineData(10, "1234567890123\n\r\n.\r\n", true)]
    public void LineLongerThanTheLimitIncludingCrlfIsRecorded(int maxLine, string input, bool tooLong)
    {
        Outcome o = Decode(input, maxLine: maxLine);
        Assert.Equal(DataStatus.Complete, o.Status);
        Assert.Equal(tooLong, (o.Problems & DataProblems.LineTooLong) != 0);
    }

    [Fact]
    public void NulIsRecordedAndKept()
    {
        Outcome o = Decode("a\0b\r\n.\r\n");
        Assert.Equal(DataProblems.Nul, o.Problems);
        Assert.Equal("a\0b\r\n", o.Output);
    }

    [Fact]
    public void ResetPreparesForTheNextMessage()
    {
        var decoder = new DataDecoder(5, 1000, false);
        var output = new ArrayBufferWriter<byte>();
        decoder.Decode("too big\nhere\r\n.\r\n"u8, output, out _);
        Assert.Equal(DataProblems.TooBig | DataProblems.BareLineEnding, decoder.Problems);

        decoder.Reset(Big, 1000, true);
        output.Clear();
        Assert.Equal(DataStatus.Complete, decoder.Decode("ok\r\n.\r\n"u8, output, out int consumed));
        Assert.Equal(7, consumed);
        Assert.Equal(DataProblems.None, decoder.Problems);
        Assert.Equal(4, decoder.Size);
        Assert.Equal("ok\r\n", Encoding.ASCII.GetString(output.WrittenSpan));
    }

    [Fact]
    public void DecodingAPlainMessageAllocatesNothing()
    {
        byte[] message = Encoding.ASCII.GetBytes(string.Concat(Enumerable.Repeat("Some line of text.\r\n..stuffed\r\n", 50)) + ".\r\n");
        var decoder = new DataDecoder(Big, 1000, false);
        var output = new ArrayBufferWriter<byte>(message.Length * 2);
        decoder.Decode(message, output, out _); // warm up
        decoder.Reset(Big, 1000, false);
        output.Clear();

        long before = GC.GetAllocatedBytesForCurrentThread();
        decoder.Decode(message, output, out _);
        long after = GC.GetAllocatedBytesForCurrentThread();
        Assert.Equal(0, after - before);
    }
}
