using System.Diagnostics;
using System.Net;
using System.Text;
using Akka.Actor;
using ActorMta.Configuration;
using ActorMta.Destinations;
using ActorMta.Outbound;
using ActorMta.Smtp;
using ActorMta.Tests.Shared;

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

    private readonly StandaloneOutbound _outbound;

    private ClientRig(StandaloneOutbound outbound) => _outbound = outbound;

    /// <param name="pipeConnect">hosts-pipe-connect = * or unset.</param>
    /// <param name="maxConnections">The destination's connection budget (1: every job shares one connection).</param>
    /// <param name="tls">Clear text (STARTTLS avoided, as the cleartext rows need now that servers offer it), STARTTLS, or TLS on connect.</param>
    /// <param name="fastOpen">hosts-try-fastopen = *.</param>
    /// <param name="authority">The CA the server certificate is checked against (hosts-verify-tls = *).</param>
    public static Task<ClientRig> StartAsync(bool pipeConnect, int maxConnections, TlsMode tls = TlsMode.None, bool fastOpen = false,
        System.Security.Cryptography.X509Certificates.X509Certificate2? authority = null)
    {
        // Each message measures a new connection: the shared settings allow no idle connection to carry the next one.
        var settings = OutboundParts.Settings("client.bench.example", pipeConnect, TimeSpan.FromSeconds(10), TimeSpan.FromSeconds(30)) with
        {
            HostsTryFastOpen = fastOpen ? HostList.Parse(["*"]) : HostList.Empty,
            Tls = OutboundTlsSettings.Default with
            {
                HostsAvoidTls = tls == TlsMode.None ? HostList.Parse(["*"]) : HostList.Empty,
                HostsVerifyTls = authority is null ? HostList.Empty : HostList.Parse(["*"]),
                TrustedRoots = authority is null ? null : [authority],
                TlsOnConnectPorts = new HashSet<int> { TlsRoundTrips.ActorMtaTlsOnConnectPort },
            },
        };
        var outbound = StandaloneOutbound.Start("rtt", settings, DestinationSettings.Default with { MaxConnections = maxConnections });
        return Task.FromResult(new ClientRig(outbound));
    }

    /// <summary>
    /// One message on its own connection (nothing else waits, so QUIT rides with it): wall time from
    /// the hand-over to the result, and the session's own DT (connect to final reply), in milliseconds.
    /// </summary>
    public async Task<(double Wall, double Dt)> DeliverOneAsync(IPEndPoint server)
    {
        var job = await SpoolAsync(server);
        var sw = Stopwatch.StartNew();
        var result = await _outbound.Agent.Ask<RemoteDeliveryResult>(new DeliverRemote(job), TimeSpan.FromSeconds(60));
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
            var result = await _outbound.Agent.Ask<RemoteDeliveryResult>(new DeliverRemote(job), TimeSpan.FromSeconds(120));
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
        await OutboundParts.WaitForRecordAsync(_outbound.Destinations, server,
            record => record is not null && (!tlsPhase || record.Tls.HasFlag(EhloFeatures.PipeConnect)), TimeSpan.FromSeconds(10));
    }

    private Task<OutboundJob> SpoolAsync(IPEndPoint server) =>
        OutboundParts.SpoolJobAsync(_outbound.Spool, "bench@client.bench.example", [Recipient], Body, OutboundParts.Route(ServerName, server));

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

    public ValueTask DisposeAsync() => _outbound.DisposeAsync();
}
