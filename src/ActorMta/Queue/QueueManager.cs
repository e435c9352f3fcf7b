using Akka.Actor;
using ActorMta.Configuration;
using ActorMta.Delivery.Local;
using ActorMta.Logging;
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
/// <para>Routing today: a recipient in <c>policy.local-domains</c> goes to its maildir; any other
/// waits in the queue, deferred (<c>==</c>), because remote delivery is a later issue.</para>
/// <para>Attempts run off the actor thread (<see cref="DeliveryAttempt"/>, piped back to
/// <c>Self</c>), at most <see cref="QueueSettings.LocalDeliveryParallelism"/> messages at a time,
/// oldest ready first. A message with recipients left gets a retry time
/// (<see cref="QueueSettings.RetryInterval"/>); one timer wakes the actor at the earliest due time.
/// A recipient still deferred after <see cref="QueueSettings.MaxRetryTime"/> (counted from
/// reception) fails with <c>**</c>: bounces are the next issue, so for now it is only logged and the
/// message is removed once every recipient is done.</para>
/// </remarks>
public sealed class QueueManager : ReceiveActor, IWithTimers
{
    /// <summary>Told by the session right after <see cref="MessageSpool.StoreAsync"/> completed.</summary>
    public sealed record Enqueue(Envelope Envelope);

    /// <summary>Ask: answered with a <see cref="QueueSnapshot"/>.</summary>
    public sealed record GetQueue
    {
        public static readonly GetQueue Instance = new();
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

    /// <summary>What the actor knows of one message.</summary>
    private sealed class Entry(Envelope envelope, RecipientState[] states, bool recovered)
    {
        public Envelope Envelope { get; } = envelope;
        public RecipientState[] States { get; set; } = states;
        public bool Recovered { get; } = recovered;
        public DateTimeOffset? NextAttempt { get; set; }
        public bool InFlight { get; set; }
        public bool Ready { get; set; }
        public int Attempts { get; set; }
    }

    private const string RetryTimer = "retry";

    private readonly MtaSettings _settings;
    private readonly MessageSpool _spool;
    private readonly MainLog _mainLog;
    private readonly DeliveryAttempt _attempt;
    private readonly int _parallelism;

    private readonly Dictionary<string, Entry> _entries = new(StringComparer.Ordinal);
    private readonly Queue<string> _ready = new();
    private readonly PriorityQueue<string, DateTimeOffset> _retries = new();
    private DateTimeOffset? _timerDue;
    private int _inFlight;

    public ITimerScheduler Timers { get; set; } = null!;

    public QueueManager(MtaSettings settings, MessageSpool spool, MainLog mainLog)
    {
        _settings = settings;
        _spool = spool;
        _mainLog = mainLog;
        _attempt = new DeliveryAttempt(
            settings, spool, new MaildirDelivery(settings.LocalDelivery, settings.PrimaryHostname, settings.Spool.Fsync), mainLog);
        _parallelism = Math.Max(1, settings.Queue.LocalDeliveryParallelism);

        Receive<Enqueue>(m => OnEnqueue(m.Envelope));
        Receive<AttemptOutcome>(OnOutcome);
        Receive<AttemptCrashed>(OnCrashed);
        Receive<RetryDue>(_ => OnRetryDue());
        Receive<GetQueue>(_ => Sender.Tell(Snapshot()));
        Receive<RunQueue>(_ => OnRunQueue());
    }

    public static Props Props(MtaSettings settings, MessageSpool spool, MainLog mainLog)
        => Akka.Actor.Props.Create(() => new QueueManager(settings, spool, mainLog));

    protected override void PreStart()
    {
        var now = DateTimeOffset.UtcNow;
        foreach (var message in _spool.Recover(_mainLog.Write))
        {
            var entry = new Entry(message.Envelope, [.. message.Recipients], recovered: true);
            _entries[message.Id] = entry;
            if (message.NextAttempt is { } due && due > now) Defer(message.Id, entry, due);
            else MakeReady(message.Id, entry);
        }
        Dispatch();
    }

    private void OnEnqueue(Envelope envelope)
    {
        // Already known: recovered at start while the session was storing it.
        if (_entries.ContainsKey(envelope.MessageId)) return;
        var entry = new Entry(envelope, new RecipientState[envelope.Recipients.Count], recovered: false);
        _entries[envelope.MessageId] = entry;
        MakeReady(envelope.MessageId, entry);
        Dispatch();
    }

    private void OnOutcome(AttemptOutcome outcome)
    {
        if (!_entries.TryGetValue(outcome.MessageId, out var entry) || !entry.InFlight) return;
        entry.InFlight = false;
        entry.Attempts++;
        _inFlight--;
        entry.States = outcome.Recipients;
        if (outcome.Completed || outcome.Vanished) _entries.Remove(outcome.MessageId);
        else Defer(outcome.MessageId, entry, outcome.NextAttempt ?? DateTimeOffset.UtcNow + _settings.Queue.RetryInterval);
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
        entry.States = _spool.TryRead(crashed.MessageId)?.Recipients.ToArray() ?? entry.States;
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

    private void OnRunQueue()
    {
        foreach (var (id, entry) in _entries.OrderBy(static e => e.Key, StringComparer.Ordinal))
        {
            if (!entry.InFlight) MakeReady(id, entry);
        }
        Dispatch();
    }

    private void MakeReady(string id, Entry entry)
    {
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
            entry.InFlight = true;
            _inFlight++;
            bool maybeRepeated = entry.Recovered || entry.Attempts > 0;
            _attempt.RunAsync(entry.Envelope, entry.States, maybeRepeated)
                .PipeTo(Self, success: static outcome => outcome, failure: e => new AttemptCrashed(id, e));
        }
    }

    private QueueSnapshot Snapshot()
    {
        var now = DateTimeOffset.UtcNow;
        var messages = _entries.Values
            .OrderBy(static e => e.Envelope.MessageId, StringComparer.Ordinal)
            .Select(e => new QueuedMessage(
                e.Envelope.MessageId,
                e.Envelope.Sender,
                e.Envelope.Recipients.Select((r, i) => new QueuedRecipient(r.Address, e.States[i])).ToArray(),
                e.Envelope.ReceivedAt,
                now - e.Envelope.ReceivedAt,
                e.Envelope.Size,
                e.NextAttempt,
                e.InFlight,
                e.Attempts))
            .ToArray();
        return new QueueSnapshot(now, messages);
    }
}
