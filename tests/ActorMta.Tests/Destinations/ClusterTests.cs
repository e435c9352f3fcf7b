using System.Net;
using System.Net.Sockets;
using Akka.Actor;
using ActorMta.Configuration;
using ActorMta.Destinations;
using ActorMta.Tests.Outbound;
using ActorMta.Tests.Support;
using Xunit.Abstractions;
using AkkaCluster = Akka.Cluster.Cluster;

namespace ActorMta.Tests.Destinations;

/// <summary>
/// Two relays in one cluster (real Akka.Remote over loopback, a real PostgreSQL server as their
/// shared store) in front of one ActorMta server: what one node learns of the server is used by
/// the other, and stays when the node that learnt it leaves.
/// </summary>
public sealed class ClusterTests(ITestOutputHelper output)
{
    [Fact]
    public async Task A_record_learnt_by_one_node_makes_the_other_nodes_first_connection_early()
    {
        await using var postgres = await TestPostgres.StartOrSkipAsync(output);
        if (postgres is null) return;
        await using var server = await TestMta.StartAsync();
        int seedPort = FreePorts.Tcp();
        await using var a = await TestMta.StartAsync(s => Node(s, server, postgres, seedPort, seedPort));
        await using var b = await TestMta.StartAsync(s => Node(s, server, postgres, 0, seedPort));
        await Eventually.UntilAsync(() => Task.FromResult(UpMembers(a) == 2 && UpMembers(b) == 2), "both nodes up in one cluster");
        // a is its own only seed: right to start the cluster, but the operator is told what a restart of it would do.
        Assert.Contains(a.MainLogLines(), l => l.Contains($"seed-nodes lists only this node (127.0.0.1:{seedPort})", StringComparison.Ordinal));
        Assert.DoesNotContain(b.MainLogLines(), l => l.Contains("seed-nodes lists only this node", StringComparison.Ordinal));

        // a talks to the server first: no record yet, so it waits for the banner.
        string first = await ActorMtaToActorMtaTests.SubmitAsync(a, "through a");
        string delivered = await a.WaitForLogLineAsync($"{first} => user@test.example");
        Assert.DoesNotContain(" L* ", delivered);
        var key = new DestinationKey(IPAddress.Loopback, server.EndPoint.Port);
        await Eventually.UntilAsync(async () => (await StateAsync(b, key)).Record is not null, "the record, seen from b");

        // b never talked to the server: its first connection is early, on the record a learnt.
        string second = await ActorMtaToActorMtaTests.SubmitAsync(b, "through b");
        delivered = await b.WaitForLogLineAsync($"{second} => user@test.example");
        Assert.Contains(" L* K ", delivered);

        // a leaves; its shards move to b, the record (in the shared store) with them.
        await a.DisposeAsync();
        await Eventually.UntilAsync(() => Task.FromResult(UpMembers(b) == 1), "b alone in the cluster");
        string third = await ActorMtaToActorMtaTests.SubmitAsync(b, "after a left");
        delivered = await b.WaitForLogLineAsync($"{third} => user@test.example");
        Assert.Contains(" L* K ", delivered);

        await server.WaitForMaildirAsync("user", 3);
        var received = server.MainLogLines().Where(l => l.Contains("<= a@client.test", StringComparison.Ordinal)).ToArray();
        Assert.Equal(3, received.Length);
        Assert.Contains(" L. K S=", received[0]);
        Assert.Contains(" L* K S=", received[1]);
        Assert.Contains(" L* K S=", received[2]);
    }

