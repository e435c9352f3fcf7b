using Akka.Actor;
using ActorMta.Configuration;
using ActorMta.Destinations;
using ActorMta.Metrics;
using ActorMta.Routing;
using ActorMta.Spool;

namespace ActorMta.Outbound;

/// <summary>
/// <c>/user/mta/delivery</c>: turns jobs into connections. For each job it walks the route's hosts
/// in order, asks the host's Destination for a connection lease (budget, host retry state and the
/// early-pipelining record come with it), and starts an <see cref="OutboundSession"/> child — or,
/// when the budget is used up, parks the job until a session to that host asks for more work
/// (connection reuse) or ends. Sessions are not children of destinations (DESIGN.md section 3), so
/// the destination may live on another node.
/// <para>Idle connections (<c>idle-connection-timeout</c>): a session that finished its work asks
/// for more; when nothing waits for its destination the agent keeps the question open (the session
/// stays connected and keeps its lease) and answers it with the next job that arrives for that
/// destination, or with "none" after the idle time, upon which the session QUITs. At most
/// <c>max-idle-connections</c> are kept; a new idle one closes the longest idle.</para>
/// </summary>
public sealed class DeliveryAgent : UntypedActor, IWithTimers
{
    public ITimerScheduler Timers { get; set; } = null!;

    private sealed class PendingJob(OutboundJob job, IActorRef replyTo)
    {
        public OutboundJob Job { get; } = job;
        public IActorRef ReplyTo { get; } = replyTo;
        public int HopIndex { get; set; }
        public string? LastError { get; set; }
        public NextHop Hop => Job.Route.Hops[HopIndex];
        public DestinationKey Key => new(Hop.Address, Hop.Port);
    }

    private sealed class SessionEntry(DestinationKey key, string leaseId, PendingJob current)
    {
        public DestinationKey Key { get; } = key;
        public string LeaseId { get; } = leaseId;
        public PendingJob? Current { get; set; } = current;
    }

    private readonly OutboundSettings _settings;
    private readonly MessageSpool _spool;
    private readonly IActorRef _destinations;
    private readonly Dictionary<DestinationKey, Queue<PendingJob>> _waiting = new();
    private readonly Dictionary<string, PendingJob> _awaitingLease = new();
    private readonly Dictionary<IActorRef, SessionEntry> _sessions = new();
    private readonly IdleConnections _idle;
    /// <summary>Per destination: sessions running plus leases asked for (connections open or opening).</summary>
    private readonly Dictionary<DestinationKey, int> _connections = new();
    private long _leaseCounter;
    private readonly TimeSpan _leaseAnswerTimeout;


    public DeliveryAgent(OutboundSettings settings, MessageSpool spool, IActorRef destinations, TimeSpan? leaseAnswerTimeout = null)
    {
        _leaseAnswerTimeout = leaseAnswerTimeout ?? LeaseAnswerTimeout;
        _settings = settings;
        _spool = spool;
        _destinations = destinations;
        _idle = new IdleConnections(settings.MaxIdleConnections);
    }

    /// <param name="leaseAnswerTimeout">For tests: <see cref="LeaseAnswerTimeout"/> unless given.</param>
    public static Props Props(OutboundSettings settings, MessageSpool spool, IActorRef destinations, TimeSpan? leaseAnswerTimeout = null) =>
        Akka.Actor.Props.Create(() => new DeliveryAgent(settings, spool, destinations, leaseAnswerTimeout));

    /// <summary>A crashed session is stopped; its job is handed back as deferred when we see it terminate.</summary>
    private IDisposable? _mailbox;

    protected override void PreStart() => _mailbox = MtaMetrics.SampleMailbox(nameof(DeliveryAgent), Self);

    protected override void PostStop() => _mailbox?.Dispose();

    protected override SupervisorStrategy SupervisorStrategy() => new OneForOneStrategy(_ => Directive.Stop);

