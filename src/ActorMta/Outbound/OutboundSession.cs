using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using Akka.Actor;
using ActorMta.Configuration;
using ActorMta.Destinations;
using ActorMta.Metrics;
using ActorMta.Routing;
using ActorMta.Smtp;
using ActorMta.Spool;
using Envelope = ActorMta.Spool.Envelope;
using ActorMta.Transport;
using ActorMta.Outbound.Tls;

namespace ActorMta.Outbound;

/// <summary>
/// One outbound SMTP connection (client state machine): banner, EHLO (HELO fallback), then
/// transactions, pipelined when the server offers PIPELINING, with BDAT when it offers CHUNKING,
/// reusing the connection for further jobs to the same destination. On a new connection to a host
/// in <c>hosts-pipe-connect</c> with a valid record it talks early (spec Part A rules 9-13): the
/// whole first flight leaves before the banner; a failed banner or EHLO reply on such an attempt
/// deletes the record and reconnects at once in lock-step, never bouncing or deferring for it.
///
/// The conversation is one async method over a <see cref="ClientPipeline"/> (its send and receive
/// cursors are the state); the actor around it owns the lifecycle and reports to the agent and the
/// destination, so a crash here stops one connection and the agent requeues its job.
/// </summary>
public sealed partial class OutboundSession : UntypedActor
{
    private sealed record Finished;
    private sealed record Crashed(Exception Error);

    private readonly NextHop _hop;
    private readonly DestinationKey _key;
    private readonly EarlyPipeRecord? _record;
    private readonly DateTimeOffset? _clearTextUntil;
    private readonly Akka.Event.ILoggingAdapter _log = Akka.Event.Logging.GetLogger(Context);
    private readonly OutboundJob _firstJob;
    private readonly bool _moreAfterFirst;
    private readonly OutboundSettings _settings;
    private readonly MessageSpool _spool;
    private readonly IActorRef _agent;
    private readonly IActorRef _destinations;
    private readonly CancellationTokenSource _stop = new();

    /// <param name="clearTextUntil">The destination remembers a recent TLS failure: no STARTTLS until then (unless TLS is required).</param>
    public OutboundSession(NextHop hop, EarlyPipeRecord? record, OutboundJob firstJob, bool moreAfterFirst,
        OutboundSettings settings, MessageSpool spool, IActorRef agent, IActorRef destinations, DateTimeOffset? clearTextUntil = null)
    {
        _clearTextUntil = clearTextUntil;
        _hop = hop;
        _key = new DestinationKey(hop.Address, hop.Port);
        _record = record;
        _firstJob = firstJob;
        _moreAfterFirst = moreAfterFirst;
        _settings = settings;
        _spool = spool;
        _agent = agent;
        _destinations = destinations;
    }

    public static Props Props(NextHop hop, EarlyPipeRecord? record, OutboundJob firstJob, bool moreAfterFirst,
        OutboundSettings settings, MessageSpool spool, IActorRef agent, IActorRef destinations, DateTimeOffset? clearTextUntil = null) =>
        ActorProps.Of(() => new OutboundSession(hop, record, firstJob, moreAfterFirst, settings, spool, agent, destinations, clearTextUntil));

    /// <summary>Self, captured for the conversation task (Tells from there must name the session as sender).</summary>
    private IActorRef _self = ActorRefs.Nobody;

    protected override void PreStart()
    {
        var self = _self = Self;
        var conversation = new Conversation(this);
        conversation.RunAsync(_stop.Token).ContinueWith(
            t => t.IsFaulted ? new Crashed(t.Exception!.GetBaseException()) : (object)new Finished(),
            TaskScheduler.Default).PipeTo(self);
    }

    protected override void PostStop() => _stop.Cancel();

    protected override void OnReceive(object message)
    {
        switch (message)
        {
            case Finished:
                Context.Stop(Self);
                break;
            case Crashed crashed:
                // A bug, not a remote failure: let the supervisor see it; the agent requeues what was in flight.
                throw new InvalidOperationException($"outbound session to {_key} crashed: {crashed.Error.Message}", crashed.Error);
            default:
                Unhandled(message);
                break;
        }
    }

