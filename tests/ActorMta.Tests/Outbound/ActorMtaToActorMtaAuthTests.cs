using System.Text.RegularExpressions;
using Akka.Actor;
using ActorMta.Configuration;
using ActorMta.Destinations;
using ActorMta.Routing;
using ActorMta.Smtp;
using ActorMta.Tests.Auth;
using ActorMta.Tests.Support;
using ActorMta.Tests.Tls;

namespace ActorMta.Tests.Outbound;

/// <summary>
/// Our client's EHLO+AUTH early flight against our own submission server, both real: a relay node
/// with a smarthost route that logs in, to a node whose submission listener offers STARTTLS with a
/// certificate from the test CA and wants AUTH before MAIL. The second connection pipelines early
/// in clear (EHLO, STARTTLS) and again right after the handshake (EHLO, AUTH PLAIN).
/// </summary>
public sealed class ActorMtaToActorMtaAuthTests(TlsFixture tls) : IClassFixture<TlsFixture>
{
    [Fact]
    public async Task OverStartTlsTheSecondConnectionLogsInEarlyAndBothSidesLogAAndLStar()
    {
        await using var server = await TestMta.StartAsync(tls.Settings(ListenerKind.Submission, s => s with
        {
            Auth = s.Auth with { FailureDelay = TimeSpan.Zero }, // AllowCleartext stays off: AUTH only after STARTTLS
        }));
        AuthTestKit.AddUser(server.Settings.Auth.UsersFile, "alice", "wonderland");
        await using var relay = await TestMta.StartAsync(s => s with
        {
            PrimaryHostname = "relay.test.example",
            Policy = s.Policy with { LocalDomains = DomainList.Parse(["relay.test.example"]), RelayToDomains = DomainList.Parse(["test.example"]) },
            Outbound = OutboundSettings.Default("relay.test.example") with
            {
                HostsPipeConnect = HostList.Parse(["*"]),
                IdleConnectionTimeout = TimeSpan.Zero, // each message on its own connection
                Tls = OutboundTlsSettings.Default with { HostsVerifyTls = HostList.Parse(["*"]), TrustedRoots = [tls.Authority.Authority] },
            },
            Routing = s.Routing with
            {
                LocalDomains = DomainList.Parse(["relay.test.example"]),
                Smarthosts = [new SmarthostRoute("to_server", DomainList.Parse(["test.example"]), [$"127.0.0.1:{server.EndPoint.Port}"])
                {
                    Auth = new SmarthostAuth("alice", "wonderland", AllowCleartext: false),
                }],
            },
        });

        var first = await ActorMtaToActorMtaTests.SubmitAsync(relay, "first");
        var firstDelivery = await relay.WaitForLogLineAsync($"{first} => user@test.example");
        // The EHLO record (with the TLS-phase AUTH mechanisms) is written asynchronously: wait for it before the second message.
        var destinations = await relay.Node.Root.Ask<IActorRef>(MtaGuardian.GetDestinations.Instance, TimeSpan.FromSeconds(5));
        var key = new DestinationKey(server.EndPoint.Address, server.EndPoint.Port);
        await WaitAsync(async () => (await destinations.Ask<DestinationState>(new GetDestinationState(key), TimeSpan.FromSeconds(5))).Record is { } r
                                    && r.TlsAuth.Contains("PLAIN"));
        var second = await ActorMtaToActorMtaTests.SubmitAsync(relay, "second");
        var secondDelivery = await relay.WaitForLogLineAsync($"{second} => user@test.example");

        var context = "\nrelay:\n" + string.Join('\n', relay.MainLogLines()) + "\nserver:\n" + string.Join('\n', server.MainLogLines());
        Assert.True(Regex.IsMatch(firstDelivery,
            @" R=to_server T=remote_smtp H=127\.0\.0\.1 \[127\.0\.0\.1\]:\d+ X=TLS1\.[23]:\S+ CV=yes A=plain:alice L K C=""250 "), context);
        Assert.True(Regex.IsMatch(secondDelivery,
            @" R=to_server T=remote_smtp H=127\.0\.0\.1 \[127\.0\.0\.1\]:\d+ X=TLS1\.[23]:\S+ CV=yes A=plain:alice L\* K C=""250 "), context);

        var received = await server.WaitForMaildirAsync("user", 2);
        Assert.Contains(received, m => m.EndsWith("Subject: first\r\n\r\nrelayed\r\n", StringComparison.Ordinal));
        Assert.Contains(received, m => m.EndsWith("Subject: second\r\n\r\nrelayed\r\n", StringComparison.Ordinal));
        var arrivals = server.MainLogLines().Where(l => l.Contains(" <= a@client.test", StringComparison.Ordinal)).ToArray();
        Assert.Equal(2, arrivals.Length);
        Assert.Matches(@" H=\(relay\.test\.example\) \[127\.0\.0\.1\]:\d+ P=esmtpsa L\. X=TLS1\.[23]:\S+ CV=no K A=plain:alice S=\d+ for user@test\.example$", arrivals[0]);
        Assert.Matches(@" H=\(relay\.test\.example\) \[127\.0\.0\.1\]:\d+ P=esmtpsa L\* X=TLS1\.[23]:\S+ CV=no K A=plain:alice S=\d+ for user@test\.example$", arrivals[1]);
    }

    private static async Task WaitAsync(Func<Task<bool>> condition)
    {
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(10);
        while (!await condition())
        {
            if (DateTime.UtcNow > deadline) throw new TimeoutException("the relay never stored the server's EHLO record with AUTH PLAIN in the TLS phase");
            await Task.Delay(20);
        }
    }
}
