using Akka.Actor;
using ActorMta.Configuration;
using ActorMta.Logging;
using ActorMta.Spool;

namespace ActorMta.Inbound;

/// <summary>What every inbound session of a node shares: settings, the spool, the queue and the logs.</summary>
public sealed record InboundContext(
    MtaSettings Settings,
    MessageSpool Spool,
    IActorRef Queue,
    MainLog MainLog,
    Serilog.ILogger Logger);
