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
using Xunit.Abstractions;
using TestKitBase = Akka.TestKit.Xunit2.TestKit;

namespace ActorMta.Tests.Outbound;

/// <summary>
/// The outbound half on real parts: a spool in a temp directory, destinations persisted in a real
/// SQLite file, the delivery agent, and a scripted SMTP server on loopback as the remote host.
/// </summary>
public abstract class OutboundTestKit : TestKitBase
{
    protected const string Helo = "client.test";
    private readonly string _directory;

    protected OutboundTestKit(ITestOutputHelper output) : this(output, NewDirectory()) { }

    private OutboundTestKit(ITestOutputHelper output, string directory)
        : base(ConfigurationFactory.ParseString("akka.loglevel = WARNING")
            .WithFallback(DestinationPersistence.Config(Path.Combine(directory, "destinations.db"))), "outbound", output)
    {
        _directory = directory;
        Spool = new MessageSpool(new SpoolSettings(Path.Combine(directory, "spool"), Fsync: false));
        Destinations = Sys.ActorOf(ActorMta.Destinations.Destinations.Props(DestinationSettings.Default), "destinations");
    }

    private static string NewDirectory()
    {
        var directory = Path.Combine(Path.GetTempPath(), "actormta-out-" + Guid.NewGuid().ToString("N")[..12]);
        Directory.CreateDirectory(directory);
        DestinationPersistence.PrepareSqlite(Path.Combine(directory, "destinations.db"));
        return directory;
    }

    protected MessageSpool Spool { get; }
    protected IActorRef Destinations { get; }

    /// <param name="idle">idle-connection-timeout; off by default here, because most tests check what happens on each new connection.</param>
    protected static OutboundSettings Settings(bool pipeConnect = true, TimeSpan? commandTimeout = null, TimeSpan? idle = null) =>
        OutboundSettings.Default(Helo) with
        {
            HostsPipeConnect = pipeConnect ? HostList.Parse(["*"]) : HostList.Empty,
            CommandTimeout = commandTimeout ?? TimeSpan.FromSeconds(10),
            ConnectTimeout = TimeSpan.FromSeconds(5),
            IdleConnectionTimeout = idle ?? TimeSpan.Zero,
        };

    protected IActorRef Agent(OutboundSettings settings, IActorRef? destinations = null) =>
        Sys.ActorOf(DeliveryAgent.Props(settings, Spool, destinations ?? Destinations));

    /// <summary>Spools a message for <paramref name="recipients"/> and returns the job that delivers it to <paramref name="server"/>.</summary>
    protected async Task<OutboundJob> JobAsync(IPEndPoint server, string body, params string[] recipients)
    {
        var id = Spool.NewMessageId();
        var data = Encoding.UTF8.GetBytes(body);
        var envelope = new Envelope(id, "a@client.test", recipients.Select(r => new EnvelopeRecipient(r, null, null)).ToArray(),
            DateTimeOffset.Now, "client.test", "127.0.0.1", 40000, "esmtp", null, false, null, null, null, data.Length);
        await Spool.StoreAsync(envelope, [data]);
        var hop = new NextHop("fake.test", server.Address, server.Port, 0);
        return new OutboundJob(envelope, Enumerable.Range(0, recipients.Length).ToArray(), new RemoteRoute("smarthost", [hop]));
    }

    protected RemoteDeliveryResult Deliver(IActorRef agent, OutboundJob job)
    {
        agent.Tell(new DeliverRemote(job), TestActor);
        return ExpectMsg<RemoteDeliveryResult>(TimeSpan.FromSeconds(20));
    }

    protected DestinationState State(IPEndPoint server) =>
        Destinations.Ask<DestinationState>(new GetDestinationState(new DestinationKey(server.Address, server.Port)), TimeSpan.FromSeconds(5)).Result;

    /// <summary>Waits until the destination's record satisfies <paramref name="condition"/> (it is written asynchronously).</summary>
    protected EarlyPipeRecord? AwaitRecord(IPEndPoint server, Func<EarlyPipeRecord?, bool> condition)
    {
        EarlyPipeRecord? record = null;
        AwaitCondition(() => condition(record = State(server).Record), TimeSpan.FromSeconds(10));
        return record;
    }

    protected override void AfterAll()
    {
        base.AfterAll();
        SqliteConnection.ClearAllPools();
        try { Directory.Delete(_directory, recursive: true); } catch (IOException) { } catch (UnauthorizedAccessException) { }
    }
}
