namespace ActorMta.Configuration;

public static partial class SettingsLoader
{
    /// <summary><c>actormta.cluster</c>: read whether on or off; the conditions of a working cluster are checked only when on.</summary>
    private static ClusterSettings ReadCluster(Reader r, PersistenceSettings persistence)
    {
        bool enabled = r.Bool("actormta.cluster.enabled");
        string hostname = r.String("actormta.cluster.hostname", allowEmpty: true).Trim();
        int port = r.Port("actormta.cluster.port", allowZero: true);
        var seeds = r.StringList("actormta.cluster.seed-nodes").Select(s => s.Trim()).ToList();
        int shards = r.PositiveInt("actormta.cluster.shards");
        if (!enabled) return ClusterSettings.Off with { Shards = shards };

        const string on = "actormta.cluster.enabled";
        if (hostname.Length == 0)
            r.FailWith("actormta.cluster.hostname", on, "is empty: a cluster node needs the address the other nodes reach it on");
        if (seeds.Count == 0)
            r.FailWith("actormta.cluster.seed-nodes", on, "is empty: a cluster node needs the nodes to join (the first node lists itself)");
        foreach (string seed in seeds)
        {
            if (!IsHostPort(seed)) r.Fail("actormta.cluster.seed-nodes", $"\"{seed}\" is not host:port, e.g. \"mta1.example.net:4053\"");
        }
        // Each node's own SQLite file would give a destination another state on each node it
        // lands on, and lose it at every rebalance: the store must be one for the cluster.
        if (persistence.ConnectionString.Length == 0)
            r.FailWith("actormta.persistence.connection-string", on,
                "is empty, which keeps destinations in a file of this node's: with actormta.cluster.enabled = on the nodes must share one store, e.g. PostgreSQL (provider-name = \"PostgreSQL.15\")");
        return new ClusterSettings(true, hostname, port, seeds, shards);
    }

    private static bool IsHostPort(string text)
    {
        int colon = text.LastIndexOf(':');
        if (colon <= 0 || colon == text.Length - 1) return false;
        string host = text[..colon];
        if (host.StartsWith('[') != host.EndsWith(']')) return false;
        if (host.Contains(':') && !host.StartsWith('[')) return false;
        return int.TryParse(text[(colon + 1)..], System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out int port)
               && port is > 0 and <= 65535;
    }
}
