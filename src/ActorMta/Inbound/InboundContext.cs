using Akka.Actor;
using ActorMta.Auth;
using ActorMta.Configuration;
using ActorMta.Logging;
using ActorMta.Spool;
using ActorMta.Transport.Tls;

namespace ActorMta.Inbound;

/// <summary>What every inbound session of a node shares: settings, the spool, the queue and the logs.</summary>
public sealed record InboundContext(
    MtaSettings Settings,
    MessageSpool Spool,
    IActorRef Queue,
    MainLog MainLog,
    Serilog.ILogger Logger)
{
    /// <summary>What the listener this session came from speaks (submission requires AUTH before MAIL).</summary>
    public ListenerKind Kind { get; init; } = ListenerKind.Smtp;

    /// <summary>Users and failure counter for SMTP AUTH; null: AUTH is never offered.</summary>
    public AuthServices? Auth { get; init; }

    /// <summary>The node's server TLS (certificate, STARTTLS host list); null when TLS is off.</summary>
    public ServerTls? Tls { get; init; }

    /// <summary>Message data in memory, shared by every listener's sessions.</summary>
    public DataMemoryBudget DataBudget { get; init; } = DataMemoryBudget.Unlimited;
}
