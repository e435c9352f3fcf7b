using System.Net;
using System.Net.Sockets;
using Akka.Actor;
using Akka.Configuration;
using ActorMta.Auth;
using ActorMta.Cluster;
using ActorMta.Configuration;
using ActorMta.Control;
using ActorMta.Destinations;
using ActorMta.Inbound;
using ActorMta.Logging;
using ActorMta.Metrics;
using ActorMta.Spool;
using ActorMta.Transport;
using ActorMta.Transport.Tls;

namespace ActorMta;

/// <summary>
/// One running MTA: the ActorSystem with the supervisor tree of DESIGN.md section 3
/// (<c>/user/mta</c> with <c>destinations</c>, <c>router</c>, <c>delivery</c>, <c>queue</c> and
/// <c>listeners/smtp-PORT</c>), plus the metrics endpoint when enabled. Used by the
/// <c>actormta run</c> verb and, in process, by the tests.
/// </summary>
public sealed class MtaNode : IAsyncDisposable
{
    private readonly ActorSystem _system;
    private readonly MetricsEndpoint? _metrics;
    private readonly ControlServer? _control;
    private readonly SpoolLock _spoolLock;
    private readonly bool _clustered;
    private readonly TimeSpan _drainTimeout;
    private bool _stopped;

    private MtaNode(ActorSystem system, IActorRef root, IActorRef queue, MessageSpool spool, IReadOnlyList<IPEndPoint> endPoints, MetricsEndpoint? metrics, ServerTls? tls,
        ControlServer? control, UserStore users, SpoolLock spoolLock, MtaSettings settings)
    {
        _clustered = settings.Cluster.Enabled;
        _drainTimeout = settings.Smtp.DrainTimeout;
        _spoolLock = spoolLock;
        Tls = tls;
        Users = users;
        _control = control;
        _system = system;
        Root = root;
        Queue = queue;
        Spool = spool;
        BoundEndPoints = endPoints;
        _metrics = metrics;
    }

    /// <summary>The endpoints actually listened on (port 0 in the settings becomes the real port here).</summary>
    public IReadOnlyList<IPEndPoint> BoundEndPoints { get; }

    /// <summary>Where <c>/metrics</c> and <c>/health</c> are served, when metrics are enabled.</summary>
    public IPEndPoint? MetricsEndPoint => _metrics?.EndPoint;

    /// <summary>The control socket's path, when the control endpoint is on.</summary>
    public string? ControlSocketPath => _control?.SocketPath;

    public ActorSystem System => _system;

    /// <summary>Server TLS (null when STARTTLS is offered to nobody and no listener is TLS-on-connect).</summary>
    public ServerTls? Tls { get; }

    /// <summary>The users that may authenticate (SMTP AUTH).</summary>
    public UserStore Users { get; }
    public IActorRef Root { get; }
    public IActorRef Queue { get; }
    public MessageSpool Spool { get; }

