using System.Buffers;

namespace ActorMta.Smtp.Tests;

/// <summary>Random content made of the octets that matter to framing, checked for split-independence and invariants.</summary>
public class DataDecoderPropertyTests
{
    private static readonly byte[] Alphabet = "a..\r\r\n\n"u8.ToArray();

    private static (byte[] Output, DataStatus Status, int Consumed, DataProblems Problems) Run(byte[] input, Random? splitter, bool normalize)
    {
        var decoder = new DataDecoder(1 << 20, 1000, normalize);
        var output = new ArrayBufferWriter<byte>();
        int offset = 0;
        DataStatus status = DataStatus.NeedMoreInput;
        while (offset < input.Length && status == DataStatus.NeedMoreInput)
        {
            int n = splitter is null ? input.Length - offset : Math.Min(input.Length - offset, splitter.Next(1, 5));
            status = decoder.Decode(input.AsSpan(offset, n), output, out int consumed);
            offset += consumed;
        }

        return (output.WrittenSpan.ToArray(), status, offset, decoder.Problems);
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void RandomContentDecodesTheSameHoweverItIsSplit(bool normalize)
    {
        var random = new Random(2023_51764);
        for (int round = 0; round < 2_000; round++)
        {
            byte[] input = new byte[random.Next(0, 40)];
            for (int i = 0; i < input.Length; i++)
            {
                input[i] = Alphabet[random.Next(Alphabet.Length)];
            }

            var whole = Run(input, null, normalize);
            var split = Run(input, random, normalize);
            Assert.Equal(whole.Output, split.Output);
            Assert.Equal(whole.Status, split.Status);
            Assert.Equal(whole.Consumed, split.Consumed);
            Assert.Equal(whole.Problems, split.Problems);

            // Complete exactly at the first CR LF "." CR LF (the start of the content counting as after CR LF),
            // and never otherwise: compare with a plain search of the input.
            byte[] framed = [.. "\r\n"u8, .. input];
            int first = framed.AsSpan().IndexOf("\r\n.\r\n"u8);
            Assert.Equal(first >= 0 ? DataStatus.Complete : DataStatus.NeedMoreInput, whole.Status);
            Assert.Equal(first >= 0 ? first + 5 - 2 : input.Length, whole.Consumed);

            // Normalised output has CR and LF only as CRLF pairs.
            if (normalize)
            {
                byte[] o = whole.Output;
                for (int i = 0; i < o.Length; i++)
                {
                    if (o[i] == (byte)'\r')
                    {
                        Assert.True(i + 1 < o.Length && o[i + 1] == (byte)'\n');
                    }
                    else if (o[i] == (byte)'\n')
                    {
                        Assert.True(i > 0 && o[i - 1] == (byte)'\r');
                    }
                }
            }
        }
    }
}