    protected override void OnReceive(object message)
    {
        using var timing = MtaMetrics.Processing(nameof(DeliveryAgent));
        switch (message)
        {
            case DeliverRemote deliver:
                Start(new PendingJob(deliver.Job, Sender));
                break;
            case LeaseGranted granted:
                OnLeaseGranted(granted);
                break;
            case LeaseRefused refused:
                OnLeaseRefused(refused);
                break;
            case LeaseOverdue overdue:
                if (_awaitingLease.Remove(overdue.LeaseId, out var unanswered))
                {
                    // Asked again under a new id; a late answer to the old one is released.
                    AddConnection(unanswered.Key, -1);
                    RequestLease(unanswered);
                }
                break;
            case NextJobRequest request:
                OnNextJobRequest(request);
                break;
            case JobFinished finished:
                if (_sessions.TryGetValue(Sender, out var entry) && entry.Current is { } done)
                {
                    entry.Current = null;
                    done.ReplyTo.Tell(finished.Result);
                }
                break;
            case JobReturned returned:
                if (_sessions.TryGetValue(Sender, out var returnedEntry) && returnedEntry.Current is { } again)
                {
                    returnedEntry.Current = null;
                    again.LastError = returned.Reason;
                    Start(again);
                }
                break;
            case IdleExpired expired:
                if (_idle.Expire(expired.Session, expired.Ticket) is { } ended) ended.ReplyTo.Tell(NoJob);
                break;
            case HostUnusable unusable:
                if (_sessions.TryGetValue(Sender, out var failedEntry) && failedEntry.Current is { } retry)
                {
                    failedEntry.Current = null;
                    retry.LastError = unusable.Reason;
                    retry.HopIndex++;
                    Start(retry);
                }
                break;
            case Terminated terminated:
                OnSessionEnded(terminated.ActorRef);
                break;
            default:
                Unhandled(message);
                break;
        }
    }

    private void Start(PendingJob pending)
    {
        if (pending.HopIndex >= pending.Job.Route.Hops.Count)
        {
            var why = pending.LastError ?? "no host to deliver to";
            var outcomes = pending.Job.RecipientIndexes
                .Select(i => new RecipientOutcome(i, DeliveryStatus.Deferred, null, why, null)).ToArray();
            pending.ReplyTo.Tell(new RemoteDeliveryResult(pending.Job, outcomes));
            return;
        }
        if (TryHandToIdle(pending)) return;
        var key = pending.Key;
        // Connections grow with the backlog (backlog-per-connection), not with every job.
        var connections = _connections.GetValueOrDefault(key);
        if (connections > 0 && WaitingFor(key) < connections * _settings.BacklogPerConnection)
        {
            Enqueue(key, pending);
            return;
        }
        RequestLease(pending);
    }

    private void RequestLease(PendingJob pending)
    {
        var leaseId = $"lease-{++_leaseCounter}";
        _awaitingLease[leaseId] = pending;
        AddConnection(pending.Key, +1);
        _destinations.Tell(new AcquireLease(pending.Key, leaseId));
        Timers.StartSingleTimer(leaseId, new LeaseOverdue(leaseId), _leaseAnswerTimeout);
    }

    /// <summary>
    /// A lease request that no answer comes to is asked again after this. A destination actor that
    /// stops with requests in its mailbox (its store failed) answers none of them, and the jobs
    /// behind them would wait for ever. A destination answers in milliseconds, or in the store's
    /// recovery timeout when the store is down.
    /// </summary>
    internal static readonly TimeSpan LeaseAnswerTimeout = TimeSpan.FromSeconds(30);

    private sealed record LeaseOverdue(string LeaseId);

    private int WaitingFor(DestinationKey key) => _waiting.TryGetValue(key, out var queue) ? queue.Count : 0;

    private void Enqueue(DestinationKey key, PendingJob pending)
    {
        if (!_waiting.TryGetValue(key, out var queue)) _waiting[key] = queue = new Queue<PendingJob>();
        queue.Enqueue(pending);
    }

    private void AddConnection(DestinationKey key, int delta)
    {
        var count = _connections.GetValueOrDefault(key) + delta;
        if (count > 0) _connections[key] = count;
        else _connections.Remove(key);
    }

    private void OnLeaseGranted(LeaseGranted granted)
    {
        if (!_awaitingLease.Remove(granted.SessionId, out var pending))
        {
            _destinations.Tell(new ReleaseLease(granted.Key, granted.SessionId));
            return;
        }
        Timers.Cancel(granted.SessionId);
        // More work for this host queued: then don't pipeline QUIT, ask for it instead. (The lease
        // request counted in _connections is now this session.)
        var more = WaitingFor(granted.Key) > 0;
        var session = Context.ActorOf(
            OutboundSession.Props(pending.Hop, granted.Record, pending.Job, more, _settings, _spool, Self, _destinations, granted.ClearTextUntil),
            $"out-{granted.SessionId}");
        Context.Watch(session);
        _sessions[session] = new SessionEntry(granted.Key, granted.SessionId, pending);
        MtaMetrics.DestinationLeaseAcquired(granted.Key.ToString());
    }

