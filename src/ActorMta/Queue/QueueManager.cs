using System.Collections.Concurrent;
using Akka.Actor;
using ActorMta.Configuration;
using ActorMta.Delivery.Local;
using ActorMta.Logging;
using ActorMta.Metrics;
using ActorMta.Outbound;
using ActorMta.Routing;
using ActorMta.Spool;
using Envelope = ActorMta.Spool.Envelope;

namespace ActorMta.Queue;

/// <summary>
/// Owns the set of spooled messages: routes each recipient, runs delivery attempts and schedules
/// retries. Its state is a cache of the spool: at start it is rebuilt from the spool alone
/// (<see cref="MessageSpool.Recover()"/>), and every change of a recipient's state is journaled in
/// the spool before this actor hears of it, so a crash of the actor or the process loses nothing.
/// </summary>
/// <remarks>
/// <para>Routing: a recipient in <c>policy.local-domains</c> goes to its maildir; the others are
/// grouped by domain and routed by the router (<see cref="RouterActor.RouteRequest"/>, told, answered
/// with <see cref="RouterActor.Routed"/>); recipients whose domains route to the same hosts go to the
/// delivery agent as one <see cref="OutboundJob"/>, which answers with a
/// <see cref="RemoteDeliveryResult"/>. Without a router (<see cref="ActorRefs.Nobody"/>) remote
/// recipients wait in the queue, deferred.</para>
/// <para>Attempts run off the actor thread (<see cref="MessageAttempt"/>, piped back to
/// <c>Self</c>), at most <see cref="QueueTuning.ParallelAttempts"/> messages at a time, oldest ready
/// first; the attempt awaits routes and job results through tasks that this actor completes when the
/// replies arrive (correlated by request id and by job), so nothing blocks. A deferred recipient gets
/// its next time from the retry schedule (<see cref="QueueTuning.RetryRules"/>, counted from its first
/// failure); one timer wakes the actor at the earliest due time. A recipient whose schedule ran out
/// fails with its last error. Failed recipients are reported to the sender in one bounce per attempt
/// (<see cref="Bounces.BounceBuilder"/>), which is spooled and enqueued here like any message.</para>
/// </remarks>
public sealed partial class QueueManager : ReceiveActor, IWithTimers
{
    /// <summary>Told by the session right after <see cref="MessageSpool.StoreAsync"/> completed.</summary>
    public sealed record Enqueue(Envelope Envelope);

    /// <summary>Ask: answered with a <see cref="QueueSnapshot"/> of the whole queue, or with
    /// <paramref name="Id"/> only of that message (empty when it is not queued): <c>queue show</c>
    /// must not copy a queue of 100,000 messages to find one.</summary>
    public sealed record GetQueue(string? Id = null)
    {
        public static readonly GetQueue Instance = new();
    }

    /// <summary>Ask: answered with the number of queued messages (an <see cref="int"/>).</summary>
    public sealed record CountQueue
    {
        public static readonly CountQueue Instance = new();
    }

    /// <summary>Tell: attempt every waiting message now, ignoring retry times (like <c>exim -qff</c>).</summary>
    public sealed record RunQueue
    {
        public static readonly RunQueue Instance = new();
    }

    private sealed record RetryDue
    {
        public static readonly RetryDue Instance = new();
    }

    private sealed record AttemptCrashed(string MessageId, Exception Error);

    private sealed record RouteTimedOut(long RequestId);

    private sealed record JobTimedOut(string Key);

    /// <summary>What the actor knows of one message.</summary>
    private sealed class Entry(Envelope envelope, RecipientBook book, bool recovered)
    {
        public Envelope Envelope { get; } = envelope;
        public RecipientBook Book { get; set; } = book;
        public bool Recovered { get; } = recovered;
        public DateTimeOffset? NextAttempt { get; set; }
        public bool InFlight { get; set; }
        public bool Ready { get; set; }
        public int Attempts { get; set; }

        /// <summary>Skipped by retries and queue runs until thawed (journaled, so it survives a restart).</summary>
        public bool Frozen { get; set; }

        /// <summary>The operator asked for this message now (<see cref="DeliverNow"/>): attempt it even if frozen.</summary>
        public bool Forced { get; set; }

        /// <summary>Received in queue-only mode: no attempt before the next queue run (or an operator's deliver).</summary>
        public bool AwaitingQueueRun { get; set; }
    }

    private const string RetryTimer = "retry";
    private const string QueueRunTimer = "queue-run";

