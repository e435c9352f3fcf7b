using Akka.Actor;
using Akka.Cluster.Sharding;
using Akka.Event;

namespace ActorMta.Destinations;

/// <summary>
/// <c>/user/mta/destinations</c> in a cluster: the same messages as <see cref="Destinations"/>,
/// sent on to the destinations' shard region, so each destination lives on one node of the
/// cluster and every node's sessions talk to it there (DESIGN.md section 3). Each entity is a
/// <see cref="Destinations"/> parent of the key's <see cref="Destination"/>, so holding messages
/// during recovery, passivation and the fall-back to memory when the store fails work as on one
/// node. <see cref="ListDestinations"/> lists the persisted destinations of the whole cluster.
/// </summary>
public sealed class ShardedDestinations : ReceiveActor
{
    /// <summary>The shard region's type name: <c>/system/sharding/destination</c> on every node.</summary>
    public const string TypeName = "destination";

    public ShardedDestinations(IActorRef region)
    {
        var log = Context.GetLogger();
        Receive<IDestinationMessage>(message => region.Forward(message));
        Receive<ListDestinations>(_ => Destinations.ListAsync(Context.System, Self, [], log).PipeTo(Sender));
    }

    /// <summary>Starts this node's shard region and the actor in front of it (as <paramref name="name"/>, under <paramref name="context"/>).</summary>
    public static IActorRef Start(IUntypedActorContext context, string name, DestinationSettings settings, int shards)
    {
        var outage = new StoreOutage(settings.StoreRetryInterval, TimeProvider.System);
        var region = ClusterSharding.Get(context.System).Start(
            TypeName,
            _ => Destinations.EntityProps(settings, outage),
            ClusterShardingSettings.Create(context.System),
            new KeyExtractor(shards));
        return context.ActorOf(Props.Create(() => new ShardedDestinations(region)), name);
    }

    /// <summary>
    /// Entity id: the key's text form (as the persistence id). Shard: a hash of it that every node
    /// computes alike (FNV-1a over its characters, which are ASCII: digits, dots, colons, brackets
    /// and hex; .NET's string hash differs from process to process).
    /// </summary>
    internal sealed class KeyExtractor(int shards) : IMessageExtractor
    {
        public string? EntityId(object message) => message is IDestinationMessage m ? m.Key.EntityId : null;

        public object? EntityMessage(object message) => message;

        // Not a destination's message: no shard, so the region drops it as unhandled, as with Akka's own extractors.
        public string ShardId(object message) => message is IDestinationMessage m ? ShardOf(m.Key.EntityId, shards) : null!;

        public string ShardId(string entityId, object? messageHint = null) => ShardOf(entityId, shards);

        internal static string ShardOf(string entityId, int shards)
        {
            uint hash = 2166136261;
            foreach (char c in entityId)
                hash = (hash ^ c) * 16777619;
            return (hash % (uint)shards).ToString(System.Globalization.CultureInfo.InvariantCulture);
        }
    }
}
