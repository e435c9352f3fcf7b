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

    public Destinations(DestinationSettings settings, TimeProvider clock)
    {
        _settings = settings;
        _clock = clock;

        Receive<IDestinationMessage>(Route);
        Receive<Destination.Passivate>(OnPassivate);
        Receive<Destination.StayAlive>(OnStayAlive);
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
        if (_stopping.TryGetValue(name, out var held))
        {
            held.Add((message, Sender));
            return;
        }
        ChildFor(message.Key, name).Forward(message);
    }

    private IActorRef ChildFor(DestinationKey key, string name)
    {
        var child = Context.Child(name);
        if (!child.IsNobody())
            return child;
        child = Context.ActorOf(Destination.Props(key, _settings, _clock), name);
        Context.Watch(child);
        return child;
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
        foreach (var (message, sender) in held)
            child.Tell(message, sender);
    }

    private void OnTerminated(Terminated terminated)
    {
        var name = terminated.ActorRef.Path.Name;
        if (!_stopping.Remove(name, out var held) || held.Count == 0)
            return;
        var child = ChildFor(held[0].Message.Key, name);
        foreach (var (message, sender) in held)
            child.Tell(message, sender);
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
        foreach (var name in _stopping.Keys)
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
            log.Warning(e, "ListDestinations: cannot read persisted destinations; listing live ones only");
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
