using System.Diagnostics;
using System.Net;
using System.Text;
using Akka.Actor;
using Akka.Configuration;
using ActorMta.Configuration;
using ActorMta.Destinations;
using ActorMta.Outbound;
using ActorMta.Routing;
using ActorMta.Smtp;
using ActorMta.Spool;
using Microsoft.Data.Sqlite;
using Envelope = ActorMta.Spool.Envelope;

namespace ActorMta.Benchmarks.RoundTrips;

/// <summary>
/// ActorMta's outbound half in this process: spool, Destinations (SQLite), DeliveryAgent. Jobs are
/// handed to the agent directly, as the queue manager will do; the clock runs from the hand-over
/// to the <see cref="RemoteDeliveryResult"/> (connect, flight, replies; the message is spooled before).
/// </summary>
internal sealed class ClientRig : IAsyncDisposable
{
    private const string Recipient = "u@bench.example";

    /// <summary>The server's name as the route gives it: the TLS name check and SNI use it.</summary>
    public const string ServerName = "server.bench.example";
    private static readonly byte[] Body = MakeBody();

    private readonly string _dir;
    private readonly ActorSystem _system;
    private readonly MessageSpool _spool;
    private readonly IActorRef _destinations;
    private readonly IActorRef _agent;

    private ClientRig(string dir, ActorSystem system, MessageSpool spool, IActorRef destinations, IActorRef agent)
    {
        _dir = dir;
        _system = system;
        _spool = spool;
        _destinations = destinations;
        _agent = agent;
    }

    /// <param name="pipeConnect">hosts-pipe-connect = * or unset.</param>
    /// <param name="maxConnections">The destination's connection budget (1: every job shares one connection).</param>
    /// <param name="tls">Clear text (STARTTLS avoided, as the cleartext rows need now that servers offer it), STARTTLS, or TLS on connect.</param>
    /// <param name="fastOpen">hosts-try-fastopen = *.</param>
    /// <param name="authority">The CA the server certificate is checked against (hosts-verify-tls = *).</param>
    public static Task<ClientRig> StartAsync(bool pipeConnect, int maxConnections, TlsMode tls = TlsMode.None, bool fastOpen = false,
        System.Security.Cryptography.X509Certificates.X509Certificate2? authority = null)
    {
        var dir = Directory.CreateTempSubdirectory("actormta-rtt-client-").FullName;
        var config = ConfigurationFactory.ParseString("akka.loglevel = WARNING\nakka.stdout-loglevel = WARNING")
            .WithFallback(DestinationPersistence.Config(Path.Combine(dir, "destinations.db")));
        var system = ActorSystem.Create("rtt", config);
        var spool = new MessageSpool(new SpoolSettings(Path.Combine(dir, "spool"), Fsync: false));
        var destinations = system.ActorOf(Destinations.Destinations.Props(DestinationSettings.Default with { MaxConnections = maxConnections }), "destinations");
        var settings = OutboundSettings.Default("client.bench.example") with
        {
            HostsPipeConnect = pipeConnect ? HostList.Parse(["*"]) : HostList.Empty,
            ConnectTimeout = TimeSpan.FromSeconds(10),
            CommandTimeout = TimeSpan.FromSeconds(30),
            // Each message measures a new connection: no idle connection may carry the next one.
            IdleConnectionTimeout = TimeSpan.Zero,
            HostsTryFastOpen = fastOpen ? HostList.Parse(["*"]) : HostList.Empty,
            Tls = OutboundTlsSettings.Default with
            {
                HostsAvoidTls = tls == TlsMode.None ? HostList.Parse(["*"]) : HostList.Empty,
                HostsVerifyTls = authority is null ? HostList.Empty : HostList.Parse(["*"]),
                TrustedRoots = authority is null ? null : [authority],
                TlsOnConnectPorts = new HashSet<int> { TlsRoundTrips.ActorMtaTlsOnConnectPort },
            },
        };
        var agent = system.ActorOf(DeliveryAgent.Props(settings, spool, destinations), "delivery");
        return Task.FromResult(new ClientRig(dir, system, spool, destinations, agent));
    }

