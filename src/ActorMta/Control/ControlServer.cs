using System.Net.Sockets;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;

namespace ActorMta.Control;

/// <summary>One request as the server read it: the JSON line, the peer's user name, and the data of a submit.</summary>
public sealed record ControlRequest(JsonObject Body, string User, byte[] Data)
{
    public string Command => (string?)Body["command"] ?? "";

    /// <summary>The peer is root or the MTA's own user: it may look at and change the queue. Anyone
    /// else may only submit mail, as itself.</summary>
    public bool Admin { get; init; } = true;
}

/// <summary>
/// The control endpoint: a Unix domain socket, mode 0666, served by a background accept loop
/// (no actor: each request is a short conversation that asks the actors and answers). See
/// <see cref="ControlProtocol"/> for the wire format. Every local user may connect, because
/// /usr/sbin/sendmail is everyone's way to send mail; what each may ask is decided per request by
/// the peer's uid (<see cref="ControlRequest.Admin"/>), read from the kernel, never from the request.
/// </summary>
/// <remarks>
/// The socket is bound in a private folder (mode 0700) and renamed into place after its mode is
/// set: the path names either no socket or one with its final mode (what each peer may do is
/// decided per request, so the mode only has to let everyone connect). A socket file
/// left by a crashed MTA is replaced; one that still answers means another MTA owns it, and
/// start-up stops with that reason rather than stealing its endpoint.
/// </remarks>
public sealed class ControlServer : IDisposable
{
    private readonly Socket _listener;
    private readonly Func<ControlRequest, Task<ControlAnswer>> _handler;
    private readonly long _maxData;
    private readonly TimeSpan _requestTimeout;

    /// <summary>One slot per connection served; the accept loop waits for a free one, so more
    /// connections wait in the listen backlog (control.max-connections).</summary>
    private readonly SemaphoreSlim _slots;

    /// <summary>The slots users other than root and the MTA's may hold at once: a quarter of them
    /// (at least one) stays for the operator, so local users holding connections open cannot lock
    /// the operator out of the queue.</summary>
    private readonly SemaphoreSlim _userSlots;
    private readonly CancellationTokenSource _stop = new();
    private readonly Task _loop;

    private ControlServer(string path, Socket listener, Func<ControlRequest, Task<ControlAnswer>> handler, long maxData, TimeSpan requestTimeout, int maxConnections)
    {
        SocketPath = path;
        _listener = listener;
        _handler = handler;
        _maxData = maxData;
        _requestTimeout = requestTimeout;
        _slots = new SemaphoreSlim(maxConnections, maxConnections);
        int users = UserSlots(maxConnections);
        _userSlots = new SemaphoreSlim(users, users);
        _loop = Task.Run(AcceptLoopAsync);
    }

    public string SocketPath { get; }

    /// <summary>How many of <paramref name="maxConnections"/> other users may hold (see <see cref="_userSlots"/>).</summary>
    internal static int UserSlots(int maxConnections) => maxConnections <= 1 ? 1 : maxConnections - Math.Max(1, maxConnections / 4);

