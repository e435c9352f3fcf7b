using System.Net;
using ActorMta.Benchmarks.Outbound;

namespace ActorMta.Benchmarks.Inbound;

/// <summary>
/// The ceiling row (<c>inbound --ceiling</c>): Postfix's smtp-sink, a single-process C server that
/// answers every command at once and stores nothing. What it reaches is what this machine and
/// smtp-source allow any SMTP server, before it does any work of its own.
/// </summary>
public sealed class SinkServer : IBenchServer
{
    private readonly SmtpSink _sink;

    private SinkServer(SmtpSink sink) => _sink = sink;

    public string Name => "smtp-sink (stores nothing)";

    public IPEndPoint EndPoint => new(IPAddress.Loopback, _sink.Port);

    public int ProcessId => _sink.ProcessId;

    public bool Delivers => false;

    public int DeliveredCount() => 0;

    public static async Task<SinkServer> StartAsync() => new(await SmtpSink.StartAsync(maxConnections: 1000));

    public ValueTask DisposeAsync() => _sink.DisposeAsync();
}
