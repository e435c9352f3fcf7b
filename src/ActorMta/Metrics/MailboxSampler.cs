using System.Diagnostics.Metrics;
using Akka.Actor;

namespace ActorMta.Metrics;

/// <summary>
/// Mailbox depth of registered (singleton) actors, read at scrape time from the actor's cell
/// (<see cref="ICell.NumberOfMessages"/>, a count the mailbox keeps anyway). Nothing runs between
/// scrapes, so it costs nothing when metrics are off.
/// </summary>
internal sealed class MailboxSampler
{
    private readonly object _gate = new();
    private readonly List<Registration> _registrations = [];

    public IDisposable Register(string kind, IActorRef actor)
    {
        if (actor is not ActorRefWithCell withCell) return NoRegistration.Instance;
        var registration = new Registration(this, kind, withCell);
        lock (_gate) _registrations.Add(registration);
        return registration;
    }

    public IEnumerable<Measurement<long>> Observe()
    {
        Registration[] current;
        lock (_gate) current = [.. _registrations];
        // Two registrations of one kind (a restarted singleton that did not dispose) are summed,
        // so a kind is always one series.
        var byKind = new Dictionary<string, long>(StringComparer.Ordinal);
        foreach (var r in current)
        {
            var cell = r.Actor.Underlying;
            if (cell is null) continue;
            byKind[r.Kind] = byKind.GetValueOrDefault(r.Kind) + cell.NumberOfMessages;
        }
        var result = new List<Measurement<long>>(byKind.Count);
        foreach (var (kind, depth) in byKind)
            result.Add(new Measurement<long>(depth, new KeyValuePair<string, object?>("kind", kind)));
        return result;
    }

    private void Remove(Registration registration)
    {
        lock (_gate) _registrations.Remove(registration);
    }

    private sealed class Registration(MailboxSampler owner, string kind, ActorRefWithCell actor) : IDisposable
    {
        public string Kind { get; } = kind;
        public ActorRefWithCell Actor { get; } = actor;
        public void Dispose() => owner.Remove(this);
    }

    private sealed class NoRegistration : IDisposable
    {
        public static readonly NoRegistration Instance = new();
        public void Dispose() { }
    }
}
