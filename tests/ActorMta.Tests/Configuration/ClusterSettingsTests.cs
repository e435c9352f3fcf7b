using ActorMta.Cluster;
using ActorMta.Configuration;
using Xunit;

namespace ActorMta.Tests.ConfigurationLoading;

/// <summary>actormta.cluster: off by default; on, what a working cluster needs is checked at load, naming file, line and key.</summary>
public sealed class ClusterSettingsTests : IDisposable
{
    private readonly ConfigFolder _files = new();

    public void Dispose() => _files.Dispose();

    private const string Shared = "actormta.persistence { connection-string = \"Host=db;Database=mta\", provider-name = \"PostgreSQL.15\" }\n";

    [Fact]
    public void OffByDefaultAndThenNoAkkaClusterConfiguration()
    {
        var cluster = SettingsLoader.Load(null, []).Settings.Cluster;

        Assert.False(cluster.Enabled);
        Assert.True(ClusterHocon.For(cluster).IsEmpty);
    }

    [Fact]
    public void OnBecomesAnAkkaClusterNodeWithTheSeedsAsAkkaAddresses()
    {
        string file = _files.Write(Shared + "actormta.cluster {\n  enabled = on\n  hostname = \"10.0.0.11\"\n  port = 4100\n  seed-nodes = [\"10.0.0.11:4100\", \"mta2.example.net:4100\"]\n  shards = 30\n}\n");

        var cluster = SettingsLoader.Load(file, []).Settings.Cluster;
        var akka = ClusterHocon.For(cluster);

        Assert.Equal(new ClusterSettings(true, "10.0.0.11", 4100, cluster.SeedNodes, 30), cluster);
        Assert.Equal("cluster", akka.GetString("akka.actor.provider"));
        Assert.Equal("10.0.0.11", akka.GetString("akka.remote.dot-netty.tcp.hostname"));
        Assert.Equal(4100, akka.GetInt("akka.remote.dot-netty.tcp.port"));
        Assert.Equal(["akka.tcp://actormta@10.0.0.11:4100", "akka.tcp://actormta@mta2.example.net:4100"], akka.GetStringList("akka.cluster.seed-nodes"));
        Assert.Equal("off", akka.GetString("akka.cluster.sharding.passivate-idle-entity-after"));
        Assert.Equal("ddata", akka.GetString("akka.cluster.sharding.state-store-mode"));
    }

    [Theory]
    [InlineData("hostname = \"\"\n  seed-nodes = [\"a:1\"]", "actormta.cluster.hostname", 4, "a cluster node needs the address the other nodes reach it on")]
    [InlineData("hostname = \"a\"\n  seed-nodes = []", "actormta.cluster.seed-nodes", 5, "a cluster node needs the nodes to join")]
    [InlineData("hostname = \"a\"\n  seed-nodes = [\"mta1.example.net\"]", "actormta.cluster.seed-nodes", 5, "\"mta1.example.net\" is not host:port")]
    [InlineData("hostname = \"a\"\n  seed-nodes = [\"::1:4053\"]", "actormta.cluster.seed-nodes", 5, "\"::1:4053\" is not host:port")]
    [InlineData("seed-nodes = [\"a:1\"]", "actormta.cluster.enabled", 3, "actormta.cluster.hostname is empty")]
    [InlineData("hostname = \"a\"\n  seed-nodes = [\"a:1\"]\n  shards = 0", "actormta.cluster.shards", 6, "")]
    public void MistakesNameFileLineAndKey(string lines, string key, int line, string why)
    {
        string file = _files.Write(Shared + $"actormta.cluster {{\n  enabled = on\n  {lines}\n}}\n");

        var error = Assert.Single(Assert.Throws<ConfigurationException>(() => SettingsLoader.Load(file, [])).Errors);

        Assert.Equal(($"{file}:{line}", key), (error.Location, error.Path));
        Assert.Contains(why, error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void ANodeOfItsOwnStoreIsRefused()
    {
        string file = _files.Write("actormta.cluster { enabled = on, hostname = \"a\", seed-nodes = [\"a:4053\"] }\n");

        var error = Assert.Single(Assert.Throws<ConfigurationException>(() => SettingsLoader.Load(file, [])).Errors);

        // Left at its default, the store is not the operator's line: the error stands where they turned the cluster on.
        Assert.Equal(($"{file}:1", "actormta.cluster.enabled"), (error.Location, error.Path));
        Assert.Contains("actormta.persistence.connection-string is empty", error.Message, StringComparison.Ordinal);
        Assert.Contains("the nodes must share one store", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void SeedsInBracketsMayBeIpv6()
    {
        string file = _files.Write(Shared + "actormta.cluster { enabled = on, hostname = \"::1\", seed-nodes = [\"[::1]:4053\"] }\n");

        Assert.Equal(["[::1]:4053"], SettingsLoader.Load(file, []).Settings.Cluster.SeedNodes);
    }
}
