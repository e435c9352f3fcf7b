using Akka.Actor;
using ActorMta.Configuration;
using ActorMta.Logging;
using ActorMta.Spool;
using Envelope = ActorMta.Spool.Envelope;

namespace ActorMta.Queue;

/// <summary>
/// Owns the set of spooled messages: routes each recipient, runs deliveries and schedules retries.
/// (Skeleton: the implementation follows.)
/// </summary>
public sealed class QueueManager : ReceiveActor
{
    /// <summary>Told by the session right after <see cref="MessageSpool.StoreAsync"/> completed.</summary>
    public sealed record Enqueue(Envelope Envelope);

    /// <summary>Ask: answered with a <see cref="QueueSnapshot"/>.</summary>
    public sealed record GetQueue
    {
        public static readonly GetQueue Instance = new();
    }

    /// <summary>Tell: retry every deferred message now (like <c>exim -q</c>).</summary>
    public sealed record RunQueue
    {
        public static readonly RunQueue Instance = new();
    }

    private readonly MtaSettings _settings;
    private readonly MessageSpool _spool;
    private readonly MainLog _mainLog;

    public QueueManager(MtaSettings settings, MessageSpool spool, MainLog mainLog)
    {
        _settings = settings;
        _spool = spool;
        _mainLog = mainLog;
        Receive<Enqueue>(_ => { });
        Receive<GetQueue>(_ => Sender.Tell(new QueueSnapshot(DateTimeOffset.UtcNow, [])));
        Receive<RunQueue>(_ => { });
    }

    public static Props Props(MtaSettings settings, MessageSpool spool, MainLog mainLog)
        => Akka.Actor.Props.Create(() => new QueueManager(settings, spool, mainLog));
}

/// <summary>What is in the queue right now (for tests and the operator CLI).</summary>
public sealed record QueueSnapshot(DateTimeOffset TakenAt, IReadOnlyList<QueuedMessage> Messages);

/// <summary>One message in a <see cref="QueueSnapshot"/>.</summary>
public sealed record QueuedMessage(
    string Id,
    string Sender,
    IReadOnlyList<QueuedRecipient> Recipients,
    DateTimeOffset ReceivedAt,
    TimeSpan Age,
    long Size,
    DateTimeOffset? NextAttempt,
    bool InFlight);

/// <summary>One recipient in a <see cref="QueuedMessage"/>.</summary>
public sealed record QueuedRecipient(string Address, RecipientState State);
