using Akka.Actor;
using ActorMta.Destinations;

namespace ActorMta.Outbound;

/// <summary>
/// The delivery agent's book of idle outbound connections: sessions that finished their work and
/// asked for more (<see cref="NextJobRequest"/>) while nothing waited for their destination. The
/// agent holds their question (the ask's reply address) and answers it with the next job for that
/// destination, or with "none" when the idle time is over or room is needed for a newer one. An
/// idle session keeps its destination lease, so the book has a global cap.
/// </summary>
internal sealed class IdleConnections(int capacity)
{
    /// <summary>One parked session. <paramref name="Ticket"/> tells a stale idle timer from the current one.</summary>
    public sealed record Parked(IActorRef Session, IActorRef ReplyTo, DestinationKey Key, long Ticket);

    private readonly Dictionary<DestinationKey, List<Parked>> _byKey = new();
    private readonly Dictionary<IActorRef, Parked> _bySession = new();
    private long _tickets;

    public int Count => _bySession.Count;

    /// <summary>
    /// Parks a session. When the book is full, the longest idle one is taken out first and
    /// returned as <paramref name="evicted"/> (its owner tells it to quit).
    /// </summary>
    public Parked Park(IActorRef session, IActorRef replyTo, DestinationKey key, out Parked? evicted)
    {
        evicted = null;
        if (_bySession.Count >= capacity)
        {
            evicted = _bySession.Values.MinBy(p => p.Ticket);
            if (evicted is not null) Remove(evicted.Session);
        }
        var parked = new Parked(session, replyTo, key, ++_tickets);
        _bySession[session] = parked;
        if (!_byKey.TryGetValue(key, out var list)) _byKey[key] = list = new List<Parked>(2);
        list.Add(parked);
        return parked;
    }

    /// <summary>The most recently parked session for the key (the others keep ageing out), taken out of the book.</summary>
    public Parked? Take(DestinationKey key)
    {
        if (!_byKey.TryGetValue(key, out var list) || list.Count == 0) return null;
        var parked = list[^1];
        Remove(parked.Session);
        return parked;
    }

    /// <summary>Takes the session out if it is parked with this ticket (an idle timer that is still current).</summary>
    public Parked? Expire(IActorRef session, long ticket) =>
        _bySession.TryGetValue(session, out var parked) && parked.Ticket == ticket ? Remove(session) : null;

    public Parked? Remove(IActorRef session)
    {
        if (!_bySession.Remove(session, out var parked)) return null;
        var list = _byKey[parked.Key];
        list.Remove(parked);
        if (list.Count == 0) _byKey.Remove(parked.Key);
        return parked;
    }

    public bool IsParked(IActorRef session) => _bySession.ContainsKey(session);
}
