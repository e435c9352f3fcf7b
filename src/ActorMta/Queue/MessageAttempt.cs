using ActorMta.Bounces;
using ActorMta.Configuration;
using ActorMta.Delivery.Local;
using ActorMta.Logging;
using ActorMta.Metrics;
using ActorMta.Outbound;
using ActorMta.Routing;
using ActorMta.Spool;
using Envelope = ActorMta.Spool.Envelope;

namespace ActorMta.Queue;

/// <summary>What the queue knows of one message's recipients (index-aligned with the envelope).</summary>
internal sealed record RecipientBook(
    RecipientState[] States,
    DateTimeOffset?[] FirstFailures,
    RecipientFailure?[] Failures,
    bool[] Bounced)
{
    public static RecipientBook New(int count) => new(new RecipientState[count], new DateTimeOffset?[count], new RecipientFailure?[count], new bool[count]);

    public static RecipientBook From(SpooledMessage message)
    {
        int n = message.Envelope.Recipients.Count;
        var book = New(n);
        for (int i = 0; i < n; i++)
        {
            book.States[i] = message.Recipients[i];
            if (i < message.FirstFailures.Count) book.FirstFailures[i] = message.FirstFailures[i];
            if (i < message.Failures.Count) book.Failures[i] = message.Failures[i];
            if (i < message.Bounced.Count) book.Bounced[i] = message.Bounced[i];
        }
        book.Warnings = message.Warnings;
        return book;
    }

    /// <summary>Delay warnings done for the message (see <c>queue.delay-warning</c>).</summary>
    public int Warnings { get; set; }

    public RecipientBook Copy() => new([.. States], [.. FirstFailures], [.. Failures], [.. Bounced]) { Warnings = Warnings };

    public bool AllDone => States.All(static s => s != RecipientState.Pending);
}

/// <summary>How one attempt on one message ended (piped back to the <see cref="QueueManager"/>).</summary>
/// <param name="MessageId">The message.</param>
/// <param name="Book">Recipient states after the attempt.</param>
/// <param name="NextAttempt">When to try again; null when <paramref name="Completed"/>.</param>
/// <param name="Completed">Every recipient is done and the message is gone from the spool.</param>
/// <param name="Vanished">The spool file disappeared under us (removed by hand): drop the message.</param>
/// <param name="Bounces">Bounces this attempt spooled: the queue enqueues them.</param>
/// <param name="WaitsForRoom">Aborted because the spool's disk is full: try again once it has room
/// (<see cref="QueueManager"/> watches), <paramref name="NextAttempt"/> at the latest.</param>
internal sealed record AttemptOutcome(
    string MessageId, RecipientBook Book, DateTimeOffset? NextAttempt, bool Completed, bool Vanished = false,
    IReadOnlyList<Envelope>? Bounces = null, bool WaitsForRoom = false);

/// <summary>The queue's way to the router and the delivery agent, as awaitable calls (see <see cref="QueueManager"/>).</summary>
internal interface IRemotePath
{
    /// <summary>False when the queue has no router/delivery agent (tests of local delivery): remote recipients wait.</summary>
    bool Available { get; }

    Task<RouteDecision> RouteAsync(string domain);

    Task<RemoteDeliveryResult> DeliverAsync(OutboundJob job);
}

/// <summary>
/// One delivery attempt on one message, off the actor thread: local recipients into maildirs,
/// remote ones routed (grouped by domain) and handed to the delivery agent in one job per route,
/// then bounces for what failed, then removal when every recipient is done. Every change of a
/// recipient is journaled (fsynced) BEFORE its main-log line and before anything acts on it;
/// the journal is appended from this one task only, so records never interleave.
/// </summary>
internal sealed class MessageAttempt
{
    public const string LocalRouter = "local_user";
    public const string LocalTransport = "maildir_delivery";

    /// <summary>Router name in the log for remote recipients when the queue has no remote path.</summary>
    public const string RemoteRouter = "remote";

