using System.Buffers;
using Akka.Actor;
using ActorMta.Configuration;
using ActorMta.Metrics;
using ActorMta.Queue;
using ActorMta.Smtp;
using ActorMta.Spool;
using Envelope = ActorMta.Spool.Envelope;

namespace ActorMta.Inbound;

// DATA and BDAT: receiving the content, then making it durable before the 250 (DESIGN.md section 5).
public sealed partial class InboundSession
{
    private sealed record Stored(Envelope Envelope);
    private sealed record StoreFailed(Envelope Envelope, Exception Error);

    /// <summary>The share of <see cref="InboundContext.DataBudget"/> a message takes at a time.</summary>
    private const int BudgetStep = 64 * 1024;

    /// <summary>The data of the message in progress: in memory, or past <see cref="IncomingData.SpillAt"/> in a spill file.</summary>
    private IncomingData? _body;
    /// <summary>The store in progress (<see cref="Mode.Busy"/>): the body is closed only after it.</summary>
    private Task? _storing;
    /// <summary>Bytes of the shared data budget this message holds.</summary>
    private long _budgetTaken;
    /// <summary>The budget had no room for this message: the rest of its data is read and dropped, and it gets 452.</summary>
    private bool _overBudget;
    /// <summary>Where dropped data is decoded (the decoders still find the end of the data), emptied before each use.</summary>
    private ArrayBufferWriter<byte>? _discard;
    private DataDecoder? _dataDecoder;
    private BdatDecoder? _bdatDecoder;
    private long _chunkSize;
    private long _chunkRemaining;
    private bool _chunkLast;
    private SmtpReply? _chunkRefusal;

    private bool Normalize => _smtp.BareLineEndings == BareLineEndingPolicy.Normalize;

    private void OnData()
    {
        _dataSeen = true;
        _body ??= new IncomingData(_context.Spool.InputDirectory);
        if (_dataDecoder is null) _dataDecoder = new DataDecoder(_smtp.MaxMessageSize, _smtp.MaxTextLineLength, Normalize);
        else _dataDecoder.Reset(_smtp.MaxMessageSize, _smtp.MaxTextLineLength, Normalize);
        _mode = Mode.Data;
        Reply(Replies.StartData);
    }

    private bool TryData()
    {
        var status = _dataDecoder!.Decode(_input.AsSpan(_inputStart, Buffered), BodySink(Buffered), out var consumed);
        _inputStart += consumed;
        if (status == DataStatus.NeedMoreInput) return false;
        if (Buffered > 0) _pipeliningUsed = true;
        FinishMessage(_dataDecoder.Problems);
        return true;
    }

    private void OnBdat(BdatCommand bdat)
    {
        if (_state != ServerState.InChunks)
        {
            _body ??= new IncomingData(_context.Spool.InputDirectory);
            if (_bdatDecoder is null) _bdatDecoder = new BdatDecoder(_smtp.MaxMessageSize, _smtp.MaxTextLineLength, Normalize);
            else _bdatDecoder.Reset(_smtp.MaxMessageSize, _smtp.MaxTextLineLength, Normalize);
            _transaction.UsedChunking = true;
        }
        _dataSeen = true;
        _state = ServerState.InChunks;
        StartChunk(bdat, refusal: null);
    }

    /// <summary>RFC 3030: the chunk's bytes follow the command at once; they are read even when the command is refused.</summary>
    private void StartChunk(BdatCommand bdat, SmtpReply? refusal)
    {
        _chunkSize = bdat.Size;
        _chunkRemaining = bdat.Size;
        _chunkLast = bdat.Last;
        _chunkRefusal = refusal;
        _mode = Mode.Chunk;
    }

    private bool TryChunk()
    {
        if (_chunkRemaining > 0)
        {
            var take = (int)Math.Min(_chunkRemaining, Buffered);
            if (take == 0) return false;
            if (_chunkRefusal is null) _bdatDecoder!.Write(_input.AsSpan(_inputStart, take), BodySink(take));
            _inputStart += take;
            _chunkRemaining -= take;
            if (_chunkRemaining > 0) return true;
        }

        _mode = Mode.Command;
        if (_chunkRefusal is not null)
        {
            Reply(_chunkRefusal);
            _chunkRefusal = null;
            return true;
        }
        if (!_chunkLast)
        {
            Reply(Replies.ChunkReceived(_chunkSize));
            return true;
        }
        _bdatDecoder!.Finish(BodySink(0));
        if (Buffered > 0) _pipeliningUsed = true;
        FinishMessage(_bdatDecoder.Problems);
        return true;
    }

    /// <summary>
    /// Where the next <paramref name="incoming"/> bytes of the message go: its body, with the
    /// shared budget taken first for what it holds in memory, or, once the budget has no room, nowhere.
    /// </summary>
    private IBufferWriter<byte> BodySink(int incoming)
    {
        if (!_overBudget)
        {
            // A spilled body holds at most its staging buffer; the share taken before the spill is kept.
            long needed = _body!.InMemory + (long)incoming;
            if (needed <= _budgetTaken) return _body;
            long step = Math.Max(BudgetStep, needed - _budgetTaken);
            if (_context.DataBudget.TryTake(step))
            {
                _budgetTaken += step;
                return _body;
            }
            // Out of room: what this message holds goes at once, and so does its share.
            _overBudget = true;
            _body.Reset();
            ReleaseBudgetShare();
        }
        _discard ??= new ArrayBufferWriter<byte>(4096);
        _discard.ResetWrittenCount();
        return _discard;
    }

    private void ReleaseBudgetShare()
    {
        _context.DataBudget.Give(_budgetTaken);
        _budgetTaken = 0;
    }

