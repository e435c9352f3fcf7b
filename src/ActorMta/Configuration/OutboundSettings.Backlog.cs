namespace ActorMta.Configuration;

public sealed partial record OutboundSettings
{
    /// <summary>
    /// <c>actormta.outbound.backlog-per-connection</c>: connections to one host grow with its
    /// backlog, not with every message. A message waits for a connection already open (or opening)
    /// to its host while fewer than this many messages per such connection wait; beyond that a new
    /// connection is asked for, up to the host's connection budget. Fewer connections each carrying
    /// more messages cost less on both ends: a message on an open connection costs one round trip,
    /// on a new one three or more.
    /// </summary>
    public int BacklogPerConnection { get; init; } = 4;
}
