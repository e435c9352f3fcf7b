using System.Buffers;
using System.Net;
using Akka.Actor;
using ActorMta.Configuration;
using ActorMta.Metrics;
using ActorMta.Smtp;
using ActorMta.Transport;

namespace ActorMta.Inbound;

/// <summary>
/// One inbound SMTP connection: the server state machine of DESIGN.md section 4.
///
/// The session pulls input: it asks the connection for bytes, consumes every complete command
/// (or data) in what arrived, appends each reply to one output buffer, and writes that buffer
/// once, when it needs more input. That single rule gives RFC 2920 PIPELINING and early
/// pipelining's "banner + EHLO reply + MAIL/RCPT/DATA replies in one segment" without special
/// cases. Handlers for each SMTP phase live in the partial files beside this one.
/// </summary>
public sealed partial class InboundSession : UntypedActor, IWithTimers
{
    private const int InitialBufferSize = 4096;

    private enum Mode { Command, Data, Chunk, Busy, Handshake, Closed }

    // Messages the session sends itself from its I/O and spool tasks.
    private sealed record InputReady(byte[] Buffer, int Count);
    private sealed record InputFailed(Exception Error);
    private sealed record WriteDone
    {
        public static readonly WriteDone Instance = new();
    }
    private sealed record WriteFailed(Exception Error);
    private sealed record Timeout
    {
        public static readonly Timeout Instance = new();
    }

    private readonly Connection _connection;
    private readonly InboundContext _context;
    private readonly SmtpServerSettings _smtp;
    private readonly string _hostname;
    private readonly IPAddress _clientAddress;
    private readonly string _clientText;
    private readonly int _clientPort;
    /// <summary>The listener's name (<c>smtp-PORT</c>), the label of this session's metrics.</summary>
    private readonly string _listenerName;
    /// <summary>Exim's <c>TFO*</c> on the <c>&lt;=</c> lines. The SYN is history by the time the
    /// connection is accepted, so this is asked of the kernel once, not once per message.</summary>
    private readonly bool _fastOpen;

    private byte[]? _input;
    private int _inputStart;
    private int _inputEnd;
    private readonly ArrayBufferWriter<byte> _output = new(512);

    private Mode _mode = Mode.Command;
    private ServerState _state = ServerState.Connected;
    private bool _readPending;
    private Reader _reader = null!;
    /// <summary>When the pending read began (<see cref="Environment.TickCount64"/>): the idle and data timeouts count from here.</summary>
    private long _readSince;
    /// <summary>When the armed timeout timer fires, or 0 when none is armed.</summary>
    private long _timerDue;
    private bool _writePending;
    /// <summary>When the pending write began: a client that stops reading our replies gets the same timeout as one that stops sending.</summary>
    private long _writeSince;
    private bool _closeAfterFlush;
    private bool _draining;
    private bool _discardingLongLine;
    /// <summary>
    /// What is buffered is the start of a line or of data that the next read must complete:
    /// <see cref="Pump"/> has been through it. Without this, a partial command (a client typing,
    /// or a line split across TCP segments) sent Pump and the flush after it round each other
    /// until the stack overflowed, and the process with it.
    /// </summary>
    private bool _waitingForMore;
    private int _badCommands;

    public ITimerScheduler Timers { get; set; } = null!;

    public InboundSession(Connection connection, InboundContext context)
    {
        _connection = connection;
        _context = context;
        _smtp = context.Settings.Smtp;
        _hostname = context.Settings.PrimaryHostname;
        _clientAddress = connection.RemoteAddress;
        _clientText = _clientAddress.ToString();
        _clientPort = connection.RemoteEndPoint.Port;
        _listenerName = Context.Parent.Path.Name;
        _fastOpen = connection.FastOpenWithData;
    }

    public static Props Props(Connection connection, InboundContext context) =>
        ActorProps.Of(() => new InboundSession(connection, context));