    /// <summary>Tick of the periodic queue run (queue-only mode).</summary>
    private sealed record QueueRunDue
    {
        public static readonly QueueRunDue Instance = new();
    }

    private readonly MtaSettings _settings;
    private readonly MessageSpool _spool;
    private readonly MainLog _mainLog;
    private readonly MessageAttempt _attempt;
    private readonly int _parallelism;
    private readonly RemotePath _remote;
    private readonly Running _running;

    private readonly Dictionary<string, Entry> _entries = new(StringComparer.Ordinal);
    private readonly Queue<string> _ready = new();
    private readonly PriorityQueue<string, DateTimeOffset> _retries = new();
    private DateTimeOffset? _timerDue;
    private int _inFlight;

    // Arrival order for the oldest-message gauge; ids already gone are dropped lazily when they surface.
    private readonly PriorityQueue<string, DateTimeOffset> _byArrival = new();
    private IDisposable? _mailbox;

    public ITimerScheduler Timers { get; set; } = null!;

    private QueueManager(MtaSettings settings, MessageSpool spool, MainLog mainLog, QueueTuning tuning, Running running)
    {
        _settings = settings;
        _spool = spool;
        _mainLog = mainLog;
        _running = running;
        _remote = running.Remote;
        _attempt = running.Attempt;
        _parallelism = Math.Max(1, tuning.ParallelAttempts);

        Receive<Enqueue>(m => OnEnqueue(m.Envelope, arrival: true));
        Receive<RouterActor.Routed>(m => _remote.Complete(m));
        Receive<RemoteDeliveryResult>(m => _remote.Complete(m));
        Receive<RouteTimedOut>(m => _remote.TimeOut(m.RequestId));
        Receive<JobTimedOut>(m => _remote.TimeOut(m.Key));
        Receive<AttemptOutcome>(OnOutcome);
        Receive<AttemptCrashed>(OnCrashed);
        Receive<RetryDue>(_ => OnRetryDue());
        Receive<GetQueue>(m => Sender.Tell(Snapshot(m.Id)));
        Receive<CountQueue>(_ => Sender.Tell(_entries.Count));
        Receive<RunQueue>(_ => OnRunQueue());
        Receive<QueueRunDue>(_ => OnQueueRunDue());
        Receive<RoomCheckDue>(_ => OnRoomCheckDue());
        ReceiveControl();
    }

    protected override bool AroundReceive(Receive receive, object message)
    {
        using var timing = MtaMetrics.Processing(nameof(QueueManager));
        return base.AroundReceive(receive, message);
    }

    protected override void PostStop() => _mailbox?.Dispose();

    /// <param name="settings">The MTA's settings (policy, maildir, queue, outbound deadlines).</param>
    /// <param name="spool">The spool this queue is the cache of.</param>
    /// <param name="mainLog">The Exim-format main log.</param>
    /// <param name="router"><c>/user/mta/router</c>, or <see cref="ActorRefs.Nobody"/>: remote recipients then wait, deferred.</param>
    /// <param name="delivery"><c>/user/mta/delivery</c>, the delivery agent.</param>
    /// <param name="tuning">Retry schedule and parallelism; <see cref="QueueTuning.Default"/> (Exim's schedule) when null.</param>
    public static Props Props(MtaSettings settings, MessageSpool spool, MainLog mainLog, IActorRef router, IActorRef delivery, QueueTuning? tuning = null)
    {
        var chosen = tuning ?? settings.Queue.Tuning;
        // Made once, here, and not by the constructor: every incarnation of the actor shares it.
        var running = new Running(settings, chosen, spool, mainLog, router, delivery);
        return Akka.Actor.Props.CreateBy(new Producer(() => new QueueManager(settings, spool, mainLog, chosen, running)));
    }

    /// <summary>Makes each incarnation with the shared <see cref="Running"/> (Akka's own producer wants a public constructor).</summary>
    private sealed class Producer(Func<QueueManager> make) : IIndirectActorProducer
    {
        public Type ActorType => typeof(QueueManager);

        public ActorBase Produce() => make();

        public void Release(ActorBase actor)
        {
        }
    }

    /// <summary>
    /// What outlives a restart of the queue manager by its supervisor (a bug's exception). The
    /// attempts it started are tasks, not children, and go on: the messages they hold must not be
    /// attempted again by the new incarnation (a remote host would get them twice) until their
    /// results arrive, which they do, at the same actor reference; and their calls to the router
    /// and the delivery agent must still be answered, so the correlation of those replies lives
    /// here too.
    /// </summary>
    private sealed class Running
    {
        public Running(MtaSettings settings, QueueTuning tuning, MessageSpool spool, MainLog mainLog, IActorRef router, IActorRef delivery)
        {
            Remote = new RemotePath(router, delivery, settings.Outbound);
            Attempt = new MessageAttempt(
                settings, tuning, spool, new MaildirDelivery(settings.LocalDelivery, settings.PrimaryHostname, settings.Spool.Fsync, settings.Policy.LocalUsers), mainLog, Remote);
        }

