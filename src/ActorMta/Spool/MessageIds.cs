namespace ActorMta.Spool;

/// <summary>
/// Spool ids in Exim 4.96's shape, <c>SSSSSS-QQQQQQ-QQ</c>, every character base62
/// (<c>0-9A-Za-z</c>, which is also their ASCII order):
/// <list type="bullet">
/// <item><c>S</c> (6 digits): unix seconds.</item>
/// <item><c>Q</c> (8 digits, split 6 + 2 by the second dash): the position inside that second,
/// in units of 1/62⁸ s. It is seeded from the clock (100 ns resolution) and then only grows:
/// an id is the later of "now" and "the previous id plus one unit".</item>
/// </list>
/// So ids are unique and strictly increasing within a process, and sort by time in ordinal string
/// order (fixed width, dash always at the same place). A restarted process starts from the clock,
/// which is ahead of every id the previous run gave out (it would take 2·10⁷ ids within 100 ns to
/// run ahead of the clock); should the clock have stepped back, <see cref="Observe"/> (called for
/// every id found in the spool at recovery) keeps the counter ahead of what is still spooled.
/// The characters are all in <c>\w</c>, so exigrep/eximstats' <c>\w{6}-\w{6}-\w{2}</c> matches.
/// </summary>
internal static class MessageIds
{
    private const string Digits = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";

    /// <summary>62⁸: positions per second.</summary>
    private const long PositionsPerSecond = 218_340_105_584_896L;

    /// <summary>62⁶: the largest second the id can carry (year 3770).</summary>
    private const long MaxSeconds = 56_800_235_584L;

    public const int Length = 16;

    /// <summary>The process-wide generator behind <see cref="Next()"/> and <see cref="Observe"/>.</summary>
    public static readonly Generator Shared = new();

    /// <summary>Next id for the current time.</summary>
    public static string Next() => Shared.Next(DateTimeOffset.UtcNow);

    /// <summary>Makes sure every later id sorts after <paramref name="id"/> (ignored if not an id).</summary>
    public static void Observe(string id) => Shared.Observe(id);

    /// <summary>The counter; one per process in production (<see cref="Shared"/>), own ones in tests.</summary>
    internal sealed class Generator
    {
        private readonly object _gate = new();
        private long _lastSecond;
        private long _lastPosition;

        /// <summary>Next id, as if the clock read <paramref name="now"/>.</summary>
        public string Next(DateTimeOffset now)
        {
            long ticks = now.UtcTicks - DateTimeOffset.UnixEpoch.UtcTicks;
            long second = ticks / TimeSpan.TicksPerSecond;
            long position = (long)((Int128)(ticks % TimeSpan.TicksPerSecond) * PositionsPerSecond / TimeSpan.TicksPerSecond);
            lock (_gate)
            {
                if (second > _lastSecond || (second == _lastSecond && position > _lastPosition))
                {
                    _lastSecond = second;
                    _lastPosition = position;
                }
                else if (++_lastPosition == PositionsPerSecond)
                {
                    _lastSecond++;
                    _lastPosition = 0;
                }
                return Format(_lastSecond, _lastPosition);
            }
        }

        /// <summary>Makes sure every later id sorts after <paramref name="id"/> (ignored if not an id).</summary>
        public void Observe(string id)
        {
            if (!TryParse(id, out long second, out long position)) return;
            lock (_gate)
            {
                if (second > _lastSecond || (second == _lastSecond && position > _lastPosition))
                {
                    _lastSecond = second;
                    _lastPosition = position;
                }
            }
        }
    }

    /// <summary>True for a well-formed id (also what makes it safe as a file name).</summary>
    public static bool IsValid(string? id) => id is not null && TryParse(id, out _, out _);

    /// <summary>The second an id was issued in.</summary>
    public static DateTimeOffset TimeOf(string id)
        => TryParse(id, out long second, out _)
            ? DateTimeOffset.FromUnixTimeSeconds(second)
            : throw new ArgumentException($"not a spool id: {id}", nameof(id));

    private static string Format(long second, long position)
    {
        if (second is < 0 or >= MaxSeconds) throw new InvalidOperationException("clock outside the range of spool ids");
        return string.Create(Length, (second, position), static (span, state) =>
        {
            var (s, p) = state;
            for (int i = 5; i >= 0; i--) { span[i] = Digits[(int)(s % 62)]; s /= 62; }
            span[6] = '-';
            // position: 8 digits, most significant first, at 7..12 and 14..15
            Span<char> q = stackalloc char[8];
            for (int i = 7; i >= 0; i--) { q[i] = Digits[(int)(p % 62)]; p /= 62; }
            q[..6].CopyTo(span[7..13]);
            span[13] = '-';
            q[6..].CopyTo(span[14..]);
        });
    }

    private static bool TryParse(string id, out long second, out long position)
    {
        second = 0;
        position = 0;
        if (id.Length != Length || id[6] != '-' || id[13] != '-') return false;
        for (int i = 0; i < Length; i++)
        {
            if (i is 6 or 13) continue;
            int d = DigitValue(id[i]);
            if (d < 0) return false;
            if (i < 6) second = second * 62 + d;
            else position = position * 62 + d;
        }
        return true;
    }

    private static int DigitValue(char c) => c switch
    {
        >= '0' and <= '9' => c - '0',
        >= 'A' and <= 'Z' => c - 'A' + 10,
        >= 'a' and <= 'z' => c - 'a' + 36,
        _ => -1,
    };
}