    protected override void PreStart()
    {
        _reader = new Reader(_connection, Self);
        Start();
    }

    protected override void PostStop()
    {
        // Stopped from outside (the MTA is stopping) while the client waits for us: RFC 5321
        // section 3.8 allows closing then only after a 421. Not while a reply is being written
        // (its bytes would interleave) or the stream is between clear text and TLS.
        if (_mode is not (Mode.Closed or Mode.Handshake) && !_closeAfterFlush && !_writePending)
        {
            Reply(Replies.ShuttingDown(_hostname));
            _connection.TryWriteWithoutWaiting(_output.WrittenSpan);
        }
        _connection.Dispose();
        ReleaseInput();
        AbortMessage();
        ReleaseBudgetShare(); // also while a store is running: the body goes with it
        // A store still running reads the spill file: it is closed when the store ends.
        if (_storing is { IsCompleted: false } storing && _body is { } body) storing.ContinueWith(_ => body.Dispose(), TaskScheduler.Default);
        else _body?.Dispose();
    }

    protected override void OnReceive(object message)
    {
        using var timing = MtaMetrics.Processing(nameof(InboundSession));
        switch (message)
        {
            case InputReady ready:
                OnInput(ready);
                break;
            case WriteDone:
                _writePending = false;
                AfterFlush();
                break;
            case InputFailed failed:
                ConnectionLost(failed.Error.Message);
                break;
            case WriteFailed failed:
                ConnectionLost(failed.Error.Message);
                break;
            case Timeout:
                OnTimeout();
                break;
            case Stored stored:
                OnStored(stored);
                break;
            case StoreFailed failed:
                OnStoreFailed(failed);
                break;
            case AuthChecked authChecked:
                OnAuthChecked(authChecked);
                break;
            case AuthFailureDue:
                OnAuthFailureDue();
                break;
            case TlsReady ready:
                OnTlsReady(ready);
                break;
            case TlsFailed failed:
                OnTlsFailed(failed);
                break;
            case Drain:
                _draining = true;
                CloseIfDrained();
                break;
            default:
                Unhandled(message);
                break;
        }
    }

    // ------------------------------------------------------------------ input

    private int Buffered => _inputEnd - _inputStart;

    /// <summary>Client input is already waiting: in our buffer, or in the socket.</summary>
    private bool MoreInputWaiting => Buffered > 0 || _connection.HasPendingInput;

    private void OnInput(InputReady ready)
    {
        _readPending = false;
        _input = ready.Buffer;
        if (ready.Count == 0)
        {
            ConnectionLost(_mode is Mode.Data or Mode.Chunk ? "connection closed while reading message data" : null);
            return;
        }
        _silentSinceHandshake = false;
        _inputEnd += ready.Count;
        Pump();
    }

    /// <summary>
    /// Consume everything that can be consumed, then write the queued replies once and ask for
    /// more input. While a message is being spooled (Busy) nothing is flushed: the 250 for it and
    /// the replies to whatever the client pipelined behind it leave together.
    /// </summary>
    private void Pump()
    {
        while (_mode is Mode.Command or Mode.Data or Mode.Chunk && Buffered > 0)
        {
            // Stopping: what the client pipelined behind its message gets the 421, not an answer.
            if (CloseIfDrained()) return;
            var progressed = _mode switch
            {
                Mode.Command => TryCommand(),
                Mode.Data => TryData(),
                _ => TryChunk(),
            };
            if (!progressed) break;
        }
        // A zero-length final BDAT chunk needs no input to complete.
        if (_mode == Mode.Chunk && _chunkRemaining == 0) TryChunk();
        _waitingForMore = _mode is Mode.Command or Mode.Data or Mode.Chunk && Buffered > 0;
        if (_mode is Mode.Busy or Mode.Closed) return;
        Flush();
    }

