using System.Diagnostics;
using System.Net;
using System.Text;
using ActorMta.Benchmarks.Inbound;
using ActorMta.Benchmarks.Support;

namespace ActorMta.Benchmarks.Outbound;

/// <summary>
/// Postfix's smtp-sink as the receiving end: it answers every command at once and stores nothing,
/// so the sender is what is measured (peers.md: about 21,000 messages/s on this kind of machine).
/// It comes from the same unpacked postfix package as smtp-source (<see cref="SmtpSource.EnsureAsync"/>).
/// It listens on all addresses of one port, so 127.0.0.1 to 127.0.0.100 on that port are 100
/// distinct destinations (IP:port) for the clients; it runs only while the benchmark does.
/// </summary>
public sealed class SmtpSink : IAsyncDisposable
{
    private readonly Process _process;
    private readonly StringBuilder _output;

    private SmtpSink(Process process, StringBuilder output, int port)
    {
        _process = process;
        _output = output;
        Port = port;
    }

    public int Port { get; }

    public int ProcessId => _process.Id;

    public static string Binary => Path.Combine(SmtpSource.PostfixRoot, "usr", "sbin", "smtp-sink");

    /// <param name="maxConnections">smtp-sink's -m: connections it serves at once (the rest wait in the listen queue).</param>
    public static async Task<SmtpSink> StartAsync(int maxConnections)
    {
        await SmtpSource.EnsureAsync();
        var port = SmtpProbe.FreeLoopbackPort();
        var output = new StringBuilder();
        // -u: required when started as root (drops to nobody after binding); -a: no AUTH offered.
        var process = Proc.Start(Binary, ["-u", "nobody", "-a", "-m", maxConnections.ToString(), $"0.0.0.0:{port}", "4096"],
            output, environment: SmtpSource.LibraryPathEnvironment);
        var sink = new SmtpSink(process, output, port);
        try
        {
            await SmtpProbe.WaitForBannerAsync(new IPEndPoint(IPAddress.Loopback, port), TimeSpan.FromSeconds(15), () => process.HasExited,
                () => output.ToString());
        }
        catch
        {
            await sink.DisposeAsync();
            throw;
        }
        return sink;
    }

    public async ValueTask DisposeAsync()
    {
        await Proc.StopAsync(_process, TimeSpan.FromSeconds(5));
        _process.Dispose();
    }
}
