using System.Net;
using Akka.Actor;
using ActorMta.Configuration;
using ActorMta.Outbound;
using ActorMta.Smtp;
using ActorMta.Tests.Support;
using Xunit.Abstractions;

namespace ActorMta.Tests.Outbound;

/// <summary>Our client against our server, both real: early pipelining end to end, and TCP Fast Open where the kernel allows it.</summary>
public sealed class ActorMtaToActorMtaTests : OutboundTestKit
{
    private readonly ITestOutputHelper _output;

    public ActorMtaToActorMtaTests(ITestOutputHelper output) : base(output) => _output = output;

    private const string Body = "Subject: hop\r\n\r\nfrom one ActorMta to another\r\n";

    [Fact]
    public async Task SecondConnectionIsEarlyOnBothSides()
    {
        await using var server = await TestMta.StartAsync();
        var agent = Agent(Settings());

        var first = Deliver(agent, await JobAsync(server.EndPoint, Body, "user@test.example"));
        AwaitRecord(server.EndPoint, r => r is not null);
        var second = Deliver(agent, await JobAsync(server.EndPoint, Body, "user@test.example"));

        Assert.False(first.Outcomes.Single().Connection!.EarlyPipelined);
        Assert.True(second.Outcomes.Single().Connection!.EarlyPipelined);
        var received = (await server.WaitForMaildirAsync("user", 2));
        Assert.All(received, m => Assert.EndsWith(Body, m));
        var lines = server.MainLogLines().Where(l => l.Contains("<= a@client.test")).ToArray();
        Assert.Contains(" P=esmtp L. K S=", lines[0]);
        Assert.Contains(" P=esmtp L* K S=", lines[1]);
    }

    [Fact]
    public async Task FastOpenCarriesTheEarlyFlightInTheSyn()
    {
        var mode = File.Exists("/proc/sys/net/ipv4/tcp_fastopen") ? int.Parse(File.ReadAllText("/proc/sys/net/ipv4/tcp_fastopen").Trim()) : 0;
        if ((mode & 3) != 3)
        {
            Assert.True(Environment.GetEnvironmentVariable("ACTORMTA_REQUIRE_PEERS") != "1",
                "net.ipv4.tcp_fastopen must be 3 in CI (.ci/run sets it)");
            _output.WriteLine($"skipped: net.ipv4.tcp_fastopen is {mode}, TCP Fast Open needs 3 (client and server) on this host");
            return;
        }

        await using var server = await TestMta.StartAsync();
        var agent = Agent(Settings() with { HostsTryFastOpen = HostList.Parse(["*"]) });

        Deliver(agent, await JobAsync(server.EndPoint, Body, "user@test.example"));   // learns the EHLO record
        AwaitRecord(server.EndPoint, r => r is not null);
        var second = Deliver(agent, await JobAsync(server.EndPoint, Body, "user@test.example"));   // early; the kernel fetches a TFO cookie
        Assert.True(second.Outcomes.Single().Status == DeliveryStatus.Delivered, second.Outcomes.Single().Text);
        var third = Deliver(agent, await JobAsync(server.EndPoint, Body, "user@test.example"));

        var outcome = third.Outcomes.Single();
        Assert.True(outcome.Status == DeliveryStatus.Delivered, outcome.Text);
        Assert.True(outcome.Connection!.FastOpen);
        Assert.Matches(@" H=fake\.test \[127\.0\.0\.1\]:\d+ TFO\* L\* K C=", DeliveryLogLine.Format(third.Job.Envelope, outcome));
        var received = server.MainLogLines().Where(l => l.Contains("<= a@client.test")).ToArray();
        Assert.Equal(3, received.Length);
        Assert.Matches(@"\]:\d+ TFO\* P=esmtp L\* K S=", received[2]);
    }

