using Akka.Actor;

namespace ActorMta;

/// <summary>
/// Props for actors made once per connection, built from a plain delegate.
/// </summary>
/// <remarks>
/// <c>Props.Create(() =&gt; new T(a, b))</c> builds an expression tree at every call, reads each
/// argument back out of it by reflection, and Akka then finds the constructor through the default
/// binder and invokes it by reflection. For an actor made once at start-up that is nothing; for the
/// session actors, made for every connection, it was about 2 % of the server's CPU when each
/// message came on its own connection (perf, 2026-11-30). A delegate and its closure are two
/// small allocations.
/// </remarks>
internal static class ActorProps
{
    public static Props Of<TActor>(Func<TActor> factory) where TActor : ActorBase =>
        Props.CreateBy(new Producer<TActor>(factory));

    private sealed class Producer<TActor>(Func<TActor> factory) : IIndirectActorProducer where TActor : ActorBase
    {
        public Type ActorType => typeof(TActor);

        public ActorBase Produce() => factory();

        public void Release(ActorBase actor)
        {
            // Nothing pooled or owned: the actor's own PostStop releases what it holds.
        }
    }
}
