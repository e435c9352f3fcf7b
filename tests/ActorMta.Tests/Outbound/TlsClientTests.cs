using System.Security.Cryptography.X509Certificates;
using ActorMta.Configuration;
using ActorMta.Outbound;
using ActorMta.Smtp;
using ActorMta.Tests.Shared;
using ActorMta.Tests.Support;
using Xunit.Abstractions;

namespace ActorMta.Tests.Outbound;

/// <summary>
/// The client's STARTTLS (spec Part A rules 10-11, issue 4) against the scripted server doing a real
/// TLS handshake with a certificate from a CA made in the test: the bytes on the wire before and after
/// the handshake, the TLS policy (require, verify, opportunistic fallback) and the log fields.
/// </summary>
public sealed class TlsClientTests : OutboundTestKit, IDisposable
{
    private static readonly string[] TlsServer = ["SIZE 1000000", "PIPELINING", "PIPECONNECT", "CHUNKING", "STARTTLS"];
    private const string Body = "Subject: tls\r\n\r\nHello over TLS\r\n";

    private readonly TestCertificates _ca = TestCertificates.CreateAuthority();
    private readonly X509Certificate2 _certificate;

    public TlsClientTests(ITestOutputHelper output) : base(output)
    {
        _certificate = _ca.IssueServer(["fake.test"]);
    }

    /// <summary>Early pipelining on, the test CA trusted, and the given policy host lists.</summary>
    private OutboundSettings TlsSettings(bool require = false, bool verify = false, bool tryClear = true) =>
        Settings() with
        {
            Tls = OutboundTlsSettings.Default with
            {
                HostsRequireTls = require ? HostList.Parse(["*"]) : HostList.Empty,
                HostsVerifyTls = verify ? HostList.Parse(["*"]) : HostList.Empty,
                TempfailTryClear = tryClear,
                TrustedRoots = [_ca.Authority],
            },
        };

    /// <summary>Every connection: record the bytes before the banner, serve with STARTTLS, record the first TLS flight.</summary>
    private Func<FakeConnection, int, Task> TlsSink(X509Certificate2 certificate) => async (c, _) =>
    {
        await c.CaptureBeforeBannerAsync(TimeSpan.FromMilliseconds(300));
        await c.SendAsync("220 fake.test ESMTP\r\n");
        await ServeWithCaptureAsync(c, certificate);
    };

    /// <summary>The sink's loop, but after the handshake it first waits and records what the client sent unprompted.</summary>
    private static async Task ServeWithCaptureAsync(FakeConnection c, X509Certificate2 certificate)
    {
        while (true)
        {
            var line = await c.ReadLineAsync();
            if (line is null) return;
            if (line.Equals("STARTTLS", StringComparison.OrdinalIgnoreCase))
            {
                await c.SendAsync("220 2.0.0 Ready to start TLS\r\n");
                await c.StartTlsAsync(certificate);
                await c.CaptureAfterTlsAsync(TimeSpan.FromMilliseconds(300));
                await FakeSmtpServer.ServeAsync(c, ["SIZE 1000000", "PIPELINING", "PIPECONNECT", "CHUNKING"]);
                return;
            }
            if (line.StartsWith("EHLO", StringComparison.OrdinalIgnoreCase))
                await c.SendAsync(string.Join("", new[] { "fake.test hello" }.Concat(TlsServer)
                    .Select((l, i) => (i == TlsServer.Length ? "250 " : "250-") + l + "\r\n")));
            else
                await c.SendAsync("503 not in this test\r\n");
        }
    }

    [Fact]
    public async Task OpportunisticStartTlsDeliversOverTlsAndTheLogLineCarriesXAndCv()
    {
        await using var server = new FakeSmtpServer(TlsSink(_certificate));
        var agent = Agent(TlsSettings());

        var job = await JobAsync(server.EndPoint, Body, "u@remote.test");
        var outcome = Deliver(agent, job).Outcomes.Single();

        Assert.Equal(DeliveryStatus.Delivered, outcome.Status);
        var connection = server.Connections.Single();
        Assert.Equal("EHLO client.test\r\nSTARTTLS\r\n", connection.ReceivedInClear);
        Assert.Equal(Body, connection.Messages.Single());
        Assert.Matches(@"=> u@remote\.test R=smarthost T=remote_smtp H=fake\.test \[127\.0\.0\.1\]:\d+ X=TLS1\.[23]:TLS_\w+:(128|256) CV=yes L K C=""250 OK chunk"" DT=[\d.]+s$",
            DeliveryLogLine.Format(job.Envelope, outcome));
    }