    /// <summary>The SMTP dialogue itself; runs off the actor thread and only Tells/Asks actors.</summary>
    private sealed partial class Conversation(OutboundSession owner)
    {
        private readonly OutboundSettings _settings = owner._settings;
        private ClientPipeline? _pipeline;
        private Connection? _connection;
        private bool _early;
        private bool _quitSent;
        private bool _fastOpenUsed;
        private Stopwatch _clock = new();
        private int _messagesOnConnection;
        /// <summary>The first job's data, read from the spool before connecting so the early flight leaves at once.</summary>
        private (string MessageId, byte[] Data)? _preloaded;

        private Socket? _socket;
        /// <summary>The current job came to this connection after it had been idle (see <see cref="JobReturned"/>).</summary>
        private bool _afterIdle;
        /// <summary>The current transaction got at least one reply (its MAIL's).</summary>
        private bool _transactionAnswered;

        /// <summary>
        /// QUIT rides in the flight only when the connection ends with this message: its last allowed one,
        /// or nothing else waits and idle connections are not kept. When they are, the flight ends with the
        /// message and QUIT follows on its own when the idle time is over: it costs one more packet but no
        /// round trip (we never wait for the 221), while a QUIT already sent would close a connection that
        /// the next message, queued a moment later, could have used without connecting again.
        /// </summary>
        private bool QuitWith(bool more, int messages) =>
            messages >= _settings.MaxMessagesPerConnection || (!more && !_settings.KeepsIdleConnections);

        private bool MayLearn => _settings.HostsPipeConnect.Matches(owner._hop.Address, owner._hop.HostName);

        public async Task RunAsync(CancellationToken stop)
        {
            using var deadline = CancellationTokenSource.CreateLinkedTokenSource(stop);
            deadline.CancelAfter(_settings.AttemptDeadline);
            var ct = deadline.Token;

            var record = owner._record;
            DecideTls();
            // A route that logs in sends AUTH before any transaction: its early flight is EHLO+AUTH (or EHLO+STARTTLS).
            var early = record is not null && MayLearn && CanTalkEarly(record) && AuthAllowsEarly(record);
            _preloaded = (owner._firstJob.MessageId, await LoadAsync(owner._firstJob, stop).ConfigureAwait(false));
            if (early) MtaMetrics.EarlyPipeRecordHit();
            else if (MayLearn) MtaMetrics.EarlyPipeRecordMiss();
            EhloResponse features;
            OutboundJob? job = owner._firstJob;
            var more = owner._moreAfterFirst;
            try
            {
                features = await OpenWithFallbacksAsync(early, record, job, more, ct).ConfigureAwait(false);
                await AuthenticateAsync(features, ct).ConfigureAwait(false);
            }
            catch (Exception e) when (e is HostFailure or TlsHandshakeException)
            {
                var failure = e;
                owner._agent.Tell(new HostUnusable(job, owner._hop, failure.Message), owner._self);
                owner._destinations.Tell(new HostFailed(owner._key, failure.Message));
                Close();
                return;
            }

            owner._destinations.Tell(new HostSucceeded(owner._key));
            var needsReset = false;
            var messages = 0;
            var firstTransactionAlreadyAppended = _firstAppended; // false again when the early attempt failed and we reconnected
            while (job is not null)
            {
                messages++;
                var quitWithIt = QuitWith(more, messages);
                TransactionResult result;
                try
                {
                    result = await TransactAsync(job, features, quitWithIt, firstTransactionAlreadyAppended, needsReset, ct).ConfigureAwait(false);
                }
                catch (ConversationBrokenException broken) when (_afterIdle && !_transactionAnswered)
                {
                    // The server dropped the idle connection just as we used it: nothing of this job was
                    // answered, so it goes again on a new connection instead of being deferred.
                    owner._agent.Tell(new JobReturned(job, broken.Message), owner._self);
                    Close();
                    return;
                }
                catch (ConversationBrokenException broken)
                {
                    // Recipients without a final answer are deferred; the agent tries another host only
                    // for jobs that never got a reply to their transaction.
                    owner._agent.Tell(new JobFinished(new RemoteDeliveryResult(job, Deferred(job, broken.Message, null))), owner._self);
                    owner._destinations.Tell(new HostFailed(owner._key, broken.Message));
                    Close();
                    return;
                }
                firstTransactionAlreadyAppended = false;
                needsReset = !result.Clean;
                owner._agent.Tell(new JobFinished(new RemoteDeliveryResult(job, result.Outcomes)), owner._self);
                if (quitWithIt) break;

                // The agent may hold the answer while the connection is idle (idle-connection-timeout).
                NextJobReply next;
                try
                {
                    next = await owner._agent.Ask<NextJobReply>(new NextJobRequest(owner._key, owner._self),
                        _settings.IdleConnectionTimeout + TimeSpan.FromSeconds(30), ct).ConfigureAwait(false);
                }
                catch (OperationCanceledException)
                {
                    break; // shutting down (or the attempt deadline) while idle: QUIT below
                }
                job = next.Job;
                more = next.MoreWaiting;
                _afterIdle = job is not null;
                if (job is not null && ClosedByServer())
                {
                    owner._agent.Tell(new JobReturned(job, "the server closed the idle connection"), owner._self);
                    Close();
                    return;
                }
            }

            if (!_quitSent && _pipeline is not null)
            {
                // Exim holds its 221 until the client closes; waiting for it would only cost us time. Not bound
                // to the session's token: at shutdown that one is already cancelled, and idle connections still QUIT.
                _pipeline.Append("QUIT", Expect.Quit);
                using var quitTimeout = new CancellationTokenSource(TimeSpan.FromSeconds(5));
                try { await _pipeline.FlushAsync(quitTimeout.Token).ConfigureAwait(false); }
                catch (Exception e) when (e is ConversationBrokenException or OperationCanceledException) { }
            }
            Close();
        }