    private bool TryCommand()
    {
        var span = _input.AsSpan(_inputStart, Buffered);
        if (_discardingLongLine)
        {
            if (!LineFramer.TrySkipLine(span, out var skipped))
            {
                _inputStart = _inputEnd; // all of it belongs to the over-long line
                return false;
            }
            _inputStart += skipped;
            _discardingLongLine = false;
            _saslStep = SaslStep.None; // an over-long SASL response ends the exchange too
            Reply(Replies.LineTooLong);
            CountBadCommand();
            return true;
        }

        if (!LineFramer.TryReadLine(span, _smtp.MaxCommandLineLength, out var length, out var consumed, out var tooLong))
        {
            if (!tooLong) return false;
            // Skip to the end of this line only: its LF and pipelined commands may already be buffered.
            _discardingLongLine = true;
            return true;
        }

        var line = span[..length];
        _inputStart += consumed;
        if (_inputStart < _inputEnd) _pipeliningUsed = true; // a command was already waiting behind this one
        HandleCommandLine(line);
        return true;
    }

    private void HandleCommandLine(ReadOnlySpan<byte> line)
    {
        if (_saslStep != SaslStep.None)
        {
            OnSaslLine(line);
            return;
        }

        var parsed = CommandParser.Parse(line);
        if (!parsed.IsSuccess)
        {
            Reply(parsed.Error!);
            CountBadCommand();
            return;
        }

        var command = parsed.Command!;
        if (command is UnknownCommand)
        {
            Reply(Replies.Unrecognized);
            CountBadCommand();
            return;
        }

        if (!ServerStateTable.IsAllowed(_state, command.Verb))
        {
            if (command is BdatCommand refusedChunk)
            {
                // The chunk's bytes follow the command whatever we think of it: swallow them to stay in step.
                StartChunk(refusedChunk, ServerStateTable.BadSequence(_state));
                return;
            }
            Reply(ServerStateTable.BadSequence(_state));
            return;
        }

        if (IsSynchronizationError(command, line)) return;

        switch (command)
        {
            case EhloCommand ehlo: OnEhlo(ehlo); break;
            case HeloCommand helo: OnHelo(helo); break;
            case MailCommand mail: OnMail(mail); break;
            case RcptCommand rcpt: OnRcpt(rcpt); break;
            case DataCommand: OnData(); break;
            case BdatCommand bdat: OnBdat(bdat); break;
            case RsetCommand: OnRset(); break;
            case NoopCommand: Reply(Replies.Ok); break;
            case QuitCommand: OnQuit(); break;
            case HelpCommand: Reply(Replies.Help); break;
            case VrfyCommand: Reply(Replies.CannotVerify); break;
            case ExpnCommand: Reply(Replies.ExpnNotAvailable); break;
            case StartTlsCommand: OnStartTls(); break;
            case AuthCommand auth: OnAuth(auth); break;
            default: Reply(Replies.Unrecognized); break;
        }
    }

    /// <summary>
    /// RFC 2920: EHLO, DATA, NOOP... must end a pipelined group, and without PIPELINING every
    /// command must. Input already waiting behind such a command is a synchronisation error:
    /// 554 and close. The only relaxation is early pipelining's own (spec Part A rule 4): input
    /// queued behind EHLO/HELO from a client we accept early pipelining from, before the first
    /// DATA/BDAT.
    /// </summary>
    private bool IsSynchronizationError(SmtpCommand command, ReadOnlySpan<byte> line)
    {
        if (command.Verb == SmtpVerb.Quit) return false;
        // Input behind an accepted STARTTLS is not an error but an injection attempt: it is discarded, never executed (OnStartTls).
        if (command.Verb == SmtpVerb.StartTls && StartTlsOffered) return false;
        // RFC 4954 section 4: AUTH PLAIN with its initial response completes in one round trip and
        // may be followed by the rest of the group; any other AUTH must end it.
        var mustBeLast = !_pipeliningAdvertised
                         || (SmtpVerbs.EndsPipelineGroup(command.Verb) && command is not AuthCommand { Mechanism: "PLAIN", InitialResponse: not null });
        if (!mustBeLast || !MoreInputWaiting) return false;
        if (command.Verb is SmtpVerb.Ehlo or SmtpVerb.Helo && _earlyAcceptable && !_dataSeen) return false;

        var next = Buffered > 0 ? PeerText.Escape(_input.AsSpan(_inputStart, Math.Min(Buffered, 128))) : "";
        var advertised = _pipeliningAdvertised ? "pipelining was advertised" : "pipelining was not advertised";
        _context.MainLog.Write(
            $"SMTP protocol synchronization error (next input sent too soon: {advertised}): rejected \"{PeerText.Escape(line)}\" {HostField()} next input=\"{next}\"");
        Reply(Replies.SynchronizationError);
        CloseAfterFlush();
        return true;
    }