    public const string NoRemoteTransport = "no remote transport configured yet";

    private readonly MtaSettings _settings;
    private readonly QueueTuning _tuning;
    private readonly MessageSpool _spool;
    private readonly MaildirDelivery _maildir;
    private readonly MainLog _log;
    private readonly IRemotePath _remote;
    private readonly SemaphoreSlim _localSlots;

    public MessageAttempt(MtaSettings settings, QueueTuning tuning, MessageSpool spool, MaildirDelivery maildir, MainLog log, IRemotePath remote)
    {
        _settings = settings;
        _tuning = tuning;
        _spool = spool;
        _maildir = maildir;
        _log = log;
        _remote = remote;
        _localSlots = new SemaphoreSlim(Math.Max(1, settings.Queue.LocalDeliveryParallelism));
    }

    /// <summary>True when the recipient's domain is one of <c>policy.local-domains</c> (a bare local part is local too).</summary>
    public static bool IsLocal(PolicySettings policy, string address)
    {
        int at = address.LastIndexOf('@');
        return at < 0 || policy.LocalDomains.Contains(address[(at + 1)..]);
    }

    private static string LoggedLocalRecipient(string address, string? user)
    {
        int at = address.LastIndexOf('@');
        string localPart = at < 0 ? address : address[..at];
        if (user is null || user.Equals(localPart, StringComparison.OrdinalIgnoreCase)) return address;
        return at < 0 ? $"{user} <{address}>" : $"{user}{address[at..]} <{address}>";
    }

    private static string DomainOf(string address)
    {
        int at = address.LastIndexOf('@');
        return at < 0 ? "" : address[(at + 1)..].ToLowerInvariant();
    }

    /// <param name="envelope">The message.</param>
    /// <param name="before">Recipient states before the attempt (not modified).</param>
    /// <param name="maybeRepeated">Deliveries may have happened before a crash (see <see cref="MaildirDelivery"/>).</param>
    public async Task<AttemptOutcome> RunAsync(Envelope envelope, RecipientBook before, bool maybeRepeated)
    {
        var run = new Run(this, envelope, before.Copy(), maybeRepeated);
        return await GuardAsync(run, run.ExecuteAsync()).ConfigureAwait(false);
    }

    /// <summary>
    /// The operator gives up on the message (<see cref="BounceMessage"/>): every pending recipient fails
    /// with "cancelled by administrator", the failures are bounced to the sender, and the message goes.
    /// </summary>
    public async Task<AttemptOutcome> GiveUpAsync(Envelope envelope, RecipientBook before, string user)
    {
        var run = new Run(this, envelope, before.Copy(), maybeRepeated: false);
        return await GuardAsync(run, run.GiveUpAsync(user)).ConfigureAwait(false);
    }

    private async Task<AttemptOutcome> GuardAsync(Run run, Task<AttemptOutcome> work)
    {
        string id = run.Id;
        try
        {
            return await work.ConfigureAwait(false);
        }
        catch (SpoolException e) when (!_spool.Contains(id))
        {
            _log.Write($"{id} spool file vanished ({e.Message}): dropped from the queue");
            return new AttemptOutcome(id, run.Book, null, Completed: false, Vanished: true, run.Bounces);
        }
        catch (Exception e) when (e is SpoolException or IOException or UnauthorizedAccessException)
        {
            // Journal or spool trouble (disk full, permissions): keep what is journaled, retry later.
            // A full disk usually has room again long before the retry interval (an operator
            // cleans up, a log is rotated away): then the queue tries again as soon as it sees room.
            var next = DateTimeOffset.UtcNow + _settings.Queue.RetryInterval;
            bool full = _spool.Space.IsShort(out long free);
            _log.Write(full
                ? $"{id} delivery attempt aborted, retry when the spool has room ({_spool.Space.Missing(free)}), at the latest after {next:yyyy-MM-dd HH:mm:ss}: {e.Message}"
                : $"{id} delivery attempt aborted, retry after {next:yyyy-MM-dd HH:mm:ss}: {e.Message}");
            return new AttemptOutcome(id, run.Book, next, Completed: false, Bounces: run.Bounces, WaitsForRoom: full);
        }
    }

