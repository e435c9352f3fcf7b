using System.Net;
using System.Security.Cryptography.X509Certificates;
using ActorMta.Configuration;
using ActorMta.Destinations;
using ActorMta.Outbound;
using ActorMta.Routing;
using ActorMta.Smtp;
using ActorMta.Tests.Shared;
using ActorMta.Tests.Support;
using Xunit.Abstractions;

namespace ActorMta.Tests.Outbound;

/// <summary>
/// EHLO+AUTH as one early flight (spec Part B 3.4 case 4) on a smarthost route with credentials,
/// against the scripted server: the exact bytes before the banner in clear text, after the
/// handshake over STARTTLS and on a TLS-on-connect port; LOGIN's flight; a server that no longer
/// offers AUTH (503: deferred, record forgotten); no credentials ever in a clear-text flight unless
/// the route allows it.
/// </summary>
public sealed class EarlyAuthClientTests : OutboundTestKit, IDisposable
{
    private const string Body = "Subject: auth\r\n\r\nHello with AUTH\r\n";
    private const string PlainAlice = "AGFsaWNlAHdvbmRlcmxhbmQ="; // base64 of "\0alice\0wonderland"

    private static readonly string[] Clear = ["SIZE 1000000", "PIPELINING", "PIPECONNECT", "CHUNKING", "AUTH PLAIN LOGIN"];

    private readonly TestCertificates _ca = TestCertificates.CreateAuthority();
    private readonly X509Certificate2 _certificate;

    public EarlyAuthClientTests(ITestOutputHelper output) : base(output)
    {
        _certificate = _ca.IssueServer(["fake.test"]);
    }

    private OutboundSettings TlsSettings(int? tlsOnConnectPort = null) => Settings() with
    {
        Tls = OutboundTlsSettings.Default with
        {
            TrustedRoots = [_ca.Authority],
            TlsOnConnectPorts = tlsOnConnectPort is { } port ? new HashSet<int> { port } : new HashSet<int>(),
        },
    };

    private async Task<OutboundJob> AuthJobAsync(IPEndPoint server, bool allowCleartext)
    {
        var job = await JobAsync(server, Body, "u@remote.test");
        return job with { Route = job.Route with { Auth = new SmarthostAuth("alice", "wonderland", allowCleartext) } };
    }

    /// <summary>
    /// Every connection: record what arrives before the banner (or, on a TLS-on-connect port, in the TLS session
    /// before it), answer EHLO with <paramref name="keywords"/>(connection, tls), STARTTLS with a real handshake
    /// after which the first TLS flight is recorded, and AUTH PLAIN or LOGIN for alice; AUTH when the last EHLO
    /// reply did not offer it gets Exim's 503.
    /// </summary>
    private Func<FakeConnection, int, Task> Server(Func<int, bool, string[]> keywords, bool tlsOnConnect = false) => async (c, number) =>
    {
        var wait = TimeSpan.FromMilliseconds(300);
        if (tlsOnConnect)
        {
            await c.StartTlsAsync(_certificate);
            await c.CaptureAfterTlsAsync(wait);
        }
        else
        {
            await c.CaptureBeforeBannerAsync(wait);
        }
        await c.SendAsync("220 fake.test ESMTP\r\n");
        var offered = Array.Empty<string>();
        string? login = null; // the LOGIN value asked for next
        await FakeSmtpServer.ServeAsync(c, [], handle: async line =>
        {
            if (login is not null)
            {
                var ok = line == (login == "user" ? "YWxpY2U=" : "d29uZGVybGFuZA==");
                login = ok && login == "user" ? "password" : null;
                await c.SendAsync(!ok ? "535 5.7.8 Incorrect authentication data\r\n" : login is null ? "235 2.7.0 Authentication succeeded\r\n" : "334 UGFzc3dvcmQ6\r\n");
                return true;
            }
            var verb = line.Split(' ')[0].ToUpperInvariant();
            switch (verb)
            {
                case "EHLO":
                    offered = keywords(number, c.IsTls);
                    var lines = new[] { "fake.test hello" }.Concat(offered).ToArray();
                    await c.SendAsync(string.Concat(lines.Select((l, i) => (i == lines.Length - 1 ? "250 " : "250-") + l + "\r\n")));
                    return true;
                case "STARTTLS" when !c.IsTls:
                    await c.SendAsync("220 2.0.0 Ready to start TLS\r\n");
                    await c.StartTlsAsync(_certificate);
                    await c.CaptureAfterTlsAsync(wait);
                    return true;
                case "AUTH" when !offered.Any(k => k.StartsWith("AUTH ", StringComparison.Ordinal)):
                    await c.SendAsync("503 AUTH command used when not advertised\r\n");
                    return true;
                case "AUTH" when line == $"AUTH PLAIN {PlainAlice}":
                    await c.SendAsync("235 2.7.0 Authentication succeeded\r\n");
                    return true;
                case "AUTH" when line == "AUTH LOGIN":
                    login = "user";
                    await c.SendAsync("334 VXNlcm5hbWU6\r\n");
                    return true;
                case "AUTH":
                    await c.SendAsync("535 5.7.8 Incorrect authentication data\r\n");
                    return true;
                default:
                    return false;
            }
        });
    };