    [Fact]
    public async Task TheRecordSurvivesARestartOfTheRelaySoItsFirstDeliveryAfterwardsIsEarly()
    {
        await using var server = await TestMta.StartAsync();
        MtaSettings Relay(MtaSettings s) => RelayTo(s, server);

        string directory;
        await using (var relay = await TestMta.StartAsync(Relay))
        {
            relay.KeepDirectory = true;
            directory = relay.Directory;
            var first = await SubmitAsync(relay, "first");
            await relay.WaitForLogLineAsync($"{first} => user@test.example");
            // The record is persisted asynchronously: see it in the store before stopping the node.
            var destinations = await relay.Node.Root.Ask<Akka.Actor.IActorRef>(MtaGuardian.GetDestinations.Instance, TimeSpan.FromSeconds(5));
            var key = new ActorMta.Destinations.DestinationKey(server.EndPoint.Address, server.EndPoint.Port);
            AwaitCondition(() => destinations.Ask<ActorMta.Destinations.DestinationState>(
                new ActorMta.Destinations.GetDestinationState(key), TimeSpan.FromSeconds(5)).Result.Record is not null, TimeSpan.FromSeconds(10));
        }
        try
        {
            await using var restarted = await TestMta.StartAsync(Relay, directory);
            var second = await SubmitAsync(restarted, "second");
            var delivered = await restarted.WaitForLogLineAsync($"{second} => user@test.example");
            Assert.True(delivered.Contains(" L* K "), delivered + "\n" + string.Join("\n", restarted.MainLogLines()) + "\n" + string.Join("\n", server.MainLogLines()));
            await server.WaitForMaildirAsync("user", 2);
            var received = server.MainLogLines().Where(l => l.Contains("<= a@client.test")).ToArray();
            Assert.Contains(" L. K S=", received[0]);
            Assert.Contains(" L* K S=", received[1]);
        }
        finally
        {
            Microsoft.Data.Sqlite.SqliteConnection.ClearAllPools();
            try { Directory.Delete(directory, recursive: true); } catch (IOException) { }
        }
    }

    [Fact]
    public async Task OutboundInterfacePicksTheAddressTheNextHopSees()
    {
        await using var server = await TestMta.StartAsync();
        await using var relay = await TestMta.StartAsync(s =>
        {
            var relaying = RelayTo(s, server);
            return relaying with { Outbound = relaying.Outbound with { Interface = [IPAddress.Parse("::1"), IPAddress.Parse("127.0.0.2")] } };
        });

        string id = await SubmitAsync(relay, "from a chosen address");

        await relay.WaitForLogLineAsync($"{id} => user@test.example");
        Assert.Matches(@" <= a@client\.test H=\(relay\.test\.example\) \[127\.0\.0\.2\]:\d+ ", await server.WaitForLogLineAsync("<= a@client.test"));
    }

    /// <summary>A relay (relay.test.example) that sends mail for test.example to <paramref name="server"/>
    /// as its smarthost, talking early where it may.</summary>
    internal static MtaSettings RelayTo(MtaSettings s, TestMta server) => s with
    {
        PrimaryHostname = "relay.test.example",
        Policy = s.Policy with { LocalDomains = DomainList.Parse(["relay.test.example"]), RelayToDomains = DomainList.Parse(["test.example"]) },
        Outbound = OutboundSettings.Default("relay.test.example") with { HostsPipeConnect = HostList.Parse(["*"]) },
        Routing = s.Routing with
        {
            LocalDomains = DomainList.Parse(["relay.test.example"]),
            Smarthosts = [new ActorMta.Routing.SmarthostRoute("to_server", DomainList.Parse(["test.example"]), [$"127.0.0.1:{server.EndPoint.Port}"])],
        },
    };

    /// <summary>Sends one message for user@test.example into <paramref name="mta"/>; returns its spool id.</summary>
    internal static async Task<string> SubmitAsync(TestMta mta, string subject)
    {
        using var client = await mta.ConnectAsync();
        await client.ReadRepliesAsync(1);
        await client.SendAsync("EHLO client.test\r\n");
        await client.ReadRepliesAsync(1);
        await client.SendAsync($"MAIL FROM:<a@client.test>\r\nRCPT TO:<user@test.example>\r\nDATA\r\n");
        Assert.EndsWith("354 Enter message, ending with \".\" on a line by itself\r\n", await client.ReadRepliesAsync(3));
        await client.SendAsync($"Subject: {subject}\r\n\r\nrelayed\r\n.\r\nQUIT\r\n");
        var replies = await client.ReadRepliesAsync(2);
        Assert.StartsWith("250 2.0.0 OK id=", replies);
        return replies["250 2.0.0 OK id=".Length..replies.IndexOf('\r')];
    }
}
