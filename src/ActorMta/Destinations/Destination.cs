using Akka.Actor;
using Akka.Event;
using Akka.Persistence;

namespace ActorMta.Destinations;

/// <summary>
/// One remote <c>IP:port</c> (spec Part A rule 8, Part B 3.2-3.3): the early-pipelining record,
/// the host retry state, and the connection budget (<see cref="DestinationLogic"/>), persisted.
/// </summary>
/// <remarks>
/// <para>The record and the retry state are event-sourced (<see cref="IDestinationEvent"/>), with a
/// snapshot every <see cref="SnapshotEvery"/> events after which older events and snapshots are
/// deleted, so recovery and storage stay bounded however many connections a host sees.</para>
/// <para>Leases are not persisted: they belong to live sessions, which a restart ends anyway. A lease
/// is held by the <b>sender</b> of <see cref="AcquireLease"/>, which is watched; send it with
/// <c>Tell</c> from the session actor, not with <c>Ask</c> (an ask's temporary sender stops at
/// once, and its lease with it).</para>
/// <para>Idle (no message for <see cref="DestinationSettings.PassivateAfter"/>) and without leases,
/// the actor asks its parent to stop it (<see cref="Passivate"/>); the parent holds messages that
/// arrive meanwhile and recreates the actor for them. A lease granted between the request and the
/// parent's <see cref="StopIfIdle"/> keeps the actor alive, so no lease is ever forgotten.</para>
/// <para>The store is a hints database, like Exim's: when it cannot be read or written, the actor
/// tells its parent (<see cref="StoreFailed"/>) and stops, and the parent runs the destination as a
/// <see cref="VolatileDestination"/> for a while, so that deliveries go on without it.</para>
/// </remarks>
public sealed class Destination : ReceivePersistentActor
{
    public const string PersistenceIdPrefix = "destination-";

    /// <summary>A snapshot is saved after this many events.</summary>
    public const int SnapshotEvery = 50;

    /// <summary>To the parent: stop me, I'm idle. The parent answers <see cref="StopIfIdle"/>.</summary>
    public sealed record Passivate(DestinationKey Key);

    /// <summary>From the parent: stop now, unless a lease was granted since <see cref="Passivate"/>
    /// (then the answer is <see cref="StayAlive"/>).</summary>
    public sealed record StopIfIdle
    {
        public static readonly StopIfIdle Instance = new();
        private StopIfIdle() { }
    }

    /// <summary>To the parent: passivation cancelled, deliver what you held.</summary>
    public sealed record StayAlive(DestinationKey Key);

    /// <summary>To the parent: recovered, send me what you held meanwhile.</summary>
    public sealed record Ready(DestinationKey Key);

    /// <summary>To the parent: the store failed me (recovery or a write); I am stopping.</summary>
    public sealed record StoreFailed(DestinationKey Key, string Reason);

    private readonly DestinationKey _key;
    private readonly ILoggingAdapter _log = Context.GetLogger();
    private readonly DestinationLogic _logic;

    public Destination(DestinationKey key, DestinationSettings settings, TimeProvider clock)
    {
        _key = key;
        PersistenceId = PersistenceIdFor(key);
        _logic = new DestinationLogic(key, settings, clock, Context, (e, then) => Persist(e, persisted =>
        {
            _logic!.Apply(persisted);
            AfterPersist();
            then?.Invoke();
        }), persisted: true);
        if (settings.PassivateAfter > TimeSpan.Zero)
            Context.SetReceiveTimeout(settings.PassivateAfter);

        Recover<SnapshotOffer>(offer =>
        {
            if (offer.Snapshot is DestinationSnapshot s)
                _logic.Restore(s);
        });
        Recover<IDestinationEvent>(e => _logic.Apply(e));

        Command<SaveSnapshotSuccess>(ok =>
        {
            // The snapshot holds everything: older events and snapshots are only replay cost.
            DeleteMessages(ok.Metadata.SequenceNr);
            if (ok.Metadata.SequenceNr > 1)
                DeleteSnapshots(new SnapshotSelectionCriteria(ok.Metadata.SequenceNr - 1));
        });
        Command<SaveSnapshotFailure>(f => _log.Warning("destination {0}: snapshot failed: {1}", _key, f.Cause.Message));
        Command<DeleteMessagesSuccess>(_ => { });
        Command<DeleteMessagesFailure>(f => _log.Warning("destination {0}: deleting old events failed: {1}", _key, f.Cause.Message));
        Command<DeleteSnapshotsSuccess>(_ => { });
        Command<DeleteSnapshotsFailure>(f => _log.Warning("destination {0}: deleting old snapshots failed: {1}", _key, f.Cause.Message));
        CommandAny(m =>
        {
            if (!_logic.Handle(m, Sender))
                Unhandled(m);
        });
    }

    public static Props Props(DestinationKey key, DestinationSettings settings, TimeProvider? clock = null) =>
        Akka.Actor.Props.Create(() => new Destination(key, settings, clock ?? TimeProvider.System));

    public static string PersistenceIdFor(DestinationKey key) => PersistenceIdPrefix + key.EntityId;

    public override string PersistenceId { get; }

    protected override void OnReplaySuccess()
    {
        base.OnReplaySuccess();
        Context.Parent.Tell(new Ready(_key));
    }

    // Akka logs these with the whole exception and stops the actor; the parent says what it means
    // for deliveries, in one line, and carries on without the store.
    protected override void OnRecoveryFailure(Exception reason, object? message = null) =>
        Context.Parent.Tell(new StoreFailed(_key, $"cannot recover {PersistenceId}: {reason.GetBaseException().Message}"));

    protected override void OnPersistFailure(Exception cause, object @event, long sequenceNr) =>
        Context.Parent.Tell(new StoreFailed(_key, $"cannot write {PersistenceId}: {cause.GetBaseException().Message}"));

    // A rejected event (the journal refused this one, as for a serialisation error) leaves the
    // store and the actor working, as in Akka: said in one line, the change is not applied.
    protected override void OnPersistRejected(Exception cause, object @event, long sequenceNr) =>
        _log.Warning("destination {0}: {1} not persisted: {2}", _key, @event.GetType().Name, cause.GetBaseException().Message);

    private void AfterPersist()
    {
        if (LastSequenceNr % SnapshotEvery == 0)
            SaveSnapshot(_logic.Snapshot);
    }
}