    private void OnLeaseRefused(LeaseRefused refused)
    {
        if (!_awaitingLease.Remove(refused.SessionId, out var pending)) return;
        Timers.Cancel(refused.SessionId);
        AddConnection(refused.Key, -1);
        if (refused.RetryAt is { } retryAt)
        {
            // Exim's host retry: this host failed recently; try the next one now, with the jobs that waited behind this lease.
            var why = $"retry time not reached for {pending.Hop.HostName} [{pending.Hop.Address}]:{pending.Hop.Port} (next try {retryAt:yyyy-MM-dd HH:mm:ss}): {refused.Reason}";
            var moveOn = new List<PendingJob> { pending };
            if (!_connections.ContainsKey(refused.Key) && _waiting.Remove(refused.Key, out var stranded)) moveOn.AddRange(stranded);
            foreach (var job in moveOn)
            {
                job.LastError = why;
                job.HopIndex++;
                Start(job);
            }
            return;
        }
        // The connection budget is used up: wait for a session to that host to take it.
        Enqueue(refused.Key, pending);
        // With no session to that host running, nobody would pick it up: look again shortly.
        if (!_connections.ContainsKey(refused.Key)) Timers.StartSingleTimer(refused.Key, new RetryWaiting(refused.Key), TimeSpan.FromSeconds(1));
    }

    private sealed record RetryWaiting(DestinationKey Key);

    private sealed record IdleExpired(IActorRef Session, long Ticket);

    private static readonly NextJobReply NoJob = new(null, false);

    /// <summary>An idle connection to the job's host takes it at once: no lease round trip, no connect.</summary>
    private bool TryHandToIdle(PendingJob pending)
    {
        if (_idle.Count == 0 || _idle.Take(pending.Key) is not { } parked) return false;
        Timers.Cancel(parked.Session);
        if (!_sessions.TryGetValue(parked.Session, out var entry))
        {
            parked.ReplyTo.Tell(NoJob);
            return false;
        }
        entry.Current = pending;
        parked.ReplyTo.Tell(new NextJobReply(pending.Job, _waiting.TryGetValue(pending.Key, out var queue) && queue.Count > 0));
        return true;
    }

    /// <summary>Nothing waits for the session's destination: keep its connection open for a while, or let it quit.</summary>
    private void ParkOrQuit(IActorRef session, DestinationKey key)
    {
        if (!_settings.KeepsIdleConnections)
        {
            Sender.Tell(NoJob);
            return;
        }
        var parked = _idle.Park(session, Sender, key, out var evicted);
        if (evicted is not null)
        {
            Timers.Cancel(evicted.Session);
            evicted.ReplyTo.Tell(NoJob);
        }
        Timers.StartSingleTimer(session, new IdleExpired(session, parked.Ticket), _settings.IdleConnectionTimeout);
    }

    protected override bool AroundReceive(Receive receive, object message)
    {
        if (message is RetryWaiting retry)
        {
            StartNextWaiting(retry.Key);
            return true;
        }
        return base.AroundReceive(receive, message);
    }

    private void OnNextJobRequest(NextJobRequest request)
    {
        // Asked from the session's conversation task: the session is named in the request, the Sender is the ask's temporary actor.
        if (!_sessions.TryGetValue(request.Session, out var entry))
        {
            Sender.Tell(NoJob);
            return;
        }
        if (_waiting.TryGetValue(request.Key, out var queue) && queue.Count > 0)
        {
            var next = queue.Dequeue();
            entry.Current = next;
            Sender.Tell(new NextJobReply(next.Job, queue.Count > 0));
            return;
        }
        ParkOrQuit(request.Session, request.Key);
    }

    private void OnSessionEnded(IActorRef session)
    {
        if (!_sessions.Remove(session, out var entry)) return;
        AddConnection(entry.Key, -1);
        if (_idle.Remove(session) is not null) Timers.Cancel(session);
        _destinations.Tell(new ReleaseLease(entry.Key, entry.LeaseId));
        MtaMetrics.DestinationLeaseReleased(entry.Key.ToString());
        if (entry.Current is { } orphan)
        {
            // The session died with a job in hand (a crash): nothing was confirmed, so defer it; the queue retries.
            var outcomes = orphan.Job.RecipientIndexes
                .Select(i => new RecipientOutcome(i, DeliveryStatus.Deferred, null, "delivery interrupted by an internal error", null)).ToArray();
            orphan.ReplyTo.Tell(new RemoteDeliveryResult(orphan.Job, outcomes));
        }
        StartNextWaiting(entry.Key);
    }

    /// <summary>
    /// A connection to the key ended or could not be had: waiting jobs ask for new connections, as
    /// many as the backlog calls for (at least one while any job waits).
    /// </summary>
    private void StartNextWaiting(DestinationKey key)
    {
        if (!_waiting.TryGetValue(key, out var queue)) return;
        while (queue.Count > 0)
        {
            var next = queue.Dequeue();
            if (!TryHandToIdle(next)) RequestLease(next);
            if (queue.Count <= _connections.GetValueOrDefault(key) * _settings.BacklogPerConnection) break;
        }
        if (queue.Count == 0) _waiting.Remove(key);
    }
}
