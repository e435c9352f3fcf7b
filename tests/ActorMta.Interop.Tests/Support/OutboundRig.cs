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
using Envelope = ActorMta.Spool.Envelope;
using Microsoft.Data.Sqlite;

namespace ActorMta.Interop.Tests.Support;

/// <summary>
/// ActorMta's outbound half on its real parts, without the queue: a spool, the Destinations actor
/// persisted in a SQLite file, and a <see cref="DeliveryAgent"/>. A test spools a message and hands
/// the job to the agent, as the queue manager will once it routes remote recipients.
/// </summary>
public sealed class OutboundRig : IAsyncDisposable
{
    public const string HeloName = "actormta.test";

    private readonly TempDir _dir;
    private readonly ActorSystem _system;
    private readonly IActorRef _destinations;
    private readonly IActorRef _agent;

    private OutboundRig(TempDir dir, ActorSystem system, MessageSpool spool, IActorRef destinations, IActorRef agent)
    {
        _dir = dir;
        _system = system;
        Spool = spool;
        _destinations = destinations;
        _agent = agent;
    }

    public MessageSpool Spool { get; }

    /// <param name="pipeConnect">hosts-pipe-connect = * (true) or unset (false).</param>
    public static Task<OutboundRig> StartAsync(bool pipeConnect)
    {
        var dir = new TempDir("actormta-rig-");
        var config = ConfigurationFactory.ParseString("akka.loglevel = WARNING\nakka.stdout-loglevel = WARNING")
            .WithFallback(DestinationPersistence.Config(dir.Combine("destinations.db")));
        var system = ActorSystem.Create("rig", config);
        var spool = new MessageSpool(new SpoolSettings(dir.Combine("spool"), Fsync: false));
        var destinations = system.ActorOf(ActorMta.Destinations.Destinations.Props(DestinationSettings.Default), "destinations");
        var settings = OutboundSettings.Default(HeloName) with
        {
            HostsPipeConnect = pipeConnect ? HostList.Parse(["*"]) : HostList.Empty,
            ConnectTimeout = TimeSpan.FromSeconds(10),
            CommandTimeout = TimeSpan.FromSeconds(30),
            // The tests here need one connection per message (learn, then early): no idle reuse.
            IdleConnectionTimeout = TimeSpan.Zero,
        };
        var agent = system.ActorOf(DeliveryAgent.Props(settings, spool, destinations), "delivery");
        return Task.FromResult(new OutboundRig(dir, system, spool, destinations, agent));
    }

    /// <summary>Spools <paramref name="data"/> (exactly these bytes) for the recipients; the job has no hops yet.</summary>
    public async Task<OutboundJob> SpoolAsync(string sender, IReadOnlyList<string> recipients, string data)
    {
        var bytes = Encoding.UTF8.GetBytes(data);
        var envelope = new Envelope(Spool.NewMessageId(), sender,
            recipients.Select(r => new EnvelopeRecipient(r, null, null)).ToArray(),
            DateTimeOffset.Now, "client.test", "127.0.0.1", 40000, "esmtp", null, false, null, null, null, bytes.Length);
        await Spool.StoreAsync(envelope, [bytes]);
        return new OutboundJob(envelope, Enumerable.Range(0, recipients.Count).ToArray(), new RemoteRoute("smarthost", []));
    }

    /// <summary>The spooled data of a message, read back from the spool.</summary>
    public byte[] SpooledData(string messageId)
    {
        using var stream = Spool.OpenData(messageId);
        using var copy = new MemoryStream();
        stream.CopyTo(copy);
        return copy.ToArray();
    }

    /// <summary>Delivers the job to <paramref name="server"/> (a smarthost route with one hop) and waits for the result.</summary>
    public Task<RemoteDeliveryResult> DeliverAsync(OutboundJob job, IPEndPoint server, TimeSpan timeout)
    {
        var hop = new NextHop("peer.test", server.Address, server.Port, 0);
        var routed = job with { Route = new RemoteRoute("smarthost", [hop]) };
        return _agent.Ask<RemoteDeliveryResult>(new DeliverRemote(routed), timeout);
    }

    /// <summary>The destination's early-pipelining record (null: none).</summary>
    public async Task<EarlyPipeRecord?> RecordAsync(IPEndPoint server) =>
        (await _destinations.Ask<DestinationState>(
            new GetDestinationState(new DestinationKey(server.Address, server.Port)), TimeSpan.FromSeconds(5))).Record;

    /// <summary>Waits until the destination holds a record (the session reports it asynchronously).</summary>
    public async Task WaitForRecordAsync(IPEndPoint server, TimeSpan timeout)
    {
        var deadline = DateTime.UtcNow + timeout;
        while (await RecordAsync(server) is null)
        {
            if (DateTime.UtcNow > deadline) throw new TimeoutException($"no early-pipelining record for {server} after {timeout}");
            await Task.Delay(20);
        }
    }

    public async ValueTask DisposeAsync()
    {
        await _system.Terminate();
        SqliteConnection.ClearAllPools();
        _dir.Dispose();
    }
}
