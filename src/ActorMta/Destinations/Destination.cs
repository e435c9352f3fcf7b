using Akka.Actor;
using Akka.Event;
using Akka.Persistence;

namespace ActorMta.Destinations;

/// <summary>
/// One remote <c>IP:port</c> (spec Part A rule 8, Part B 3.2-3.3): the early-pipelining record,
/// the host retry state, and the connection budget.
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

    private static readonly IReadOnlyList<string> NoAuth = [];

    private readonly DestinationKey _key;
    private readonly DestinationSettings _settings;
    private readonly TimeProvider _clock;
    private readonly ILoggingAdapter _log = Context.GetLogger();

    private EarlyPipeRecord? _record;
    private HostRetry? _retry;
    private DateTimeOffset? _clearTextUntil;

    // Not persisted. Session id -> the session actor holding the lease.
    private readonly Dictionary<string, IActorRef> _leases = new(StringComparer.Ordinal);
    // Not persisted. The cleartext EHLO reply each lease-holding session saw on its current
    // connection, for the TLS-phase write (Exim keeps it in the connection's memory).
    private readonly Dictionary<IActorRef, Cleartext> _cleartextBySession = [];
    // The latest cleartext reply of any non-early connection, when the session is unknown.
    private Cleartext? _lastCleartext;

    private sealed record Cleartext(EhloFeatures Features, IReadOnlyList<string> Auth);

    public Destination(DestinationKey key, DestinationSettings settings, TimeProvider clock)
    {
        _key = key;
        _settings = settings;
        _clock = clock;
        PersistenceId = PersistenceIdFor(key);

        Recover<SnapshotOffer>(offer =>
        {
            if (offer.Snapshot is DestinationSnapshot s)
            {
                _record = s.Record;
                _retry = s.Retry;
                _clearTextUntil = s.ClearTextUntil;
            }
        });
        Recover<IDestinationEvent>(Apply);

        Command<AcquireLease>(OnAcquire);
        Command<ReleaseLease>(OnRelease);
        Command<Terminated>(t => DropLeasesOf(t.ActorRef));
        Command<EhloLearned>(OnEhlo);
        Command<EarlyAttemptFailed>(m => Delete("early attempt failed: " + m.Reason));
        Command<HostFailed>(OnHostFailed);
        Command<TlsFailed>(m => Save(new ClearTextRemembered(m.Until, m.Reason)));
        Command<HostSucceeded>(_ =>
        {
            if (_retry is not null)
                Save(new HostRetryChanged(null));
        });
        Command<GetDestinationState>(_ => Sender.Tell(State));
        Command<ReceiveTimeout>(_ =>
        {
            if (_leases.Count == 0)
                Context.Parent.Tell(new Passivate(_key));
        });
        Command<StopIfIdle>(_ =>
        {
            if (_leases.Count == 0)
                Context.Stop(Self);
            else
                Sender.Tell(new StayAlive(_key));
        });

        Command<SaveSnapshotSuccess>(ok =>
        {
            // The snapshot holds everything: older events and snapshots are only replay cost.
            DeleteMessages(ok.Metadata.SequenceNr);
            if (ok.Metadata.SequenceNr > 1)
                DeleteSnapshots(new SnapshotSelectionCriteria(ok.Metadata.SequenceNr - 1));
        });
        Command<SaveSnapshotFailure>(f => _log.Warning(f.Cause, "destination {0}: snapshot failed", _key));
        Command<DeleteMessagesSuccess>(_ => { });
        Command<DeleteMessagesFailure>(f => _log.Warning(f.Cause, "destination {0}: deleting old events failed", _key));
        Command<DeleteSnapshotsSuccess>(_ => { });
        Command<DeleteSnapshotsFailure>(f => _log.Warning(f.Cause, "destination {0}: deleting old snapshots failed", _key));
    }

    public static Props Props(DestinationKey key, DestinationSettings settings, TimeProvider? clock = null) =>
        Akka.Actor.Props.Create(() => new Destination(key, settings, clock ?? TimeProvider.System));

    public static string PersistenceIdFor(DestinationKey key) => PersistenceIdPrefix + key.EntityId;

    public override string PersistenceId { get; }

    private DestinationState State => new(_key, _record, _retry, _leases.Count) { ClearTextUntil = ClearTextNow };

    /// <summary>The remembered TLS failure, while it is in force.</summary>
    private DateTimeOffset? ClearTextNow => _clearTextUntil is { } until && until > _clock.GetUtcNow() ? until : null;

    protected override void PreStart()
    {
        base.PreStart();
        if (_settings.PassivateAfter > TimeSpan.Zero)
            Context.SetReceiveTimeout(_settings.PassivateAfter);
    }

    // ---- leases ---------------------------------------------------------------------------------

    private void OnAcquire(AcquireLease m)
    {
        var now = _clock.GetUtcNow();
        var session = Sender;
        var renewing = _leases.ContainsKey(m.SessionId);

        if (!renewing && _retry is { } retry && retry.NextTry > now)
        {
            session.Tell(new LeaseRefused(_key, m.SessionId, $"host in retry wait after {retry.Failures} failure(s): {retry.LastError}", retry.NextTry));
            return;
        }
        if (!renewing && _leases.Count >= _settings.MaxConnections)
        {
            session.Tell(new LeaseRefused(_key, m.SessionId, $"connection limit reached ({_settings.MaxConnections})", null));
            return;
        }

        if (!renewing)
        {
            _leases[m.SessionId] = session;
            if (IsWatchable(session))
                Context.Watch(session);
        }

        if (_record is { } record && now - record.LearnedAt > _settings.RetryDataExpire)
        {
            Metrics.MtaMetrics.EarlyPipeRecordInvalidated();
            Persist(new RecordDeleted("record too old", now), e =>
            {
                Apply(e);
                AfterPersist();
                session.Tell(new LeaseGranted(_key, m.SessionId, null) { ClearTextUntil = ClearTextNow });
            });
            return;
        }
        session.Tell(new LeaseGranted(_key, m.SessionId, _record) { ClearTextUntil = ClearTextNow });
    }

    private void OnRelease(ReleaseLease m)
    {
        if (!_leases.Remove(m.SessionId, out var session))
            return;
        if (!_leases.ContainsValue(session))
        {
            _cleartextBySession.Remove(session);
            if (IsWatchable(session))
                Context.Unwatch(session);
        }
    }

    private void DropLeasesOf(IActorRef session)
    {
        foreach (var id in _leases.Where(l => l.Value.Equals(session)).Select(l => l.Key).ToList())
            _leases.Remove(id);
        _cleartextBySession.Remove(session);
    }

    private static bool IsWatchable(IActorRef actor) =>
        !actor.IsNobody() && actor is not DeadLetterActorRef;

    // ---- the early-pipelining record (Part B 3.3) -----------------------------------------------

    private void OnEhlo(EhloLearned m)
    {
        var now = _clock.GetUtcNow();
        var auth = m.Auth ?? NoAuth;
        var features = m.Features;
        var limits = m.Limits ?? EhloLimits.None;

        if (!m.Tls)
        {
            var seen = new Cleartext(features, auth);
            if (!m.EarlyConnection)
                _lastCleartext = seen;
            if (_leases.ContainsValue(Sender))
                _cleartextBySession[Sender] = seen;
        }

        // An early connection compares the real reply with the record it acted on. With no record
        // (deleted meanwhile) or no TLS-phase part yet (never learned), there is nothing to compare:
        // the reply is learned like a normal connection's.
        if (m.EarlyConnection && _record is { } record && !(m.Tls && record.Tls == EhloFeatures.None))
        {
            var (oldFeatures, oldAuth) = m.Tls ? (record.Tls, record.TlsAuth) : (record.Cleartext, record.CleartextAuth);
            if (oldFeatures != features || !SameAuth(oldAuth, auth))
            {
                if (features.HasFlag(EhloFeatures.PipeConnect))
                {
                    Write(m.Tls
                        ? record with { Tls = features, TlsAuth = auth, Limits = limits, LearnedAt = now }
                        : record with { Cleartext = features, CleartextAuth = auth, Limits = limits, LearnedAt = now });
                }
                else
                {
                    Delete(m.Tls ? "PIPECONNECT no longer offered after STARTTLS" : "PIPECONNECT no longer offered");
                }
            }
            else if (limits != record.Limits)
            {
                Delete("LIMITS changed");
            }
            return;
        }

        if (!m.Tls)
        {
            // Rule 1: written when the reply offers both PIPELINING and PIPECONNECT; TLS bits already known go along.
            if (features.HasFlag(EhloFeatures.Pipelining | EhloFeatures.PipeConnect))
            {
                Write(new EarlyPipeRecord(features, _record?.Tls ?? EhloFeatures.None, auth,
                    _record?.TlsAuth ?? NoAuth, limits, now));
            }
            // No PIPECONNECT: a normal connection leaves an existing record alone.
            return;
        }

        // Rule 2: the TLS-phase reply; written when PIPELINING is offered and either phase offers PIPECONNECT.
        // The cleartext part is this connection's cleartext reply: known exactly when the session holds
        // the lease itself; else the latest normal cleartext reply (a TLS-phase reply follows its own
        // connection's cleartext one); else what the record has.
        var clear = _cleartextBySession.GetValueOrDefault(Sender)
                    ?? _lastCleartext
                    ?? (_record is { } r ? new Cleartext(r.Cleartext, r.CleartextAuth) : null)
                    ?? new Cleartext(EhloFeatures.None, NoAuth);
        if (features.HasFlag(EhloFeatures.Pipelining)
            && (features.HasFlag(EhloFeatures.PipeConnect) || clear.Features.HasFlag(EhloFeatures.PipeConnect)))
        {
            Write(new EarlyPipeRecord(clear.Features, features, clear.Auth, auth, limits, now));
        }
    }

    private void Write(EarlyPipeRecord record)
    {
        // An identical record younger than 1% of retry-data-expire is not written again: every
        // normal connection to the host would otherwise add a journal row. The record's age is
        // then at most that much older than Exim's would be.
        if (_record is { } old
            && old with { LearnedAt = record.LearnedAt } == record
            && record.LearnedAt - old.LearnedAt < _settings.RetryDataExpire / 100)
            return;
        Save(new RecordWritten(record));
    }

    private void Delete(string reason)
    {
        if (_record is null)
            return;
        Metrics.MtaMetrics.EarlyPipeRecordInvalidated();
        Save(new RecordDeleted(reason, _clock.GetUtcNow()));
    }

    private static bool SameAuth(IReadOnlyList<string> a, IReadOnlyList<string> b) =>
        a.Count == b.Count && a.Order(StringComparer.OrdinalIgnoreCase)
            .SequenceEqual(b.Order(StringComparer.OrdinalIgnoreCase), StringComparer.OrdinalIgnoreCase);

    // ---- host retry -----------------------------------------------------------------------------

    private void OnHostFailed(HostFailed m)
    {
        var now = _clock.GetUtcNow();
        HostRetry next;
        if (_retry is null)
        {
            next = new HostRetry(now, now + _settings.HostRetryInitial, 1, m.Reason);
        }
        else if (_retry.NextTry > now)
        {
            // An attempt that began before the wait did: the host has not been tried again yet,
            // so the wait does not grow (20 sessions timing out together are one failure).
            next = _retry with { LastError = m.Reason };
        }
        else
        {
            var failures = _retry.Failures + 1;
            next = new HostRetry(_retry.FirstFailure, now + Backoff(failures), failures, m.Reason);
        }
        Save(new HostRetryChanged(next));
    }

    /// <summary>The wait after the <paramref name="failures"/>-th failure: initial, doubling, capped.</summary>
    internal TimeSpan Backoff(int failures)
    {
        var wait = _settings.HostRetryInitial;
        for (var i = 1; i < failures && wait < _settings.HostRetryMax; i++)
            wait += wait;
        return wait > _settings.HostRetryMax ? _settings.HostRetryMax : wait;
    }

    // ---- events ---------------------------------------------------------------------------------

    private void Save(IDestinationEvent e) =>
        Persist(e, persisted =>
        {
            Apply(persisted);
            AfterPersist();
        });

    private void AfterPersist()
    {
        if (LastSequenceNr % SnapshotEvery == 0)
            SaveSnapshot(new DestinationSnapshot(_record, _retry) { ClearTextUntil = _clearTextUntil });
    }

    private void Apply(IDestinationEvent e)
    {
        switch (e)
        {
            case RecordWritten w:
                _record = w.Record;
                break;
            case RecordDeleted:
                _record = null;
                break;
            case HostRetryChanged h:
                _retry = h.Retry;
                break;
            case ClearTextRemembered c:
                _clearTextUntil = c.Until;
                break;
        }
    }
}