    /// <summary>The state of one attempt.</summary>
    private sealed class Run(MessageAttempt owner, Envelope envelope, RecipientBook book, bool maybeRepeated)
    {
        private readonly string _id = envelope.MessageId;
        private readonly List<DateTimeOffset> _retries = [];
        /// <summary>The recipients this attempt deferred, with why (for a delay report); made at the first.</summary>
        private SortedDictionary<int, RecipientFailure>? _deferred;
        /// <summary>Remote recipients this attempt delivered that asked for a success report, with
        /// how; made at the first (most messages ask for none, and this is every relayed message's path).</summary>
        private Dictionary<int, RecipientOutcome>? _relayed;
        /// <summary>The spool file is already gone (removed with the last delivery, see <see cref="EndsTheMessage"/>).</summary>
        private bool _removed;

        public string Id => _id;

        public async Task<AttemptOutcome> GiveUpAsync(string user)
        {
            for (int i = 0; i < envelope.Recipients.Count; i++)
            {
                if (Book.States[i] != RecipientState.Pending) continue;
                string text = $"cancelled by administrator ({user})";
                await FailAsync(i, new RecipientFailure("5.0.0", null, null, text)).ConfigureAwait(false);
                owner._log.Write($"{_id} ** {envelope.Recipients[i].Address}: {text}");
                MtaMetrics.MessageBounced(IsLocal(owner._settings.Policy, envelope.Recipients[i].Address) ? DeliveryKind.Local : DeliveryKind.Smtp);
            }
            await BounceAsync().ConfigureAwait(false);
            await ReportSuccessAsync().ConfigureAwait(false);
            return await FinishAsync().ConfigureAwait(false);
        }

        public RecipientBook Book { get; } = book;
        public List<Envelope> Bounces { get; } = [];

        public async Task<AttemptOutcome> ExecuteAsync()
        {
            var pending = Enumerable.Range(0, envelope.Recipients.Count).Where(i => Book.States[i] == RecipientState.Pending).ToList();
            var local = pending.Where(i => IsLocal(owner._settings.Policy, envelope.Recipients[i].Address)).ToList();
            var remote = pending.Except(local).ToList();

            if (remote.Count > 0 && !owner._remote.Available)
            {
                foreach (int i in remote)
                    await DeferAsync(i, DeliveryKind.Smtp, $"{_id} == {envelope.Recipients[i].Address} R={RemoteRouter} defer (-1): {NoRemoteTransport}",
                        new RecipientFailure("4.4.0", null, null, NoRemoteTransport)).ConfigureAwait(false);
                remote.Clear();
            }

            // Routing runs while the local deliveries do; results are journaled one at a time below.
            var routing = remote.Count > 0 ? RouteAsync(remote) : Task.FromResult(new Routes([], [], []));
            foreach (int i in local) await DeliverLocalAsync(i).ConfigureAwait(false);

            var routes = await routing.ConfigureAwait(false);
            foreach (var (i, failed) in routes.Failed) await RouteFailedAsync(i, failed).ConfigureAwait(false);
            foreach (int i in routes.Local) await DeliverLocalAsync(i).ConfigureAwait(false);

            var jobs = routes.Jobs.Select(owner._remote.DeliverAsync).ToList();
            while (jobs.Count > 0)
            {
                var done = await Task.WhenAny(jobs).ConfigureAwait(false);
                jobs.Remove(done);
                var result = await done.ConfigureAwait(false);
                foreach (var outcome in result.Outcomes) await ApplyRemoteAsync(outcome).ConfigureAwait(false);
            }

            await BounceAsync().ConfigureAwait(false);
            await ReportSuccessAsync().ConfigureAwait(false);
            if (Book.AllDone) return await FinishAsync().ConfigureAwait(false);
            await WarnAsync().ConfigureAwait(false);

            var next = _retries.Count > 0 ? _retries.Min() : DateTimeOffset.UtcNow + owner._settings.Queue.RetryInterval;
            await owner._spool.SetNextAttemptAsync(_id, next).ConfigureAwait(false);
            return new AttemptOutcome(_id, Book, next, Completed: false, Bounces: Bounces);
        }

