using System.Net;
using ActorMta.Tests.Shared;

namespace ActorMta.Benchmarks.RoundTrips;

/// <summary>How a scenario's client reaches the server: clear text (STARTTLS avoided), STARTTLS, or TLS from the first byte.</summary>
internal enum TlsMode { None, StartTls, OnConnect }

/// <summary>
/// A CA made for this run and one server certificate for both servers (their names and the server
/// address), as PEM files in a scratch folder; clients trust the CA and verify the certificate.
/// </summary>
internal sealed class BenchCertificates : IDisposable
{
    private readonly TestCertificates _ca;
    private readonly string _dir;

    private BenchCertificates(TestCertificates ca, string dir, string certificatePath, string keyPath, string caPath)
    {
        _ca = ca;
        _dir = dir;
        CertificatePath = certificatePath;
        KeyPath = keyPath;
        CaPath = caPath;
    }

    public string CertificatePath { get; }
    public string KeyPath { get; }
    public string CaPath { get; }
    public System.Security.Cryptography.X509Certificates.X509Certificate2 Authority => _ca.Authority;

    public static BenchCertificates Create(IPAddress serverAddress)
    {
        var ca = TestCertificates.CreateAuthority("ActorMta Benchmark CA");
        var dir = Directory.CreateTempSubdirectory("actormta-rtt-pki-").FullName;
        File.SetUnixFileMode(dir, (UnixFileMode)0b111_101_101);
        using var leaf = ca.IssueServer([ClientRig.ServerName, NamespacedEximServer.Hostname], [serverAddress]);
        var (certificate, key) = ca.WritePem(leaf, dir);
        var caPath = ca.WriteAuthorityPem(dir);
        return new BenchCertificates(ca, dir, certificate, key, caPath);
    }

    public void Dispose()
    {
        _ca.Dispose();
        try { Directory.Delete(_dir, recursive: true); } catch (IOException) { }
    }
}

/// <summary>
/// The TLS rows of the round-trip benchmark: one message per new connection with early pipelining,
/// over STARTTLS (spec rule 10: EHLO,STARTTLS before the banner, then EHLO and the transaction in one
/// TLS write) and over TLS on connect (EHLO and the transaction right after the handshake), each
/// without and with TCP Fast Open, ActorMta to ActorMta and Exim to Exim alternating message by message.
/// Targets (issue 4): STARTTLS 4 RTT, 3 with TFO; TLS on connect 3 RTT, 2 with TFO.
/// </summary>
internal static class TlsRoundTrips
{
    public const int ActorMtaTlsOnConnectPort = 2465;
    public const int EximTlsOnConnectPort = 2466;

    public static async Task<IReadOnlyList<RoundTripBenchmark.Row>> RunAsync(RoundTripBenchmark.Options o,
        NamespacedActorMtaServer actorServer, NamespacedEximServer? eximServer, BenchCertificates pki)
    {
        var rows = new List<RoundTripBenchmark.Row>();
        foreach (var (mode, fastOpen) in new[] { (TlsMode.StartTls, false), (TlsMode.StartTls, true), (TlsMode.OnConnect, false), (TlsMode.OnConnect, true) })
        {
            var what = (mode == TlsMode.StartTls ? "STARTTLS" : "TLS on connect") + ", early pipelining" + (fastOpen ? ", TCP Fast Open" : "");
            var actorTarget = mode == TlsMode.OnConnect ? new IPEndPoint(actorServer.EndPoint.Address, ActorMtaTlsOnConnectPort) : actorServer.EndPoint;
            await using var rig = o.ActorMta ? await ClientRig.StartAsync(pipeConnect: true, maxConnections: 20, mode, fastOpen, pki.Authority) : null;
            await using var exim = eximServer is null ? null : await NamespacedEximClient.CreateAsync(
                mode == TlsMode.OnConnect ? new IPEndPoint(eximServer.EndPoint.Address, EximTlsOnConnectPort) : eximServer.EndPoint,
                pipeConnect: true, mode, fastOpen, pki.CaPath);
            if (rig is not null)
            {
                rows.Add(RoundTripBenchmark.RowOf($"ActorMta -> ActorMta, first contact, {what}", [await rig.DeliverOneAsync(actorTarget)]));
                await rig.WaitForRecordAsync(actorTarget, tlsPhase: true);
                await rig.DeliverOneAsync(actorTarget); // warm-up (and the TFO cookie), not counted
            }
            if (exim is not null)
            {
                rows.Add(RoundTripBenchmark.RowOf($"Exim -> Exim, first contact, {what}", [await exim.DeliverOneAsync()]));
                await exim.DeliverOneAsync();
            }
            var actorTimes = new List<(double, double)>();
            var eximTimes = new List<(double, double)>();
            for (var i = 0; i < o.Messages; i++)
            {
                if (rig is not null) actorTimes.Add(await rig.DeliverOneAsync(actorTarget));
                if (exim is not null) eximTimes.Add(await exim.DeliverOneAsync());
            }
            if (rig is not null)
            {
                rows.Add(RoundTripBenchmark.RowOf($"ActorMta -> ActorMta, new connection, {what}", actorTimes));
                Console.WriteLine($"  ActorMta last => line fields ({what}): {rig.LastFlags}");
            }
            if (exim is not null)
            {
                rows.Add(RoundTripBenchmark.RowOf($"Exim -> Exim, new connection, {what}", eximTimes));
                Console.WriteLine($"  Exim last => line ({what}): {exim.LastDeliveryLine}");
            }
        }
        return rows;
    }
}
