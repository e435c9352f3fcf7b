using ActorMta.Spool;

namespace ActorMta.Tests.Spool;

/// <summary>The data of a message being received: in memory up to <see cref="IncomingData.SpillAt"/>, then in a file.</summary>
public sealed class IncomingDataTests : IDisposable
{
    private readonly string _directory = Directory.CreateTempSubdirectory("actormta-incoming-").FullName;

    public void Dispose() => Directory.Delete(_directory, recursive: true);

    private static void Write(IncomingData data, ReadOnlySpan<byte> bytes, int piece)
    {
        for (int at = 0; at < bytes.Length; at += piece)
        {
            var part = bytes.Slice(at, Math.Min(piece, bytes.Length - at));
            part.CopyTo(data.GetSpan(part.Length));
            data.Advance(part.Length);
        }
    }

    private static byte[] Bytes(int length, int seed)
    {
        var bytes = new byte[length];
        new Random(seed).NextBytes(bytes);
        return bytes;
    }

    private static byte[] ReadSpilled(IncomingData data)
    {
        var copy = new MemoryStream();
        data.CopySpilled(piece => copy.Write(piece.Span));
        return copy.ToArray();
    }

    [Fact]
    public void Up_to_the_threshold_the_data_stays_in_memory_one_byte_more_and_it_is_all_in_the_file()
    {
        using var data = new IncomingData(_directory);
        var bytes = Bytes(IncomingData.SpillAt + 1, 1);
        Write(data, bytes.AsSpan(0, IncomingData.SpillAt), 4096);
        Assert.True(data.Complete());
        Assert.False(data.Spilled);
        Assert.Equal(bytes.AsSpan(0, IncomingData.SpillAt), data.Memory.Span);

        Write(data, bytes.AsSpan(IncomingData.SpillAt), 1);
        Assert.True(data.Spilled);
        Assert.True(data.Complete());
        Assert.Equal(bytes.Length, data.Length);
        Assert.Equal(bytes, ReadSpilled(data));
        Assert.Equal(bytes.AsSpan(0, data.Head.Length), data.Head);
        Assert.Empty(Directory.GetFiles(_directory)); // the spill file has no name
    }

    [Fact]
    public void A_large_message_written_in_odd_pieces_comes_back_whole_and_Reset_makes_room_for_the_next()
    {
        using var data = new IncomingData(_directory);
        var first = Bytes(5_000_000, 2);
        Write(data, first, 65_521);
        Assert.True(data.Complete());
        Assert.Equal(0, data.InMemory);
        Assert.Equal(first, ReadSpilled(data));

        data.Reset();
        Assert.Equal(0, data.Length);
        Assert.False(data.Spilled);
        var second = Bytes(1000, 3);
        Write(data, second, 7);
        Assert.True(data.Complete());
        Assert.Equal(second, data.Memory.ToArray());
    }

    [Fact]
    public void After_a_message_only_a_small_buffer_is_kept_for_the_next_one()
    {
        using var data = new IncomingData(_directory);
        Write(data, Bytes(300, 5), 300);
        int small = data.BufferCapacity;
        data.Reset();
        Assert.Equal(small, data.BufferCapacity); // a 300-byte message leaves the buffer as it was

        // A 50 KB message grew it to 64 KiB; an idle session does not keep that.
        Write(data, Bytes(50_000, 6), 1000);
        Assert.True(data.BufferCapacity >= 50_000);
        data.Reset();
        Assert.Equal(small, data.BufferCapacity);
        Assert.InRange(small, 1, 4096);
    }

    [Fact]
    public void A_spill_file_that_cannot_be_created_is_a_failure_with_the_directory_and_the_data_is_dropped()
    {
        var missing = Path.Combine(_directory, "gone");
        using var data = new IncomingData(missing);
        Write(data, Bytes(IncomingData.SpillAt + 100_000, 4), 8192);

        Assert.False(data.Complete());
        Assert.StartsWith($"cannot write message data to {missing}: ", data.Failure);
        Assert.Equal(IncomingData.SpillAt + 100_000, data.Length); // counted
        Assert.InRange(data.InMemory, 0, 8192);                     // but not kept

        data.Reset();
        Assert.Null(data.Failure);
    }
}
