namespace ActorMta.Configuration;

public static partial class SettingsLoader
{
    /// <summary><c>actormta.outbound.idle-connection-timeout</c> and <c>max-idle-connections</c>.</summary>
    private static OutboundSettings ReadIdleConnections(Reader r, OutboundSettings outbound) => outbound with
    {
        IdleConnectionTimeout = r.DurationOrZero("actormta.outbound.idle-connection-timeout"),
        MaxIdleConnections = r.NonNegativeInt("actormta.outbound.max-idle-connections"),
    };
}