    private void FinishMessage(DataProblems problems)
    {
        _mode = Mode.Command;
        var refusal = problems.HasFlag(DataProblems.TooBig) ? (Reply: Replies.TooBig(_smtp.MaxMessageSize), Why: "message too big")
            : problems.HasFlag(DataProblems.BareLineEnding) && !Normalize ? (Reply: Replies.BareLineEnding, Why: "bare CR or LF in message data")
            : problems.HasFlag(DataProblems.LineTooLong) ? (Reply: Replies.LineTooLongInData(_smtp.MaxTextLineLength), Why: "line too long in message data")
            : _overBudget ? (Reply: Replies.InsufficientStorage,
                Why: $"message data in memory would exceed actormta.smtp.max-data-in-memory ({_context.DataBudget.Limit} bytes, all sessions together)")
            : !_body!.Complete() ? (Reply: Replies.SpoolFailure, Why: _body.Failure!)
            : MessageHeaders.CountReceived(_body.Head) is var received && received > _smtp.MaxReceivedHeaders
                ? (Reply: Replies.MailLoop(received, _smtp.MaxReceivedHeaders), Why: $"too many Received: header fields ({received}): suspected mail loop")
            : default;
        if (refusal.Reply is not null)
        {
            _context.MainLog.Write($"{HostField()} F=<{_transaction.Sender}> {(refusal.Reply.IsTransient ? "temporarily " : "")}rejected after DATA: {refusal.Why}");
            Reply(refusal.Reply);
            EndTransaction();
            return;
        }

        var envelope = BuildEnvelope(out var receivedHeader);
        _mode = Mode.Busy;
        Task store;
        try { store = _context.Spool.StoreAsync(envelope, receivedHeader, _body!); }
        catch (Exception e) { store = Task.FromException(e); } // a synchronous failure is still a 451, never a dropped connection
        _storing = store;
        store.PipeTo(Self, success: () => new Stored(envelope), failure: e => new StoreFailed(envelope, e));
    }

    private Envelope BuildEnvelope(out byte[] receivedHeader)
    {
        var id = _context.Spool.NewMessageId();
        var now = DateTimeOffset.Now;
        var parameters = _transaction.Parameters;
        var utf8 = parameters.SmtpUtf8;
        var (protocol, withKeyword) = ReceivedProtocol(utf8);
        protocol = WithAuth(protocol);
        withKeyword = WithAuth(withKeyword);
        var recipients = _transaction.Recipients.ToArray();
        receivedHeader = ReceivedHeader.Build(_heloName, _clientText, _clientPort, _hostname, withKeyword, id,
            recipients.Length == 1 ? recipients[0].Address : null, now);
        return new Envelope(
            MessageId: id,
            Sender: _transaction.Sender?.ToString() ?? "",
            Recipients: recipients,
            ReceivedAt: now,
            HeloName: _heloName,
            ClientAddress: _clientText,
            ClientPort: _clientPort,
            Protocol: protocol,
            Body: parameters.Body switch { BodyType.SevenBit => "7BIT", BodyType.EightBitMime => "8BITMIME", _ => null },
            SmtpUtf8: utf8,
            Ret: parameters.Ret,
            EnvId: parameters.EnvId,
            HeaderMessageId: MessageHeaders.FindMessageId(_body!.Head),
            Size: receivedHeader.Length + _body.Length);
    }

    private void OnStored(Stored stored)
    {
        var envelope = stored.Envelope;
        // The queue learns of the message before the client does: if we crash after this point the
        // spool still has it, and the queue manager rebuilds from the spool at start.
        _context.Queue.Tell(new QueueManager.Enqueue(envelope));
        _context.MainLog.Write(ReceptionLine(envelope));
        MtaMetrics.MessageReceived(_listenerName, envelope.Size);
        _messagesAccepted++;
        _mode = Mode.Command;
        Reply(Replies.Accepted(envelope.MessageId));
        EndTransaction();
        Pump();
    }

    private void OnStoreFailed(StoreFailed failed)
    {
        _context.Logger.Error(failed.Error, "spool write failed for message from {Client}", _clientText);
        _context.MainLog.Write($"{HostField()} F=<{_transaction.Sender}> temporarily rejected after DATA: spool write failed: {failed.Error.Message}");
        _mode = Mode.Command;
        Reply(Replies.SpoolFailure);
        EndTransaction();
        Pump();
    }

    private void EndTransaction()
    {
        ResetTransaction();
        _state = ServerState.Greeted;
    }

    /// <summary>Forget the content of the message in progress (not while the spool is still writing it).</summary>
    private void AbortMessage()
    {
        // The mode is not enough: a connection lost during the store makes it Closed.
        if (_storing is { IsCompleted: false }) return;
        ReleaseBudgetShare();
        _overBudget = false;
        _storing = null;
        _body?.Reset();
    }

    /// <summary>Exim's reception line: <c>id &lt;= sender H=(helo) [ip]:port P=esmtp L* K S=size id=msgid for rcpts</c>.</summary>
    private string ReceptionLine(Envelope envelope)
    {
        var sender = envelope.Sender.Length == 0 ? "<>" : envelope.Sender;
        var chunking = _transaction.UsedChunking ? " K" : "";
        var messageId = envelope.HeaderMessageId is null ? "" : $" id={envelope.HeaderMessageId}";
        var recipients = string.Join(' ', envelope.Recipients.Select(r => r.Address));
        var fastOpen = _fastOpen ? " TFO*" : "";
        return $"{envelope.MessageId} <= {sender} {HostField()}{fastOpen} P={envelope.Protocol}{PipeliningLogField()}{TlsLogField()}{chunking}{AuthLogField()} S={envelope.Size}{messageId} for {recipients}";
    }
}
