namespace ActorMta.Configuration;

/// <summary>
/// <c>actormta.cluster</c>: several MTA nodes that share their destinations. Each node keeps its own
/// spool and delivers its own messages; the destination actors (early-pipelining record, host retry
/// wait, connection budget of each remote <c>IP:port</c>) are spread over the nodes by
/// Akka.Cluster.Sharding, so every node uses what any node learnt, and a host's connection budget
/// holds for the whole cluster rather than per node. Their store must be shared (PostgreSQL).
/// </summary>
/// <param name="Enabled">Join a cluster; off runs one node on its own.</param>
/// <param name="Hostname">The address the other nodes reach this one on.</param>
/// <param name="Port">This node's cluster port (0: any free one, for a node that is no seed).</param>
/// <param name="SeedNodes">The nodes to join, as <c>host:port</c>; the first node lists itself.</param>
/// <param name="Shards">How many shards the destinations are spread over: the same on every node.</param>
public sealed record ClusterSettings(bool Enabled, string Hostname, int Port, IReadOnlyList<string> SeedNodes, int Shards)
{
    /// <summary>The Akka system name every node runs under: part of each node's address.</summary>
    public const string SystemName = "actormta";

    public static readonly ClusterSettings Off = new(false, "", 0, [], 100);
}
