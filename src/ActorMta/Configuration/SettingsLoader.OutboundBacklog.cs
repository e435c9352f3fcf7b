namespace ActorMta.Configuration;

public static partial class SettingsLoader
{
    /// <summary><c>actormta.outbound.backlog-per-connection</c> (at least 1: 0 would open a connection for every message).</summary>
    private static OutboundSettings ReadBacklog(Reader r, OutboundSettings outbound) => outbound with
    {
        BacklogPerConnection = r.PositiveInt("actormta.outbound.backlog-per-connection"),
    };
}