        public RemotePath Remote { get; }

        public MessageAttempt Attempt { get; }

        /// <summary>Messages whose attempt runs; each leaves once its result was told to the actor.</summary>
        public ConcurrentDictionary<string, bool> Attempts { get; } = new(StringComparer.Ordinal);
    }

    protected override void PreStart()
    {
        _remote.Bind(Self, Context.System.Scheduler);
        _mailbox = MtaMetrics.SampleMailbox(nameof(QueueManager), Self);
        if (_settings.Queue.QueueOnly)
            Timers.StartPeriodicTimer(QueueRunTimer, QueueRunDue.Instance, _settings.Queue.QueueRunInterval);
        var now = DateTimeOffset.UtcNow;
        _spool.Report = _mainLog.Write;
        // Taken before the spool is read: an attempt that ends after this still counts as running
        // (its result comes here), and one that ended before journaled all it did first.
        var stillRunning = _running.Attempts.Keys.ToHashSet(StringComparer.Ordinal);
        foreach (var message in _spool.Recover(_mainLog.Write))
        {
            var entry = new Entry(message.Envelope, RecipientBook.From(message), recovered: true) { Frozen = message.Frozen };
            Add(message.Id, entry);
            if (stillRunning.Contains(message.Id))
            {
                entry.InFlight = true;
                _inFlight++;
            }
            else if (message.NextAttempt is { } due && due > now) Defer(message.Id, entry, due);
            else MakeReady(message.Id, entry);
        }
        QueueChanged();
        Dispatch();
    }

    private void OnEnqueue(Envelope envelope, bool arrival = false)
    {
        // Already known: recovered at start while the session was storing it.
        if (_entries.ContainsKey(envelope.MessageId)) return;
        var entry = new Entry(envelope, RecipientBook.New(envelope.Recipients.Count), recovered: false);
        Add(envelope.MessageId, entry);
        // queue-only: an arrival waits for the next queue run (Exim's queue_only); bounces do not.
        if (arrival && _settings.Queue.QueueOnly) entry.AwaitingQueueRun = true;
        else MakeReady(envelope.MessageId, entry);
        QueueChanged();
        Dispatch();
    }

    private void Add(string id, Entry entry)
    {
        _entries[id] = entry;
        _byArrival.Enqueue(id, entry.Envelope.ReceivedAt);
    }

    /// <summary>Reports the queue's size and oldest arrival to the metrics (two volatile writes).</summary>
    private void QueueChanged()
    {
        while (_byArrival.TryPeek(out string? id, out _) && !_entries.ContainsKey(id)) _byArrival.Dequeue();
        MtaMetrics.QueueChanged(_entries.Count, _byArrival.TryPeek(out _, out var oldest) ? oldest : null);
    }

    private void OnOutcome(AttemptOutcome outcome)
    {
        if (!_entries.TryGetValue(outcome.MessageId, out var entry) || !entry.InFlight) return;
        entry.InFlight = false;
        entry.Attempts++;
        _inFlight--;
        entry.Book = outcome.Book;
        if (outcome.Completed || outcome.Vanished) _entries.Remove(outcome.MessageId);
        else Defer(outcome.MessageId, entry, outcome.NextAttempt ?? DateTimeOffset.UtcNow + _settings.Queue.RetryInterval);
        if (outcome.WaitsForRoom && !outcome.Completed) WaitForRoom(outcome.MessageId);
        foreach (var bounce in outcome.Bounces ?? []) OnEnqueue(bounce);
        QueueChanged();
        Dispatch();
    }

    private void OnCrashed(AttemptCrashed crashed)
    {
        if (!_entries.TryGetValue(crashed.MessageId, out var entry) || !entry.InFlight) return;
        entry.InFlight = false;
        entry.Attempts++;
        _inFlight--;
        // A bug, not a delivery result: the journal still holds the truth, so keep the message and retry.
        var next = DateTimeOffset.UtcNow + _settings.Queue.RetryInterval;
        _mainLog.Write($"{crashed.MessageId} delivery attempt crashed, retry after {next:yyyy-MM-dd HH:mm:ss}: {crashed.Error.GetBaseException().Message}");
        entry.Book = _spool.TryRead(crashed.MessageId) is { } reread ? RecipientBook.From(reread) : entry.Book;
        Defer(crashed.MessageId, entry, next);
        Dispatch();
    }

