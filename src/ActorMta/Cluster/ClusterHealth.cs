using Akka.Actor;
using Akka.Cluster;
using ActorMta.Metrics;

namespace ActorMta.Cluster;

/// <summary>
/// What a cluster node says of its membership on <c>/health</c> and <c>/metrics</c>: it is healthy
/// while the cluster counts it as up (a node still joining, leaving or removed does not serve its
/// shards), and it counts the members it sees by status, unreachable ones apart.
/// </summary>
public static class ClusterHealth
{
    public static HealthCheck Check(ActorSystem system) => new("cluster member", () =>
    {
        var status = Akka.Cluster.Cluster.Get(system).SelfMember.Status;
        return status switch
        {
            MemberStatus.Up => (true, ""),
            // Akka's status before a node has joined, as after it was removed.
            MemberStatus.Removed => (false, "this node is not a cluster member (not joined yet, or removed)"),
            _ => (false, $"this node is {Name(status)} in the cluster, not up"),
        };
    });

    public static IReadOnlyDictionary<string, int> Members(ActorSystem system)
    {
        var state = Akka.Cluster.Cluster.Get(system).State;
        var counts = state.Members.Where(m => !state.Unreachable.Contains(m))
            .GroupBy(m => Name(m.Status))
            .ToDictionary(g => g.Key, g => g.Count(), StringComparer.Ordinal);
        if (state.Unreachable.Count > 0) counts["unreachable"] = state.Unreachable.Count;
        return counts;
    }

    private static string Name(MemberStatus status) => status.ToString().ToLowerInvariant();
}