        /// <summary>Every recipient is done: the message goes.</summary>
        private async Task<AttemptOutcome> FinishAsync()
        {
            if (!_removed) await owner._spool.RemoveAsync(_id).ConfigureAwait(false);
            owner._log.Write($"{_id} Completed");
            return new AttemptOutcome(_id, Book, null, Completed: true, Bounces: Bounces);
        }

        private sealed record Routes(List<(int Index, RouteFailed Failure)> Failed, List<int> Local, List<OutboundJob> Jobs);

        /// <summary>One question per domain; recipients whose domains route to the same hosts share a job.</summary>
        private async Task<Routes> RouteAsync(List<int> remote)
        {
            var byDomain = remote.GroupBy(i => DomainOf(envelope.Recipients[i].Address)).ToList();
            var decisions = await Task.WhenAll(byDomain.Select(g => owner._remote.RouteAsync(g.Key))).ConfigureAwait(false);
            var result = new Routes([], [], []);
            var jobs = new Dictionary<string, (RemoteRoute Route, List<int> Indexes)>(StringComparer.Ordinal);
            for (int d = 0; d < byDomain.Count; d++)
            {
                switch (decisions[d])
                {
                    case RemoteRoute route:
                        string key = route.RouteName + "|" + string.Join(",", route.Hops.Select(h => $"{h.HostName}/{h.Address}/{h.Port}"));
                        if (!jobs.TryGetValue(key, out var job)) jobs[key] = job = (route, []);
                        job.Indexes.AddRange(byDomain[d]);
                        break;
                    case RouteFailed failed:
                        result.Failed.AddRange(byDomain[d].Select(i => (i, failed)));
                        break;
                    default:
                        result.Local.AddRange(byDomain[d]);
                        break;
                }
            }
            result.Jobs.AddRange(jobs.Values.Select(j => new OutboundJob(envelope, j.Indexes.Order().ToArray(), j.Route)));
            return result;
        }

        private async Task DeliverLocalAsync(int i)
        {
            string address = envelope.Recipients[i].Address;
            // Mail for another user's maildir (an alias, a detail after the recipient delimiter) is
            // logged as Exim logs a redirected address: the user, then the envelope recipient in
            // angle brackets ("=> alice@host <postmaster@host>").
            var users = owner._maildir.UsersOf(address);
            string rcpt = users is [var user] ? LoggedLocalRecipient(address, user) : address;
            LocalDeliveryResult result;
            await owner._localSlots.WaitAsync().ConfigureAwait(false);
            try
            {
                result = await owner._maildir.DeliverAsync(envelope, i, () => owner._spool.OpenData(_id), maybeRepeated).ConfigureAwait(false);
            }
            finally
            {
                owner._localSlots.Release();
            }
            switch (result)
            {
                case LocalDeliveryResult.Delivered when EndsTheMessage(i):
                    // As for a remote delivery: the durable removal records it (one fsync fewer per
                    // message); a repeat after a crash before it finds the maildir file.
                    await owner._spool.RemoveDurablyAsync(_id).ConfigureAwait(false);
                    _removed = true;
                    Book.States[i] = RecipientState.Delivered;
                    LogDelivered(address, users, rcpt);
                    MtaMetrics.MessageDelivered(DeliveryKind.Local);
                    break;
                case LocalDeliveryResult.Delivered:
                    await DeliveredAsync(i).ConfigureAwait(false);
                    LogDelivered(address, users, rcpt);
                    MtaMetrics.MessageDelivered(DeliveryKind.Local);
                    break;
                case LocalDeliveryResult.Failed failed:
                    await FailAsync(i, new RecipientFailure(failed.EnhancedCode, null, null, failed.Reason)).ConfigureAwait(false);
                    owner._log.Write($"{_id} ** {rcpt} R={LocalRouter} T={LocalTransport}: {failed.Reason}");
                    MtaMetrics.MessageBounced(DeliveryKind.Local);
                    break;
                case LocalDeliveryResult.Deferred deferred:
                    await DeferAsync(i, DeliveryKind.Local, $"{_id} == {rcpt} R={LocalRouter} T={LocalTransport} defer (-1): {deferred.Reason}",
                        new RecipientFailure("4.3.0", null, null, deferred.Reason),
                        $"{_id} ** {rcpt} R={LocalRouter} T={LocalTransport}: retry timeout exceeded ({deferred.Reason})").ConfigureAwait(false);
                    break;
            }
        }

