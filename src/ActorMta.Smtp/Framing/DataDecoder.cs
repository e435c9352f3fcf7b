using System.Buffers;

namespace ActorMta.Smtp;

public sealed class DataDecoder
{
    public DataDecoder(long maxSize, int maxLineLength, bool normalize) => Reset(maxSize, maxLineLength, normalize);

    public long Size { get; private set; }

    public DataProblems Problems { get; private set; }

    public DataStatus Decode(ReadOnlySpan<byte> input, IBufferWriter<byte> output, out int consumed) => throw new NotImplementedException();

    public void Reset(long maxSize, int maxLineLength, bool normalize)
    {
        Size = 0;
        Problems = DataProblems.None;
    }
}