        /// <summary>
        /// Opens a connection and gets through EHLO (and STARTTLS); on an early attempt's failure (rule 12)
        /// or an opportunistic host's failed handshake, reconnects at once the safer way.
        /// </summary>
        private async Task<EhloResponse> OpenWithFallbacksAsync(bool early, EarlyPipeRecord? record, OutboundJob job, bool more, CancellationToken ct)
        {
            while (true)
            {
                try
                {
                    return await OpenAsync(early, record, job, more, ct).ConfigureAwait(false);
                }
                catch (EarlyAttemptFailure failure) when (early)
                {
                    // Rule 12: forget the record, reconnect at once without talking early; never bounce or defer for it.
                    owner._destinations.Tell(new EarlyAttemptFailed(owner._key, failure.Message));
                    MtaMetrics.EarlyFallback(failure.Reason);
                    Close();
                    early = false;
                    record = null;
                }
                catch (TlsHandshakeException failure) when (_tryStartTls && MayFallBackToClear)
                {
                    FallBackToClear(failure);
                    Close();
                    early = false;
                    record = null;
                }
            }
        }

        /// <summary>An end of stream or a reset is waiting to be read: the server gave up the connection while it was idle.</summary>
        private bool ClosedByServer()
        {
            try
            {
                return _socket is null || (_socket.Poll(0, SelectMode.SelectRead) && _socket.Available == 0);
            }
            catch (Exception e) when (e is SocketException or ObjectDisposedException)
            {
                return true;
            }
        }

        private sealed class EarlyAttemptFailure(string message, EarlyFallbackReason reason) : Exception(message)
        {
            public EarlyFallbackReason Reason { get; } = reason;
        }
        private sealed class HostFailure(string message) : Exception(message);

