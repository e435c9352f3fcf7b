using Akka.Actor;

namespace ActorMta.Destinations;

/// <summary>
/// What a destination knows and how it answers: leases (the connection budget), the early-pipelining
/// record (spec Part A rule 8, Part B 3.2-3.3), the host retry state and the remembered TLS failure.
/// The same whether its changes are persisted (<see cref="Destination"/>) or only kept in memory
/// while the store is unavailable (<see cref="VolatileDestination"/>): the actor passes in how a
/// change is saved, and applies it through <see cref="Apply"/> once saved.
/// </summary>
internal sealed class DestinationLogic
{
    private static readonly IReadOnlyList<string> NoAuth = [];

    private readonly DestinationKey _key;
    private readonly DestinationSettings _settings;
    private readonly TimeProvider _clock;
    private readonly IActorContext _context;
    /// <summary>Saves a change; once it is saved, <see cref="Apply"/> has been called with it and then
    /// the continuation (if any) runs.</summary>
    private readonly Action<IDestinationEvent, Action?> _save;
    private readonly bool _persisted;

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

    /// <param name="persisted">Whether <paramref name="save"/> persists (said in the state the destination reports).</param>
    public DestinationLogic(DestinationKey key, DestinationSettings settings, TimeProvider clock, IActorContext context,
        Action<IDestinationEvent, Action?> save, bool persisted)
    {
        _persisted = persisted;
        _key = key;
        _settings = settings;
        _clock = clock;
        _context = context;
        _save = save;
    }

    public DestinationKey Key => _key;

    public DestinationSnapshot Snapshot => new(_record, _retry) { ClearTextUntil = _clearTextUntil };

    private DestinationState State => new(_key, _record, _retry, _leases.Count) { ClearTextUntil = ClearTextNow, InMemory = !_persisted };

    /// <summary>The remembered TLS failure, while it is in force.</summary>
    private DateTimeOffset? ClearTextNow => _clearTextUntil is { } until && until > _clock.GetUtcNow() ? until : null;

    /// <summary>Answers one message from <paramref name="sender"/>; false if it is not one of a destination's.</summary>
    public bool Handle(object message, IActorRef sender)
    {
        switch (message)
        {
            case AcquireLease m: OnAcquire(m, sender); break;
            case ReleaseLease m: OnRelease(m); break;
            case Terminated t: DropLeasesOf(t.ActorRef); break;
            case EhloLearned m: OnEhlo(m, sender); break;
            case EarlyAttemptFailed m: Delete("early attempt failed: " + m.Reason); break;
            case HostFailed m: OnHostFailed(m); break;
            case TlsFailed m: _save(new ClearTextRemembered(m.Until, m.Reason), null); break;
            case HostSucceeded:
                if (_retry is not null)
                    _save(new HostRetryChanged(null), null);
                break;
            case GetDestinationState: sender.Tell(State); break;
            case ReceiveTimeout:
                if (_leases.Count == 0)
                    _context.Parent.Tell(new Destination.Passivate(_key));
                break;
            case Destination.StopIfIdle:
                if (_leases.Count == 0)
                    _context.Stop(_context.Self);
                else
                    sender.Tell(new Destination.StayAlive(_key));
                break;
            default:
                return false;
        }
        return true;
    }

    /// <summary>The state a snapshot holds (at recovery).</summary>
    public void Restore(DestinationSnapshot s)
    {
        _record = s.Record;
        _retry = s.Retry;
        _clearTextUntil = s.ClearTextUntil;
    }

    public void Apply(IDestinationEvent e)
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

    // ---- leases ---------------------------------------------------------------------------------

    private void OnAcquire(AcquireLease m, IActorRef session)
    {
        var now = _clock.GetUtcNow();
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
                _context.Watch(session);
        }

        if (_record is { } record && now - record.LearnedAt > _settings.RetryDataExpire)
        {
            Metrics.MtaMetrics.EarlyPipeRecordInvalidated();
            _save(new RecordDeleted("record too old", now),
                () => session.Tell(new LeaseGranted(_key, m.SessionId, null) { ClearTextUntil = ClearTextNow }));
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
                _context.Unwatch(session);
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

    private void OnEhlo(EhloLearned m, IActorRef sender)
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
            if (_leases.ContainsValue(sender))
                _cleartextBySession[sender] = seen;
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
        var clear = _cleartextBySession.GetValueOrDefault(sender)
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
        _save(new RecordWritten(record), null);
    }

    private void Delete(string reason)
    {
        if (_record is null)
            return;
        Metrics.MtaMetrics.EarlyPipeRecordInvalidated();
        _save(new RecordDeleted(reason, _clock.GetUtcNow()), null);
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
        _save(new HostRetryChanged(next), null);
    }

    /// <summary>The wait after the <paramref name="failures"/>-th failure: initial, doubling, capped.</summary>
    private TimeSpan Backoff(int failures)
    {
        var wait = _settings.HostRetryInitial;
        for (var i = 1; i < failures && wait < _settings.HostRetryMax; i++)
            wait += wait;
        return wait > _settings.HostRetryMax ? _settings.HostRetryMax : wait;
    }
}