    private void OnRetryDue()
    {
        _timerDue = null;
        var now = DateTimeOffset.UtcNow;
        while (_retries.TryPeek(out string? id, out var due) && due <= now)
        {
            _retries.Dequeue();
            // Stale items (message gone, attempted meanwhile, rescheduled) are skipped here.
            if (_entries.TryGetValue(id, out var entry) && !entry.InFlight && entry.NextAttempt == due) MakeReady(id, entry);
        }
        ArmTimer();
        Dispatch();
    }

    /// <summary>
    /// The periodic queue run of queue-only mode: every message waiting for it is attempted, in
    /// arrival order; messages waiting for a retry time keep waiting (Exim's -q, not -qf).
    /// </summary>
    private void OnQueueRunDue() => MakeReadyInArrivalOrder(static entry => entry.AwaitingQueueRun);

    /// <summary>The operator's forced run (<c>queue deliver --all</c>, Exim's -qf): every message not in flight.</summary>
    private void OnRunQueue() => MakeReadyInArrivalOrder(static _ => true);

    /// <summary>Makes ready, in id (= arrival) order, each message not in flight that <paramref name="selects"/>, then dispatches.</summary>
    private void MakeReadyInArrivalOrder(Func<Entry, bool> selects)
    {
        foreach (var (id, entry) in _entries.OrderBy(static e => e.Key, StringComparer.Ordinal))
        {
            if (!entry.InFlight && selects(entry)) MakeReady(id, entry);
        }
        Dispatch();
    }

    private void MakeReady(string id, Entry entry)
    {
        entry.AwaitingQueueRun = false;
        entry.NextAttempt = null;
        if (entry.Ready) return;
        entry.Ready = true;
        _ready.Enqueue(id);
    }

    private void Defer(string id, Entry entry, DateTimeOffset due)
    {
        entry.NextAttempt = due;
        _retries.Enqueue(id, due);
        ArmTimer();
    }

    /// <summary>One timer, set for the earliest retry time.</summary>
    private void ArmTimer()
    {
        if (!_retries.TryPeek(out _, out var earliest)) return;
        if (_timerDue is { } armed && armed <= earliest) return;
        _timerDue = earliest;
        var delay = earliest - DateTimeOffset.UtcNow;
        Timers.StartSingleTimer(RetryTimer, RetryDue.Instance, delay > TimeSpan.Zero ? delay : TimeSpan.Zero);
    }

    private void Dispatch()
    {
        while (_inFlight < _parallelism && _ready.TryDequeue(out string? id))
        {
            if (!_entries.TryGetValue(id, out var entry)) continue;
            entry.Ready = false;
            if (entry.InFlight || entry.NextAttempt is not null) continue;
            // A frozen message waits for thaw; only the operator's deliver ID forces one attempt.
            if (entry.Frozen && !entry.Forced) continue;
            entry.Forced = false;
            entry.InFlight = true;
            _inFlight++;
            bool maybeRepeated = entry.Recovered || entry.Attempts > 0;
            TellWhenDone(id, _attempt.RunAsync(entry.Envelope, entry.Book, maybeRepeated), static outcome => outcome);
        }
    }

    /// <summary>
    /// Tells the result of <paramref name="attempt"/> (an attempt or a give-up on message
    /// <paramref name="id"/>) to this actor, whichever incarnation it is by then; the message
    /// counts as running (<see cref="Running.Attempts"/>) until the result is told.
    /// </summary>
    private void TellWhenDone(string id, Task<AttemptOutcome> attempt, Func<AttemptOutcome, object> result)
    {
        var self = Self;
        var running = _running.Attempts;
        running[id] = true;
        attempt.ContinueWith(done =>
        {
            self.Tell(done.IsCompletedSuccessfully ? result(done.Result) : new AttemptCrashed(id, done.Exception?.GetBaseException() ?? new TaskCanceledException()));
            running.TryRemove(id, out _);
        }, CancellationToken.None, TaskContinuationOptions.ExecuteSynchronously, TaskScheduler.Default);
    }

