using Akka.Actor;
using ActorMta.Configuration;
using ActorMta.Destinations;
using ActorMta.Outbound;
using ActorMta.Spool;

namespace ActorMta.Tests.Shared;

/// <summary>
/// ActorMta's outbound half in its own actor system, without the queue: a spool and a SQLite
/// destinations file in a temp directory, the Destinations actor and a <see cref="DeliveryAgent"/>.
/// Rigs outside an Akka TestKit (interop tests, benchmarks) hand jobs to <see cref="Agent"/> as the
/// queue manager does.
/// </summary>
public sealed class StandaloneOutbound : IAsyncDisposable
{
    private readonly string _directory;
    private readonly ActorSystem _system;

    private StandaloneOutbound(string directory, ActorSystem system, MessageSpool spool, IActorRef destinations, IActorRef agent)
    {
        _directory = directory;
        _system = system;
        Spool = spool;
        Destinations = destinations;
        Agent = agent;
    }

    public MessageSpool Spool { get; }
    public IActorRef Destinations { get; }
    public IActorRef Agent { get; }

    /// <param name="name">The actor system's name and the temp directory's prefix.</param>
    public static StandaloneOutbound Start(string name, OutboundSettings settings, DestinationSettings destinationSettings)
    {
        var directory = Directory.CreateTempSubdirectory($"actormta-{name}-").FullName;
        var system = ActorSystem.Create(name, OutboundParts.SystemConfig(directory));
        var spool = OutboundParts.Spool(directory);
        var destinations = system.ActorOf(ActorMta.Destinations.Destinations.Props(destinationSettings), "destinations");
        var agent = system.ActorOf(DeliveryAgent.Props(settings, spool, destinations), "delivery");
        return new StandaloneOutbound(directory, system, spool, destinations, agent);
    }

    public async ValueTask DisposeAsync()
    {
        await _system.Terminate();
        OutboundParts.DeleteDirectory(_directory);
    }
}