    /// <summary>
    /// One message on its own connection (nothing else waits, so QUIT rides with it): wall time from
    /// the hand-over to the result, and the session's own DT (connect to final reply), in milliseconds.
    /// </summary>
    public async Task<(double Wall, double Dt)> DeliverOneAsync(IPEndPoint server)
    {
        var job = await SpoolAsync(server);
        var sw = Stopwatch.StartNew();
        var result = await _agent.Ask<RemoteDeliveryResult>(new DeliverRemote(job), TimeSpan.FromSeconds(60));
        var elapsed = sw.Elapsed.TotalMilliseconds;
        Check(result);
        LastFlags = result.Outcomes[0].Connection is { } facts
            ? $"{(facts.FastOpen ? "TFO* " : "")}X={facts.Tls ?? "-"} CV={(facts.CertificateVerified ? "yes" : "no")} L{(facts.EarlyPipelined ? "*" : "")}"
            : "";
        return (elapsed, result.Outcomes[0].Connection?.DeliveryTime.TotalMilliseconds ?? double.NaN);
    }

    /// <summary>
    /// <paramref name="count"/> messages handed over at once: with a budget of one connection they
    /// queue behind the first and go over the same connection. Returns each completion time (ms from
    /// the hand-over), in order.
    /// </summary>
    public async Task<IReadOnlyList<double>> DeliverBatchAsync(IPEndPoint server, int count)
    {
        var jobs = new List<OutboundJob>();
        for (var i = 0; i < count; i++) jobs.Add(await SpoolAsync(server));
        var done = new List<double>();
        var sw = Stopwatch.StartNew();
        var tasks = jobs.Select(async job =>
        {
            var result = await _agent.Ask<RemoteDeliveryResult>(new DeliverRemote(job), TimeSpan.FromSeconds(120));
            var at = sw.Elapsed.TotalMilliseconds;
            Check(result);
            lock (done) done.Add(at);
        }).ToList();
        await Task.WhenAll(tasks);
        return done.OrderBy(t => t).ToList();
    }

    /// <summary>The TLS fields and early-pipelining flag of the last delivery, as its => line shows them.</summary>
    public string LastFlags { get; private set; } = "";

    /// <param name="tlsPhase">Wait for the TLS-phase part too (written after the EHLO that follows the handshake).</param>
    public async Task WaitForRecordAsync(IPEndPoint server, bool tlsPhase = false)
    {
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(10);
        while ((await _destinations.Ask<DestinationState>(
                   new GetDestinationState(new DestinationKey(server.Address, server.Port)), TimeSpan.FromSeconds(5))).Record is not { } record
               || (tlsPhase && !record.Tls.HasFlag(EhloFeatures.PipeConnect)))
        {
            if (DateTime.UtcNow > deadline) throw new TimeoutException($"no early-pipelining record for {server}");
            await Task.Delay(20);
        }
    }

    private async Task<OutboundJob> SpoolAsync(IPEndPoint server)
    {
        var envelope = new Envelope(_spool.NewMessageId(), "bench@client.bench.example", [new EnvelopeRecipient(Recipient, null, null)],
            DateTimeOffset.Now, "client.bench.example", "127.0.0.1", 40000, "esmtp", null, false, null, null, null, Body.Length);
        await _spool.StoreAsync(envelope, [Body]);
        var hop = new NextHop(ServerName, server.Address, server.Port, 0);
        return new OutboundJob(envelope, [0], new RemoteRoute("smarthost", [hop]));
    }

    private static void Check(RemoteDeliveryResult result)
    {
        foreach (var outcome in result.Outcomes)
        {
            if (outcome.Status != DeliveryStatus.Delivered)
                throw new InvalidOperationException($"delivery {result.Job.MessageId}: {outcome.Status} {outcome.Text}");
        }
    }

    /// <summary>About 1 KB: a Received header as ActorMta writes one, a small header block and text.</summary>
    private static byte[] MakeBody()
    {
        var sb = new StringBuilder();
        sb.Append("Received: from client.bench.example ([127.0.0.1]:40000)\r\n\tby relay.bench.example with esmtp (ActorMta)\r\n\tid bench; Sun, 29 Nov 2026 12:00:00 +0000\r\n");
        sb.Append("Message-ID: <bench@client.bench.example>\r\nDate: Sun, 29 Nov 2026 12:00:00 +0000\r\n");
        sb.Append("From: bench@client.bench.example\r\nTo: u@bench.example\r\nSubject: round trips\r\n\r\n");
        for (var i = 0; i < 12; i++) sb.Append("The quick brown fox jumps over the lazy dog, line ").Append(i).Append(".\r\n");
        return Encoding.ASCII.GetBytes(sb.ToString());
    }

    public async ValueTask DisposeAsync()
    {
        await _system.Terminate();
        SqliteConnection.ClearAllPools();
        try { Directory.Delete(_dir, recursive: true); } catch (IOException) { }
    }
}
