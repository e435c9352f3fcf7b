using System.Net.Sockets;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;

namespace ActorMta.Control;

/// <summary>The client side of <see cref="ControlProtocol"/>: one request, one answer (and its rows, for a listing).</summary>
public static class ControlClient
{
    /// <summary>
    /// Sends <paramref name="request"/> (and <paramref name="data"/> after it, for submit) and returns the answer's head.
    /// </summary>
    /// <exception cref="ControlUnavailableException">Nothing answers on the socket: the MTA is not running (or its endpoint is off).</exception>
    /// <exception cref="IOException">The MTA closed the connection without answering, or answered garbage.</exception>
    public static async Task<JsonObject> SendAsync(string socketPath, JsonObject request, ReadOnlyMemory<byte> data, TimeSpan timeout)
    {
        await using var conversation = await OpenAsync(socketPath, request, data, timeout).ConfigureAwait(false);
        return conversation.Head;
    }

    /// <summary>
    /// Like <see cref="SendAsync"/>, but keeps the connection for the rows that follow the head
    /// (<see cref="ControlConversation.ReadRowAsync"/>); <paramref name="timeout"/> bounds the wait
    /// for the head and then for each row.
    /// </summary>
    /// <exception cref="ControlUnavailableException">Nothing answers on the socket.</exception>
    /// <exception cref="IOException">The MTA closed the connection without answering, or answered garbage.</exception>
    public static async Task<ControlConversation> OpenAsync(string socketPath, JsonObject request, ReadOnlyMemory<byte> data, TimeSpan timeout)
    {
        var cts = new CancellationTokenSource(timeout);
        var socket = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
        try
        {
            try
            {
                await socket.ConnectAsync(new UnixDomainSocketEndPoint(socketPath), cts.Token).ConfigureAwait(false);
            }
            catch (SocketException e) when (e.SocketErrorCode is SocketError.AddressNotAvailable or SocketError.ConnectionRefused
                                                 or SocketError.AccessDenied || !File.Exists(socketPath))
            {
                string why = File.Exists(socketPath) ? e.SocketErrorCode == SocketError.AccessDenied ? "permission denied" : "nothing listens on it" : "it does not exist";
                throw new ControlUnavailableException($"the MTA is not running (control socket {socketPath}: {why})", e);
            }
            catch (SocketException e)
            {
                throw new ControlUnavailableException($"the MTA is not running (control socket {socketPath}: {e.Message})", e);
            }

            var stream = new NetworkStream(socket, ownsSocket: true);
            var conversation = new ControlConversation(new StreamReader(stream, Encoding.UTF8), cts, timeout);
            try
            {
                await stream.WriteAsync(Encoding.UTF8.GetBytes(request.ToJsonString(ControlProtocol.Json) + "\n"), cts.Token).ConfigureAwait(false);
                if (!data.IsEmpty) await stream.WriteAsync(data, cts.Token).ConfigureAwait(false);
                string line = await conversation.ReadRowAsync().ConfigureAwait(false)
                    ?? throw new IOException("the MTA closed the control connection without answering");
                conversation.Head = JsonNode.Parse(line)?.AsObject() ?? throw new IOException("the MTA answered with an empty document");
                return conversation;
            }
            catch (Exception e) when (e is IOException or OperationCanceledException or SocketException or JsonException or InvalidOperationException)
            {
                await conversation.DisposeAsync().ConfigureAwait(false);
                if (e is IOException) throw;
                throw e switch
                {
                    OperationCanceledException => new IOException($"no answer from the MTA within {timeout.TotalSeconds:0} s"),
                    SocketException => new IOException($"control connection failed: {e.Message}", e),
                    _ => new IOException($"the MTA answered something that is not JSON: {e.Message}"),
                };
            }
        }
        catch (ControlUnavailableException)
        {
            socket.Dispose();
            cts.Dispose();
            throw;
        }
    }
}

/// <summary>An open answer: its head, then its rows one line at a time.</summary>
public sealed class ControlConversation : IAsyncDisposable
{
    private readonly StreamReader _reader;
    private readonly CancellationTokenSource _timeout;
    private readonly TimeSpan _patience;

    internal ControlConversation(StreamReader reader, CancellationTokenSource timeout, TimeSpan patience)
    {
        _reader = reader;
        _timeout = timeout;
        _patience = patience;
    }

    public JsonObject Head { get; internal set; } = [];

    /// <summary>The next row, or null when the MTA has closed the connection.</summary>
    /// <exception cref="IOException">Nothing within the timeout, or the connection failed.</exception>
    public async Task<string?> ReadRowAsync()
    {
        _timeout.CancelAfter(_patience);
        try
        {
            return await _reader.ReadLineAsync(_timeout.Token).ConfigureAwait(false);
        }
        catch (OperationCanceledException)
        {
            throw new IOException($"no answer from the MTA within {_patience.TotalSeconds:0} s");
        }
        catch (SocketException e)
        {
            throw new IOException($"control connection failed: {e.Message}", e);
        }
    }

    public ValueTask DisposeAsync()
    {
        _reader.Dispose();
        _timeout.Dispose();
        return ValueTask.CompletedTask;
    }
}