    private void CountBadCommand()
    {
        if (++_badCommands <= _smtp.MaxBadCommands) return;
        _context.MainLog.Write($"SMTP call from {HostField()} dropped: too many unrecognized or bad commands");
        Reply(Replies.TooManyBadCommands(_hostname));
        CloseAfterFlush();
    }

    // ------------------------------------------------------------------ output

    private void Reply(SmtpReply reply) => reply.WriteTo(_output);

    private void CloseAfterFlush()
    {
        _closeAfterFlush = true;
        _mode = Mode.Closed;
        _inputStart = _inputEnd; // nothing after a final reply is executed
        Flush();
    }

    /// <summary>Write the queued replies (one write), then continue with <see cref="AfterFlush"/>.</summary>
    private void Flush()
    {
        if (_writePending) return;
        if (_output.WrittenCount == 0)
        {
            AfterFlush();
            return;
        }

        ValueTask pending;
        try
        {
            pending = _connection.WriteAsync(_output.WrittenMemory);
        }
        catch (Exception e) when (e is IOException or ObjectDisposedException)
        {
            ConnectionLost(e.Message);
            return;
        }

        if (pending.IsCompletedSuccessfully)
        {
            _output.ResetWrittenCount();
            AfterFlush();
            return;
        }

        _writePending = true;
        _writeSince = Environment.TickCount64;
        ArmTimeout(TimeoutDue(_writeSince));
        pending.AsTask().PipeTo(Self, success: () => WriteDone.Instance, failure: e => new WriteFailed(e));
        // The output buffer stays untouched until WriteDone: no input is processed meanwhile.
    }

    private void AfterFlush()
    {
        _output.ResetWrittenCount();
        if (_closeAfterFlush)
        {
            _connection.ShutdownSend();
            Context.Stop(Self);
            return;
        }
        if (_mode == Mode.Handshake)
        {
            BeginHandshake(); // the 220 to STARTTLS has left: nothing else may precede the handshake
            return;
        }
        if (CloseIfDrained()) return;
        if (_mode is Mode.Busy or Mode.Closed) return;
        if (Buffered > 0 && !_waitingForMore)
        {
            // Input that came while we could not consume it (before the banner, during a handshake): consume it before reading more.
            Pump();
            return;
        }
        RequestInput();
    }

    private void RequestInput()
    {
        if (_readPending || _connection.IsClosed) return;
        _readPending = true;
        StartReadClock();
        byte[]? buffer = PrepareInputBuffer();
        _reader.Start(buffer, _inputEnd);
    }

    /// <summary>
    /// A session between transactions holds no input buffer: its read waits with a zero-byte read
    /// first, because such a client may stay silent for minutes and tens of thousands of them must
    /// fit. Inside a transaction the next command or data is a round trip away, so the buffer is
    /// kept and read into directly: one receive call per command instead of two. A partly consumed
    /// buffer is compacted, and grown only when one line or chunk needs it.
    /// </summary>
    private byte[]? PrepareInputBuffer()
    {
        if (_input is null) return null;
        if (Buffered == 0 && !InTransaction)
        {
            ReleaseInput();
            return null;
        }
        _input = ReceiveBuffer.MakeRoom(_input, ref _inputStart, ref _inputEnd);
        return _input;
    }

