using System.Globalization;
using Akka.Configuration;
using ActorMta.Configuration;

namespace ActorMta.Cluster;

/// <summary>
/// The Akka configuration of a cluster node, from <c>actormta.cluster</c>: the operator writes
/// host:port pairs, not Akka addresses. Used as a fallback below the <c>akka { }</c> the operator
/// wrote, so any Akka cluster or remoting setting can still be tuned there.
/// </summary>
public static class ClusterHocon
{
    public static Config For(ClusterSettings cluster)
    {
        if (!cluster.Enabled) return Config.Empty;
        string seeds = string.Join(", ", cluster.SeedNodes.Select(s => Quote($"akka.tcp://{ClusterSettings.SystemName}@{s}")));
        string hocon = $$"""
            akka {
              actor.provider = cluster
              # actormta run stops in order on SIGTERM: listeners and sessions, then it leaves the
              # cluster (MtaNode.StopAsync). Akka's own hook would leave first and cut the sessions.
              coordinated-shutdown.run-by-clr-shutdown-hook = off
              remote.dot-netty.tcp {
                hostname = {{Quote(cluster.Hostname)}}
                port = {{cluster.Port.ToString(CultureInfo.InvariantCulture)}}
              }
              cluster {
                seed-nodes = [{{seeds}}]
                sharding {
                  # Destinations passivate themselves when idle and without leases; Akka's own idle
                  # passivation would also stop one whose sessions hold long connections.
                  passivate-idle-entity-after = off
                  # Entities are started by their next message; remembering them needs nothing
                  # (and its ddata store is broken here: stack.md).
                  remember-entities = off
                  # Where the shards live is kept by the nodes among themselves, not in the journal:
                  # the coordinator's persistence id is the same in every cluster, so two clusters
                  # on one store (a first seed restarted alone) broke each other's sharding, and a
                  # cluster restarted later replayed where shards had lived on nodes long gone.
                  state-store-mode = ddata
                }
              }
            }
            """;
        return ConfigurationFactory.ParseString(hocon);
    }

    /// <summary>
    /// The node is its own only seed. Right for the first node of a new cluster; but such a node,
    /// restarted while the others run, forms a cluster of its own instead of joining them (the
    /// first seed joins itself when no other seed answers, and it knows no other).
    /// </summary>
    public static bool SeedsOnlyItself(ClusterSettings cluster) =>
        cluster.Enabled && cluster.SeedNodes is [var only]
        && string.Equals(only, $"{cluster.Hostname}:{cluster.Port.ToString(CultureInfo.InvariantCulture)}", StringComparison.OrdinalIgnoreCase);

    public static string SeedsOnlyItselfWarning(ClusterSettings cluster) =>
        $"actormta.cluster.seed-nodes lists only this node ({cluster.SeedNodes[0]}): if it restarts while other nodes run, it starts a " +
        "cluster of its own beside theirs; list two or more seeds, the same on every node";

    private static string Quote(string value) =>
        "\"" + value.Replace("\\", "\\\\", StringComparison.Ordinal).Replace("\"", "\\\"", StringComparison.Ordinal) + "\"";
}
