using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using System.Text;
using ActorMta.Benchmarks.Support;

namespace ActorMta.Benchmarks.RoundTrips;

/// <summary>
/// <c>roundtrips</c>: wall time per message over a link with a fixed delay, in round trips.
/// Runs in the client namespace (see run-roundtrips.sh, which builds the link); starts the servers
/// in the server namespace with <c>ip netns exec</c>. In one run:
/// <list type="bullet">
/// <item>the RTT itself: the median TCP connect time to the server (SYN, SYN-ACK = one round trip);</item>
/// <item>ActorMta client → ActorMta server, one message per new connection, early pipelining on and
///   off (CHUNKING on): from handing the job to the delivery agent to its result;</item>
/// <item>ActorMta on one reused connection: per additional message;</item>
/// <item>Exim client → Exim server, one message per new connection (<c>exim -M</c> per message),
///   <c>hosts_pipe_connect = *</c> and unset.</item>
/// </list>
/// The first delivery of each early-pipelining series learns the server's features and is not
/// counted (it is shown separately as "first contact").
/// </summary>
public static class RoundTripBenchmark
{
    public sealed record Options(string ServerNamespace, IPAddress ServerAddress, int Messages, double NominalRttMs, bool Exim, bool ActorMta)
    {
        /// <summary><c>--tls</c>: "on" (cleartext and TLS scenarios), "off" (cleartext only), "only" (TLS only).</summary>
        public string Tls { get; init; } = "on";
    }

    /// <param name="Milliseconds">Wall time per message.</param>
    /// <param name="DeliveryTimes">The client's own DT= per message (connect to final reply), when it has one.</param>
    internal sealed record Row(string Name, IReadOnlyList<double> Milliseconds, IReadOnlyList<double>? DeliveryTimes = null);

    internal static Row RowOf(string name, IReadOnlyList<(double Wall, double Dt)> samples) =>
        new(name, samples.Select(s => s.Wall).ToList(), samples.Select(s => s.Dt).ToList());

    public static async Task<int> RunAsync(Options o)
    {
        var rows = new List<Row>();
        double rtt;
        // Both servers offer STARTTLS and listen for TLS on connect too, with a certificate from a CA made here.
        using var pki = BenchCertificates.Create(o.ServerAddress);
        await using (var actorServer = await NamespacedActorMtaServer.StartAsync(o.ServerNamespace, new IPEndPoint(o.ServerAddress, 2525),
                         new IPEndPoint(o.ServerAddress, TlsRoundTrips.ActorMtaTlsOnConnectPort), pki))
        await using (var eximServer = o.Exim ? await NamespacedEximServer.StartAsync(o.ServerNamespace, new IPEndPoint(o.ServerAddress, 2526),
                         TlsRoundTrips.EximTlsOnConnectPort, pki) : null)
        {
            rtt = await MeasureRttAsync(actorServer.EndPoint, 20);
            Console.WriteLine($"RTT (median TCP connect over 20): {rtt:F2} ms (nominal {o.NominalRttMs} ms)");
            if (o.Tls == "only")
            {
                rows.AddRange(await TlsRoundTrips.RunAsync(o, actorServer, eximServer, pki));
                Print(rows, rtt, o.NominalRttMs);
                return 0;
            }

            // One message per new connection, with and without early pipelining. ActorMta and Exim
            // alternate message by message, so a change in the machine's load hits both alike.
            foreach (var pipeConnect in new[] { true, false })
            {
                var mode = pipeConnect ? "early pipelining" : "no early pipelining";
                await using var rig = o.ActorMta ? await ClientRig.StartAsync(pipeConnect, maxConnections: 20) : null;
                await using var exim = eximServer is null ? null : await NamespacedEximClient.CreateAsync(eximServer.EndPoint, pipeConnect);
                if (rig is not null)
                {
                    var first = await rig.DeliverOneAsync(actorServer.EndPoint);
                    if (pipeConnect)
                    {
                        rows.Add(RowOf("ActorMta -> ActorMta, first contact (cold process, learns)", [first]));
                        await rig.WaitForRecordAsync(actorServer.EndPoint);
                    }
                    await rig.DeliverOneAsync(actorServer.EndPoint); // warm-up of this path, not counted
                }
                if (exim is not null)
                {
                    var first = await exim.DeliverOneAsync();
                    if (pipeConnect) rows.Add(RowOf("Exim -> Exim, first contact (learns)", [first]));
                    await exim.DeliverOneAsync(); // warm-up, not counted
                }
                var actorTimes = new List<(double, double)>();
                var eximTimes = new List<(double, double)>();
                for (var i = 0; i < o.Messages; i++)
                {
                    if (rig is not null) actorTimes.Add(await rig.DeliverOneAsync(actorServer.EndPoint));
                    if (exim is not null) eximTimes.Add(await exim.DeliverOneAsync());
                }
                if (rig is not null) rows.Add(RowOf($"ActorMta -> ActorMta, new connection, {mode}", actorTimes));
                if (exim is not null) rows.Add(RowOf($"Exim -> Exim, new connection, {(pipeConnect ? "hosts_pipe_connect = *" : mode)}", eximTimes));
            }

            // ActorMta, one connection: a batch handed over at once with a budget of one connection.
            if (o.ActorMta)
            {
                await using var rig = await ClientRig.StartAsync(pipeConnect: true, maxConnections: 1);
                await rig.DeliverOneAsync(actorServer.EndPoint); // learns
                await rig.WaitForRecordAsync(actorServer.EndPoint);
                var done = await rig.DeliverBatchAsync(actorServer.EndPoint, o.Messages + 1);
                var perAdditional = new List<double>();
                for (var i = 1; i < done.Count; i++) perAdditional.Add(done[i] - done[i - 1]);
                rows.Add(new Row("ActorMta -> ActorMta, first of a batch (new connection, early)", [done[0]]));
                rows.Add(new Row("ActorMta -> ActorMta, each additional message, reused connection", perAdditional));
            }

            if (o.Tls == "on") rows.AddRange(await TlsRoundTrips.RunAsync(o, actorServer, eximServer, pki));
        }

        Print(rows, rtt, o.NominalRttMs);
        return 0;
    }