    public static async Task<MtaNode> StartAsync(MtaSettings settings, Config akkaConfig, Serilog.ILogger logger, CancellationToken ct = default)
    {
        ct.ThrowIfCancellationRequested();
        var mainLog = new MainLog(logger);
        // A bad users file stops the start (UsersFileException names file and line), like bad configuration.
        var auth = new AuthServices(
            UserStore.Open(settings.Auth.UsersFile, mainLog.Write),
            new AuthFailureLimiter(settings.Auth.MaxFailures, settings.Auth.FailureWindow, settings.Auth.MaxTrackedClients));
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

        // The control socket next: it also stops a second MTA on the same data directory before it
        // touches the spool. Requests wait until the actors exist.
        var commands = new TaskCompletionSource<ControlCommands>(TaskCreationOptions.RunContinuationsAsynchronously);
        ControlServer? control = null;
        try
        {
            if (settings.Control.Enabled && !OperatingSystem.IsWindows())
            {
                control = ControlServer.Start(settings.Control.SocketPath,
                    async request => await (await commands.Task.ConfigureAwait(false)).HandleAsync(request).ConfigureAwait(false),
                    settings.Smtp.MaxMessageSize, settings.Control.RequestTimeout, settings.Control.MaxConnections);
            }
        }
        catch
        {
            foreach (var socket in sockets) socket.Dispose();
            throw;
        }

        var metricsOn = settings.Metrics.Enabled;
        SpoolLock spoolLock;
        try
        {
            spoolLock = SpoolLock.Acquire(settings.Spool.Directory);
        }
        catch
        {
            foreach (var socket in sockets) socket.Dispose();
            control?.Dispose();
            throw;
        }
        MessageSpool spool;
        ServerTls? tls;
        ActorSystem system;
        try
        {
            spool = new MessageSpool(settings.Spool);
            try
            {
                tls = ServerTls.Create(settings);
            }
            catch
            {
                foreach (var socket in sockets) socket.Dispose();
                throw;
            }

            // Destination state is persisted; the plugin defaults must be the very last fallback (stack.md pitfall B).
            Config persistence = PersistenceConfig(settings, mainLog);

            // What the operator wrote in akka { } wins over what actormta.cluster implies.
            var config = (metricsOn ? ActorTelemetryBridge.Config.WithFallback(akkaConfig) : akkaConfig)
                .WithFallback(ClusterHocon.For(settings.Cluster))
                .WithFallback(persistence);
            system = ActorSystem.Create(ClusterSettings.SystemName, config);
        }
        catch (Exception e)
        {
            commands.TrySetException(new ControlUnavailableException($"the MTA did not start: {e.Message}", e));
            control?.Dispose();
            spoolLock.Dispose();
            throw;
        }
        MetricsEndpoint? metrics = null;
        try
        {
            if (metricsOn)
            {
                // The exporter listens first: an up-down counter (live actors) it starts hearing
                // after an actor started would show that actor's stop without its start.
                metrics = StartMetrics(settings, sockets);
                MtaMetrics.TopDestinations = settings.Metrics.TopDestinations;
                if (settings.Cluster.Enabled)
                {
                    metrics.AddHealthCheck(ClusterHealth.Check(system));
                    MtaMetrics.ObserveCluster(() => ClusterHealth.Members(system));
                }
                // Before /user/mta, so it sees every actor of the tree start.
                ActorTelemetry.StartBridge(system);
            }
            var endPoints = sockets.Select(s => (IPEndPoint)s.LocalEndPoint!).ToArray();
            var root = system.ActorOf(MtaGuardian.Props(settings, spool, mainLog, logger, sockets, auth, tls), "mta");
            var queue = await root.Ask<IActorRef>(MtaGuardian.GetQueue.Instance, TimeSpan.FromSeconds(30), ct).ConfigureAwait(false);
            var destinations = await root.Ask<IActorRef>(MtaGuardian.GetDestinations.Instance, TimeSpan.FromSeconds(30), ct).ConfigureAwait(false);
            commands.SetResult(new ControlCommands(queue, destinations, new LocalSubmission(settings, spool, mainLog, queue)));
            if (ClusterHocon.SeedsOnlyItself(settings.Cluster)) mainLog.Write(ClusterHocon.SeedsOnlyItselfWarning(settings.Cluster));
            return new MtaNode(system, root, queue, spool, endPoints, metrics, tls, control, auth.Users, spoolLock, settings);
        }
        catch (Exception e)
        {
            commands.TrySetException(new ControlUnavailableException($"the MTA did not start: {e.Message}", e));
            control?.Dispose();
            metrics?.Dispose();
            await system.Terminate().ConfigureAwait(false);
            spoolLock.Dispose();
            throw;
        }
    }

    /// <summary>
    /// The destinations' store: the SQLite file in the data directory, or the operator's connection
    /// string. A SQLite file, either way, gets WAL first (the journal and the snapshot store must not
    /// block each other), and a damaged default file is set aside; both are said on the main log.
    /// A named SQLite file that cannot be prepared does not stop the start: the destinations find
    /// the store unavailable and go on without it, as for any other store.
    /// </summary>
    private static Config PersistenceConfig(MtaSettings settings, MainLog mainLog)
    {
        if (settings.Persistence.ConnectionString.Length == 0)
        {
            var file = Path.Combine(settings.DataDirectory, "destinations.db");
            if (DestinationPersistence.PrepareSqlite(file) is { } setAside) mainLog.Write(setAside);
            return DestinationPersistence.Config(file);
        }
        if (settings.Persistence.ProviderName == "SQLite.MS" && DestinationPersistence.SqliteFileOf(settings.Persistence.ConnectionString) is { } named)
        {
            try
            {
                if (DestinationPersistence.PrepareSqlite(named) is { } setAside) mainLog.Write(setAside);
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException or Microsoft.Data.Sqlite.SqliteException)
            {
                mainLog.Write($"destination store {named} cannot be prepared ({e.Message}): destinations will keep what they learn in memory while it cannot be used");
            }
        }
        return DestinationPersistence.Config(settings.Persistence.ConnectionString, settings.Persistence.ProviderName);
    }

