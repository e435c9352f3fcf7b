using System.Buffers;
using System.Text;
using ActorMta.Smtp;
using ActorMta.Transport;

namespace ActorMta.Outbound;

/// <summary>What a queued command waits for; the banner is "expected" without having been sent.</summary>
internal enum Expect { Banner, Ehlo, Helo, StartTls, Mail, Rcpt, Data, DataEnd, Bdat, Rset, Quit, Auth }

/// <summary>The server broke the conversation: closed, timed out, or sent something that is not a reply.</summary>
internal sealed class ConversationBrokenException(string message, Exception? inner = null) : Exception(message, inner);

/// <summary>
/// The client's half of DESIGN.md section 4: one list of pending commands with a send cursor
/// (everything appended is sent at the next flush) and a receive cursor (the next reply belongs to
/// the oldest command not yet answered). Writing ahead, PIPELINING and early pipelining are just
/// how many commands are appended before a flush; replies are still matched strictly in order
/// (spec Part A rule 11).
/// </summary>
internal sealed class ClientPipeline : IDisposable
{
    private readonly Connection _connection;
    private readonly ArrayBufferWriter<byte> _output = new(1024);
    private readonly Queue<(Expect Kind, string Command)> _pending = new();
    private byte[] _input = ArrayPool<byte>.Shared.Rent(8192);
    private int _start;
    private int _end;

    private readonly bool _fastOpen;
    private readonly TimeSpan _commandTimeout;
    private readonly TimeSpan _dataTimeout;
    private bool _firstWriteDone;
    private int _firstPayloadAt = -1;

    // The timeout of the current wait, linked to the caller's token (the attempt's deadline). Kept
    // across waits, its timer re-armed and disarmed: no allocation per round trip. The session
    // awaits each flush and read before the next, so there is one wait at a time; a wait it
    // cancelled ends the conversation, and a cancelled one is never armed again.
    private CancellationTokenSource? _timeout;
    private CancellationToken _timeoutLinkedTo;

    /// <param name="commandTimeout"><c>outbound.command-timeout</c>: the longest wait for a reply to a
    /// command (the banner counts as one), RFC 5321 4.5.3.2's five minutes by default.</param>
    /// <param name="dataTimeout"><c>outbound.data-timeout</c>: the longest wait for a write to go out and
    /// for the reply to the end of the data (DATA's final dot, a BDAT chunk).</param>
    /// <param name="fastOpen">The socket may put the first write in its SYN: keep message content out of that write.</param>
    public ClientPipeline(Connection connection, TimeSpan commandTimeout, TimeSpan dataTimeout, bool fastOpen = false)
    {
        _connection = connection;
        _commandTimeout = commandTimeout;
        _dataTimeout = dataTimeout;
        _fastOpen = fastOpen;
    }

    public int Outstanding => _pending.Count;

    /// <summary>Bytes already received but not yet consumed as replies.</summary>
    public int Unconsumed => _end - _start;

    /// <summary>Expect a reply that no command line asked for: the banner, or the one after the message data.</summary>
    public void ExpectUnsolicited(Expect kind) => _pending.Enqueue((kind, kind == Expect.Banner ? "connect" : "end of data"));

    /// <param name="shown">What error messages call the command instead of its text (AUTH lines carry credentials).</param>
    public void Append(string command, Expect kind, string? shown = null)
    {
        var bytes = Encoding.UTF8.GetByteCount(command) + 2;
        var span = _output.GetSpan(bytes);
        var written = Encoding.UTF8.GetBytes(command, span);
        span[written] = (byte)'\r';
        span[written + 1] = (byte)'\n';
        _output.Advance(written + 2);
        _pending.Enqueue((kind, shown ?? command));
    }

    /// <summary>Raw bytes that belong to the last appended command (a BDAT chunk, DATA content).</summary>
    public void AppendPayload(ReadOnlySpan<byte> bytes)
    {
        if (!_firstWriteDone && _firstPayloadAt < 0) _firstPayloadAt = _output.WrittenCount;
        bytes.CopyTo(_output.GetSpan(bytes.Length));
        _output.Advance(bytes.Length);
    }

    public IBufferWriter<byte> PayloadWriter => _output;

    public async Task FlushAsync(CancellationToken ct)
    {
        if (_output.WrittenCount == 0) return;
        // A write waits only when the server stops reading (its window full): bounded like data.
        var timeout = Arm(_dataTimeout, ct);
        try
        {
            var pending = _output.WrittenMemory;
            if (_fastOpen && !_firstWriteDone && _firstPayloadAt > 0)
            {
                // Rule 14: a SYN can be replayed by the network, so it may carry commands, never message content.
                await _connection.WriteAsync(pending[.._firstPayloadAt], timeout).ConfigureAwait(false);
                pending = pending[_firstPayloadAt..];
            }
            _firstWriteDone = true;
            await _connection.WriteAsync(pending, timeout).ConfigureAwait(false);
        }
        catch (OperationCanceledException e) when (!ct.IsCancellationRequested)
        {
            throw new ConversationBrokenException($"timeout sending to the server (data-timeout, {_dataTimeout.TotalSeconds:0.#}s)", e);
        }
        catch (Exception e) when (e is IOException or ObjectDisposedException or System.Net.Sockets.SocketException)
        {
            throw new ConversationBrokenException($"connection lost while sending: {e.Message}", e);
        }
        finally
        {
            Disarm();
        }
        _output.ResetWrittenCount();
    }