    [Fact]
    public async Task The_cluster_lists_every_nodes_destinations_and_shares_one_connection_budget()
    {
        await using var postgres = await TestPostgres.StartOrSkipAsync(output);
        if (postgres is null) return;
        int seedPort = FreePorts.Tcp();
        await using var a = await TestMta.StartAsync(s => Node(s, null, postgres, seedPort, seedPort) with
        {
            Destinations = s.Destinations with { MaxConnections = 1 },
        });
        await using var b = await TestMta.StartAsync(s => Node(s, null, postgres, 0, seedPort) with
        {
            Destinations = s.Destinations with { MaxConnections = 1 },
        });
        await Eventually.UntilAsync(() => Task.FromResult(UpMembers(a) == 2 && UpMembers(b) == 2), "both nodes up in one cluster");
        var key = new DestinationKey(IPAddress.Parse("192.0.2.7"), 25);

        // A lease taken through a is the host's only one: b is refused, whichever node the destination is on.
        var fromA = a.Node.System.ActorOf(Props.Create(() => new LeaseTaker()));
        var fromB = b.Node.System.ActorOf(Props.Create(() => new LeaseTaker()));
        var destinationsA = await a.Node.Root.Ask<IActorRef>(MtaGuardian.GetDestinations.Instance, TimeSpan.FromSeconds(5));
        var destinationsB = await b.Node.Root.Ask<IActorRef>(MtaGuardian.GetDestinations.Instance, TimeSpan.FromSeconds(5));
        Assert.IsType<LeaseGranted>(await fromA.Ask<object>(new LeaseTaker.Take(destinationsA, new AcquireLease(key, "a-1")), TimeSpan.FromSeconds(20)));
        var refused = Assert.IsType<LeaseRefused>(await fromB.Ask<object>(new LeaseTaker.Take(destinationsB, new AcquireLease(key, "b-1")), TimeSpan.FromSeconds(20)));
        Assert.Null(refused.RetryAt);

        // A failure reported from b is seen from a; the listing of either node shows it.
        destinationsB.Tell(new HostFailed(key, "connection refused"));
        await Eventually.UntilAsync(async () => (await StateAsync(a, key)).Retry is not null, "the retry wait, seen from a");
        var listed = await destinationsA.Ask<IReadOnlyList<DestinationState>>(ListDestinations.Instance, TimeSpan.FromSeconds(20));
        var state = Assert.Single(listed, s => s.Key == key);
        Assert.Equal("connection refused", state.Retry!.LastError);
        Assert.Equal(1, state.LeasesInUse);

        // The lease ends with its holder, on the other node; once the host got through again, b may have it.
        fromA.Tell(PoisonPill.Instance);
        await Eventually.UntilAsync(async () => (await StateAsync(b, key)).LeasesInUse == 0, "the lease freed when its holder on a stopped");
        destinationsA.Tell(new HostSucceeded(key));
        await Eventually.UntilAsync(async () => (await StateAsync(b, key)).Retry is null, "the retry wait cleared, seen from b");
        Assert.IsType<LeaseGranted>(await fromB.Ask<object>(new LeaseTaker.Take(destinationsB, new AcquireLease(key, "b-2")), TimeSpan.FromSeconds(20)));
    }

