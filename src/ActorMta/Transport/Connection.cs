using System.Net;
using System.Net.Sockets;

namespace ActorMta.Transport;

/// <summary>
/// One TCP connection, shared by both directions of the MTA. It owns the socket and the stream
/// (a <see cref="NetworkStream"/> today; the TLS issue swaps in an <c>SslStream</c> over the same
/// socket through <see cref="ReplaceStream"/>), and does the byte-level I/O for its actor.
/// It keeps no protocol state: framing lives in ActorMta.Smtp, policy in the session actors.
/// </summary>
public sealed class Connection : IDisposable
{
    private readonly Socket _socket;
    private Stream _stream;
    private int _disposed;

    /// <param name="remote">
    /// The peer, when the caller knows it: a TCP Fast Open client socket is not connected yet
    /// (the SYN leaves with the first write), so the kernel cannot tell us.
    /// </param>
    public Connection(Socket socket, IPEndPoint? remote = null)
    {
        _socket = socket;
        _socket.NoDelay = true;
        _stream = new NetworkStream(socket, ownsSocket: false);
        RemoteEndPoint = remote ?? (IPEndPoint)socket.RemoteEndPoint!;
    }

    public IPEndPoint RemoteEndPoint { get; }

    /// <summary>The client's address with IPv4-mapped IPv6 addresses unwrapped, as logs and host lists expect.</summary>
    public IPAddress RemoteAddress =>
        RemoteEndPoint.Address.IsIPv4MappedToIPv6 ? RemoteEndPoint.Address.MapToIPv4() : RemoteEndPoint.Address;

    public Stream Stream => _stream;

    /// <summary>The SYN of this connection carried data (TCP Fast Open), for the logs' <c>TFO*</c>.</summary>
    public bool FastOpenWithData => TcpFastOpen.SynCarriedData(_socket);

    public bool IsClosed => Volatile.Read(ref _disposed) != 0;

    /// <summary>
    /// True when the peer has already sent bytes we have not read. This is the early-talker test at
    /// banner time: it must not wait, because a client that waits for the banner would then stall.
    /// </summary>
    public bool HasPendingInput
    {
        get
        {
            try { return !IsClosed && _socket.Available > 0; }
            catch (ObjectDisposedException) { return false; }
            catch (SocketException) { return false; }
        }
    }

    /// <summary>
    /// Waits until input is available without holding a buffer (a zero-byte read), so an idle
    /// connection costs no receive buffer: the price of tens of thousands of idle sessions.
    /// </summary>
    public ValueTask<int> WaitForInputAsync(CancellationToken cancellationToken = default) =>
        _stream.ReadAsync(Memory<byte>.Empty, cancellationToken);

    public ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default) =>
        _stream.ReadAsync(buffer, cancellationToken);

    public ValueTask WriteAsync(ReadOnlyMemory<byte> data, CancellationToken cancellationToken = default) =>
        _stream.WriteAsync(data, cancellationToken);

    /// <summary>
    /// Reads whatever has already arrived, without waiting (plaintext only). Used to quote an early
    /// talker's first bytes in the log before refusing it.
    /// </summary>
    public int ReadAvailable(Span<byte> buffer)
    {
        try
        {
            if (_socket.Available == 0) return 0;
            return _socket.Receive(buffer, SocketFlags.None, out var error) is var n && error == SocketError.Success ? n : 0;
        }
        catch (ObjectDisposedException) { return 0; }
        catch (SocketException) { return 0; }
    }

    /// <summary>Swap the stream (e.g. for TLS) once the caller has drained the old one.</summary>
    public void ReplaceStream(Stream stream) => _stream = stream;

    /// <summary>Stop sending (FIN) but keep reading what is in flight; used after a final reply.</summary>
    public void ShutdownSend()
    {
        try { _socket.Shutdown(SocketShutdown.Send); }
        catch (SocketException) { }
        catch (ObjectDisposedException) { }
    }

    /// <summary>
    /// Writes a last reply before the connection is closed from outside the conversation (the MTA
    /// stopping), without ever waiting: a client that does not read gets nothing rather than
    /// holding up the stop. Not while another write is in progress.
    /// </summary>
    public void TryWriteWithoutWaiting(ReadOnlySpan<byte> data)
    {
        if (IsClosed) return;
        try
        {
            _socket.Blocking = false;
            _stream.Write(data);
        }
        catch (Exception e) when (e is IOException or SocketException or ObjectDisposedException or NotSupportedException or InvalidOperationException)
        {
            // Gone, or its window full: the close says the rest.
        }
    }

    public void Dispose()
    {
        if (Interlocked.Exchange(ref _disposed, 1) != 0) return;
        try { _stream.Dispose(); } catch (IOException) { } catch (ObjectDisposedException) { }
        try { _socket.Dispose(); } catch (SocketException) { }
    }
}
