using System.Buffers;
using Akka.Actor;
using ActorMta.Configuration;
using ActorMta.Smtp;
using ActorMta.Transport.Tls;

namespace ActorMta.Inbound;

// TLS: STARTTLS (RFC 3207) and TLS-on-connect listeners (RFC 8314), and early pipelining in the
// TLS phase (spec Part A rules 1, 4 and 5).
public sealed partial class InboundSession
{
    private sealed record TlsReady(TlsSessionInfo Info);
    private sealed record TlsFailed(Exception Error);

    private static readonly SmtpReply ReadyToStartTls = new(220, "2.0.0", "Ready to start TLS");
    private static readonly SmtpReply TlsUnavailable = new(454, "4.7.0", "TLS currently unavailable");
    private static readonly SmtpReply TlsAlreadyActive = new(503, "5.5.1", "TLS already active");
    private static readonly SmtpReply StartTlsNotAdvertised = new(503, "5.5.1", "STARTTLS command used when not advertised");

    /// <summary>Set once the handshake is done: the session is encrypted from then on.</summary>
    private TlsSessionInfo? _tls;

    /// <summary>The handshake is done and the client has sent nothing since.</summary>
    private bool _silentSinceHandshake;

    private bool IsTlsOnConnect => _context.Kind == ListenerKind.TlsOnConnect;

    /// <summary>STARTTLS is in the EHLO reply and will be executed: not encrypted yet, a certificate, and a listed client.</summary>
    private bool StartTlsOffered => _tls is null && _context.Tls is { } tls && tls.Advertises(_clientAddress);

    /// <summary>TLS-on-connect listeners handshake before anything else; the banner comes after it.</summary>
    private void Start()
    {
        if (!IsTlsOnConnect)
        {
            Greet();
            return;
        }
        if (_context.Tls is null)
        {
            // MtaNode makes the TLS server whenever such a listener exists; this is a wiring bug, not a client's fault.
            _context.Logger.Error("TLS-on-connect listener {Listener} has no TLS configuration; closing", _listenerName);
            _mode = Mode.Closed;
            Context.Stop(Self);
            return;
        }
        _mode = Mode.Handshake;
        BeginHandshake();
    }

    private void OnStartTls()
    {
        if (_tls is not null)
        {
            Reply(TlsAlreadyActive);
            return;
        }
        if (_context.Tls is null)
        {
            Reply(TlsUnavailable);
            return;
        }
        if (!_context.Tls.Advertises(_clientAddress))
        {
            Reply(StartTlsNotAdvertised);
            return;
        }

        // RFC 3207 section 4 / CVE-2011-0411: whatever the client sent after the STARTTLS line was
        // sent in the clear before it could see our 220, so it belongs to nobody's TLS session.
        // Drop it (our buffer, and what the kernel already holds: the client's TLS hello can only
        // come after our 220, which has not left yet) and say so; never execute it.
        DiscardInputBeforeHandshake();
        Reply(ReadyToStartTls);
        _mode = Mode.Handshake; // Pump stops; Flush sends the 220 with any replies before it, then AfterFlush starts the handshake
    }

    private void DiscardInputBeforeHandshake()
    {
        var quoted = Buffered > 0 ? _input.AsSpan(_inputStart, Math.Min(Buffered, 128)).ToArray() : [];
        var discarded = Buffered;
        _inputStart = _inputEnd;
        Span<byte> scratch = stackalloc byte[1024];
        int n;
        while ((n = _connection.ReadAvailable(scratch)) > 0)
        {
            if (quoted.Length < 128) quoted = [.. quoted, .. scratch[..Math.Min(n, 128 - quoted.Length)]];
            discarded += n;
        }
        if (discarded == 0) return;
        _context.MainLog.Write(
            $"SMTP protocol error: {discarded} byte{(discarded == 1 ? "" : "s")} sent after STARTTLS before the TLS handshake discarded: {HostField()} input=\"{PeerText.Escape(quoted)}\"");
    }

    /// <summary>Hands the connection to the handshake; no read or write of ours is in flight.</summary>
    private void BeginHandshake()
    {
        ReleaseInput();
        _context.Tls!.HandshakeAsync(_connection).PipeTo(Self, success: info => new TlsReady(info), failure: e => new TlsFailed(e));
    }

    private void OnTlsReady(TlsReady ready)
    {
        if (_mode == Mode.Closed) return;
        _tls = ready.Info;
        _silentSinceHandshake = true;
        _mode = Mode.Command;

        // RFC 3207 section 4.2: forget everything learned before TLS; the client must EHLO again.
        ResetTransaction();
        ForgetAuthentication();
        _heloName = null;
        _extended = false;
        _pipeliningAdvertised = false;
        _chunkingAdvertised = false;
        _state = ServerState.Connected;

        if (IsTlsOnConnect) GreetSecure();
        else RequestInput();
    }

