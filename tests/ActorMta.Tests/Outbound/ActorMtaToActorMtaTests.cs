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
}
