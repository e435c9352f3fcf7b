using Akka.Actor;
using Akka.Configuration;

namespace ActorMta.Metrics;

/// <summary>
/// Turns Akka's actor lifecycle telemetry (<see cref="ActorStarted"/>, <see cref="ActorStopped"/>,
/// <see cref="ActorRestarted"/>, published on the EventStream when
/// <c>akka.actor.telemetry.enabled = on</c>) into <c>actormta_actors_live</c>,
/// <c>actormta_actors_started_total</c>, <c>actormta_actors_stopped_total</c> and
/// <c>actormta_actors_restarted_total</c>, labelled with the actor's kind.
/// </summary>
/// <remarks>
/// <para>
/// The kind is the actor class's name for ActorMta's own actors (namespace <c>ActorMta</c> or
/// below: InboundSession, OutboundSession, Destination, QueueManager, ...), and <c>other</c> for
/// everything else (Akka's guardians, loggers, persistence plugins), so the label takes a fixed,
/// small set of values.
/// </para>
/// <para>
/// Start it first, right after the ActorSystem (before <c>/user/mta</c>): it only sees actors
/// started after it subscribed. Telemetry being on costs one EventStream publish per actor start
/// and stop, which is nothing next to a TCP connection.
/// </para>
/// </remarks>
public sealed class ActorTelemetryBridge : ReceiveActor
{
    /// <summary>The label value for actors that are not ActorMta's.</summary>
    public const string OtherKind = "other";

    /// <summary>HOCON that makes Akka publish the lifecycle events; put it in front of the config.</summary>
    public const string Hocon = "akka.actor.telemetry.enabled = on";

    /// <summary><see cref="Hocon"/> parsed.</summary>
    public static Config Config => ConfigurationFactory.ParseString(Hocon);

    /// <summary>
    /// The name it runs under: <see cref="ActorTelemetry.StartBridge"/> right after creating the ActorSystem (with
    /// <see cref="Hocon"/> in its config), before the MTA's actors.
    /// </summary>
    public const string Name = "actor-telemetry";

    private readonly Dictionary<Type, string> _kinds = [];

    internal static Props Props() => Akka.Actor.Props.Create(() => new ActorTelemetryBridge());

    /// <summary>Maps an actor class to its kind label.</summary>
    public static string KindOf(Type actorType)
    {
        var ns = actorType.Namespace;
        if (ns is null || !(ns == "ActorMta" || ns.StartsWith("ActorMta.", StringComparison.Ordinal))) return OtherKind;
        var name = actorType.Name;
        var tick = name.IndexOf('`');
        return tick < 0 ? name : name[..tick];
    }

    /// <summary>Subscribes to the telemetry events.</summary>
    public ActorTelemetryBridge()
    {
        Receive<ActorStarted>(e =>
        {
            var tag = Tag(e.ActorType);
            MtaMetrics.ActorsStarted.Add(1, tag);
            MtaMetrics.ActorsLive.Add(1, tag);
        });
        Receive<ActorStopped>(e =>
        {
            var tag = Tag(e.ActorType);
            MtaMetrics.ActorsStopped.Add(1, tag);
            MtaMetrics.ActorsLive.Add(-1, tag);
        });
        Receive<ActorRestarted>(e => MtaMetrics.ActorsRestarted.Add(1, Tag(e.ActorType)));
    }

    private KeyValuePair<string, object?> Tag(Type actorType)
    {
        if (!_kinds.TryGetValue(actorType, out var kind))
        {
            kind = KindOf(actorType);
            _kinds[actorType] = kind;
        }
        return new KeyValuePair<string, object?>("kind", kind);
    }


    /// <inheritdoc />
    protected override void PostStop()
    {
        Context.System.EventStream.Unsubscribe(Self);
    }
}

/// <summary>Starting the <see cref="ActorTelemetryBridge"/> (outside any actor, hence its own class).</summary>
public static class ActorTelemetry
{
    /// <summary>
    /// Starts the bridge as <see cref="ActorTelemetryBridge.Name"/> and subscribes it before
    /// returning. Subscribing in the actor's PreStart would happen later, on a dispatcher thread:
    /// actors started meanwhile (the queue manager, under load) would never be counted live, and
    /// their stops would push the live count below the truth. Events published before the bridge
    /// runs wait in its mailbox.
    /// </summary>
    public static IActorRef StartBridge(ActorSystem system)
    {
        ArgumentNullException.ThrowIfNull(system);
        var bridge = system.ActorOf(ActorTelemetryBridge.Props(), ActorTelemetryBridge.Name);
        system.EventStream.Subscribe(bridge, typeof(IActorTelemetryEvent));
        return bridge;
    }
}
