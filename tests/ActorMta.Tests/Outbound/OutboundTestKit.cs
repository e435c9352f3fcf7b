using System.Net;
using System.Text;
using Akka.Actor;
using ActorMta.Configuration;
using ActorMta.Destinations;
using ActorMta.Outbound;
using ActorMta.Spool;
using ActorMta.Tests.Shared;
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

    protected OutboundTestKit(ITestOutputHelper output) : this(output, Directory.CreateTempSubdirectory("actormta-out-").FullName) { }

    private OutboundTestKit(ITestOutputHelper output, string directory)
        : base(OutboundParts.SystemConfig(directory), "outbound", output)
    {
        _directory = directory;
        Spool = OutboundParts.Spool(directory);
        Destinations = Sys.ActorOf(ActorMta.Destinations.Destinations.Props(DestinationSettings.Default), "destinations");
    }

    protected MessageSpool Spool { get; }
    protected IActorRef Destinations { get; }

    /// <param name="idle">idle-connection-timeout; off by default here, because most tests check what happens on each new connection.</param>
    protected static OutboundSettings Settings(bool pipeConnect = true, TimeSpan? commandTimeout = null, TimeSpan? idle = null) =>
        OutboundParts.Settings(Helo, pipeConnect, TimeSpan.FromSeconds(5), commandTimeout ?? TimeSpan.FromSeconds(10)) with
        {
            IdleConnectionTimeout = idle ?? TimeSpan.Zero,
        };

    protected IActorRef Agent(OutboundSettings settings, IActorRef? destinations = null) =>
        Sys.ActorOf(DeliveryAgent.Props(settings, Spool, destinations ?? Destinations));

    /// <summary>Spools a message for <paramref name="recipients"/> and returns the job that delivers it to <paramref name="server"/>.</summary>
    protected Task<OutboundJob> JobAsync(IPEndPoint server, string body, params string[] recipients) =>
        OutboundParts.SpoolJobAsync(Spool, "a@client.test", recipients, Encoding.UTF8.GetBytes(body), OutboundParts.Route("fake.test", server));

    protected RemoteDeliveryResult Deliver(IActorRef agent, OutboundJob job)
    {
        agent.Tell(new DeliverRemote(job), TestActor);
        return ExpectMsg<RemoteDeliveryResult>(TimeSpan.FromSeconds(20));
    }

    protected DestinationState State(IPEndPoint server) => OutboundParts.StateAsync(Destinations, server).Result;

    /// <summary>Waits until the destination's record satisfies <paramref name="condition"/> (it is written asynchronously).</summary>
    protected EarlyPipeRecord? AwaitRecord(IPEndPoint server, Func<EarlyPipeRecord?, bool> condition) =>
        OutboundParts.WaitForRecordAsync(Destinations, server, condition, TimeSpan.FromSeconds(10)).GetAwaiter().GetResult();

    protected override void AfterAll()
    {
        base.AfterAll();
        OutboundParts.DeleteDirectory(_directory);
    }
}