    private bool InTransaction => _mode is Mode.Data or Mode.Chunk || _transaction.Sender is not null;

    private TimeSpan ReadTimeout => _mode is Mode.Data or Mode.Chunk ? _smtp.DataTimeout : _smtp.IdleTimeout;

    /// <summary>When a wait that began at <paramref name="since"/> times out: a read, or a write the client does not take.</summary>
    private long TimeoutDue(long since) => since + (long)ReadTimeout.TotalMilliseconds;

    /// <summary>
    /// The idle or data timeout now counts from this read. The timer is not restarted per read (a
    /// scheduler entry and a cancellation per command): one armed timer stays, and when it fires
    /// early because input came meanwhile, <see cref="OnTimeout"/> arms it again for the rest.
    /// </summary>
    private void StartReadClock()
    {
        _readSince = Environment.TickCount64;
        ArmTimeout(TimeoutDue(_readSince));
    }

    private void ArmTimeout(long due)
    {
        if (_timerDue != 0 && _timerDue <= due) return; // the armed one fires first and re-arms for the rest
        _timerDue = due;
        Timers.StartSingleTimer(Timeout.Instance, Timeout.Instance, TimeSpan.FromMilliseconds(Math.Max(0, due - Environment.TickCount64)));
    }

    private void ReleaseInput()
    {
        if (_input is null) return;
        if (!_readPending) ArrayPool<byte>.Shared.Return(_input);
        _input = null;
        _inputStart = _inputEnd = 0;
    }

    // ------------------------------------------------------------------ endings

    private void OnTimeout()
    {
        _timerDue = 0;
        if (_writePending)
        {
            // Our replies do not leave: the client stopped reading (its window is full). Without this
            // such a client held its session, and a connection slot, for ever. Nothing more can be
            // said to it, so the connection is dropped.
            var writeDue = TimeoutDue(_writeSince);
            if (Environment.TickCount64 < writeDue)
            {
                ArmTimeout(writeDue);
                return;
            }
            _context.MainLog.Write($"SMTP timeout sending a reply on connection from {HostField()}: the client stopped reading");
            _mode = Mode.Closed;
            Context.Stop(Self);
            return;
        }
        if (_mode == Mode.Closed || !_readPending) return; // busy on our side: the next read arms it again
        var due = TimeoutDue(_readSince);
        if (Environment.TickCount64 < due)
        {
            ArmTimeout(due);
            return;
        }
        // Input that came as the timer fired wins over it: its read's message is queued behind this
        // one, or its bytes wait in the socket for the read to see them. The client was not idle,
        // and handling that input starts the clock again.
        if (_reader.ResultOnItsWay || _connection.HasPendingInput) return;
        var during = _mode is Mode.Data or Mode.Chunk ? "DATA" : "command";
        _context.MainLog.Write($"SMTP {during} timeout on connection from {HostField()}");
        Reply(Replies.Timeout(_hostname));
        CloseAfterFlush();
    }

    private void ConnectionLost(string? why)
    {
        if (_mode != Mode.Closed && _silentSinceHandshake) LogClosedRightAfterHandshake(why);
        else if (_mode != Mode.Closed && (_transaction.Sender is not null || _mode is Mode.Data or Mode.Chunk or Mode.Busy || why is not null))
            _context.MainLog.Write($"SMTP connection from {HostField()} lost{(why is null ? "" : $" ({why})")}");
        _mode = Mode.Closed;
        _readPending = false;
        Context.Stop(Self);
    }

    /// <summary>Exim's <c>H=</c> field: <c>H=(helo) [ip]:port</c>.</summary>
    private string HostField() =>
        _heloName is null ? $"H=[{_clientText}]:{_clientPort}" : $"H=({_heloName}) [{_clientText}]:{_clientPort}";
}