    /// <summary>Median TCP connect time: the SYN and SYN-ACK cross the link once each.</summary>
    private static async Task<double> MeasureRttAsync(IPEndPoint server, int samples)
    {
        var times = new List<double>();
        for (var i = 0; i < samples; i++)
        {
            using var socket = new Socket(server.AddressFamily, SocketType.Stream, ProtocolType.Tcp);
            var sw = Stopwatch.StartNew();
            await socket.ConnectAsync(server);
            times.Add(sw.Elapsed.TotalMilliseconds);
            socket.Close(0);
            await Task.Delay(20);
        }
        return Stats.Median(times);
    }

    private static void Print(IReadOnlyList<Row> rows, double rtt, double nominal)
    {
        Console.WriteLine();
        Console.WriteLine($"Round trips per message. RTT = median wall time / measured RTT ({rtt:F2} ms); min RTT = fastest / nominal RTT ({nominal} ms);");
        Console.WriteLine("DT = the client's own delivery time (Exim's DT= with +millisec: connect to final reply; ActorMta's session DT), median / measured RTT, min / nominal RTT.");
        Console.WriteLine($"{"scenario",-86} {"n",3} {"median ms",10} {"min ms",8} {"max ms",8} {"RTT",6} {"min RTT",8} {"DT ms",7} {"DT RTT",7} {"min DT RTT",10}");
        foreach (var row in rows)
        {
            var median = Stats.Median(row.Milliseconds);
            var dts = row.DeliveryTimes?.Where(d => !double.IsNaN(d)).ToList();
            var dt = dts is { Count: > 0 } ? Stats.Median(dts) : double.NaN;
            var minDt = dts is { Count: > 0 } ? dts.Min() : double.NaN;
            Console.WriteLine($"{row.Name,-86} {row.Milliseconds.Count,3} {median,10:F1} {row.Milliseconds.Min(),8:F1} {row.Milliseconds.Max(),8:F1} {median / rtt,6:F2} {row.Milliseconds.Min() / nominal,8:F2} {dt,7:F1} {dt / rtt,7:F2} {minDt / nominal,10:F2}");
        }
    }

    /// <summary>Waits for a 220 banner; QUIT and close.</summary>
    internal static async Task WaitForBannerAsync(IPEndPoint endPoint, TimeSpan timeout, Func<bool> gaveUp, Func<string> diagnostics)
    {
        var deadline = DateTime.UtcNow + timeout;
        while (DateTime.UtcNow < deadline && !gaveUp())
        {
            try
            {
                using var client = new TcpClient();
                using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(3));
                await client.ConnectAsync(endPoint, cts.Token);
                var buffer = new byte[512];
                var n = await client.GetStream().ReadAsync(buffer, cts.Token);
                if (n >= 3 && Encoding.ASCII.GetString(buffer, 0, 3) == "220")
                {
                    await client.GetStream().WriteAsync("QUIT\r\n"u8.ToArray(), cts.Token);
                    return;
                }
            }
            catch (Exception e) when (e is SocketException or IOException or OperationCanceledException)
            {
            }
            await Task.Delay(200);
        }
        throw new InvalidOperationException($"no banner from {endPoint}:\n{diagnostics()}");
    }

    /// <summary>Runs a command inside a network namespace (ip netns exec execs it: the process id is the command's).</summary>
    internal static Process StartInNamespace(string ns, string file, IEnumerable<string> args, StringBuilder output) =>
        Proc.Start("ip", ["netns", "exec", ns, file, .. args], output);
}