        /// <summary>One <c>=&gt;</c> line per maildir written, as Exim logs each address an alias generated.</summary>
        private void LogDelivered(string address, IReadOnlyList<string>? users, string rcpt)
        {
            if (users is not { Count: > 1 })
            {
                owner._log.Write($"{_id} => {rcpt} R={LocalRouter} T={LocalTransport}");
                return;
            }
            foreach (string user in users) owner._log.Write($"{_id} => {LoggedLocalRecipient(address, user)} R={LocalRouter} T={LocalTransport}");
        }

        private async Task RouteFailedAsync(int i, RouteFailed failed)
        {
            string rcpt = envelope.Recipients[i].Address;
            string text = $"{failed.Code} {failed.EnhancedCode} {failed.Reason}";
            var failure = new RecipientFailure(failed.EnhancedCode, null, $"X-ActorMta; {text}", text);
            if (failed.Permanent)
            {
                await FailAsync(i, failure).ConfigureAwait(false);
                owner._log.Write($"{_id} ** {rcpt}: {text}");
                MtaMetrics.MessageBounced(DeliveryKind.Smtp);
            }
            else
            {
                await DeferAsync(i, DeliveryKind.Smtp, $"{_id} == {rcpt} defer: {text}", failure, $"{_id} ** {rcpt}: retry timeout exceeded ({text})").ConfigureAwait(false);
            }
        }

        private async Task ApplyRemoteAsync(RecipientOutcome outcome)
        {
            int i = outcome.RecipientIndex;
            if (i < 0 || i >= Book.States.Length || Book.States[i] != RecipientState.Pending) return;
            var failure = FailureOf(outcome);
            switch (outcome.Status)
            {
                case DeliveryStatus.Delivered when EndsTheMessage(i):
                    // Nothing left to journal after this one: removing the file durably records it.
                    await owner._spool.RemoveDurablyAsync(_id).ConfigureAwait(false);
                    _removed = true;
                    Book.States[i] = RecipientState.Delivered;
                    owner._log.Write(DeliveryLogLine.Format(envelope, outcome));
                    MtaMetrics.MessageDelivered(DeliveryKind.Smtp);
                    break;
                case DeliveryStatus.Delivered:
                    await DeliveredAsync(i).ConfigureAwait(false);
                    if (BounceBuilder.WantsSuccessReport(envelope.Recipients[i])) (_relayed ??= [])[i] = outcome;
                    owner._log.Write(DeliveryLogLine.Format(envelope, outcome));
                    MtaMetrics.MessageDelivered(DeliveryKind.Smtp);
                    break;
                case DeliveryStatus.Failed:
                    await FailAsync(i, failure).ConfigureAwait(false);
                    owner._log.Write(DeliveryLogLine.Format(envelope, outcome));
                    MtaMetrics.MessageBounced(DeliveryKind.Smtp);
                    break;
                default:
                    var expired = outcome with { Status = DeliveryStatus.Failed, Text = $"retry timeout exceeded ({outcome.Text})" };
                    await DeferAsync(i, DeliveryKind.Smtp, DeliveryLogLine.Format(envelope, outcome), failure, DeliveryLogLine.Format(envelope, expired)).ConfigureAwait(false);
                    break;
            }
        }

