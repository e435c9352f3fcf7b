namespace ActorMta.Smtp;

/// <summary>Splits command input into lines. Pure span arithmetic: the caller owns the buffer.</summary>
public static class LineFramer
{
    /// <summary>
    /// Finds the next command line. A line ends at LF, optionally preceded by CR (bare LF is accepted in
    /// command mode, as every MTA does; only DATA is strict). <paramref name="lineLength"/> excludes the
    /// terminator, <paramref name="consumed"/> includes it.
    /// Returns false with <paramref name="tooLong"/> set when the line cannot fit in
    /// <paramref name="maxLength"/> octets: the caller then skips to the next LF (see <see cref="TrySkipLine"/>)
    /// and answers 500 5.5.6. Returns false with <paramref name="tooLong"/> clear when more input is needed.
    /// </summary>
    public static bool TryReadLine(ReadOnlySpan<byte> buf, int maxLength, out int lineLength, out int consumed, out bool tooLong)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(maxLength);

        // Look no further than the longest legal line plus CRLF: a flood without LF costs O(maxLength).
        int window = (int)Math.Min(buf.Length, (long)maxLength + 2);
        int lf = buf[..window].IndexOf((byte)'\n');
        if (lf >= 0)
        {
            int length = lf > 0 && buf[lf - 1] == (byte)'\r' ? lf - 1 : lf;
            if (length <= maxLength)
            {
                lineLength = length;
                consumed = lf + 1;
                tooLong = false;
                return true;
            }

            // Only possible with a bare LF right after maxLength + 1 octets.
            lineLength = 0;
            consumed = 0;
            tooLong = true;
            return false;
        }

        lineLength = 0;
        consumed = 0;
        tooLong = window == maxLength + 2;
        return false;
    }

    /// <summary>
    /// While discarding an over-long line: true when its LF is in <paramref name="buf"/>, with
    /// <paramref name="consumed"/> just past it; false means drop all of <paramref name="buf"/> and keep skipping.
    /// </summary>
    public static bool TrySkipLine(ReadOnlySpan<byte> buf, out int consumed)
    {
        int lf = buf.IndexOf((byte)'\n');
        consumed = lf >= 0 ? lf + 1 : buf.Length;
        return lf >= 0;
    }
}
