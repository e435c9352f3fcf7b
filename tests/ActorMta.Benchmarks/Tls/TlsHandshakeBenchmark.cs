using System.Diagnostics;
using System.Net;
using System.Net.Security;
using System.Net.Sockets;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using System.Text;
using ActorMta.Benchmarks.Inbound;
using ActorMta.Benchmarks.Support;

namespace ActorMta.Benchmarks.Tls;

/// <summary>
/// STARTTLS handshakes per second on the server: ActorMta (<c>actormta run</c>, own process) and
/// Exim 4.96 (its daemon, a process per connection) with the same RSA-2048 certificate, measured
/// in one invocation by the same client. Each client task loops: connect, banner, EHLO, STARTTLS,
/// TLS handshake (the client's default, TLS 1.3 here), QUIT, close without waiting for the 221
/// (Exim holds its 221 up to 200 ms for the client to close first; see notes/peers.md).
/// The client runs in this process on the same cores, so the figures are what the machine does
/// with both ends on it; the ratio is the useful number.
/// </summary>
public static class TlsHandshakeBenchmark
{
    public sealed record Options(int Concurrency, TimeSpan Duration, TimeSpan WarmUp, bool Exim, bool ActorMta);

    public static async Task<int> RunAsync(Options o)
    {
        var folder = Directory.CreateTempSubdirectory("actormta-bench-tls-").FullName;
        File.SetUnixFileMode(folder, (UnixFileMode)0b111_101_101);
        var (certificate, key) = WriteCertificate(folder);
        Console.WriteLine($"TLS handshakes/s, {o.Concurrency} client tasks, {o.WarmUp.TotalSeconds:0}s warm-up + {o.Duration.TotalSeconds:0}s per server, {Environment.ProcessorCount} cores");
        double? ours = null, theirs = null;
        try
        {
            if (o.ActorMta)
            {
                await using var server = await ActorMtaServer.StartAsync(
                    $"actormta.tls.certificate=\"{certificate}\"", $"actormta.tls.private-key=\"{key}\"");
                ours = await MeasureAsync(server.Name, server.EndPoint, o);
            }
            if (o.Exim)
            {
                await using var server = await EximServer.StartAsync(deliver: false, (certificate, key));
                theirs = await MeasureAsync(server.Name, server.EndPoint, o);
            }
        }
        finally
        {
            Directory.Delete(folder, recursive: true);
        }
        if (ours is { } a && theirs is { } b && b > 0) Console.WriteLine($"ratio ActorMta/Exim: {a / b:0.00}");
        return 0;
    }

    private static async Task<double> MeasureAsync(string name, IPEndPoint endPoint, Options o)
    {
        long count = 0, failures = 0;
        string? firstFailure = null;
        var measuring = false;
        using var stop = new CancellationTokenSource();
        var cpuBefore = TimeSpan.Zero;
        var tasks = Enumerable.Range(0, o.Concurrency).Select(_ => Task.Run(async () =>
        {
            while (!stop.IsCancellationRequested)
            {
                try
                {
                    await OneHandshakeAsync(endPoint, stop.Token);
                    if (Volatile.Read(ref measuring)) Interlocked.Increment(ref count);
                }
                catch (OperationCanceledException) when (stop.IsCancellationRequested) { }
                catch (Exception e) when (e is IOException or SocketException or AuthenticationFailure or OperationCanceledException or System.Security.Authentication.AuthenticationException)
                {
                    if (Volatile.Read(ref measuring)) Interlocked.Increment(ref failures);
                    Interlocked.CompareExchange(ref firstFailure, e.Message, null);
                }
            }
        })).ToArray();

        await Task.Delay(o.WarmUp);
        var load = File.ReadAllText("/proc/loadavg").Split(' ')[0];
        var clock = Stopwatch.StartNew();
        cpuBefore = Process.GetCurrentProcess().TotalProcessorTime;
        Volatile.Write(ref measuring, true);
        await Task.Delay(o.Duration);
        Volatile.Write(ref measuring, false);
        var elapsed = clock.Elapsed;
        var clientCpu = Process.GetCurrentProcess().TotalProcessorTime - cpuBefore;
        await stop.CancelAsync();
        await Task.WhenAll(tasks);

        var rate = Interlocked.Read(ref count) / elapsed.TotalSeconds;
        Console.WriteLine($"{name,-10} {rate,8:0.0} handshakes/s  ({Interlocked.Read(ref count)} in {elapsed.TotalSeconds:0.0}s, {failures} failed{(firstFailure is null ? "" : $": {firstFailure}")}; client CPU {clientCpu.TotalSeconds / elapsed.TotalSeconds:0.00} cores; load average {load})");
        return rate;
    }