    /// <param name="path">Where the socket goes (actormta.control.socket).</param>
    /// <param name="handler">Answers one request.</param>
    /// <param name="maxData">Largest submit data accepted (the SMTP size limit plus room for added headers).</param>
    /// <param name="requestTimeout">How long a request and its answer's first line may take (actormta.control.request-timeout).</param>
    /// <param name="maxConnections">Connections served at once (actormta.control.max-connections).</param>
    /// <exception cref="ControlEndpointException">The socket cannot be created, or another process answers on it.</exception>
    [System.Runtime.Versioning.UnsupportedOSPlatform("windows")]
    public static ControlServer Start(string path, Func<ControlRequest, Task<ControlAnswer>> handler, long maxData, TimeSpan requestTimeout, int maxConnections)
    {
        RemoveStaleSocket(path);
        var listener = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
        try
        {
            string folder = Path.GetDirectoryName(path)!;
            Directory.CreateDirectory(folder);
            string privateFolder = Path.Combine(folder, $".actormta-control-{Environment.ProcessId}");
            string temp = Path.Combine(privateFolder, "s");
            if (Encoding.UTF8.GetByteCount(temp) <= Configuration.ControlSettings.MaxSocketPathBytes)
            {
                Directory.CreateDirectory(privateFolder, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
                try
                {
                    listener.Bind(new UnixDomainSocketEndPoint(temp));
                    File.SetUnixFileMode(temp, AnyoneMayConnect);
                    File.Move(temp, path);
                }
                finally
                {
                    Directory.Delete(privateFolder, recursive: true);
                }
            }
            else
            {
                // No room for the private folder in a socket path: bind in place (the umask covers the moment before chmod).
                listener.Bind(new UnixDomainSocketEndPoint(path));
                File.SetUnixFileMode(path, AnyoneMayConnect);
            }
            listener.Listen(Math.Max(16, maxConnections));
        }
        catch (Exception e) when (e is SocketException or IOException or UnauthorizedAccessException)
        {
            listener.Dispose();
            throw new ControlEndpointException($"cannot serve the control socket {path}: {e.Message} (actormta.control.socket)", e);
        }
        return new ControlServer(path, listener, handler, maxData, requestTimeout, maxConnections);
    }

    /// <summary>Connecting to a Unix socket needs write permission on it.</summary>
    private const UnixFileMode AnyoneMayConnect =
        UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.GroupRead | UnixFileMode.GroupWrite | UnixFileMode.OtherRead | UnixFileMode.OtherWrite;

    private static void RemoveStaleSocket(string path)
    {
        if (!File.Exists(path)) return;
        using (var probe = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified))
        {
            try
            {
                probe.Connect(new UnixDomainSocketEndPoint(path));
                throw new ControlEndpointException(
                    $"another process answers on the control socket {path}: is ActorMta already running with this data directory? (actormta.control.socket)");
            }
            catch (SocketException)
            {
                // Nobody listens: left over by an MTA that did not stop cleanly.
            }
        }
        try
        {
            File.Delete(path);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new ControlEndpointException($"cannot remove the stale control socket {path}: {e.Message} (actormta.control.socket)", e);
        }
    }

    private async Task AcceptLoopAsync()
    {
        while (!_stop.IsCancellationRequested)
        {
            Socket client;
            try
            {
                await _slots.WaitAsync(_stop.Token).ConfigureAwait(false);
            }
            catch (OperationCanceledException)
            {
                return;
            }
            try
            {
                client = await _listener.AcceptAsync(_stop.Token).ConfigureAwait(false);
            }
            catch (Exception e) when (e is OperationCanceledException or ObjectDisposedException or SocketException)
            {
                _slots.Release();
                if (_stop.IsCancellationRequested) return;
                continue;
            }
            _ = Task.Run(async () =>
            {
                try
                {
                    await ServeAsync(client).ConfigureAwait(false);
                }
                finally
                {
                    _slots.Release();
                }
            });
        }
    }

    private async Task ServeAsync(Socket client)
    {
        var peer = PeerCredentials.Of(client);
        if (!peer.Admin && !_userSlots.Wait(0))
        {
            using (client)
            {
                try
                {
                    client.Send(Encoding.UTF8.GetBytes(Error(ControlProtocol.Busy, "too many control connections from users; try again shortly").ToJsonString(ControlProtocol.Json) + "\n"));
                }
                catch (SocketException)
                {
                }
            }
            return;
        }
        try
        {
            await ServeAsync(client, peer).ConfigureAwait(false);
        }
        finally
        {
            if (!peer.Admin) _userSlots.Release();
        }
    }

    private async Task ServeAsync(Socket client, (string Name, bool Admin) peer)
    {
        using (client)
        await using (var stream = new NetworkStream(client, ownsSocket: false))
        {
            using var timeout = CancellationTokenSource.CreateLinkedTokenSource(_stop.Token);
            timeout.CancelAfter(_requestTimeout);
            ControlAnswer answer;
            try
            {
                var request = await ReadRequestAsync(peer, stream, timeout.Token).ConfigureAwait(false);
                answer = request is null ? Error(ControlProtocol.BadRequest, "empty request") : await _handler(request).ConfigureAwait(false);
            }
            catch (BadRequestException e)
            {
                answer = Error(ControlProtocol.BadRequest, e.Message);
            }
            catch (Exception e) when (e is IOException or SocketException or OperationCanceledException)
            {
                return; // the client went away or was too slow: nobody to answer
            }
            catch (Exception e)
            {
                answer = Error(ControlProtocol.Failed, $"{e.GetType().Name}: {e.Message}");
            }
            try
            {
                await stream.WriteAsync(Encoding.UTF8.GetBytes(answer.Head.ToJsonString(ControlProtocol.Json) + "\n"), timeout.Token).ConfigureAwait(false);
            }
            catch (Exception e) when (e is IOException or SocketException or OperationCanceledException)
            {
                return;
            }
            if (answer.WriteRows is not { } rows) return;
            try
            {
                // The rows go at the reader's pace (an operator may page through them), so only a
                // stopping MTA cuts them short.
                await rows(stream, _stop.Token).ConfigureAwait(false);
            }
            catch (Exception)
            {
                // Whatever stopped the rows, closing the connection is the answer: the head said how
                // many rows there are, so the client reports a listing cut short.
            }
        }
    }

