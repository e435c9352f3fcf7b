using System.Net;
using System.Net.Sockets;
using Akka.Actor;
using ActorMta.Metrics;
using ActorMta.Transport;

namespace ActorMta.Inbound;

/// <summary>
/// Accepts sockets on one listening endpoint and starts one <see cref="InboundSession"/> child per
/// connection. It enforces the connection limits (total and per client IP) before a session exists,
/// so a flood costs a 421 and a close, not an actor.
/// </summary>
public sealed class SmtpListener : UntypedActor
{
    private sealed record Accepted(Socket Socket);
    private sealed record AcceptFailed(Exception Error);

    private readonly Socket _listenSocket;
    private readonly InboundContext _context;
    private readonly Dictionary<IActorRef, IPAddress> _sessionAddress = new();
    private readonly Dictionary<IPAddress, int> _perAddress = new();
    private readonly CancellationTokenSource _stop = new();
    private long _sessionCounter;
    private string _name = "";
    // Set once the MTA is stopping: who waits for the last session to end.
    private IActorRef? _drainer;

    public SmtpListener(Socket listenSocket, InboundContext context)
    {
        _listenSocket = listenSocket;
        _context = context;
    }

    public static Props Props(Socket listenSocket, InboundContext context) =>
        Akka.Actor.Props.Create(() => new SmtpListener(listenSocket, context));

    /// <summary>A crashed session is stopped: its socket cannot be resumed, and restarting it would greet twice.</summary>
    protected override SupervisorStrategy SupervisorStrategy() => new OneForOneStrategy(_ => Directive.Stop);

    protected override void PreStart()
    {
        _name = Self.Path.Name;
        var self = Self;
        var socket = _listenSocket;
        var token = _stop.Token;
        // The accept loop runs off the actor: it only hands sockets over, all decisions are made in OnReceive.
        _ = Task.Run(async () =>
        {
            while (!token.IsCancellationRequested)
            {
                try
                {
                    var accepted = await socket.AcceptAsync(token).ConfigureAwait(false);
                    self.Tell(new Accepted(accepted));
                }
                catch (OperationCanceledException) { return; }
                catch (ObjectDisposedException) { return; }
                catch (SocketException e) when (e.SocketErrorCode is SocketError.OperationAborted or SocketError.Interrupted) { return; }
                catch (SocketException e)
                {
                    // EMFILE and friends: report, back off a little, keep accepting.
                    self.Tell(new AcceptFailed(e));
                    await Task.Delay(100, CancellationToken.None).ConfigureAwait(false);
                }
            }
        }, CancellationToken.None);
    }

    protected override void PostStop()
    {
        _stop.Cancel();
        _listenSocket.Dispose();
    }

    protected override void OnReceive(object message)
    {
        switch (message)
        {
            case Accepted accepted:
                OnAccepted(accepted.Socket);
                break;
            case Terminated terminated:
                if (_sessionAddress.Remove(terminated.ActorRef, out var address))
                {
                    MtaMetrics.ConnectionClosed(_name);
                    if (--_perAddress[address] == 0) _perAddress.Remove(address);
                }
                ReplyIfDrained();
                break;
            case InboundSession.Drain:
                // No new connections (the port closes, clients try another MX), every session told.
                _drainer = Sender;
                _stop.Cancel();
                _listenSocket.Dispose();
                foreach (var session in _sessionAddress.Keys) session.Tell(InboundSession.Drain.Instance);
                ReplyIfDrained();
                break;
            case AcceptFailed failed:
                _context.Logger.Warning("accept failed on {EndPoint}: {Error}", _listenSocket.LocalEndPoint, failed.Error.Message);
                break;
            default:
                Unhandled(message);
                break;
        }
    }

    private void ReplyIfDrained()
    {
        if (_drainer is null || _sessionAddress.Count > 0) return;
        _drainer.Tell(InboundSession.Drained.Instance);
        _drainer = null;
    }

    private void OnAccepted(Socket socket)
    {
        if (_drainer is not null || _stop.IsCancellationRequested)
        {
            // Accepted just before the port closed.
            SayAndClose(socket, Replies.ShuttingDown(_context.Settings.PrimaryHostname));
            return;
        }
        var remote = (IPEndPoint)socket.RemoteEndPoint!;
        var address = remote.Address.IsIPv4MappedToIPv6 ? remote.Address.MapToIPv4() : remote.Address;
        var smtp = _context.Settings.Smtp;
        _perAddress.TryGetValue(address, out var fromThisAddress);

        string? refusal = null;
        if (_sessionAddress.Count >= smtp.MaxConnections) refusal = "too many connections";
        else if (fromThisAddress >= smtp.MaxConnectionsPerIp) refusal = "too many connections from that IP address";
        if (refusal is not null)
        {
            MtaMetrics.ConnectionRefused(_name, fromThisAddress >= smtp.MaxConnectionsPerIp ? RefuseReason.PerHostLimit : RefuseReason.ConnectionLimit);
            Refuse(socket, address, remote.Port, refusal);
            return;
        }

        Connection connection;
        try { connection = new Connection(socket); }
        catch (Exception e) when (e is SocketException or ObjectDisposedException)
        {
            socket.Dispose();
            return; // the client went away between accept and now
        }

        var session = Context.ActorOf(InboundSession.Props(connection, _context), $"session-{++_sessionCounter}");
        Context.Watch(session);
        _sessionAddress[session] = address;
        _perAddress[address] = fromThisAddress + 1;
        MtaMetrics.ConnectionOpened(_name);
    }

    private void Refuse(Socket socket, IPAddress address, int port, string reason)
    {
        _context.MainLog.Write($"Connection from [{address}]:{port} refused: {reason}");
        SayAndClose(socket, Replies.TooManyConnections(_context.Settings.PrimaryHostname));
    }

    /// <summary>One reply to a connection no session serves, without waiting, then the close.</summary>
    private static void SayAndClose(Socket socket, ActorMta.Smtp.SmtpReply reply)
    {
        try
        {
            socket.Blocking = false;
            socket.Send(reply.Encoded.Span);
            socket.Shutdown(SocketShutdown.Both);
        }
        catch (SocketException) { }
        catch (ObjectDisposedException) { }
        finally { socket.Dispose(); }
    }
}
