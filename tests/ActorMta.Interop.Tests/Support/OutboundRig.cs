using System.Net;
using System.Text;
using Akka.Actor;
using ActorMta.Destinations;
using ActorMta.Outbound;
using ActorMta.Routing;
using ActorMta.Spool;
using ActorMta.Tests.Shared;

namespace ActorMta.Interop.Tests.Support;

/// <summary>
/// ActorMta's outbound half on its real parts (<see cref="StandaloneOutbound"/>), without the queue.
/// A test spools a message and hands the job to the agent, as the queue manager does once it routes
/// remote recipients.
/// </summary>
public sealed class OutboundRig : IAsyncDisposable
{
    public const string HeloName = "actormta.test";

    private readonly StandaloneOutbound _outbound;

    private OutboundRig(StandaloneOutbound outbound) => _outbound = outbound;

    public MessageSpool Spool => _outbound.Spool;

    /// <param name="pipeConnect">hosts-pipe-connect = * (true) or unset (false).</param>
    public static Task<OutboundRig> StartAsync(bool pipeConnect)
    {
        // The tests here need one connection per message (learn, then early): the shared settings reuse no idle connection.
        var settings = OutboundParts.Settings(HeloName, pipeConnect, TimeSpan.FromSeconds(10), TimeSpan.FromSeconds(30));
        return Task.FromResult(new OutboundRig(StandaloneOutbound.Start("rig", settings, DestinationSettings.Default)));
    }

    /// <summary>Spools <paramref name="data"/> (exactly these bytes) for the recipients; the job has no hops yet.</summary>
    public Task<OutboundJob> SpoolAsync(string sender, IReadOnlyList<string> recipients, string data) =>
        OutboundParts.SpoolJobAsync(Spool, sender, recipients, Encoding.UTF8.GetBytes(data), new RemoteRoute("smarthost", []));

    /// <summary>The spooled data of a message, read back from the spool.</summary>
    public byte[] SpooledData(string messageId)
    {
        using var stream = Spool.OpenData(messageId);
        using var copy = new MemoryStream();
        stream.CopyTo(copy);
        return copy.ToArray();
    }

    /// <summary>Delivers the job to <paramref name="server"/> (a smarthost route with one hop) and waits for the result.</summary>
    public Task<RemoteDeliveryResult> DeliverAsync(OutboundJob job, IPEndPoint server, TimeSpan timeout) =>
        _outbound.Agent.Ask<RemoteDeliveryResult>(new DeliverRemote(job with { Route = OutboundParts.Route("peer.test", server) }), timeout);

    /// <summary>Waits until the destination holds a record (the session reports it asynchronously).</summary>
    public Task WaitForRecordAsync(IPEndPoint server, TimeSpan timeout) =>
        OutboundParts.WaitForRecordAsync(_outbound.Destinations, server, record => record is not null, timeout);

    public ValueTask DisposeAsync() => _outbound.DisposeAsync();
}
