using System.Net.Sockets;
using Akka.Actor;
using ActorMta.Auth;
using ActorMta.Configuration;
using ActorMta.Destinations;
using ActorMta.Inbound;
using ActorMta.Logging;
using ActorMta.Outbound;
using ActorMta.Queue;
using ActorMta.Routing;
using ActorMta.Spool;
using ActorMta.Transport.Tls;

namespace ActorMta;

/// <summary>
/// <c>/user/mta</c>: parent of the whole tree of DESIGN.md section 3 — <c>destinations</c>,
/// <c>router</c>, <c>delivery</c>, <c>queue</c> and <c>listeners</c>. A crashing child is restarted
/// (the queue manager rebuilds from the spool, which nothing here ever deletes); an inbound session
/// that crashes is stopped by its listener, because its connection cannot be resumed.
/// </summary>
public sealed class MtaGuardian : UntypedActor
{
    public sealed class GetQueue
    {
        public static readonly GetQueue Instance = new();
        private GetQueue() { }
    }

    /// <summary>Reply: the <c>destinations</c> actor (for the CLI and tests).</summary>
    public sealed class GetDestinations
    {
        public static readonly GetDestinations Instance = new();
        private GetDestinations() { }
    }

    private readonly IActorRef _queue;
    private readonly IActorRef _destinations;
    private readonly IActorRef _listeners;

    public MtaGuardian(MtaSettings settings, MessageSpool spool, MainLog mainLog, Serilog.ILogger logger, IReadOnlyList<Socket> listenSockets,
        AuthServices? auth, ServerTls? tls)
    {
        _destinations = settings.Cluster.Enabled
            ? ShardedDestinations.Start(Context, "destinations", settings.Destinations, settings.Cluster.Shards)
            : Context.ActorOf(ActorMta.Destinations.Destinations.Props(settings.Destinations), "destinations");
        var router = Context.ActorOf(RouterActor.Props(new Router(settings.Routing, new DnsMxResolver(settings.Routing))), "router");
        var delivery = Context.ActorOf(DeliveryAgent.Props(settings.Outbound, spool, _destinations), "delivery");
        _queue = Context.ActorOf(QueueManager.Props(settings, spool, mainLog, router, delivery), "queue");
        var context = new InboundContext(settings, spool, _queue, mainLog, logger)
        {
            Auth = auth,
            Tls = tls,
            DataBudget = new DataMemoryBudget(settings.Smtp.MaxDataInMemory),
        };
        _listeners = Context.ActorOf(Akka.Actor.Props.Create(() => new ListenerGroup(listenSockets, context)), "listeners");
    }

    public static Props Props(MtaSettings settings, MessageSpool spool, MainLog mainLog, Serilog.ILogger logger, IReadOnlyList<Socket> listenSockets,
        AuthServices? auth, ServerTls? tls = null) =>
        Akka.Actor.Props.Create(() => new MtaGuardian(settings, spool, mainLog, logger, listenSockets, auth, tls));

    protected override void OnReceive(object message)
    {
        switch (message)
        {
            case GetQueue:
                Sender.Tell(_queue);
                break;
            case GetDestinations:
                Sender.Tell(_destinations);
                break;
            case InboundSession.Drain:
                _listeners.Forward(message);
                break;
            default:
                Unhandled(message);
                break;
        }
    }

    /// <summary><c>/user/mta/listeners</c>: one <see cref="SmtpListener"/> per listening socket.</summary>
    private sealed class ListenerGroup : UntypedActor
    {
        public ListenerGroup(IReadOnlyList<Socket> sockets, InboundContext context)
        {
            // The sockets were bound in the order of settings.Listeners: the kind comes from there, the port from the socket.
            for (int i = 0; i < sockets.Count; i++)
            {
                var listener = new ListenerSettings((System.Net.IPEndPoint)sockets[i].LocalEndPoint!, context.Settings.Listeners[i].Kind);
                Context.ActorOf(SmtpListener.Props(sockets[i], context with { Kind = listener.Kind }), listener.Name);
            }
        }

        // A listener keeps its socket across a crash: resume rather than restart (a restart would close it).
        protected override SupervisorStrategy SupervisorStrategy() => new OneForOneStrategy(_ => Directive.Resume);

        private IActorRef? _drainer;
        private int _draining;

        protected override void OnReceive(object message)
        {
            switch (message)
            {
                case InboundSession.Drain:
                    _drainer = Sender;
                    _draining = 0;
                    foreach (var listener in Context.GetChildren())
                    {
                        listener.Tell(InboundSession.Drain.Instance);
                        _draining++;
                    }
                    if (_draining == 0) _drainer.Tell(InboundSession.Drained.Instance);
                    break;
                case InboundSession.Drained:
                    if (--_draining == 0) _drainer?.Tell(InboundSession.Drained.Instance);
                    break;
                default:
                    Unhandled(message);
                    break;
            }
        }
    }
}
