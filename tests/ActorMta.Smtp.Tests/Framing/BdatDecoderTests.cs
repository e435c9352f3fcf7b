using System.Buffers;
using System.Text;

namespace ActorMta.Smtp.Tests;

public class BdatDecoderTests
{
    private const long Big = 1 << 20;

    private static (string Output, DataProblems Problems, long Size) Run(string[] chunks, bool normalize, long maxSize = Big, int maxLine = 1000)
    {
        var decoder = new BdatDecoder(maxSize, maxLine, normalize);
        var output = new ArrayBufferWriter<byte>();
        foreach (string chunk in chunks)
        {
            decoder.Write(Encoding.UTF8.GetBytes(chunk), output);
        }

        decoder.Finish(output);
        return (Encoding.UTF8.GetString(output.WrittenSpan), decoder.Problems, decoder.Size);
    }

    [Theory]
    [InlineData(new[] { "Subject: x\r\n\r\nbody\r\n" }, "Subject: x\r\n\r\nbody\r\n")]
    [InlineData(new[] { ".\r\n..\r\n" }, ".\r\n..\r\n")]
    [InlineData(new[] { "line\r", "\nnext\r\n" }, "line\r\nnext\r\n")]
    [InlineData(new[] { "line\r", "", "\nnext" }, "line\r\nnext")]
    [InlineData(new[] { "a", "\r", "\n", "b" }, "a\r\nb")]
    [InlineData(new[] { "" }, "")]
    [InlineData(new string[0], "")]
    public void ContentPassesThroughWithoutDotHandlingAndCrlfSplitAcrossChunks(string[] chunks, string expected)
    {
        var (output, problems, size) = Run(chunks, normalize: false);
        Assert.Equal(expected, output);
        Assert.Equal(DataProblems.None, problems);
        Assert.Equal(expected.Length, size);
    }

    [Theory]
    [InlineData(new[] { "a\nb" }, "a\r\nb", "a\nb")]
    [InlineData(new[] { "a\rb" }, "a\r\nb", "a\rb")]
    [InlineData(new[] { "a\r", "b" }, "a\r\nb", "a\rb")]
    [InlineData(new[] { "a\r" }, "a\r\n", "a\r")]
    [InlineData(new[] { "a\r", "\r\n" }, "a\r\n\r\n", "a\r\r\n")]
    [InlineData(new[] { "a", "\nb" }, "a\r\nb", "a\nb")]
    [InlineData(new[] { "a\r\r" }, "a\r\n\r\n", "a\r\r")]
    public void BareLineEndingsAreNormalisedOrRecorded(string[] chunks, string normalised, string raw)
    {
        var n = Run(chunks, normalize: true);
        Assert.Equal(normalised, n.Output);
        Assert.Equal(DataProblems.BareLineEnding, n.Problems);

        var r = Run(chunks, normalize: false);
        Assert.Equal(raw, r.Output);
        Assert.Equal(DataProblems.BareLineEnding, r.Problems);
    }

    [Fact]
    public void TrailingCrIsOnlyJudgedAtFinish()
    {
        var decoder = new BdatDecoder(Big, 1000, normalize: false);
        var output = new ArrayBufferWriter<byte>();
        decoder.Write("abc\r"u8, output);
        Assert.Equal(DataProblems.None, decoder.Problems);
        Assert.Equal("abc", Encoding.ASCII.GetString(output.WrittenSpan));
        decoder.Finish(output);
        Assert.Equal(DataProblems.BareLineEnding, decoder.Problems);
    }

    [Fact]
    public void AnyChunkingGivesTheSameResult()
    {
        string message = "Subject: t\r\n\r\n.x\r\nline\nbare\rcr\r\r\n" + new string('y', 500) + "\r\nend";
        byte[] bytes = Encoding.ASCII.GetBytes(message);
        foreach (bool normalize in new[] { false, true })
        {
            var whole = Run([message], normalize, maxLine: 100);
            var random = new Random(3030);
            for (int round = 0; round < 200; round++)
            {
                var chunks = new List<string>();
                for (int at = 0; at < message.Length;)
                {
                    int n = Math.Min(message.Length - at, random.Next(0, 6));
                    chunks.Add(message.Substring(at, n));
                    at += n;
                }

                Assert.Equal(whole, Run([.. chunks], normalize, maxLine: 100));
            }
        }
    }

    [Fact]
    public void SizeLimitStopsOutputButKeepsCounting()
    {
        var (output, problems, size) = Run(["0123456789", "0123456789"], normalize: false, maxSize: 15);
        Assert.Equal("0123456789", output);
        Assert.Equal(DataProblems.TooBig, problems);
        Assert.Equal(20, size);
    }

    [Theory]
    [InlineData(new[] { "12345678\r\n" }, false)]
    [InlineData(new[] { "123456789\r\n" }, true)]
    [InlineData(new[] { "12345", "6789\r", "\n" }, true)]
    [InlineData(new[] { "12345678", "\r\n12345678\r\n" }, false)]
    [InlineData(new[] { "12345678901" }, true)]
    public void LineLengthCountsAcrossChunksIncludingCrlf(string[] chunks, bool tooLong) =>
        Assert.Equal(tooLong, (Run(chunks, normalize: false, maxLine: 10).Problems & DataProblems.LineTooLong) != 0);

    [Fact]
    public void ResetForgetsAHeldCr()
    {
        var decoder = new BdatDecoder(Big, 1000, normalize: false);
        var output = new ArrayBufferWriter<byte>();
        decoder.Write("a\r"u8, output);
        decoder.Reset(Big, 1000, normalize: false);
        output.Clear();
        decoder.Write("\nb"u8, output);
        decoder.Finish(output);
        Assert.Equal("\nb", Encoding.ASCII.GetString(output.WrittenSpan));
        Assert.Equal(DataProblems.BareLineEnding, decoder.Problems);
        Assert.Equal(2, decoder.Size);
    }
}
