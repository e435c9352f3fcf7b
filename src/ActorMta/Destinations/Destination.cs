using Akka.Persistence;

namespace ActorMta.Destinations;

/// <summary>One remote IP:port: early-pipelining record, host retry state, connection budget.</summary>
public sealed class Destination : ReceivePersistentActor
{
    public Destination(DestinationKey key, DestinationSettings settings, TimeProvider clock)
    {
        PersistenceId = "destination-" + key.EntityId;
        _ = settings;
        _ = clock;
    }

    public override string PersistenceId { get; }
}
