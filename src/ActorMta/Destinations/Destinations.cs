using Akka.Actor;
using Akka.Event;
using Akka.Persistence.Query;
using Akka.Persistence.Sql.Query;
using Akka.Streams;
using Akka.Streams.Dsl;

namespace ActorMta.Destinations;

/// <summary>
/// <c>/user/mta/destinations</c>: creates one <see cref="Destination"/> child per key on its first
/// message and forwards to it, keeping the sender. In a cluster (<see cref="ShardedDestinations"/>)
/// each key has an instance of its own as a sharded entity, with the same behaviour for its one
/// child, and asks its shard to stop it when the child passivated.
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
    private readonly StoreOutage _outage;
    // A cluster's entity for one key (ShardedDestinations): with no child left, it asks its shard to stop it.
    private readonly bool _entity;

    public Destinations(DestinationSettings settings, TimeProvider clock, StoreOutage? outage = null, bool entity = false)
    {
        _settings = settings;
        _clock = clock;
        _outage = outage ?? new StoreOutage(settings.StoreRetryInterval, clock);
        _entity = entity;

        Receive<IDestinationMessage>(Route);
        Receive<Destination.Passivate>(OnPassivate);
        Receive<Destination.StayAlive>(OnStayAlive);
        Receive<Destination.Ready>(_ => OnReady());
        Receive<Destination.StoreFailed>(OnStoreFailed);
        Receive<Terminated>(OnTerminated);
        Receive<ListDestinations>(_ => List());
        Receive<StopEntity>(_ => Context.Stop(Self));
    }

    /// <summary>From the shard, after this entity asked to be passivated.</summary>
    public sealed class StopEntity
    {
        public static readonly StopEntity Instance = new();
        private StopEntity() { }
    }

    public static Props Props(DestinationSettings settings, TimeProvider? clock = null) =>
        Akka.Actor.Props.Create(() => new Destinations(settings, clock ?? TimeProvider.System, null, false));

    /// <summary>A cluster's entity: the parent of one key's destination, on the node its shard is on.</summary>
    public static Props EntityProps(DestinationSettings settings, StoreOutage outage) =>
        Akka.Actor.Props.Create(() => new Destinations(settings, TimeProvider.System, outage, true));

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
        bool storeDown = _outage.IsDown;
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
        _outage.Recovered(_log);
    }

    private void OnStoreFailed(Destination.StoreFailed failed) => _outage.Failed(failed.Reason, _log);

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
            else if (_entity)
                PassivateEntity();
            return;
        }
        if (_recovering.Remove(name, out held))
        {
            // Stopped before it recovered: its store could not be read (StoreFailed came first,
            // unless the recovery died some other way). What it was sent goes to a volatile one.
            if (!_outage.IsDown)
                _outage.Failed($"{Destination.PersistenceIdPrefix}{Uri.UnescapeDataString(name)} stopped before it recovered", _log);
            if (held.Count > 0)
                Redeliver(name, held);
            else if (_entity)
                PassivateEntity();
        }
    }

    /// <summary>
    /// An entity whose destination stopped idle asks its shard to stop it too; the shard holds what
    /// arrives meanwhile and starts the entity again for it. A message already in this entity's
    /// mailbox when the shard's <see cref="StopEntity"/> comes starts a destination that then stops
    /// with it: a lease granted in that instant is forgotten, and the host may get one connection
    /// more than its budget while that connection lasts (sharding cannot cancel a passivation).
    /// </summary>
    private void PassivateEntity() => Context.Parent.Tell(new Akka.Cluster.Sharding.Passivate(StopEntity.Instance));

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

    /// <summary>The states of <paramref name="live"/> and of every persisted destination, asked through <paramref name="self"/>.</summary>
    internal static async Task<IReadOnlyList<DestinationState>> ListAsync(
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
