using System.Net;
using Akka.Actor;
using Akka.Configuration;
using ActorMta.Configuration;
using ActorMta.Destinations;
using ActorMta.Outbound;
using ActorMta.Routing;
using ActorMta.Smtp;
using ActorMta.Spool;
using Microsoft.Data.Sqlite;
using Envelope = ActorMta.Spool.Envelope;

namespace ActorMta.Tests.Shared;

/// <summary>
/// What every outbound test rig builds the same way: the actor system's configuration over a real
/// SQLite destinations file, the outbound settings tests start from, a spooled message turned into a
/// job, and the destination's early-pipelining record read back. Linked into the unit tests, the
/// interop tests and the benchmarks; each keeps its own way of driving the agent.
/// </summary>
public static class OutboundParts
{
    /// <summary>The SQLite file the Destinations actor persists to, inside a rig's directory.</summary>
    public static string DestinationsFile(string directory) => Path.Combine(directory, "destinations.db");

    /// <summary>The spool inside a rig's directory (no fsync: the tests do not survive power loss).</summary>
    public static MessageSpool Spool(string directory) =>
        new(new SpoolSettings(Path.Combine(directory, "spool"), Fsync: false));

    /// <summary>
    /// Quiet logging over destinations persisted in <paramref name="directory"/>. The file is switched
    /// to WAL first, as the node does, so the journal and the snapshot store never block each other.
    /// </summary>
    public static Config SystemConfig(string directory)
    {
        DestinationPersistence.PrepareSqlite(DestinationsFile(directory));
        return ConfigurationFactory.ParseString("akka.loglevel = WARNING\nakka.stdout-loglevel = WARNING")
            .WithFallback(DestinationPersistence.Config(DestinationsFile(directory)));
    }

    /// <summary>
    /// Outbound settings for a test: early pipelining to every host or none, and no idle-connection
    /// reuse, because most tests look at what happens on each new connection.
    /// </summary>
    public static OutboundSettings Settings(string helo, bool pipeConnect, TimeSpan connectTimeout, TimeSpan commandTimeout) =>
        OutboundSettings.Default(helo) with
        {
            HostsPipeConnect = pipeConnect ? HostList.Parse(["*"]) : HostList.Empty,
            ConnectTimeout = connectTimeout,
            CommandTimeout = commandTimeout,
            IdleConnectionTimeout = TimeSpan.Zero,
        };

    /// <summary>A smarthost route with the single hop <paramref name="server"/>, named <paramref name="hostName"/> (TLS name checks and SNI use it).</summary>
    public static RemoteRoute Route(string hostName, IPEndPoint server) =>
        new("smarthost", [new NextHop(hostName, server.Address, server.Port, 0)]);

    /// <summary>Spools exactly <paramref name="data"/> for all <paramref name="recipients"/> and returns the job on <paramref name="route"/>.</summary>
    public static async Task<OutboundJob> SpoolJobAsync(MessageSpool spool, string sender, IReadOnlyList<string> recipients,
        byte[] data, RemoteRoute route)
    {
        var envelope = new Envelope(spool.NewMessageId(), sender, recipients.Select(r => new EnvelopeRecipient(r, null, null)).ToArray(),
            DateTimeOffset.Now, "client.test", "127.0.0.1", 40000, "esmtp", null, false, null, null, null, data.Length);
        await spool.StoreAsync(envelope, [data]);
        return new OutboundJob(envelope, Enumerable.Range(0, recipients.Count).ToArray(), route);
    }

    public static Task<DestinationState> StateAsync(IActorRef destinations, IPEndPoint server) =>
        destinations.Ask<DestinationState>(new GetDestinationState(new DestinationKey(server.Address, server.Port)), TimeSpan.FromSeconds(5));

    /// <summary>
    /// Waits until the destination's record satisfies <paramref name="condition"/>: the session reports
    /// what it learnt asynchronously, after the result may already be back.
    /// </summary>
    public static async Task<EarlyPipeRecord?> WaitForRecordAsync(IActorRef destinations, IPEndPoint server,
        Func<EarlyPipeRecord?, bool> condition, TimeSpan timeout)
    {
        var deadline = DateTime.UtcNow + timeout;
        while (true)
        {
            var record = (await StateAsync(destinations, server)).Record;
            if (condition(record)) return record;
            if (DateTime.UtcNow > deadline) throw new TimeoutException($"the early-pipelining record for {server} did not arrive within {timeout}");
            await Task.Delay(20);
        }
    }

    /// <summary>Releases pooled SQLite handles (they keep the file open) and removes the rig's directory.</summary>
    public static void DeleteDirectory(string directory)
    {
        SqliteConnection.ClearAllPools();
        try { Directory.Delete(directory, recursive: true); } catch (IOException) { } catch (UnauthorizedAccessException) { }
    }
}