    private QueueSnapshot Snapshot(string? id)
    {
        var now = DateTimeOffset.UtcNow;
        IEnumerable<Entry> chosen = id is null ? _entries.Values
            : _entries.TryGetValue(id, out var one) ? [one] : [];
        var messages = chosen
            .OrderBy(static e => e.Envelope.MessageId, StringComparer.Ordinal)
            .Select(e => new QueuedMessage(
                e.Envelope.MessageId,
                e.Envelope.Sender,
                e.Envelope.Recipients.Select((r, i) => new QueuedRecipient(r.Address, e.Book.States[i])).ToArray(),
                e.Envelope.ReceivedAt,
                now - e.Envelope.ReceivedAt,
                e.Envelope.Size,
                e.NextAttempt,
                e.InFlight,
                e.Attempts) { Frozen = e.Frozen })
            .ToArray();
        return new QueueSnapshot(now, messages);
    }

    /// <summary>
    /// The attempts' way to the router and the delivery agent: each call registers a task source under
    /// a correlation key and tells the actor, naming this queue manager as the sender; the reply arrives
    /// in the queue manager's mailbox, which completes the task (continuations run off the actor thread).
    /// A reply that never comes (an actor restarted meanwhile) times out into a temporary failure, so a
    /// message is never stuck in flight.
    /// </summary>
    private sealed class RemotePath(IActorRef router, IActorRef delivery, OutboundSettings outbound) : IRemotePath
    {
        private static readonly TimeSpan RouteTimeout = TimeSpan.FromMinutes(2);

        private readonly ConcurrentDictionary<long, (string Domain, TaskCompletionSource<RouteDecision> Source)> _routes = new();
        private readonly ConcurrentDictionary<string, (OutboundJob Job, TaskCompletionSource<RemoteDeliveryResult> Source)> _jobs = new(StringComparer.Ordinal);
        private IActorRef _self = ActorRefs.Nobody;
        private IScheduler? _scheduler;
        private long _nextRequest;

        public bool Available => router is not null && !router.IsNobody() && delivery is not null && !delivery.IsNobody();

        public void Bind(IActorRef self, IScheduler scheduler)
        {
            _self = self;
            _scheduler = scheduler;
        }

        public Task<RouteDecision> RouteAsync(string domain)
        {
            long id = Interlocked.Increment(ref _nextRequest);
            var source = new TaskCompletionSource<RouteDecision>(TaskCreationOptions.RunContinuationsAsynchronously);
            _routes[id] = (domain, source);
            router.Tell(new RouterActor.RouteRequest(id, domain), _self);
            _scheduler?.ScheduleTellOnce(RouteTimeout, _self, new RouteTimedOut(id), ActorRefs.NoSender);
            return source.Task;
        }

        public Task<RemoteDeliveryResult> DeliverAsync(OutboundJob job)
        {
            string key = KeyOf(job);
            var source = new TaskCompletionSource<RemoteDeliveryResult>(TaskCreationOptions.RunContinuationsAsynchronously);
            _jobs[key] = (job, source);
            delivery.Tell(new DeliverRemote(job), _self);
            // Each host may take a whole attempt, and the job may wait for a connection first.
            var timeout = outbound.AttemptDeadline * (job.Route.Hops.Count + 1) + TimeSpan.FromMinutes(1);
            _scheduler?.ScheduleTellOnce(timeout, _self, new JobTimedOut(key), ActorRefs.NoSender);
            return source.Task;
        }

        public void Complete(RouterActor.Routed routed)
        {
            if (_routes.TryRemove(routed.RequestId, out var waiting)) waiting.Source.TrySetResult(routed.Decision);
        }

        public void Complete(RemoteDeliveryResult result)
        {
            if (_jobs.TryRemove(KeyOf(result.Job), out var waiting)) waiting.Source.TrySetResult(result);
        }

        public void TimeOut(long requestId)
        {
            if (_routes.TryRemove(requestId, out var waiting))
                waiting.Source.TrySetResult(new RouteFailed(false, 451, "4.4.3", $"no answer from the router for {waiting.Domain}"));
        }

        public void TimeOut(string key)
        {
            if (!_jobs.TryRemove(key, out var waiting)) return;
            var outcomes = waiting.Job.RecipientIndexes
                .Select(i => new RecipientOutcome(i, DeliveryStatus.Deferred, null, "no result from the delivery agent in time", null)).ToArray();
            waiting.Source.TrySetResult(new RemoteDeliveryResult(waiting.Job, outcomes));
        }

        /// <summary>Jobs of one message have disjoint recipients, so message id and recipients name a job.</summary>
        private static string KeyOf(OutboundJob job) => $"{job.MessageId}/{string.Join(',', job.RecipientIndexes)}";
    }
}