    private static string Transaction => $"MAIL FROM:<a@client.test> SIZE={Body.Length}\r\nRCPT TO:<u@remote.test>\r\nBDAT {Body.Length} LAST\r\n{Body}QUIT\r\n";

    [Fact]
    public async Task InClearTextTheSecondConnectionSendsEhloAndAuthPlainBeforeTheBannerThenTheTransactionAfterThe235()
    {
        await using var server = new FakeSmtpServer(Server((_, _) => Clear));
        var agent = Agent(Settings());
        var first = Deliver(agent, await AuthJobAsync(server.EndPoint, allowCleartext: true)).Outcomes.Single();
        Assert.Equal(DeliveryStatus.Delivered, first.Status);
        Assert.Equal("", server.Connections.Single().BeforeBanner);
        AwaitRecord(server.EndPoint, r => r is not null && r.CleartextAuth.Contains("PLAIN"));

        var job = await AuthJobAsync(server.EndPoint, allowCleartext: true);
        var outcome = Deliver(agent, job).Outcomes.Single();

        var second = server.Connections.ToArray()[1];
        Assert.Equal($"EHLO client.test\r\nAUTH PLAIN {PlainAlice}\r\n", second.BeforeBanner);
        Assert.Equal($"EHLO client.test\r\nAUTH PLAIN {PlainAlice}\r\n" + Transaction, second.Received);
        Assert.Equal(DeliveryStatus.Delivered, outcome.Status);
        Assert.Matches(@"=> u@remote\.test R=smarthost T=remote_smtp H=fake\.test \[127\.0\.0\.1\]:\d+ A=plain:alice L\* K C=""250 OK chunk"" DT=",
            DeliveryLogLine.Format(job.Envelope, outcome));
    }

    [Fact]
    public async Task WithOnlyLoginOfferedTheEarlyFlightCarriesAuthLoginAndThePromptsAreAnsweredAfterIt()
    {
        string[] loginOnly = ["SIZE 1000000", "PIPELINING", "PIPECONNECT", "CHUNKING", "AUTH LOGIN"];
        await using var server = new FakeSmtpServer(Server((_, _) => loginOnly));
        var agent = Agent(Settings());
        Deliver(agent, await AuthJobAsync(server.EndPoint, allowCleartext: true));
        AwaitRecord(server.EndPoint, r => r is not null && r.CleartextAuth.Contains("LOGIN"));

        var job = await AuthJobAsync(server.EndPoint, allowCleartext: true);
        var outcome = Deliver(agent, job).Outcomes.Single();

        var second = server.Connections.ToArray()[1];
        Assert.Equal("EHLO client.test\r\nAUTH LOGIN\r\n", second.BeforeBanner);
        Assert.Equal("EHLO client.test\r\nAUTH LOGIN\r\nYWxpY2U=\r\nd29uZGVybGFuZA==\r\n" + Transaction, second.Received);
        Assert.Equal(DeliveryStatus.Delivered, outcome.Status);
        Assert.Matches(@" A=login:alice L\* K C=", DeliveryLogLine.Format(job.Envelope, outcome));
    }

    [Fact]
    public async Task OverStartTlsTheClearFlightIsEhloStartTlsAndAuthGoesWithTheEhloRightAfterTheHandshake()
    {
        // AUTH only under TLS, as a submission server offers it; the route does not allow clear-text AUTH.
        string[] clear = ["SIZE 1000000", "PIPELINING", "PIPECONNECT", "CHUNKING", "STARTTLS"];
        string[] tls = ["SIZE 1000000", "PIPELINING", "PIPECONNECT", "CHUNKING", "AUTH PLAIN LOGIN"];
        await using var server = new FakeSmtpServer(Server((_, inTls) => inTls ? tls : clear));
        var agent = Agent(TlsSettings());
        var first = Deliver(agent, await AuthJobAsync(server.EndPoint, allowCleartext: false)).Outcomes.Single();
        Assert.Equal(DeliveryStatus.Delivered, first.Status);
        AwaitRecord(server.EndPoint, r => r is not null && r.TlsAuth.Contains("PLAIN") && r.CleartextAuth.Count == 0);

        var job = await AuthJobAsync(server.EndPoint, allowCleartext: false);
        var outcome = Deliver(agent, job).Outcomes.Single();

        var second = server.Connections.ToArray()[1];
        Assert.Equal("EHLO client.test\r\nSTARTTLS\r\n", second.BeforeBanner);
        Assert.Equal("EHLO client.test\r\nSTARTTLS\r\n", second.ReceivedInClear);
        Assert.Equal($"EHLO client.test\r\nAUTH PLAIN {PlainAlice}\r\n", second.FirstTlsFlight);
        Assert.Equal(DeliveryStatus.Delivered, outcome.Status);
        Assert.Matches(@" X=TLS1\.[23]:\S+ CV=yes A=plain:alice L\* K C=""250 OK chunk""", DeliveryLogLine.Format(job.Envelope, outcome));
    }

