using System.Net.Sockets;
using Akka.Actor;
using ActorMta.Configuration;
using ActorMta.Inbound;
using ActorMta.Logging;
using ActorMta.Queue;
using ActorMta.Spool;

namespace ActorMta;

/// <summary>
/// <c>/user/mta</c>: parent of the queue manager and the listeners. A crashing child is restarted
/// (the queue manager rebuilds from the spool, which nothing here ever deletes); an inbound session
/// that crashes is stopped, because its connection cannot be resumed, and its client retries.
/// </summary>
public sealed class MtaGuardian : UntypedActor
{
    public sealed class GetQueue
    {
        public static readonly GetQueue Instance = new();
        private GetQueue() { }
    }

    private readonly IActorRef _queue;

    public MtaGuardian(MtaSettings settings, MessageSpool spool, MainLog mainLog, Serilog.ILogger logger, IReadOnlyList<Socket> listenSockets)
    {
        _queue = Context.ActorOf(QueueManager.Props(settings, spool, mainLog), "queue");
        var context = new InboundContext(settings, spool, _queue, mainLog, logger);
        var listeners = Context.ActorOf(Akka.Actor.Props.Create(() => new ListenerGroup(listenSockets, context)), "listeners");
        Context.Watch(listeners);
    }

    public static Props Props(MtaSettings settings, MessageSpool spool, MainLog mainLog, Serilog.ILogger logger, IReadOnlyList<Socket> listenSockets) =>
        Akka.Actor.Props.Create(() => new MtaGuardian(settings, spool, mainLog, logger, listenSockets));

    protected override void OnReceive(object message)
    {
        switch (message)
        {
            case GetQueue:
                Sender.Tell(_queue);
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
            foreach (var socket in sockets)
                Context.ActorOf(SmtpListener.Props(socket, context), $"smtp-{((System.Net.IPEndPoint)socket.LocalEndPoint!).Port}");
        }

        // Sessions are per connection: a crashed session is stopped, never restarted on a dead socket.
        protected override SupervisorStrategy SupervisorStrategy() => new OneForOneStrategy(_ => Directive.Resume);

        protected override void OnReceive(object message) => Unhandled(message);
    }
}
