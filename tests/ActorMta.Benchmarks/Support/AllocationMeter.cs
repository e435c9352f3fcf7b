using System.Diagnostics.Tracing;
using Microsoft.Diagnostics.NETCore.Client;
using Microsoft.Diagnostics.Tracing;
using Microsoft.Diagnostics.Tracing.Parsers;

namespace ActorMta.Benchmarks.Support;

/// <summary>What a .NET process allocated while a row ran, and the collections it made.</summary>
public sealed record Allocations(long Bytes, int Gen0, int Gen1, int Gen2)
{
    public double BytesPer(int messages) => (double)Bytes / messages;
}

/// <summary>
/// Counts the bytes another .NET process allocates (<c>--allocations</c>), through its runtime's
/// diagnostics socket, as dotnet-trace does: an EventPipe session with the runtime's GC events at
/// verbose level, without stacks or rundown. Each GCAllocationTick event carries the bytes
/// allocated since the previous one (about every 100 KB), so their sum is what the process
/// allocated, short of at most one tick per heap; GCStart events give the collections by
/// generation. The session itself costs the server a few percent of CPU (an event per 100 KB),
/// which is why the option is off by default.
/// </summary>
public sealed class AllocationMeter : IAsyncDisposable
{
    private readonly EventPipeSession _session;
    private readonly Task<Allocations> _reading;

    private AllocationMeter(EventPipeSession session)
    {
        _session = session;
        _reading = Task.Run(Read);
    }

    public static async Task<AllocationMeter> StartAsync(int processId)
    {
        var client = new DiagnosticsClient(processId);
        var configuration = new EventPipeSessionConfiguration(
            [new EventPipeProvider("Microsoft-Windows-DotNETRuntime", EventLevel.Verbose, (long)ClrTraceEventParser.Keywords.GC)],
            circularBufferSizeMB: 64, requestRundown: false, requestStackwalk: false);
        var session = await client.StartEventPipeSessionAsync(configuration, CancellationToken.None);
        return new AllocationMeter(session);
    }

    private Allocations Read()
    {
        long bytes = 0;
        var collections = new int[3];
        using var source = new EventPipeEventSource(_session.EventStream);
        source.Clr.GCAllocationTick += tick => bytes += tick.AllocationAmount64;
        source.Clr.GCStart += start =>
        {
            if (start.Depth is >= 0 and <= 2) collections[start.Depth]++;
        };
        source.Process();
        return new Allocations(bytes, collections[0], collections[1], collections[2]);
    }

    /// <summary>Ends the session and returns what it saw.</summary>
    public async Task<Allocations> StopAsync()
    {
        await _session.StopAsync(CancellationToken.None);
        return await _reading;
    }

    public async ValueTask DisposeAsync()
    {
        try
        {
            if (!_reading.IsCompleted) await _session.StopAsync(CancellationToken.None);
        }
        catch (ServerNotAvailableException)
        {
            // The server has gone: its session with it.
        }
        _session.Dispose();
    }
}