        private async Task<EhloResponse> OpenAsync(bool early, EarlyPipeRecord? record, OutboundJob job, bool more, CancellationToken ct)
        {
            _early = early;
            _authSentEarly = null;
            _quitSent = false;
            _firstAppended = false;
            _tls = null;
            _messagesOnConnection = 0;
            _clock = Stopwatch.StartNew();
            // On a TLS-on-connect port we speak first (the ClientHello), so TCP Fast Open is always safe there.
            await ConnectAsync(fastOpenAllowed: early || _tlsOnConnect, ct).ConfigureAwait(false);
            var pipeline = _pipeline!;
            if (_tlsOnConnect) await StartTlsSessionAsync(ct).ConfigureAwait(false);
            pipeline.ExpectUnsolicited(Expect.Banner);
            pipeline.Append($"EHLO {_settings.HeloName}", Expect.Ehlo);

            if (early)
            {
                // Rule 10: the whole first flight before the banner, built from the cached features; with
                // STARTTLS in the record the cleartext flight is EHLO, STARTTLS and the transaction waits for TLS.
                // A route that logs in sends EHLO, AUTH and the transaction waits for the 235.
                var startTls = !_tlsOnConnect && _tryStartTls && record!.Cleartext.HasFlag(EhloFeatures.StartTls);
                if (startTls)
                {
                    pipeline.Append("STARTTLS", Expect.StartTls);
                }
                else if (LogsIn)
                {
                    AppendAuthStart(EarlyAuthMechanism(record!, tlsPhase: _tlsOnConnect)!);
                }
                else
                {
                    await AppendTransactionAsync(job, FromRecord(record!, tlsPhase: _tlsOnConnect), quitWithIt: QuitWith(more, 1), ct).ConfigureAwait(false);
                    _firstAppended = true;
                }
                SmtpReply banner, ehlo;
                try
                {
                    await pipeline.FlushAsync(ct).ConfigureAwait(false);
                    MtaMetrics.EarlyFlightSent();
                    (banner, _) = await pipeline.NextAsync(Expect.Banner, ct).ConfigureAwait(false);
                    if (banner.Code / 100 != 2) throw new EarlyAttemptFailure($"early pipelining: banner refused: {banner}", EarlyFallbackReason.Banner);
                    (ehlo, _) = await pipeline.NextAsync(Expect.Ehlo, ct).ConfigureAwait(false);
                    if (ehlo.Code / 100 != 2) throw new EarlyAttemptFailure($"early pipelining: EHLO refused: {ehlo}", EarlyFallbackReason.Ehlo);
                }
                catch (ConversationBrokenException broken)
                {
                    throw new EarlyAttemptFailure($"early pipelining: {broken.Message}", EarlyFallbackReason.ConnectionLost);
                }
                _fastOpenUsed = _connection!.FastOpenWithData;
                var actual = EhloResponse.Parse(ehlo);
                Learn(actual, early: true, tlsPhase: _tlsOnConnect);
                // The transaction already sent stays as sent, built from the record (rule 13); its replies tell
                // what the server made of it. Later transactions on this connection use what it offers now.
                return startTls ? await AfterStartTlsAsync(actual, record, job, more, ct).ConfigureAwait(false) : actual;
            }

            SmtpReply greeting;
            try
            {
                (greeting, _) = await pipeline.NextAsync(Expect.Banner, ct).ConfigureAwait(false);
            }
            catch (ConversationBrokenException broken)
            {
                throw new HostFailure(broken.Message);
            }
            if (greeting.Code / 100 != 2) throw new HostFailure($"SMTP error from remote mail server after initial connection: {greeting}");
            _fastOpenUsed = _connection!.FastOpenWithData;
            EhloResponse offered;
            try
            {
                await pipeline.FlushAsync(ct).ConfigureAwait(false);
                var (reply, _) = await pipeline.NextAsync(Expect.Ehlo, ct).ConfigureAwait(false);
                if (reply.Code / 100 == 2)
                {
                    offered = EhloResponse.Parse(reply);
                    Learn(offered, early: false, tlsPhase: _tlsOnConnect);
                }
                else
                {
                    if (reply.Code / 100 != 5) throw new HostFailure($"SMTP error from remote mail server after EHLO: {reply}");
                    pipeline.Append($"HELO {_settings.HeloName}", Expect.Helo);
                    await pipeline.FlushAsync(ct).ConfigureAwait(false);
                    var (helo, _) = await pipeline.NextAsync(Expect.Helo, ct).ConfigureAwait(false);
                    if (helo.Code / 100 != 2) throw new HostFailure($"SMTP error from remote mail server after HELO: {helo}");
                    offered = EhloResponse.None;
                }

                if (!_tlsOnConnect && _tryStartTls && offered.StartTls)
                {
                    pipeline.Append("STARTTLS", Expect.StartTls);
                    await pipeline.FlushAsync(ct).ConfigureAwait(false);
                    return await AfterStartTlsAsync(offered, null, job, more, ct).ConfigureAwait(false);
                }
            }
            catch (ConversationBrokenException broken)
            {
                throw new HostFailure(broken.Message);
            }
            RequireTls();
            return offered;
        }