        /// <summary>
        /// Recipient <paramref name="i"/> is the last one pending and nothing else will be written to
        /// the journal: every other recipient is delivered, or failed with its bounce already sent,
        /// and no success report is due (for <paramref name="i"/> or another).
        /// </summary>
        private bool EndsTheMessage(int i)
        {
            if (BounceBuilder.WantsSuccessReport(envelope.Recipients[i])) return false;
            for (int j = 0; j < Book.States.Length; j++)
            {
                if (j == i) continue;
                var state = Book.States[j];
                if (state == RecipientState.Pending || (state == RecipientState.Failed && !Book.Bounced[j]) || SuccessDue(j)) return false;
            }
            return true;
        }

        /// <summary>Delivered, asked for a success report (NOTIFY=SUCCESS), and not reported yet.</summary>
        private bool SuccessDue(int i) =>
            Book.States[i] == RecipientState.Delivered && !Book.Bounced[i] && BounceBuilder.WantsSuccessReport(envelope.Recipients[i]);

        private static RecipientFailure FailureOf(RecipientOutcome outcome)
        {
            var reply = outcome.Reply;
            string status = reply?.Enhanced ?? (reply is null
                ? outcome.Status == DeliveryStatus.Failed ? "5.0.0" : "4.4.1"
                : $"{reply.Code / 100}.0.0");
            string? diagnostic = reply is null ? null : $"smtp; {reply}";
            return new RecipientFailure(status, outcome.Connection?.HostName, diagnostic, outcome.Text);
        }

        private async Task DeliveredAsync(int i)
        {
            await owner._spool.MarkRecipientAsync(_id, i, RecipientState.Delivered).ConfigureAwait(false);
            Book.States[i] = RecipientState.Delivered;
        }

        private async Task FailAsync(int i, RecipientFailure failure)
        {
            await owner._spool.MarkFailedAsync(_id, i, failure).ConfigureAwait(false);
            Book.States[i] = RecipientState.Failed;
            Book.Failures[i] = failure;
        }

        /// <summary>
        /// A temporary failure: the recipient's retry clock starts at its first one; while the schedule
        /// has time left it waits (<paramref name="deferLine"/>), after that it fails with the last error.
        /// </summary>
        private async Task DeferAsync(int i, DeliveryKind kind, string deferLine, RecipientFailure failure, string? expiredLine = null)
        {
            var now = DateTimeOffset.UtcNow;
            if (Book.FirstFailures[i] is not { } first)
            {
                first = now;
                await owner._spool.SetFirstFailureAsync(_id, i, first).ConfigureAwait(false);
                Book.FirstFailures[i] = first;
            }
            var next = RetrySchedule.NextAttempt(owner._tuning.RetryRules, first, now, owner._settings.Queue.MaxRetryTime);
            if (next is { } at)
            {
                owner._log.Write(deferLine);
                MtaMetrics.MessageDeferred(kind);
                _retries.Add(at);
                (_deferred ??= [])[i] = failure;
                return;
            }
            string rcpt = envelope.Recipients[i].Address;
            var timedOut = failure with
            {
                Status = failure.Status.StartsWith('4') ? failure.Status : "4.4.7",
                Text = $"retry timeout exceeded ({failure.Text})",
            };
            await FailAsync(i, timedOut).ConfigureAwait(false);
            owner._log.Write(expiredLine ?? $"{_id} ** {rcpt}: retry timeout exceeded ({failure.Text})");
            MtaMetrics.MessageBounced(kind);
        }