    private sealed class AuthenticationFailure(string message) : Exception(message);

    private static async Task OneHandshakeAsync(IPEndPoint endPoint, CancellationToken token)
    {
        using var socket = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(token);
        timeout.CancelAfter(TimeSpan.FromSeconds(30));
        await socket.ConnectAsync(endPoint, timeout.Token);
        await using var plain = new NetworkStream(socket, ownsSocket: false);
        await ExpectAsync(plain, "220", timeout.Token);
        await plain.WriteAsync("EHLO bench.test\r\n"u8.ToArray(), timeout.Token);
        await ExpectAsync(plain, "250", timeout.Token);
        await plain.WriteAsync("STARTTLS\r\n"u8.ToArray(), timeout.Token);
        await ExpectAsync(plain, "220", timeout.Token);
        await using var ssl = new SslStream(plain, leaveInnerStreamOpen: true);
        await ssl.AuthenticateAsClientAsync(new SslClientAuthenticationOptions
        {
            TargetHost = "bench.test",
            RemoteCertificateValidationCallback = (_, _, _, _) => true, // the handshake's cost is measured, not trust
        }, timeout.Token);
        await ssl.WriteAsync("QUIT\r\n"u8.ToArray(), timeout.Token);
        socket.Shutdown(SocketShutdown.Both);
    }

    /// <summary>Reads one reply (all its lines) and checks its code.</summary>
    private static async Task ExpectAsync(Stream stream, string code, CancellationToken token)
    {
        var text = new StringBuilder();
        var buffer = new byte[4096];
        while (true)
        {
            var n = await stream.ReadAsync(buffer, token);
            if (n == 0) throw new IOException($"closed while waiting for {code}");
            text.Append(Encoding.ASCII.GetString(buffer, 0, n));
            var all = text.ToString();
            var lastLineStart = all.LastIndexOf("\r\n", all.Length - 2 >= 0 ? all.Length - 3 : 0, StringComparison.Ordinal);
            var last = lastLineStart < 0 ? all : all[(lastLineStart + 2)..];
            if (!all.EndsWith("\r\n", StringComparison.Ordinal) || last.Length < 4 || last[3] != ' ') continue;
            if (!last.StartsWith(code, StringComparison.Ordinal)) throw new AuthenticationFailure($"expected {code}, got {all.Trim()}");
            return;
        }
    }

    /// <summary>A self-signed RSA-2048 certificate (the common kind on MTAs), readable by Exim's user.</summary>
    private static (string Certificate, string Key) WriteCertificate(string folder)
    {
        using var rsa = RSA.Create(2048);
        var request = new CertificateRequest("CN=bench.test", rsa, HashAlgorithmName.SHA256, RSASignaturePadding.Pkcs1);
        using var certificate = request.CreateSelfSigned(DateTimeOffset.UtcNow.AddDays(-1), DateTimeOffset.UtcNow.AddDays(30));
        var certificatePath = Path.Combine(folder, "server.crt");
        var keyPath = Path.Combine(folder, "server.key");
        File.WriteAllText(certificatePath, certificate.ExportCertificatePem() + "\n");
        File.WriteAllText(keyPath, rsa.ExportPkcs8PrivateKeyPem() + "\n");
        File.SetUnixFileMode(certificatePath, (UnixFileMode)0b110_100_100);
        File.SetUnixFileMode(keyPath, (UnixFileMode)0b110_100_100); // a throw-away key: Debian-exim must read it
        return (certificatePath, keyPath);
    }
}
