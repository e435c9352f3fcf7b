using Akka.Actor;
using Akka.Event;
using Akka.Persistence.Query;
using Akka.Persistence.Sql.Query;
using Akka.Streams;
using Akka.Streams.Dsl;

namespace ActorMta.Destinations;

/// <summary>
/// <c>/user/mta/destinations</c>: creates one <see cref="Destination"/> child per key on its first
/// message and forwards to it, keeping the sender. In a cluster a shard region takes this place,
/// with the same messages.
/// </summary>
/// <remarks>
/// <para>Passivation: an idle child sends <see cref="Destination.Passivate"/>; the parent answers with
/// <see cref="Destination.StopIfIdle"/> (queued behind anything already in the child's mailbox) and
/// holds every message for that key that arrives meanwhile. When the child has stopped, the parent
/// recreates it (it recovers its state) and delivers the held messages in order with their original
/// senders; when the child had granted a lease meanwhile and answers <see cref="Destination.StayAlive"/>,
/// they go to the same child.</para>
/// <para><see cref="ListDestinations"/> asks every live child, and finds passivated destinations
/// through Akka.Persistence.Query's <c>CurrentPersistenceIds</c> on the SQL read journal; each of
/// those is started (recovered) to answer, and passivates again later. A passivated destination
/// whose state is empty (no record, no retry wait) is left out. If the query journal is not
/// available, only live children are listed.</para>
/// <para>A new child gets no message until it has recovered (<see cref="Destination.Ready"/>); what
/// arrives meanwhile is held, as during passivation. A child whose store fails (it sends
/// <see cref="Destination.StoreFailed"/> and stops, before or after it recovered) marks the store
/// down for <see cref="DestinationSettings.StoreRetryInterval"/>: the held messages go to a
/// <see cref="VolatileDestination"/> in its place, and so does every key started meanwhile. Without
/// this, a database that could not be opened left every lease request unanswered (the recovery's
/// stash died with the actor) and remote delivery stopped.</para>
/// </remarks>
public sealed class Destinations : ReceiveActor
{
    /// <summary>How long <see cref="ListDestinations"/> waits for each destination.</summary>
    public static readonly TimeSpan ListTimeout = TimeSpan.FromSeconds(10);

    private readonly DestinationSettings _settings;
    private readonly TimeProvider _clock;
    private readonly ILoggingAdapter _log = Context.GetLogger();

    // Children asked to stop, by child name: the messages that arrived since, with their senders.
    private readonly Dictionary<string, List<(IDestinationMessage Message, IActorRef Sender)>> _stopping = new(StringComparer.Ordinal);
    // Persisted children not yet recovered, by child name: likewise.
    private readonly Dictionary<string, List<(IDestinationMessage Message, IActorRef Sender)>> _recovering = new(StringComparer.Ordinal);
    // The store failed: until then new children are volatile.
    private DateTimeOffset _storeDownUntil = DateTimeOffset.MinValue;
    private bool _storeDownSaid;

    public Destinations(DestinationSettings settings, TimeProvider clock)
    {
        _settings = settings;
        _clock = clock;

        Receive<IDestinationMessage>(Route);
        Receive<Destination.Passivate>(OnPassivate);
        Receive<Destination.StayAlive>(OnStayAlive);
        Receive<Destination.Ready>(_ => OnReady());
        Receive<Destination.StoreFailed>(OnStoreFailed);
        Receive<Terminated>(OnTerminated);
        Receive<ListDestinations>(_ => List());
    }

    public static Props Props(DestinationSettings settings, TimeProvider? clock = null) =>
        Akka.Actor.Props.Create(() => new Destinations(settings, clock ?? TimeProvider.System));

    /// <summary>The child actor's name for a key: the key, percent-encoded (IPv6 brackets and colons).</summary>
    public static string ChildName(DestinationKey key) => Uri.EscapeDataString(key.EntityId);

    private static bool TryKeyOfChild(string name, out DestinationKey key) =>
        DestinationKey.TryParse(Uri.UnescapeDataString(name), out key);

    private void Route(IDestinationMessage message)
    {
        var name = ChildName(message.Key);
        if (Context.Child(name).IsNobody() && !_stopping.ContainsKey(name))
            Start(message.Key, name);
        if (_stopping.TryGetValue(name, out var held) || _recovering.TryGetValue(name, out held))
        {
            held.Add((message, Sender));
            return;
        }
        Context.Child(name).Forward(message);
    }

    /// <summary>A persisted child (held for until it recovers), or a volatile one while the store is down.</summary>
    private void Start(DestinationKey key, string name)
    {
        bool storeDown = _clock.GetUtcNow() < _storeDownUntil;
        var child = Context.ActorOf(
            storeDown ? VolatileDestination.Props(key, _settings, _clock) : Destination.Props(key, _settings, _clock), name);
        Context.Watch(child);
        if (!storeDown)
            _recovering[name] = [];
    }

    /// <summary>Messages held for a child that stopped go to its next incarnation, in order, with their senders.</summary>
    private void Redeliver(string name, List<(IDestinationMessage Message, IActorRef Sender)> held)
    {
        Start(held[0].Message.Key, name);
        if (_recovering.TryGetValue(name, out var hold))
        {
            hold.AddRange(held);
            return;
        }
        Deliver(Context.Child(name), held);
    }

    /// <summary>Held messages to their child, in order, with their original senders.</summary>
    private static void Deliver(IActorRef child, List<(IDestinationMessage Message, IActorRef Sender)> held)
    {
        foreach (var (message, sender) in held)
            child.Tell(message, sender);
    }

