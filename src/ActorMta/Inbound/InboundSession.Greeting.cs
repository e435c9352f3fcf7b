using ActorMta.Metrics;
using ActorMta.Smtp;

namespace ActorMta.Inbound;

// Connection start, the banner, EHLO and HELO; early pipelining's server side (spec Part A, rules 1-5).
public sealed partial class InboundSession
{
    /// <summary>This client may talk before the banner / behind EHLO (pipelining-connect-advertise-hosts), decided once per connection.</summary>
    private bool _earlyAcceptable;
    /// <summary>The client did talk early (input before the banner): the <c>L*</c> of the log.</summary>
    private bool _earlyUsed;
    private bool _pipeliningAdvertised;
    private bool _pipeConnectAdvertised;
    /// <summary>Some command was found already waiting when the previous one was handled (the absence of <c>-</c> in <c>L</c>).</summary>
    private bool _pipeliningUsed;
    private bool _chunkingAdvertised;
    /// <summary>A DATA or BDAT was seen: PIPECONNECT is no longer advertised nor its relaxation granted (spec 2.1).</summary>
    private bool _dataSeen;
    private bool _extended;
    private string? _heloName;

    /// <summary>Spec rule 3: decided once per connection (after the handshake on TLS-on-connect).</summary>
    private void DecideEarlyAcceptable() =>
        _earlyAcceptable = _smtp.PipeliningConnectAdvertiseHosts.Matches(_clientAddress)
                           && _smtp.PipeliningAdvertiseHosts.Matches(_clientAddress);

    private void Greet()
    {
        DecideEarlyAcceptable();

        if (_connection.HasPendingInput)
        {
            if (!_earlyAcceptable)
            {
                RefuseEarlyTalker();
                return;
            }
            // Early pipelining: queue the banner without flushing, so it leaves in the same write
            // as the replies to the commands already waiting.
            MarkEarlyUsed();
            Reply(Replies.Banner(BannerText()));
            RequestInput();
            return;
        }

        Reply(Replies.Banner(BannerText()));
        Flush();
    }

    private void MarkEarlyUsed()
    {
        if (!_earlyUsed) MtaMetrics.InboundEarlyPipelining(_listenerName);
        _earlyUsed = true;
    }

    private string BannerText() => _smtp.Banner.Replace("$primary_hostname", _hostname, StringComparison.Ordinal);

    /// <summary>Rule 3: input before the banner from a host not in the list: 554, a log line quoting the input, close. No banner.</summary>
    private void RefuseEarlyTalker()
    {
        Span<byte> first = stackalloc byte[128];
        var count = _connection.ReadAvailable(first);
        _context.MainLog.Write(
            $"SMTP protocol synchronization error (input sent without waiting for greeting): rejected connection from H=[{_clientText}]:{_clientPort} input=\"{PeerText.Escape(first[..count])}\"");
        Reply(Replies.SynchronizationError);
        CloseAfterFlush();
    }

    private void OnEhlo(EhloCommand ehlo)
    {
        // A first EHLO with the transaction already queued behind it is early pipelining even when
        // the bytes came just after our banner left (Exim 4.99's rule): on a busy host or a short
        // link the pre-banner check is a race the client cannot see, and it did not wait for us.
        if (_earlyAcceptable && !_dataSeen && _heloName is null && MoreInputWaiting) MarkEarlyUsed();
        ResetTransaction();
        _heloName = ehlo.Domain;
        _extended = true;
        _state = ServerState.Greeted;
        _pipeliningAdvertised = _smtp.PipeliningAdvertiseHosts.Matches(_clientAddress);
        _chunkingAdvertised = _smtp.ChunkingAdvertiseHosts.Matches(_clientAddress);

        var reply = new EhloReplyBuilder($"{_hostname} Hello {ehlo.Domain} [{_clientText}]");
        reply.Add($"SIZE {_smtp.MaxMessageSize}");
        reply.Add("8BITMIME");
        if (_pipeliningAdvertised)
        {
            reply.Add("PIPELINING");
            // Rule 1: right after PIPELINING, only while no DATA/BDAT has been seen on this connection.
            if (_earlyAcceptable && !_dataSeen)
            {
                foreach (var keyword in _smtp.PipeConnectKeywords) reply.Add(keyword);
                _pipeConnectAdvertised = true;
            }
        }
        AdvertiseAuth(reply);
        if (_chunkingAdvertised) reply.Add("CHUNKING");
        if (StartTlsOffered) reply.Add("STARTTLS");
        reply.Add("SMTPUTF8");
        reply.Add("ENHANCEDSTATUSCODES");
        reply.Add("DSN");
        reply.Add("HELP");
        Reply(reply.Build());
    }

    private void OnHelo(HeloCommand helo)
    {
        ResetTransaction();
        _heloName = helo.Domain;
        _extended = false;
        _pipeliningAdvertised = false;
        _chunkingAdvertised = false;
        _authOffered = false; // AUTH is an ESMTP extension
        _state = ServerState.Greeted;
        Reply(new SmtpReply(250, null, $"{_hostname} Hello {helo.Domain} [{_clientText}]"));
    }

    private void OnQuit()
    {
        Reply(Replies.Closing(_hostname));
        CloseAfterFlush();
    }

    private void OnRset()
    {
        ResetTransaction();
        _state = _heloName is null ? ServerState.Connected : ServerState.Greeted;
        Reply(Replies.ResetOk);
    }

    /// <summary>
    /// The <c>L</c> field of <c>&lt;=</c> lines (spec Part A rule 6): <c>L*</c> early pipelining used,
    /// <c>L.</c> offered but not used, plain <c>L</c> not offered; <c>-</c> appended when PIPELINING
    /// itself was not used; nothing when PIPELINING was not advertised.
    /// </summary>
    private string PipeliningLogField()
    {
        if (!_context.Settings.Log.LogPipelining || !_pipeliningAdvertised) return "";
        var early = _earlyUsed ? "*" : _pipeConnectAdvertised ? "." : "";
        return $" L{early}{(_pipeliningUsed ? "" : "-")}";
    }
}
