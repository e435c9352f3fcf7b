using System.Buffers.Binary;
using System.Numerics;

namespace ActorMta.Spool;

/// <summary>CRC-32C (Castagnoli), with the CPU's CRC instruction where there is one (BitOperations picks it).</summary>
internal static class Crc32C
{
    public static uint Compute(ReadOnlySpan<byte> data)
    {
        uint crc = uint.MaxValue;
        while (data.Length >= 8)
        {
            crc = BitOperations.Crc32C(crc, BinaryPrimitives.ReadUInt64LittleEndian(data));
            data = data[8..];
        }
        foreach (byte b in data) crc = BitOperations.Crc32C(crc, b);
        return ~crc;
    }
}
