using System.Net.Sockets;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;

namespace ActorMta.Control;

/// <summary>The client side of <see cref="ControlProtocol"/>: one request, one answer.</summary>
public static class ControlClient
{
    /// <summary>
    /// Sends <paramref name="request"/> (and <paramref name="data"/> after it, for submit) and returns the answer.
    /// </summary>
    /// <exception cref="ControlUnavailableException">Nothing answers on the socket: the MTA is not running (or its endpoint is off).</exception>
    /// <exception cref="IOException">The MTA closed the connection without answering, or answered garbage.</exception>
    public static async Task<JsonObject> SendAsync(string socketPath, JsonObject request, ReadOnlyMemory<byte> data, TimeSpan timeout)
    {
        using var cts = new CancellationTokenSource(timeout);
        using var socket = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
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

        await using var stream = new NetworkStream(socket, ownsSocket: false);
        try
        {
            await stream.WriteAsync(Encoding.UTF8.GetBytes(request.ToJsonString(ControlProtocol.Json) + "\n"), cts.Token).ConfigureAwait(false);
            if (!data.IsEmpty) await stream.WriteAsync(data, cts.Token).ConfigureAwait(false);
            using var reader = new StreamReader(stream, Encoding.UTF8);
            string? line = await reader.ReadLineAsync(cts.Token).ConfigureAwait(false);
            if (line is null) throw new IOException("the MTA closed the control connection without answering");
            return JsonNode.Parse(line)?.AsObject() ?? throw new IOException("the MTA answered with an empty document");
        }
        catch (OperationCanceledException)
        {
            throw new IOException($"no answer from the MTA within {timeout.TotalSeconds:0} s");
        }
        catch (JsonException e)
        {
            throw new IOException($"the MTA answered something that is not JSON: {e.Message}");
        }
        catch (SocketException e)
        {
            throw new IOException($"control connection failed: {e.Message}", e);
        }
    }
}