    [Fact]
    public async Task Health_and_metrics_say_whether_the_node_is_a_member_and_whom_it_sees()
    {
        await using var postgres = await TestPostgres.StartOrSkipAsync(output);
        if (postgres is null) return;
        var metricsOn = new MetricsSettings(true, new IPEndPoint(IPAddress.Loopback, 0), 10);
        int seedPort = FreePorts.Tcp();
        await using var a = await TestMta.StartAsync(s => Node(s, null, postgres, seedPort, seedPort) with { Metrics = metricsOn });
        await using var b = await TestMta.StartAsync(s => Node(s, null, postgres, 0, seedPort));
        await Eventually.UntilAsync(() => Task.FromResult(UpMembers(a) == 2 && UpMembers(b) == 2), "both nodes up in one cluster");

        using var http = new HttpClient();
        string Url(TestMta node, string path) => $"http://127.0.0.1:{node.Node.MetricsEndPoint!.Port}{path}";
        Assert.Equal("{\"status\":\"ok\"}", await http.GetStringAsync(Url(a, "/health")));
        Assert.Contains("actormta_cluster_members{status=\"up\"} 2\n", await http.GetStringAsync(Url(a, "/metrics")), StringComparison.Ordinal);

        // A node whose seed does not answer never joins: not healthy, and it says why.
        int nowhere = FreePorts.Tcp();
        await using var alone = await TestMta.StartAsync(s => Node(s, null, postgres, 0, nowhere) with { Metrics = metricsOn });
        using var health = await http.GetAsync(Url(alone, "/health"));
        Assert.Equal(HttpStatusCode.ServiceUnavailable, health.StatusCode);
        Assert.Contains("cluster member: this node is not a cluster member (not joined yet, or removed)", await health.Content.ReadAsStringAsync(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Two_clusters_on_one_store_by_mistake_keep_delivering_and_keep_their_shards_apart()
    {
        // Each node its own only seed: two clusters of one, sharing a store, as after a first seed
        // that lists only itself restarts beside the running nodes.
        await using var postgres = await TestPostgres.StartOrSkipAsync(output);
        if (postgres is null) return;
        int portA = FreePorts.Tcp(), portB = FreePorts.Tcp();
        await using var a = await TestMta.StartAsync(s => Node(s, null, postgres, portA, portA) with { Destinations = s.Destinations with { MaxConnections = 1 } });
        await using var b = await TestMta.StartAsync(s => Node(s, null, postgres, portB, portB) with { Destinations = s.Destinations with { MaxConnections = 1 } });
        await Eventually.UntilAsync(() => Task.FromResult(UpMembers(a) == 1 && UpMembers(b) == 1), "two clusters of one node each");
        var key = new DestinationKey(IPAddress.Parse("192.0.2.9"), 25);

        // Both recover the destination, then each writes what it learns on top of what it recovered.
        await StateAsync(a, key);
        await StateAsync(b, key);
        var destinationsA = await a.Node.Root.Ask<IActorRef>(MtaGuardian.GetDestinations.Instance, TimeSpan.FromSeconds(5));
        var destinationsB = await b.Node.Root.Ask<IActorRef>(MtaGuardian.GetDestinations.Instance, TimeSpan.FromSeconds(5));
        destinationsA.Tell(new HostFailed(key, "from a"));
        await Eventually.UntilAsync(async () => (await StateAsync(a, key)).Retry is not null, "a's retry wait");
        // b's write comes second with the same sequence number: the store refuses it, and b's
        // destination goes on in memory, as for any store failure; a's stays persisted.
        destinationsB.Tell(new HostFailed(key, "from b"));
        // (A question that reaches the failed destination as it stops goes unanswered, as its lease
        // requests would until the delivery agent asks again: ask anew.)
        await Eventually.UntilAsync(async () =>
        {
            try { return (await StateAsync(b, key)).InMemory; }
            catch (AskTimeoutException) { return false; }
        }, "b's destination in memory");
        destinationsA.Tell(new HostFailed(key, "from a again"));
        await Eventually.UntilAsync(async () => (await StateAsync(a, key)).Retry?.LastError == "from a again", "a's second failure");
        Assert.False((await StateAsync(a, key)).InMemory);

        // b still grants its connections: deliveries go on.
        var taker = b.Node.System.ActorOf(Props.Create(() => new LeaseTaker()));
        Assert.IsType<LeaseGranted>(await taker.Ask<object>(new LeaseTaker.Take(destinationsB, new AcquireLease(key, "b-1")), TimeSpan.FromSeconds(20)));

        // The store holds a's two events and nothing of the shard coordinators: where shards live is
        // kept among each cluster's nodes (state-store-mode = ddata), not under one shared persistence id.
        Assert.Equal(2L, await ScalarAsync(postgres, $"SELECT count(*) FROM journal WHERE persistence_id = '{Destination.PersistenceIdFor(key)}'"));
        Assert.Equal(0L, await ScalarAsync(postgres, "SELECT count(*) FROM journal WHERE persistence_id LIKE '/system/sharding/%'"));
    }

    private static async Task<long> ScalarAsync(TestPostgres postgres, string sql)
    {
        await using var connection = new Npgsql.NpgsqlConnection(postgres.ConnectionString);
        await connection.OpenAsync();
        await using var command = new Npgsql.NpgsqlCommand(sql, connection);
        return (long)(await command.ExecuteScalarAsync())!;
    }

    /// <summary>Holds leases as a delivery agent does: it is the sender of the request, and the answer comes back to it.</summary>
    private sealed class LeaseTaker : ReceiveActor
    {
        public sealed record Take(IActorRef Destinations, AcquireLease Request);

        public LeaseTaker()
        {
            IActorRef? asker = null;
            Receive<Take>(take =>
            {
                asker = Sender;
                take.Destinations.Tell(take.Request);
            });
            Receive<LeaseGranted>(granted => asker?.Tell(granted));
            Receive<LeaseRefused>(refused => asker?.Tell(refused));
        }
    }

    /// <summary>A relay to <paramref name="server"/> (or to nowhere) that is a cluster node on <paramref name="port"/>.</summary>
    private static MtaSettings Node(MtaSettings s, TestMta? server, TestPostgres postgres, int port, int seedPort)
    {
        var relay = server is null ? s : ActorMtaToActorMtaTests.RelayTo(s, server);
        return relay with
        {
            Persistence = new PersistenceSettings(postgres.ConnectionString, "PostgreSQL.15"),
            Cluster = new ClusterSettings(true, "127.0.0.1", port, [$"127.0.0.1:{seedPort}"], 10),
        };
    }

    private static int UpMembers(TestMta node) =>
        AkkaCluster.Get(node.Node.System).State.Members.Count(m => m.Status == Akka.Cluster.MemberStatus.Up);

    private static async Task<DestinationState> StateAsync(TestMta node, DestinationKey key)
    {
        var destinations = await node.Node.Root.Ask<IActorRef>(MtaGuardian.GetDestinations.Instance, TimeSpan.FromSeconds(5));
        return await destinations.Ask<DestinationState>(new GetDestinationState(key), TimeSpan.FromSeconds(10));
    }



}