        /// <param name="fastOpenAllowed">
        /// Only when we speak first (an early flight): with TCP_FASTOPEN_CONNECT the kernel holds the
        /// SYN until the first write, so a client that waits for the banner would wait forever.
        /// </param>
        private async Task ConnectAsync(bool fastOpenAllowed, CancellationToken ct)
        {
            var socket = new Socket(owner._hop.Address.AddressFamily, SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
            if (_settings.InterfaceFor(owner._hop.Address) is { } from)
            {
                try
                {
                    socket.Bind(new IPEndPoint(from, 0));
                }
                catch (SocketException e)
                {
                    // Checked when the configuration was read; an address can still go away since.
                    socket.Dispose();
                    throw new HostFailure($"connect to {owner._hop.HostName} [{owner._hop.Address}]:{owner._hop.Port} from {from} (actormta.outbound.interface): {e.Message}");
                }
            }
            var fastOpen = fastOpenAllowed && _settings.HostsTryFastOpen.Matches(owner._hop.Address, owner._hop.HostName)
                           && TcpFastOpen.EnableOnConnect(socket);
            using var connectTimeout = CancellationTokenSource.CreateLinkedTokenSource(ct);
            connectTimeout.CancelAfter(_settings.ConnectTimeout);
            try
            {
                await socket.ConnectAsync(owner._hop.Address, owner._hop.Port, connectTimeout.Token).ConfigureAwait(false);
            }
            catch (Exception e) when (e is SocketException or OperationCanceledException)
            {
                socket.Dispose();
                var why = e is OperationCanceledException ? "connection timed out" : ((SocketException)e).SocketErrorCode == SocketError.ConnectionRefused ? "Connection refused" : e.Message;
                throw new HostFailure($"connect to {owner._hop.HostName} [{owner._hop.Address}]:{owner._hop.Port}: {why}");
            }
            _socket = socket;
            _connection = new Connection(socket, new IPEndPoint(owner._hop.Address, owner._hop.Port));
            // On a TLS-on-connect port the SYN carries the ClientHello; the pipeline's writes come after the handshake.
            _pipeline = new ClientPipeline(_connection, _settings.CommandTimeout, _settings.DataTimeout, fastOpen && !_tlsOnConnect);
        }

        /// <summary>Tell the destination what this server offers (rule 8), only for hosts the feature is watched for.</summary>
        private void Learn(EhloResponse offered, bool early, bool tlsPhase)
        {
            if (!MayLearn) return;
            owner._destinations.Tell(new EhloLearned(owner._key, Tls: tlsPhase, ToFeatures(offered), offered.AuthMechanisms,
                new EhloLimits(offered.LimitMail, offered.LimitRcpt, offered.LimitRcptDomain), early));
        }

        private sealed record TransactionResult(IReadOnlyList<RecipientOutcome> Outcomes, bool Clean);

        private OutboundJob? _appendedJob;
        private byte[]? _appendedData;
        private bool _appendedBdat;
        private bool _appendedPipelined;
        private string? _unsupported;

        /// <summary>Append MAIL, RCPTs and BDAT-with-body or DATA for a job (pipelined form).</summary>
        private async Task AppendTransactionAsync(OutboundJob job, EhloResponse features, bool quitWithIt, CancellationToken ct)
        {
            _appendedJob = job;
            _appendedData = await LoadAsync(job, ct).ConfigureAwait(false);
            _appendedPipelined = features.Pipelining;
            _appendedBdat = features.Chunking && _settings.UseChunking;
            _unsupported = job.Envelope.SmtpUtf8 && !features.SmtpUtf8
                ? "the message needs SMTPUTF8 (RFC 6531) but the server does not offer it"
                : null;
            if (_unsupported is not null) return;

            var pipeline = _pipeline!;
            pipeline.Append(MailCommand(job.Envelope, features, _appendedData.Length), Expect.Mail);
            if (!_appendedPipelined) return; // lock-step: the rest follows reply by reply
            foreach (var index in job.RecipientIndexes) pipeline.Append(RcptCommand(job.Envelope.Recipients[index], features), Expect.Rcpt);
            if (_appendedBdat)
            {
                pipeline.Append($"BDAT {_appendedData.Length} LAST", Expect.Bdat);
                pipeline.AppendPayload(_appendedData);
                if (quitWithIt) QuitNow();
            }
            else
            {
                pipeline.Append("DATA", Expect.Data);
            }
        }

        private void QuitNow()
        {
            _pipeline!.Append("QUIT", Expect.Quit);
            _quitSent = true;
        }

        private async Task<TransactionResult> TransactAsync(OutboundJob job, EhloResponse features, bool quitWithIt, bool alreadyAppended, bool resetPending, CancellationToken ct)
        {
            var pipeline = _pipeline!;
            _transactionAnswered = false;
            if (!alreadyAppended)
            {
                // DT= is Exim's deliver_time: from connect for the first message, from its MAIL for the next ones.
                if (_messagesOnConnection > 0) _clock = Stopwatch.StartNew();
                if (resetPending)
                {
                    // After a transaction that did not end cleanly; pipelined with the next MAIL when allowed.
                    pipeline.Append("RSET", Expect.Rset);
                    if (!features.Pipelining)
                    {
                        await pipeline.FlushAsync(ct).ConfigureAwait(false);
                        await pipeline.NextAsync(Expect.Rset, ct).ConfigureAwait(false);
                        resetPending = false;
                    }
                }
                await AppendTransactionAsync(job, features, quitWithIt, ct).ConfigureAwait(false);
            }
            else resetPending = false;
            if (_unsupported is not null)
            {
                return new TransactionResult(job.RecipientIndexes.Select(i =>
                    new RecipientOutcome(i, DeliveryStatus.Failed, new SmtpReply(553, "5.6.7", _unsupported), _unsupported, Facts(features))).ToArray(), true);
            }

            _messagesOnConnection++;
            var pipelined = _appendedPipelined;
            await pipeline.FlushAsync(ct).ConfigureAwait(false);

            if (resetPending) await pipeline.NextAsync(Expect.Rset, ct).ConfigureAwait(false);
            var (mailReply, mailCommand) = await pipeline.NextAsync(Expect.Mail, ct).ConfigureAwait(false);
            _transactionAnswered = true;
            var outcomes = new Dictionary<int, RecipientOutcome>();
            var accepted = new List<int>();
            foreach (var index in job.RecipientIndexes)
            {
                if (mailReply.Code / 100 != 2)
                {
                    outcomes[index] = Outcome(index, mailReply, $"SMTP error from remote mail server after {(pipelined ? "pipelined " : "")}{mailCommand}", features);
                    if (pipelined) await pipeline.NextAsync(Expect.Rcpt, ct).ConfigureAwait(false); // its RCPT was sent anyway
                    continue;
                }
                if (!pipelined)
                {
                    pipeline.Append(RcptCommand(job.Envelope.Recipients[index], features), Expect.Rcpt);
                    await pipeline.FlushAsync(ct).ConfigureAwait(false);
                }
                var (rcptReply, rcptCommand) = await pipeline.NextAsync(Expect.Rcpt, ct).ConfigureAwait(false);
                if (rcptReply.Code / 100 != 2)
                    outcomes[index] = Outcome(index, rcptReply, $"SMTP error from remote mail server after {rcptCommand}", features);
                else accepted.Add(index);
            }

            SmtpReply? final = null;
            string after;
            if (_appendedBdat)
            {
                if (!pipelined)
                {
                    if (accepted.Count > 0)
                    {
                        pipeline.Append($"BDAT {_appendedData!.Length} LAST", Expect.Bdat);
                        pipeline.AppendPayload(_appendedData);
                        if (quitWithIt) QuitNow();
                        await pipeline.FlushAsync(ct).ConfigureAwait(false);
                    }
                }
                if (pipelined || accepted.Count > 0) (final, _) = await pipeline.NextAsync(Expect.Bdat, ct).ConfigureAwait(false);
                after = "end of data";
            }
            else
            {
                if (!pipelined && accepted.Count > 0)
                {
                    pipeline.Append("DATA", Expect.Data);
                    await pipeline.FlushAsync(ct).ConfigureAwait(false);
                }
                SmtpReply? dataReply = null;
                if (pipelined || accepted.Count > 0) (dataReply, _) = await pipeline.NextAsync(Expect.Data, ct).ConfigureAwait(false);
                if (dataReply is { Code: 354 })
                {
                    if (accepted.Count > 0) DataEncoder.Encode(_appendedData, pipeline.PayloadWriter);
                    else pipeline.AppendPayload(".\r\n"u8);
                    pipeline.ExpectUnsolicited(Expect.DataEnd);
                    if (quitWithIt) QuitNow();
                    await pipeline.FlushAsync(ct).ConfigureAwait(false);
                    (final, _) = await pipeline.NextAsync(Expect.DataEnd, ct).ConfigureAwait(false);
                    after = "end of data";
                }
                else
                {
                    final = dataReply;
                    after = pipelined ? "pipelined DATA" : "DATA";
                }
            }

            foreach (var index in accepted)
            {
                outcomes[index] = final is null
                    ? new RecipientOutcome(index, DeliveryStatus.Deferred, null, "no reply to the message data", Facts(features))
                    : Outcome(index, final, $"SMTP error from remote mail server after {after}", features);
            }
            var ordered = job.RecipientIndexes.Select(i => outcomes[i]).ToArray();
            var clean = final is not null && final.Code / 100 == 2 && ordered.All(o => o.Status == DeliveryStatus.Delivered);
            return new TransactionResult(ordered, clean);
        }

        private RecipientOutcome Outcome(int index, SmtpReply reply, string context, EhloResponse features)
        {
            var status = (reply.Code / 100) switch { 2 => DeliveryStatus.Delivered, 4 => DeliveryStatus.Deferred, _ => DeliveryStatus.Failed };
            var text = status == DeliveryStatus.Delivered ? reply.ToString() : $"{context}: {reply}";
            return new RecipientOutcome(index, status, reply, text, Facts(features));
        }

        private ConnectionFacts Facts(EhloResponse features) => new(
            owner._firstJob.Route.RouteName, owner._hop.HostName, owner._hop.Address.ToString(), owner._hop.Port,
            PipeliningUsed: features.Pipelining, EarlyPipelined: _early, ChunkingUsed: _appendedBdat, FastOpen: _fastOpenUsed,
            DeliveryTime: _clock.Elapsed)
        {
            MessageOnConnection = _messagesOnConnection,
            Tls = _tls?.Summary,
            CertificateVerified = _tls?.Verified ?? false,
            Auth = _authenticatedAs,
            DsnPassedOn = features.Dsn,
        };

        private RecipientOutcome[] Deferred(OutboundJob job, string why, EhloResponse? features) =>
            job.RecipientIndexes.Select(i => new RecipientOutcome(i, DeliveryStatus.Deferred, null, why, features is null ? null : Facts(features))).ToArray();

        private async Task<byte[]> LoadAsync(OutboundJob job, CancellationToken ct)
        {
            if (_preloaded is { } preloaded && preloaded.MessageId == job.MessageId) return preloaded.Data;
            await using var stream = owner._spool.OpenData(job.MessageId);
            using var memory = new MemoryStream();
            await stream.CopyToAsync(memory, ct).ConfigureAwait(false);
            return memory.ToArray();
        }

        private static string MailCommand(Envelope envelope, EhloResponse features, long size)
        {
            var command = $"MAIL FROM:<{envelope.Sender}>";
            if (features.Size is not null) command += $" SIZE={size}";
            if (features.EightBitMime && envelope.Body == "8BITMIME") command += " BODY=8BITMIME";
            if (envelope.SmtpUtf8 && features.SmtpUtf8) command += " SMTPUTF8";
            if (features.Dsn)
            {
                if (envelope.Ret is not null) command += $" RET={envelope.Ret}";
                if (envelope.EnvId is not null) command += $" ENVID={Xtext.Encode(envelope.EnvId)}";
            }
            return command;
        }

        private static string RcptCommand(EnvelopeRecipient recipient, EhloResponse features)
        {
            var command = $"RCPT TO:<{recipient.Address}>";
            if (features.Dsn)
            {
                if (recipient.Notify is not null) command += $" NOTIFY={recipient.Notify}";
                if (recipient.ORcpt is not null) command += $" ORCPT={recipient.ORcpt}";
            }
            return command;
        }

        /// <param name="tlsPhase">Build from the TLS-phase features (after STARTTLS, or on a TLS-on-connect port).</param>
        private static EhloResponse FromRecord(EarlyPipeRecord record, bool tlsPhase)
        {
            var f = tlsPhase ? record.Tls : record.Cleartext;
            return EhloResponse.None with
            {
                Pipelining = f.HasFlag(EhloFeatures.Pipelining),
                PipeConnect = f.HasFlag(EhloFeatures.PipeConnect),
                Chunking = f.HasFlag(EhloFeatures.Chunking),
                StartTls = f.HasFlag(EhloFeatures.StartTls),
                SmtpUtf8 = f.HasFlag(EhloFeatures.SmtpUtf8),
                EightBitMime = f.HasFlag(EhloFeatures.EightBitMime),
                Dsn = f.HasFlag(EhloFeatures.Dsn),
                Prdr = f.HasFlag(EhloFeatures.Prdr),
                Size = f.HasFlag(EhloFeatures.Size) ? 0 : null,
                AuthMechanisms = tlsPhase ? record.TlsAuth : record.CleartextAuth,
                LimitMail = record.Limits.Mail,
                LimitRcpt = record.Limits.Rcpt,
                LimitRcptDomain = record.Limits.RcptDomain,
            };
        }

        internal static EhloFeatures ToFeatures(EhloResponse r) =>
            (r.StartTls ? EhloFeatures.StartTls : 0) | (r.Prdr ? EhloFeatures.Prdr : 0) | (r.SmtpUtf8 ? EhloFeatures.SmtpUtf8 : 0)
            | (r.Dsn ? EhloFeatures.Dsn : 0) | (r.Pipelining ? EhloFeatures.Pipelining : 0) | (r.Size is not null ? EhloFeatures.Size : 0)
            | (r.Chunking ? EhloFeatures.Chunking : 0) | (r.PipeConnect ? EhloFeatures.PipeConnect : 0) | (r.EightBitMime ? EhloFeatures.EightBitMime : 0);

        private void Close()
        {
            _pipeline?.Dispose();
            _pipeline = null;
            _connection?.Dispose();
            _connection = null;
            _socket = null;
        }
    }
}
