using System.Buffers;

namespace ActorMta.Transport;

/// <summary>
/// The one rule both SMTP directions use for their pooled receive buffers: bytes
/// <c>[start, end)</c> are unconsumed; before the next read they move to the front, and the
/// buffer doubles (from the shared pool) only when a single line, reply or chunk fills it.
/// The spool's head reader gathers its lines by the same rule.
/// </summary>
internal static class ReceiveBuffer
{
    /// <summary>Makes room after <paramref name="end"/>; returns the buffer to read into (maybe a larger one).</summary>
    public static byte[] MakeRoom(byte[] buffer, ref int start, ref int end)
    {
        if (start > 0)
        {
            Buffer.BlockCopy(buffer, start, buffer, 0, end - start);
            end -= start;
            start = 0;
        }
        if (end < buffer.Length) return buffer;
        var larger = ArrayPool<byte>.Shared.Rent(buffer.Length * 2);
        Buffer.BlockCopy(buffer, 0, larger, 0, end);
        ArrayPool<byte>.Shared.Return(buffer);
        return larger;
    }
}
