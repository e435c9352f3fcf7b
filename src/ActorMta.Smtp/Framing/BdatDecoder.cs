using System.Buffers;

namespace ActorMta.Smtp;

public sealed class BdatDecoder
{
    public BdatDecoder(long maxSize, int maxLineLength, bool normalize) => Reset(maxSize, maxLineLength, normalize);

    public long Size { get; private set; }

    public DataProblems Problems { get; private set; }

    public void Write(ReadOnlySpan<byte> chunkBytes, IBufferWriter<byte> output) => throw new NotImplementedException();

    public void Finish(IBufferWriter<byte> output) => throw new NotImplementedException();

    public void Reset(long maxSize, int maxLineLength, bool normalize)
    {
        Size = 0;
        Problems = DataProblems.None;
    }
}