    public static JsonObject Error(string status, string text) => new() { ["ok"] = false, ["status"] = status, ["error"] = text };

    private sealed class BadRequestException(string message) : Exception(message);

    private async Task<ControlRequest?> ReadRequestAsync((string Name, bool Admin) peer, NetworkStream stream, CancellationToken ct)
    {
        var buffer = new byte[8192];
        var line = new MemoryStream();
        int filled = 0, newline = -1;
        while (newline < 0)
        {
            if (filled == buffer.Length) Array.Resize(ref buffer, Math.Min(buffer.Length * 2, ControlProtocol.MaxRequestLine + 8192));
            int n = await stream.ReadAsync(buffer.AsMemory(filled), ct).ConfigureAwait(false);
            if (n == 0) return null;
            newline = Array.IndexOf(buffer, (byte)'\n', filled, n);
            filled += n;
            if (newline < 0 && filled > ControlProtocol.MaxRequestLine) throw new BadRequestException("request line too long");
        }
        JsonObject body;
        try
        {
            body = JsonNode.Parse(buffer.AsSpan(0, newline))?.AsObject() ?? throw new BadRequestException("request is not a JSON object");
        }
        catch (Exception e) when (e is JsonException or InvalidOperationException)
        {
            throw new BadRequestException($"request is not a JSON object: {e.Message}");
        }

        byte[] data = [];
        if (body["size"] is JsonValue sizeValue)
        {
            if (!sizeValue.TryGetValue(out long size) || size < 0) throw new BadRequestException("size must be a non-negative integer");
            if (size > _maxData) throw new BadRequestException($"message too big: {size} bytes, the limit is {_maxData} (actormta.smtp.max-message-size)");
            data = await ReadDataAsync(stream, buffer.AsMemory(newline + 1, filled - newline - 1), (int)size, ct).ConfigureAwait(false);
        }
        return new ControlRequest(body, peer.Name, data) { Admin = peer.Admin };
    }

    /// <summary>
    /// The <paramref name="size"/> bytes of a submit, starting with those that came with the request
    /// line. Memory grows with the bytes that arrive, not with the size a request announces: any
    /// local user may connect, and sixteen connections each announcing the size limit and sending
    /// nothing must not hold sixteen times that limit.
    /// </summary>
    private static async Task<byte[]> ReadDataAsync(NetworkStream stream, ReadOnlyMemory<byte> first, int size, CancellationToken ct)
    {
        var data = new MemoryStream(Math.Min(size, 64 * 1024));
        data.Write(first.Span[..Math.Min(first.Length, size)]);
        var chunk = new byte[64 * 1024];
        while (data.Length < size)
        {
            int n = await stream.ReadAsync(chunk.AsMemory(0, (int)Math.Min(chunk.Length, size - data.Length)), ct).ConfigureAwait(false);
            if (n == 0) throw new EndOfStreamException($"the request ended after {data.Length} of its {size} bytes of data");
            data.Write(chunk, 0, n);
        }
        return data.Length == data.Capacity ? data.GetBuffer() : data.ToArray();
    }

    public void Dispose()
    {
        if (_stop.IsCancellationRequested) return;
        _stop.Cancel();
        _listener.Dispose();
        try { _loop.Wait(TimeSpan.FromSeconds(5)); } catch (AggregateException) { }
        try { File.Delete(SocketPath); } catch (Exception e) when (e is IOException or UnauthorizedAccessException) { }
        _stop.Dispose();
    }
}