    private static MetricsEndpoint StartMetrics(MtaSettings settings, IReadOnlyList<Socket> sockets)
    {
        var checks = new List<HealthCheck>
        {
            new("listeners", () => sockets.All(IsListening) ? (true, "") : (false, "a listening socket is closed")),
            new("spool writable", () => SpoolWritable(settings.Spool.Directory)),
        };
        try
        {
            return MetricsEndpoint.Start(settings.Metrics.Address, checks);
        }
        catch (HttpListenerException e)
        {
            throw new InvalidOperationException($"cannot serve metrics on {settings.Metrics.Address}: {e.Message}", e);
        }
    }

    private static bool IsListening(Socket socket)
    {
        try { return socket.IsBound && socket.LocalEndPoint is not null; }
        catch (ObjectDisposedException) { return false; }
    }

    /// <summary>Writes and removes a small file: the spool can take a message right now.</summary>
    private static (bool Ok, string Reason) SpoolWritable(string directory)
    {
        var probe = Path.Combine(directory, $".health-{Environment.ProcessId}");
        try
        {
            File.WriteAllText(probe, "ok");
            File.Delete(probe);
            return (true, "");
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return (false, e.Message);
        }
    }

    /// <summary>
    /// SIGHUP: read the TLS certificate and key files again. New handshakes use the new certificate,
    /// connections already encrypted are untouched; a file that cannot be used keeps the old one.
    /// The outcome goes to the main log.
    /// </summary>
    public bool ReloadTls(MainLog mainLog)
    {
        if (Tls is null) return true;
        var ok = Tls.Reload(out var message);
        mainLog.Write(message);
        return ok;
    }

    /// <summary>
    /// SIGHUP: the certificate files (<see cref="ReloadTls"/>) and the users file, read again whatever
    /// their time stamps say (a file replaced within the same second keeps its stamp). Each outcome
    /// goes to the main log; a users file that no longer reads keeps the previous users.
    /// </summary>
    public void Reload(MainLog mainLog)
    {
        ReloadTls(mainLog);
        Users.Reload();
    }

    /// <summary>Stop accepting, let the actors finish, terminate the ActorSystem. Spooled messages stay spooled.</summary>
    public async Task StopAsync()
    {
        if (_stopped) return;
        _stopped = true;
        _control?.Dispose();
        _metrics?.Dispose();
        if (_clustered && _metrics is not null) MtaMetrics.ObserveCluster(null);
        // Clients in the middle of a message finish it, so that none is spooled and then sent
        // again because its 250 never left; the others get their 421 now.
        if (_drainTimeout > TimeSpan.Zero)
        {
            try
            {
                await Root.Ask<InboundSession.Drained>(InboundSession.Drain.Instance, _drainTimeout).ConfigureAwait(false);
            }
            catch (Exception e) when (e is TaskCanceledException or AskTimeoutException) { }
        }
        try
        {
            await Root.GracefulStop(TimeSpan.FromSeconds(10)).ConfigureAwait(false);
        }
        catch (Exception e) when (e is TaskCanceledException or AskTimeoutException) { }
        // A cluster node leaves: its shards, and so its destinations, move to the other nodes at
        // once instead of after the failure detector gave up on it.
        if (_clustered) await CoordinatedShutdown.Get(_system).Run(CoordinatedShutdown.ClusterLeavingReason.Instance).ConfigureAwait(false);
        await _system.Terminate().ConfigureAwait(false);
        // Last: nothing of this node touches the spool any more.
        _spoolLock.Dispose();
    }

    public async ValueTask DisposeAsync() => await StopAsync().ConfigureAwait(false);
}