    [Fact]
    public async Task EarlyFlightIsEhloStartTlsBeforeTheBannerThenEhloAndTheTransactionInOneTlsWrite()
    {
        await using var server = new FakeSmtpServer(TlsSink(_certificate));
        var agent = Agent(TlsSettings());
        Deliver(agent, await JobAsync(server.EndPoint, Body, "u@remote.test"));
        // Rule 8: both phases learned, the TLS phase after the handshake.
        AwaitRecord(server.EndPoint, r => r is not null && r.Tls.HasFlag(ActorMta.Destinations.EhloFeatures.PipeConnect));

        var job = await JobAsync(server.EndPoint, Body, "u@remote.test");
        var outcome = Deliver(agent, job).Outcomes.Single();

        var second = server.Connections.ToArray()[1];
        Assert.Equal("EHLO client.test\r\nSTARTTLS\r\n", second.BeforeBanner);
        Assert.Equal("EHLO client.test\r\nSTARTTLS\r\n", second.ReceivedInClear);
        Assert.Equal($"EHLO client.test\r\nMAIL FROM:<a@client.test> SIZE={Body.Length}\r\nRCPT TO:<u@remote.test>\r\nBDAT {Body.Length} LAST\r\n{Body}QUIT\r\n",
            second.FirstTlsFlight);
        Assert.Equal(DeliveryStatus.Delivered, outcome.Status);
        Assert.Matches(@" X=TLS1\.[23]:\S+ CV=yes L\* K C=", DeliveryLogLine.Format(job.Envelope, outcome));
    }

    [Fact]
    public async Task BytesAfterTheStartTls220FailTheSessionAndTheMessageIsDeferred()
    {
        await using var server = new FakeSmtpServer(async (c, _) =>
        {
            await c.SendAsync("220 fake.test ESMTP\r\n");
            while (await c.ReadLineAsync() is { } line)
            {
                if (line.StartsWith("EHLO", StringComparison.Ordinal))
                    await c.SendAsync("250-fake.test\r\n250-PIPELINING\r\n250 STARTTLS\r\n");
                else if (line == "STARTTLS")
                    await c.SendAsync("220 2.0.0 Ready to start TLS\r\n250 2.0.0 injected\r\n"); // one segment: the injection
                else
                    await c.SendAsync("250 OK\r\n");
            }
        });
        var agent = Agent(TlsSettings());

        var outcome = Deliver(agent, await JobAsync(server.EndPoint, Body, "u@remote.test")).Outcomes.Single();

        Assert.Equal(DeliveryStatus.Deferred, outcome.Status);
        Assert.Contains("after the STARTTLS 220", outcome.Text);
        Assert.Contains("response injection", outcome.Text);
        Assert.Equal(1, server.ConnectionCount);
        Assert.Equal("EHLO client.test\r\nSTARTTLS\r\n", server.Connections.Single().Received); // no handshake, no MAIL
    }

    [Fact]
    public async Task RequireTlsHostWhoseHandshakeFailsDefersAndNeverSendsMailInClear()
    {
        await using var server = new FakeSmtpServer(async (c, _) =>
        {
            await c.SendAsync("220 fake.test ESMTP\r\n");
            while (await c.ReadLineAsync() is { } line)
            {
                if (line.StartsWith("EHLO", StringComparison.Ordinal))
                    await c.SendAsync("250-fake.test\r\n250-PIPELINING\r\n250 STARTTLS\r\n");
                else if (line == "STARTTLS")
                {
                    await c.SendAsync("220 2.0.0 Ready to start TLS\r\n");
                    return; // closes: the handshake fails
                }
                else
                    await c.SendAsync("250 OK\r\n");
            }
        });
        var agent = Agent(TlsSettings(require: true));

        var outcome = Deliver(agent, await JobAsync(server.EndPoint, Body, "u@remote.test")).Outcomes.Single();

        Assert.Equal(DeliveryStatus.Deferred, outcome.Status);
        Assert.Contains("TLS session: handshake failed", outcome.Text);
        Assert.Equal(1, server.ConnectionCount); // no second try in clear
        Assert.DoesNotContain("MAIL FROM", server.Connections.Single().Received);
    }