    /// <summary>The reply to the oldest outstanding command, which must be of the expected kind.</summary>
    public async Task<(SmtpReply Reply, string Command)> NextAsync(Expect expected, CancellationToken ct)
    {
        var (kind, command) = _pending.Dequeue();
        if (kind != expected) throw new InvalidOperationException($"reply order broken: expected {expected}, next pending is {kind}");
        while (true)
        {
            try
            {
                if (ReplyReader.TryRead(_input.AsSpan(_start, _end - _start), out var reply, out var consumed))
                {
                    _start += consumed;
                    if (OutOfStep(expected, reply.Code))
                        throw new ConversationBrokenException($"reply out of step: {reply.Code} to {Describe(command)}, a code only another command gets");
                    return (reply, command);
                }
            }
            catch (FormatException e)
            {
                throw new ConversationBrokenException($"bad reply to {command}: {e.Message}", e);
            }
            await FillAsync(command, expected is Expect.DataEnd or Expect.Bdat, ct).ConfigureAwait(false);
        }
    }

    /// <summary>
    /// A reply whose code no server gives to this command but only to another: the replies and the
    /// commands are out of step, and every reply from here on answers some other command. This
    /// happens when a server sends a reply in two parts that parse as one (a "250-" line that its
    /// next reply's "250 " ends): with QUIT pipelined behind the last message, the 221 to QUIT then
    /// arrives where the reply to the message's data is expected, and a 2xx taken at face value
    /// would call a message delivered for a recipient the server never took.
    /// </summary>
    private static bool OutOfStep(Expect expected, int code) => code switch
    {
        221 => expected != Expect.Quit,                                  // closing: only QUIT's (RFC 5321 4.3.2)
        220 => expected is not (Expect.Banner or Expect.StartTls),        // greeting, or ready for TLS
        354 => expected != Expect.Data,                                   // start mail input
        334 => expected != Expect.Auth,                                   // an AUTH challenge (RFC 4954)
        _ => false,
    };

    /// <summary>Reads more of the reply to <paramref name="waitingFor"/>, within the command or the data timeout.</summary>
    private async Task FillAsync(string waitingFor, bool afterData, CancellationToken ct)
    {
        _input = ReceiveBuffer.MakeRoom(_input, ref _start, ref _end);
        var limit = afterData ? _dataTimeout : _commandTimeout;
        var timeout = Arm(limit, ct);
        int count;
        try
        {
            count = await _connection.ReadAsync(_input.AsMemory(_end), timeout).ConfigureAwait(false);
        }
        catch (OperationCanceledException e) when (!ct.IsCancellationRequested)
        {
            string which = afterData ? "data-timeout" : "command-timeout";
            throw new ConversationBrokenException($"timeout waiting for the reply to {Describe(waitingFor)} ({which}, {limit.TotalSeconds:0.#}s)", e);
        }
        catch (OperationCanceledException e)
        {
            throw new ConversationBrokenException($"timeout waiting for the reply to {Describe(waitingFor)}", e);
        }
        catch (Exception e) when (e is IOException or ObjectDisposedException or System.Net.Sockets.SocketException)
        {
            throw new ConversationBrokenException($"connection lost waiting for the reply to {Describe(waitingFor)}: {e.Message}", e);
        }
        finally
        {
            Disarm();
        }
        if (count == 0) throw new ConversationBrokenException($"connection closed by the server waiting for the reply to {Describe(waitingFor)}");
        _end += count;
    }

    /// <summary>A token that ends after <paramref name="limit"/>, or with <paramref name="ct"/>.</summary>
    private CancellationToken Arm(TimeSpan limit, CancellationToken ct)
    {
        if (_timeout is null || _timeoutLinkedTo != ct || _timeout.IsCancellationRequested)
        {
            _timeout?.Dispose();
            _timeout = CancellationTokenSource.CreateLinkedTokenSource(ct);
            _timeoutLinkedTo = ct;
        }
        _timeout.CancelAfter(limit);
        return _timeout.Token;
    }

    private void Disarm() => _timeout?.CancelAfter(Timeout.InfiniteTimeSpan);

    private static string Describe(string command) => command switch
    {
        "connect" => "the banner",
        "end of data" => "the end of the data",
        _ => command.Split(' ')[0],
    };

    public void Dispose()
    {
        _timeout?.Dispose();
        var input = Interlocked.Exchange(ref _input, null!);
        if (input is not null) ArrayPool<byte>.Shared.Return(input);
    }
}