        /// <summary>
        /// Reports failures not reported yet: one bounce to the sender for every failed recipient that
        /// asked for it (NOTIFY), none when the sender is null. Stored and journaled before the message
        /// can go: a crash before the <c>bounced</c> record sends it again (a duplicate, never a loss).
        /// </summary>
        private async Task BounceAsync()
        {
            var due = Enumerable.Range(0, Book.States.Length)
                .Where(i => Book.States[i] == RecipientState.Failed && !Book.Bounced[i]).ToList();
            if (due.Count == 0) return;

            var wanted = due.Where(i => BounceBuilder.WantsFailureReport(envelope.Recipients[i])).ToList();
            string? bounceId = null;
            if (wanted.Count > 0 && envelope.Sender.Length == 0)
            {
                owner._log.Write($"{_id} bounce message not sent: null sender ({string.Join(", ", wanted.Select(i => envelope.Recipients[i].Address))})");
            }
            else if (wanted.Count > 0)
            {
                bounceId = await SpoolBounceAsync(wanted).ConfigureAwait(false);
            }
            await owner._spool.MarkBouncedAsync(_id, due, bounceId).ConfigureAwait(false);
            foreach (int i in due) Book.Bounced[i] = true;
        }

        /// <summary>
        /// RFC 3461 NOTIFY=SUCCESS: one report to the sender for the recipients delivered here
        /// ("delivered") or handed to a host that does not announce DSN ("relayed"); a host that
        /// does got NOTIFY with the RCPT and reports itself. Journaled like a bounce (the
        /// <c>bounced</c> record: their outcome is reported), after the report is stored. A recipient
        /// whose attempt a restart interrupted counts as relayed when remote: its host is not known
        /// any more, and a report too many beats one lost.
        /// </summary>
        private async Task ReportSuccessAsync()
        {
            var due = Enumerable.Range(0, Book.States.Length).Where(SuccessDue).ToList();
            if (due.Count == 0) return;
            var passedOn = due.Where(i => _relayed?.GetValueOrDefault(i) is { Connection.DsnPassedOn: true }).ToList();
            var ours = due.Except(passedOn).ToList();
            string? reportId = null;
            if (ours.Count > 0 && envelope.Sender.Length > 0)
            {
                var reported = ours.Select(Succeeded).ToList();
                var now = DateTimeOffset.UtcNow;
                reportId = await SpoolReportAsync(BounceBuilder.BuildSuccessReport(envelope, ReadData(), reported, owner._settings.PrimaryHostname, now), now).ConfigureAwait(false);
                owner._log.Write($"{_id} success report sent to {envelope.Sender} as {reportId} ({string.Join(", ", reported.Select(r => r.Recipient.Address))})");
            }
            if (ours.Count > 0) await owner._spool.MarkBouncedAsync(_id, ours, reportId).ConfigureAwait(false);
            if (passedOn.Count > 0) await owner._spool.MarkBouncedAsync(_id, passedOn, null).ConfigureAwait(false);
            foreach (int i in due) Book.Bounced[i] = true;
        }

        private BouncedRecipient Succeeded(int i)
        {
            var recipient = envelope.Recipients[i];
            if (IsLocal(owner._settings.Policy, recipient.Address))
                return new BouncedRecipient(recipient, new RecipientFailure("2.0.0", null, null, "delivered"), "delivered");
            if (_relayed?.GetValueOrDefault(i) is { } outcome)
                return new BouncedRecipient(recipient, FailureOf(outcome), "relayed");
            return new BouncedRecipient(recipient, new RecipientFailure("2.0.0", null, null, "accepted by the next host"), "relayed");
        }