    [Fact]
    public async Task RequireTlsHostThatDoesNotOfferStartTlsDefers()
    {
        await using var server = new FakeSmtpServer((c, _) => FakeSmtpServer.SinkAsync(c, ["PIPELINING", "PIPECONNECT", "CHUNKING"]));
        var agent = Agent(TlsSettings(require: true));
        Deliver(agent, await JobAsync(server.EndPoint, Body, "u@remote.test"));
        AwaitRecord(server.EndPoint, r => r is not null);
        // Also with a record: an early cleartext flight would carry the transaction, so none is sent.
        var outcome = Deliver(agent, await JobAsync(server.EndPoint, Body, "u@remote.test")).Outcomes.Single();

        Assert.Equal(DeliveryStatus.Deferred, outcome.Status);
        Assert.Contains("TLS required", outcome.Text);
        Assert.All(server.Connections, c => Assert.DoesNotContain("MAIL FROM", c.Received));
    }

    [Fact]
    public async Task VerifyHostWithACertificateForAnotherNameDefers()
    {
        using var wrongName = _ca.IssueServer(["other.test"]);
        await using var server = new FakeSmtpServer(TlsSink(wrongName));
        var agent = Agent(TlsSettings(verify: true));

        var outcome = Deliver(agent, await JobAsync(server.EndPoint, Body, "u@remote.test")).Outcomes.Single();

        Assert.Equal(DeliveryStatus.Deferred, outcome.Status);
        Assert.Contains("certificate verification failed for fake.test: the certificate does not name the host", outcome.Text);
        Assert.Equal(1, server.ConnectionCount);
        Assert.DoesNotContain("MAIL FROM", server.Connections.Single().Received);
    }

    [Fact]
    public async Task UnverifiedCertificateOfAnOpportunisticHostIsUsedAndLoggedCvNo()
    {
        using var wrongName = _ca.IssueServer(["other.test"]);
        await using var server = new FakeSmtpServer(TlsSink(wrongName));
        var agent = Agent(TlsSettings());

        var job = await JobAsync(server.EndPoint, Body, "u@remote.test");
        var outcome = Deliver(agent, job).Outcomes.Single();

        Assert.Equal(DeliveryStatus.Delivered, outcome.Status);
        Assert.Matches(@" X=TLS1\.[23]:\S+ CV=no L K C=", DeliveryLogLine.Format(job.Envelope, outcome));
    }

    [Fact]
    public async Task OpportunisticHandshakeFailureDeliversInClearAndIsRememberedByTheDestination()
    {
        await using var server = new FakeSmtpServer(async (c, n) =>
        {
            if (n > 1)
            {
                await FakeSmtpServer.SinkAsync(c, ["PIPELINING", "CHUNKING", "STARTTLS"]);
                return;
            }
            // The first connection offers STARTTLS, then answers the ClientHello with something that is not TLS.
            await c.SendAsync("220 fake.test ESMTP\r\n");
            Assert.Equal("EHLO client.test", await c.ReadLineAsync());
            await c.SendAsync("250-fake.test\r\n250-PIPELINING\r\n250-CHUNKING\r\n250 STARTTLS\r\n");
            Assert.Equal("STARTTLS", await c.ReadLineAsync());
            await c.SendAsync("220 2.0.0 Ready to start TLS\r\n");
            await Task.Delay(100);
            await c.SendAsync("this is not a TLS record, it is a broken server\r\n");
            await c.WaitForCloseAsync(TimeSpan.FromSeconds(5));
        });
        var agent = Agent(TlsSettings());

        var first = Deliver(agent, await JobAsync(server.EndPoint, Body, "u@remote.test")).Outcomes.Single();

        Assert.Equal(DeliveryStatus.Delivered, first.Status);
        Assert.Null(first.Connection!.Tls);
        var connections = server.Connections.ToArray();
        Assert.Equal(2, connections.Length);
        Assert.StartsWith("EHLO client.test\r\nSTARTTLS\r\n", connections[0].Received);
        Assert.DoesNotContain("MAIL FROM", connections[0].Received);
        Assert.DoesNotContain("STARTTLS", connections[1].Received);
        Assert.Equal(Body, connections[1].Messages.Single());
        AwaitCondition(() => State(server.EndPoint).ClearTextUntil is not null, TimeSpan.FromSeconds(10));
        Assert.True(State(server.EndPoint).ClearTextUntil > DateTimeOffset.UtcNow.AddMinutes(55));

        // Remembered: the next connection goes straight to clear text.
        var second = Deliver(agent, await JobAsync(server.EndPoint, Body, "u@remote.test")).Outcomes.Single();
        Assert.Equal(DeliveryStatus.Delivered, second.Status);
        connections = server.Connections.ToArray();
        Assert.Equal(3, connections.Length);
        Assert.DoesNotContain("STARTTLS", connections[2].Received);
    }