    private void OnTlsFailed(TlsFailed failed)
    {
        if (_mode == Mode.Closed) return;
        var why = failed.Error is TlsHandshakeException ? failed.Error.Message : $"{failed.Error.GetType().Name}: {failed.Error.Message}";
        _context.MainLog.Write($"TLS error on connection from {HostField()} ({(IsTlsOnConnect ? "TLS on connect" : "STARTTLS")}): {why}");
        // Nothing can be said to the client: its stream is neither clear text nor a TLS session.
        _mode = Mode.Closed;
        Context.Stop(Self);
    }

    /// <summary>
    /// The connection ended before the client said anything over the TLS session it just set up. A
    /// client that checks certificates in its own code after the handshake (.NET's SslStream, for one)
    /// rejects ours that way: no alert, the handshake succeeded on our side, then a close. Without this
    /// line the main log would show nothing at all for it; with an alert the handshake fails instead
    /// and <see cref="OnTlsFailed"/> says so.
    /// </summary>
    private void LogClosedRightAfterHandshake(string? why)
    {
        var rejected = why is null ? null : CertificateAlert.Find(why);
        var detail = rejected is not null ? $"the client rejected our certificate ({rejected}) right after the handshake"
            // Closed or reset (it closes with our session tickets unread): the same for the operator.
            : "the client closed the connection right after the handshake, before any command; it may have rejected our certificate";
        _context.MainLog.Write($"TLS error on connection from {HostField()} ({(IsTlsOnConnect ? "TLS on connect" : "STARTTLS")}): {detail}");
    }

    /// <summary>
    /// The banner on a TLS-on-connect port (spec 2.3 after the handshake). Whether the client
    /// talked before it is found without waiting: the first read is started now and looked at
    /// once; data already decrypted or waiting in the socket completes it at once (early input),
    /// otherwise it stays pending as the session's ordinary read and the banner leaves alone.
    /// </summary>
    private void GreetSecure()
    {
        DecideEarlyAcceptable();
        var buffer = ArrayPool<byte>.Shared.Rent(InitialBufferSize);
        ValueTask<int> read;
        try { read = _connection.ReadAsync(buffer); }
        catch (Exception e) when (e is IOException or ObjectDisposedException)
        {
            ArrayPool<byte>.Shared.Return(buffer);
            ConnectionLost(e.Message);
            return;
        }

        if (!read.IsCompleted)
        {
            _readPending = true;
            StartReadClock();
            read.AsTask().PipeTo(Self, success: n => new InputReady(buffer, n), failure: e => new InputFailed(e));
            Reply(Replies.Banner(BannerText()));
            Flush();
            return;
        }

        int count;
        try { count = read.GetAwaiter().GetResult(); }
        catch (Exception e) when (e is IOException or ObjectDisposedException)
        {
            ArrayPool<byte>.Shared.Return(buffer);
            ConnectionLost(e.Message);
            return;
        }

        if (count > 0 && !_earlyAcceptable)
        {
            _context.MainLog.Write(
                $"SMTP protocol synchronization error (input sent without waiting for greeting): rejected connection from H=[{_clientText}]:{_clientPort} input=\"{PeerText.Escape(buffer.AsSpan(0, Math.Min(count, 128)))}\"");
            ArrayPool<byte>.Shared.Return(buffer);
            Reply(Replies.SynchronizationError);
            CloseAfterFlush();
            return;
        }

        if (count > 0) MarkEarlyUsed();
        // The banner waits in the output buffer; OnInput consumes the early commands and the
        // replies leave with it in one TLS write (rule 5). A count of 0 (closed) ends the session there.
        Reply(Replies.Banner(BannerText()));
        OnInput(new InputReady(buffer, count));
    }

    /// <summary>Exim's protocol names: <c>esmtps</c> under TLS (RFC 3848), and the <c>with</c> keyword of the Received: header.</summary>
    private (string Protocol, string With) ReceivedProtocol(bool utf8)
    {
        var s = _tls is null ? "" : "s";
        if (!_extended) return ($"smtp{s}", "SMTP");
        return utf8 ? ($"utf8esmtp{s}", $"UTF8SMTP{s.ToUpperInvariant()}") : ($"esmtp{s}", $"ESMTP{s.ToUpperInvariant()}");
    }

    /// <summary>Exim's <c>X=</c> (version:cipher:bits) and <c>CV=</c> (we ask no client certificate, so never verified).</summary>
    private string TlsLogField() => _tls is null ? "" : $" X={_tls.EximCipherField} CV=no";
}
