namespace ActorMta.Configuration;

public static partial class SettingsLoader
{
    /// <summary><c>actormta.outbound.idle-connection-timeout</c> and <c>max-idle-connections</c>.</summary>
    private static OutboundSettings ReadIdleConnections(Reader r, OutboundSettings outbound) => outbound with
    {
        IdleConnectionTimeout = r.DurationOrZero("actormta.outbound.idle-connection-timeout"),
        MaxIdleConnections = r.NonNegativeInt("actormta.outbound.max-idle-connections"),
    };

    private sealed partial class Reader
    {
        /// <summary>A duration where 0 (with or without a unit) means "off".</summary>
        public TimeSpan DurationOrZero(string path)
        {
            string? text = Scalar(path, "a duration such as 2s, or 0");
            if (text is null) return TimeSpan.Zero;
            if (text.Trim() == "0") return TimeSpan.Zero;
            TimeSpan? value = ParseDuration(text);
            if (value is null || value.Value < TimeSpan.Zero)
            {
                Fail(path, $"expected a duration with a unit (ms, s, m, h, d), such as 2s, or 0 for off, got \"{text}\"");
                return TimeSpan.Zero;
            }

            return value.Value;
        }
    }
}