        /// <summary>
        /// Exim's delay warning: when the message has waited another <c>queue.delay-warning</c>
        /// period with recipients still pending, one delay report goes to the sender for those this
        /// attempt deferred that want it (NOTIFY), unless the sender is null or the message is list,
        /// bulk or automatic mail. The <c>warned</c> record is journaled after the report is stored,
        /// as for bounces: a crash between the two repeats a warning, never loses one.
        /// </summary>
        private async Task WarnAsync()
        {
            var period = owner._settings.Queue.DelayWarning;
            if (period <= TimeSpan.Zero || envelope.Sender.Length == 0) return;
            var now = DateTimeOffset.UtcNow;
            var queued = now - envelope.ReceivedAt;
            int due = (int)Math.Min(int.MaxValue, queued.Ticks / period.Ticks);
            if (due <= Book.Warnings) return;

            if (_deferred is null) return;
            var wanted = _deferred.Where(d => BounceBuilder.WantsDelayReport(envelope.Recipients[d.Key])).ToList();
            // No deferred recipient wants one: nothing is journaled, so a later attempt asks again.
            if (wanted.Count == 0) return;
            byte[] data = ReadData();
            string? warningId = null;
            if (!BounceBuilder.IsBulkOrAutomatic(data))
            {
                var delayed = wanted.Select(d => new BouncedRecipient(envelope.Recipients[d.Key], d.Value)).ToList();
                var report = BounceBuilder.BuildDelayReport(envelope, data, delayed, owner._settings.PrimaryHostname, now, queued);
                warningId = await SpoolReportAsync(report, now).ConfigureAwait(false);
                owner._log.Write($"{_id} delay warning {due} sent to {envelope.Sender} as {warningId} ({string.Join(", ", delayed.Select(d => d.Recipient.Address))})");
            }
            await owner._spool.MarkWarnedAsync(_id, due, warningId).ConfigureAwait(false);
            Book.Warnings = due;
        }

        private byte[] ReadData()
        {
            using var stream = owner._spool.OpenData(_id);
            var data = new byte[stream.Length];
            stream.ReadExactly(data);
            return data;
        }

        private async Task<string> SpoolBounceAsync(List<int> failed)
        {
            byte[] data = ReadData();
            var now = DateTimeOffset.UtcNow;
            var reported = failed.Select(i => new BouncedRecipient(
                envelope.Recipients[i],
                Book.Failures[i] ?? new RecipientFailure("5.0.0", null, null, "delivery failed (details lost in a crash)"))).ToList();
            string host = owner._settings.PrimaryHostname;
            return await SpoolReportAsync(BounceBuilder.Build(envelope, data, reported, host, now), now).ConfigureAwait(false);
        }

        /// <summary>Spools a report (bounce, delay warning or success report) to the sender from the null sender, logs its arrival and queues it.</summary>
        private async Task<string> SpoolReportAsync(MimeKit.MimeMessage message, DateTimeOffset now)
        {
            byte[] bytes = BounceBuilder.ToBytes(message);
            bool eightBit = bytes.Any(static b => b >= 0x80);
            var report = new Envelope(
                MessageId: owner._spool.NewMessageId(),
                Sender: "",
                Recipients: [new EnvelopeRecipient(envelope.Sender, null, null)],
                ReceivedAt: now,
                HeloName: null,
                ClientAddress: "",
                ClientPort: 0,
                Protocol: "local",
                Body: eightBit ? "8BITMIME" : null,
                SmtpUtf8: envelope.SmtpUtf8,
                Ret: null,
                EnvId: null,
                HeaderMessageId: message.MessageId, // without <>, as every envelope keeps it and Exim logs it
                Size: bytes.Length);
            await owner._spool.StoreAsync(report, [bytes]).ConfigureAwait(false);
            owner._log.Write($"{report.MessageId} <= <> R={_id} U=actormta P=local S={report.Size} id={report.HeaderMessageId} for {envelope.Sender}");
            // Counted as received, like its <= line: eximstats counts bounces (and such reports) among the messages received.
            MtaMetrics.MessageReceived(Control.LocalSubmission.ListenerLabel, report.Size);
            Bounces.Add(report);
            return report.MessageId;
        }
    }
}
