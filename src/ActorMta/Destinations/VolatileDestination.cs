using Akka.Actor;

namespace ActorMta.Destinations;

/// <summary>
/// A destination while its store is unavailable: the same answers as <see cref="Destination"/>
/// (<see cref="DestinationLogic"/>), its changes kept in memory only. It starts empty (no
/// early-pipelining record, no retry wait), as after a lost hints database, so deliveries to the
/// host go on in the ordinary way; what it learns is lost when it passivates, and the next
/// incarnation, once the parent's wait is over, is a persisted one again.
/// </summary>
public sealed class VolatileDestination : ReceiveActor
{
    public VolatileDestination(DestinationKey key, DestinationSettings settings, TimeProvider clock)
    {
        DestinationLogic logic = null!;
        logic = new DestinationLogic(key, settings, clock, Context, (e, then) =>
        {
            logic.Apply(e);
            then?.Invoke();
        }, persisted: false);
        if (settings.PassivateAfter > TimeSpan.Zero)
            Context.SetReceiveTimeout(settings.PassivateAfter);
        ReceiveAny(m =>
        {
            if (!logic.Handle(m, Sender))
                Unhandled(m);
        });
    }

    public static Props Props(DestinationKey key, DestinationSettings settings, TimeProvider clock) =>
        Akka.Actor.Props.Create(() => new VolatileDestination(key, settings, clock));
}