    [Fact]
    public async Task WithoutTryClearAnOpportunisticHandshakeFailureDefers()
    {
        await using var server = new FakeSmtpServer(async (c, _) =>
        {
            await c.SendAsync("220 fake.test ESMTP\r\n");
            while (await c.ReadLineAsync() is { } line)
            {
                if (line == "STARTTLS") { await c.SendAsync("220 go ahead\r\n"); return; }
                await c.SendAsync("250-fake.test\r\n250 STARTTLS\r\n");
            }
        });
        var agent = Agent(TlsSettings(tryClear: false));
        var outcome = Deliver(agent, await JobAsync(server.EndPoint, Body, "u@remote.test")).Outcomes.Single();
        Assert.Equal(DeliveryStatus.Deferred, outcome.Status);
        Assert.Equal(1, server.ConnectionCount);
    }

    [Fact]
    public async Task TlsOnConnectHandshakesFirstThenTalksEarlyRightAfterTheHandshake()
    {
        string[] keywords = ["SIZE 1000000", "PIPELINING", "PIPECONNECT", "CHUNKING"];
        await using var server = new FakeSmtpServer(async (c, _) =>
        {
            await c.StartTlsAsync(_certificate);
            await c.CaptureAfterTlsAsync(TimeSpan.FromMilliseconds(300));
            await FakeSmtpServer.SinkAsync(c, keywords);
        });
        var settings = TlsSettings();
        var agent = Agent(settings with { Tls = settings.Tls with { TlsOnConnectPorts = new HashSet<int> { server.EndPoint.Port } } });

        var first = Deliver(agent, await JobAsync(server.EndPoint, Body, "u@remote.test")).Outcomes.Single();
        Assert.Equal(DeliveryStatus.Delivered, first.Status);
        Assert.NotNull(first.Connection!.Tls);
        Assert.Equal("", server.Connections.Single().ReceivedInClear);
        Assert.Equal("", server.Connections.Single().FirstTlsFlight); // waited for the banner
        // Every EHLO on such a port is a TLS-phase one: that is where the record keeps it.
        AwaitRecord(server.EndPoint, r => r is not null && r.Tls.HasFlag(ActorMta.Destinations.EhloFeatures.PipeConnect));

        var job = await JobAsync(server.EndPoint, Body, "u@remote.test");
        var second = Deliver(agent, job).Outcomes.Single();

        var connection = server.Connections.ToArray()[1];
        Assert.Equal("", connection.ReceivedInClear);
        Assert.Equal($"EHLO client.test\r\nMAIL FROM:<a@client.test> SIZE={Body.Length}\r\nRCPT TO:<u@remote.test>\r\nBDAT {Body.Length} LAST\r\n{Body}QUIT\r\n",
            connection.FirstTlsFlight);
        Assert.Equal(DeliveryStatus.Delivered, second.Status);
        Assert.Matches(@" X=TLS1\.[23]:\S+ CV=yes L\* K C=", DeliveryLogLine.Format(job.Envelope, second));
    }

    public new void Dispose()
    {
        _certificate.Dispose();
        _ca.Dispose();
        base.Dispose();
    }
}
