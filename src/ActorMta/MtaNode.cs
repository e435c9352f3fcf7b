using System.Net;
using System.Net.Sockets;
using Akka.Actor;
using Akka.Configuration;
using ActorMta.Configuration;
using ActorMta.Destinations;
using ActorMta.Inbound;
using ActorMta.Logging;
using ActorMta.Queue;
using ActorMta.Spool;
using ActorMta.Transport;

namespace ActorMta;

/// <summary>
/// One running MTA: the ActorSystem with the supervisor tree of DESIGN.md section 3
/// (<c>/user/mta</c> with <c>queue</c> and <c>listeners/smtp-PORT</c>). Used by the
/// <c>actormta run</c> verb and, in process, by the tests.
/// </summary>
public sealed class MtaNode : IAsyncDisposable
{
    private readonly ActorSystem _system;
    private bool _stopped;

    private MtaNode(ActorSystem system, IActorRef root, IActorRef queue, MessageSpool spool, IReadOnlyList<IPEndPoint> endPoints)
    {
        _system = system;
        Root = root;
        Queue = queue;
        Spool = spool;
        BoundEndPoints = endPoints;
    }

    /// <summary>The endpoints actually listened on (port 0 in the settings becomes the real port here).</summary>
    public IReadOnlyList<IPEndPoint> BoundEndPoints { get; }

    public ActorSystem System => _system;
    public IActorRef Root { get; }
    public IActorRef Queue { get; }
    public MessageSpool Spool { get; }

    public static Task<MtaNode> StartAsync(MtaSettings settings, Config akkaConfig, Serilog.ILogger logger, CancellationToken ct = default)
    {
        ct.ThrowIfCancellationRequested();
        // Bind first: a port in use is a start-up error with a clear message, before any actor exists.
        var sockets = new List<Socket>();
        try
        {
            foreach (var listener in settings.Listeners) sockets.Add(ListenSocket.Bind(listener.EndPoint, settings.Smtp.TcpFastOpenQueue));
        }
        catch
        {
            foreach (var socket in sockets) socket.Dispose();
            throw;
        }

        var spool = new MessageSpool(settings.Spool);
        var mainLog = new MainLog(logger);
        // Destination state is persisted; the plugin defaults must be the very last fallback (stack.md pitfall B).
        Config persistence;
        if (settings.Persistence.ConnectionString.Length == 0)
        {
            var file = Path.Combine(settings.DataDirectory, "destinations.db");
            DestinationPersistence.PrepareSqlite(file); // WAL: the journal and snapshot store must not block each other
            persistence = DestinationPersistence.Config(file);
        }
        else persistence = DestinationPersistence.Config(settings.Persistence.ConnectionString, settings.Persistence.ProviderName);
        var system = ActorSystem.Create("actormta", akkaConfig.WithFallback(persistence));
        var endPoints = sockets.Select(s => (IPEndPoint)s.LocalEndPoint!).ToArray();
        var root = system.ActorOf(MtaGuardian.Props(settings, spool, mainLog, logger, sockets), "mta");
        var queue = root.Ask<IActorRef>(MtaGuardian.GetQueue.Instance, TimeSpan.FromSeconds(30), ct);
        return queue.ContinueWith(t => new MtaNode(system, root, t.Result, spool, endPoints), ct,
            TaskContinuationOptions.OnlyOnRanToCompletion, TaskScheduler.Default);
    }

    /// <summary>Stop accepting, let the actors finish, terminate the ActorSystem. Spooled messages stay spooled.</summary>
    public async Task StopAsync()
    {
        if (_stopped) return;
        _stopped = true;
        try
        {
            await Root.GracefulStop(TimeSpan.FromSeconds(10)).ConfigureAwait(false);
        }
        catch (Exception e) when (e is TaskCanceledException or AskTimeoutException) { }
        await _system.Terminate().ConfigureAwait(false);
    }

    public async ValueTask DisposeAsync() => await StopAsync().ConfigureAwait(false);
}
