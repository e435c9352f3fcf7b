namespace ActorMta.Configuration;

public sealed partial record OutboundSettings
{
    /// <summary>
    /// <c>actormta.outbound.idle-connection-timeout</c>: how long a session with no message left
    /// keeps its connection (and its destination lease) open for the next message to the same
    /// host. Zero: off, and QUIT is pipelined into the last flight as before.
    /// </summary>
    public TimeSpan IdleConnectionTimeout { get; init; } = TimeSpan.FromSeconds(2);

    /// <summary><c>actormta.outbound.max-idle-connections</c>: idle connections kept at once, all hosts together.</summary>
    public int MaxIdleConnections { get; init; } = 100;

    /// <summary>Whether a finished session may wait for more work instead of quitting.</summary>
    public bool KeepsIdleConnections => IdleConnectionTimeout > TimeSpan.Zero && MaxIdleConnections > 0;
}