    private void OnReady()
    {
        var child = Sender;
        if (!_recovering.Remove(child.Path.Name, out var held))
            return;
        Deliver(child, held);
        if (_storeDownSaid && _clock.GetUtcNow() >= _storeDownUntil)
        {
            _storeDownSaid = false;
            _log.Info("destination store available again: destinations are persisted");
        }
    }

    private void OnStoreFailed(Destination.StoreFailed failed) => StoreDown(failed.Reason);

    private void StoreDown(string reason)
    {
        Metrics.MtaMetrics.DestinationStoreFailed();
        var now = _clock.GetUtcNow();
        bool alreadyDown = now < _storeDownUntil;
        _storeDownUntil = now + _settings.StoreRetryInterval;
        if (alreadyDown)
            return;
        _storeDownSaid = true;
        // One line per outage, not Akka's stack trace per destination: the store holds hints.
        _log.Warning("destination store unavailable ({0}): deliveries go on, destinations started from now on keep what " +
                     "they learn (early-pipelining records, host retry waits) in memory only; the store is tried again in {1}",
            reason, _settings.StoreRetryInterval);
    }

    private void OnPassivate(Destination.Passivate passivate)
    {
        var child = Sender;
        var name = child.Path.Name;
        if (!child.Equals(Context.Child(name)) || _stopping.ContainsKey(name))
            return;
        _stopping[name] = [];
        child.Tell(Destination.StopIfIdle.Instance);
    }

    private void OnStayAlive(Destination.StayAlive stay)
    {
        var child = Sender;
        var name = child.Path.Name;
        if (!_stopping.Remove(name, out var held))
            return;
        Deliver(child, held);
    }

    private void OnTerminated(Terminated terminated)
    {
        var name = terminated.ActorRef.Path.Name;
        if (_stopping.Remove(name, out var held))
        {
            // Passivated: what came meanwhile goes to its next incarnation.
            if (held.Count > 0)
                Redeliver(name, held);
            return;
        }
        if (_recovering.Remove(name, out held))
        {
            // Stopped before it recovered: its store could not be read (StoreFailed came first,
            // unless the recovery died some other way). What it was sent goes to a volatile one.
            if (_clock.GetUtcNow() >= _storeDownUntil)
                StoreDown($"{Destination.PersistenceIdPrefix}{Uri.UnescapeDataString(name)} stopped before it recovered");
            if (held.Count > 0)
                Redeliver(name, held);
        }
    }

    // ---- ListDestinations -----------------------------------------------------------------------

    private void List()
    {
        var live = new HashSet<DestinationKey>();
        foreach (var child in Context.GetChildren())
        {
            if (TryKeyOfChild(child.Path.Name, out var key))
                live.Add(key);
        }
        foreach (var name in _stopping.Keys.Concat(_recovering.Keys))
        {
            if (TryKeyOfChild(name, out var key))
                live.Add(key);
        }

        var self = Self;
        var system = Context.System;
        var log = _log;
        ListAsync(system, self, live, log).PipeTo(Sender);
    }

    private static async Task<IReadOnlyList<DestinationState>> ListAsync(
        ActorSystem system, IActorRef self, HashSet<DestinationKey> live, ILoggingAdapter log)
    {
        var persisted = await PersistedKeys(system, log).ConfigureAwait(false);
        var keys = live.Union(persisted).ToList();
        var answers = await Task.WhenAll(keys.Select(async key =>
        {
            try
            {
                var state = await self.Ask<DestinationState>(new GetDestinationState(key), ListTimeout).ConfigureAwait(false);
                return live.Contains(key) || state.Record is not null || state.Retry is not null ? state : null;
            }
            catch (Exception e) when (e is AskTimeoutException or TaskCanceledException)
            {
                log.Warning("ListDestinations: {0} did not answer", key);
                return null;
            }
        })).ConfigureAwait(false);
        return answers.OfType<DestinationState>()
            .OrderBy(s => s.Key.Address.AddressFamily)
            .ThenBy(s => s.Key.Address.GetAddressBytes(), ByteOrder.Instance)
            .ThenBy(s => s.Key.Port)
            .ToList();
    }

    private static async Task<IReadOnlyList<DestinationKey>> PersistedKeys(ActorSystem system, ILoggingAdapter log)
    {
        try
        {
            var journal = PersistenceQuery.Get(system).ReadJournalFor<SqlReadJournal>(DestinationPersistence.QueryPluginId);
            var ids = await journal.CurrentPersistenceIds()
                .Where(id => id.StartsWith(Destination.PersistenceIdPrefix, StringComparison.Ordinal))
                .RunWith(Sink.Seq<string>(), system.Materializer())
                .ConfigureAwait(false);
            var keys = new List<DestinationKey>();
            foreach (var id in ids)
            {
                if (DestinationKey.TryParse(id[Destination.PersistenceIdPrefix.Length..], out var key))
                    keys.Add(key);
            }
            return keys;
        }
        catch (Exception e)
        {
            log.Warning("ListDestinations: cannot read persisted destinations ({0}); listing live ones only", e.GetBaseException().Message);
            return [];
        }
    }

    private sealed class ByteOrder : IComparer<byte[]>
    {
        public static readonly ByteOrder Instance = new();

        public int Compare(byte[]? x, byte[]? y)
        {
            if (x is null || y is null)
                return (x is null).CompareTo(y is null);
            for (var i = 0; i < Math.Min(x.Length, y.Length); i++)
            {
                var c = x[i].CompareTo(y[i]);
                if (c != 0)
                    return c;
            }
            return x.Length.CompareTo(y.Length);
        }
    }
}