    [Fact]
    public async Task OnATlsOnConnectPortEhloAndAuthLeaveRightAfterTheHandshakeBeforeTheBanner()
    {
        await using var server = new FakeSmtpServer(Server((_, _) => Clear, tlsOnConnect: true));
        var agent = Agent(TlsSettings(tlsOnConnectPort: server.EndPoint.Port));
        Deliver(agent, await AuthJobAsync(server.EndPoint, allowCleartext: false));
        Assert.Equal("", server.Connections.Single().FirstTlsFlight);
        AwaitRecord(server.EndPoint, r => r is not null && r.TlsAuth.Contains("PLAIN"));

        var job = await AuthJobAsync(server.EndPoint, allowCleartext: false);
        var outcome = Deliver(agent, job).Outcomes.Single();

        var second = server.Connections.ToArray()[1];
        Assert.Equal("", second.ReceivedInClear);
        Assert.Equal($"EHLO client.test\r\nAUTH PLAIN {PlainAlice}\r\n", second.FirstTlsFlight);
        Assert.Equal(DeliveryStatus.Delivered, outcome.Status);
        Assert.Matches(@" X=TLS1\.[23]:\S+ CV=yes A=plain:alice L\* K C=", DeliveryLogLine.Format(job.Envelope, outcome));
    }

    [Fact]
    public async Task AServerThatNoLongerOffersAuthAnswers503TheMessageIsDeferredUnsentAndTheRecordForgotten()
    {
        string[] withoutAuth = ["SIZE 1000000", "PIPELINING", "PIPECONNECT", "CHUNKING"];
        await using var server = new FakeSmtpServer(Server((number, _) => number == 1 ? Clear : withoutAuth));
        var agent = Agent(Settings());
        Deliver(agent, await AuthJobAsync(server.EndPoint, allowCleartext: true));
        AwaitRecord(server.EndPoint, r => r is not null && r.CleartextAuth.Contains("PLAIN"));

        var outcome = Deliver(agent, await AuthJobAsync(server.EndPoint, allowCleartext: true)).Outcomes.Single();

        var second = server.Connections.ToArray()[1];
        Assert.Equal($"EHLO client.test\r\nAUTH PLAIN {PlainAlice}\r\n", second.BeforeBanner);
        Assert.DoesNotContain("MAIL FROM", second.Received);
        Assert.Equal(DeliveryStatus.Deferred, outcome.Status);
        Assert.Contains("SMTP AUTH PLAIN as alice refused by fake.test [127.0.0.1]:", outcome.Text);
        Assert.Contains(": 503 AUTH command used when not advertised (AUTH was sent early from the remembered EHLO reply, which is now forgotten)", outcome.Text);
        Assert.Null(AwaitRecord(server.EndPoint, r => r is null));
        Assert.Equal(2, server.ConnectionCount); // deferred: no reconnect on the same attempt
    }

    [Fact]
    public async Task ARouteThatDoesNotAllowClearTextAuthNeverPutsCredentialsInAClearTextEarlyFlight()
    {
        await using var server = new FakeSmtpServer(Server((_, _) => Clear));
        var agent = Agent(Settings());
        // Learned by a route without credentials (early pipelining works for it), then used by one that logs in.
        var plain = await JobAsync(server.EndPoint, Body, "u@remote.test");
        Assert.Equal(DeliveryStatus.Delivered, Deliver(agent, plain).Outcomes.Single().Status);
        AwaitRecord(server.EndPoint, r => r is not null && r.CleartextAuth.Contains("PLAIN"));

        var outcome = Deliver(agent, await AuthJobAsync(server.EndPoint, allowCleartext: false)).Outcomes.Single();

        var second = server.Connections.ToArray()[1];
        Assert.Equal("", second.BeforeBanner); // not early: the flight could only have been EHLO+AUTH in clear
        Assert.DoesNotContain("AUTH", second.Received);
        Assert.Equal(DeliveryStatus.Deferred, outcome.Status);
        Assert.Contains("needs TLS, and the connection is not encrypted", outcome.Text);
        Assert.NotNull(State(server.EndPoint).Record);
    }

    public new void Dispose()
    {
        _certificate.Dispose();
        _ca.Dispose();
        base.Dispose();
    }
}
