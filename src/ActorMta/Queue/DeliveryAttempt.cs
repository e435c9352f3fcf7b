using ActorMta.Configuration;
using ActorMta.Delivery.Local;
using ActorMta.Logging;
using ActorMta.Spool;

namespace ActorMta.Queue;

/// <summary>How one attempt on one message ended (piped back to the <see cref="QueueManager"/>).</summary>
/// <param name="MessageId">The message.</param>
/// <param name="Recipients">Recipient states after the attempt.</param>
/// <param name="NextAttempt">When to try again; null when <paramref name="Completed"/>.</param>
/// <param name="Completed">Every recipient is done and the message is gone from the spool.</param>
/// <param name="Vanished">The spool file disappeared under us (removed by hand): drop the message.</param>
internal sealed record AttemptOutcome(string MessageId, RecipientState[] Recipients, DateTimeOffset? NextAttempt, bool Completed, bool Vanished = false);

/// <summary>
/// One delivery attempt on one message: every pending recipient in turn, each made final in the
/// journal before the next one is touched. Runs off the actor thread; only reads the spool, writes
/// maildirs, the journal and the main log, and reports an <see cref="AttemptOutcome"/>.
/// </summary>
internal sealed class DeliveryAttempt
{
    public const string LocalRouter = "local_user";
    public const string LocalTransport = "maildir_delivery";

    /// <summary>Router name in the log for recipients outside the local domains, until remote delivery exists.</summary>
    public const string RemoteRouter = "remote";

    public const string NoRemoteTransport = "no remote transport configured yet";

    private readonly MtaSettings _settings;
    private readonly MessageSpool _spool;
    private readonly MaildirDelivery _maildir;
    private readonly MainLog _log;

    public DeliveryAttempt(MtaSettings settings, MessageSpool spool, MaildirDelivery maildir, MainLog log)
    {
        _settings = settings;
        _spool = spool;
        _maildir = maildir;
        _log = log;
    }

    /// <summary>True when the recipient's domain is one of <c>policy.local-domains</c> (a bare local part is local too).</summary>
    public static bool IsLocal(PolicySettings policy, string address)
    {
        int at = address.LastIndexOf('@');
        return at < 0 || policy.LocalDomains.Contains(address[(at + 1)..]);
    }

    /// <param name="envelope">The message.</param>
    /// <param name="states">Recipient states before the attempt (not modified).</param>
    /// <param name="maybeRepeated">Deliveries may have happened before a crash (see <see cref="MaildirDelivery"/>).</param>
    public async Task<AttemptOutcome> RunAsync(Envelope envelope, IReadOnlyList<RecipientState> states, bool maybeRepeated)
    {
        string id = envelope.MessageId;
        var now = DateTimeOffset.UtcNow;
        // Measured from reception (we keep no per-recipient first-failure time yet).
        bool expired = now - envelope.ReceivedAt >= _settings.Queue.MaxRetryTime;
        var after = states.ToArray();
        try
        {
            return await RunCoreAsync(envelope, after, expired, maybeRepeated).ConfigureAwait(false);
        }
        catch (SpoolException e) when (!File.Exists(_spool.PathOf(id)))
        {
            _log.Write($"{id} spool file vanished ({e.Message}): dropped from the queue");
            return new AttemptOutcome(id, after, null, Completed: false, Vanished: true);
        }
        catch (Exception e) when (e is SpoolException or IOException or UnauthorizedAccessException)
        {
            // Journal or spool trouble (disk full, permissions): keep what is journaled, retry later.
            var next = DateTimeOffset.UtcNow + _settings.Queue.RetryInterval;
            _log.Write($"{id} delivery attempt aborted, retry after {next:yyyy-MM-dd HH:mm:ss}: {e.Message}");
            return new AttemptOutcome(id, after, next, Completed: false);
        }
    }

    private async Task<AttemptOutcome> RunCoreAsync(Envelope envelope, RecipientState[] after, bool expired, bool maybeRepeated)
    {
        string id = envelope.MessageId;
        for (int i = 0; i < after.Length; i++)
        {
            if (after[i] != RecipientState.Pending) continue;
            string rcpt = envelope.Recipients[i].Address;

            if (!IsLocal(_settings.Policy, rcpt))
            {
                // A later issue adds remote delivery; until then the recipient waits in the queue.
                if (expired)
                {
                    await Finish(i, RecipientState.Failed).ConfigureAwait(false);
                    _log.Write($"{id} ** {rcpt} R={RemoteRouter}: retry timeout exceeded");
                }
                else
                {
                    _log.Write($"{id} == {rcpt} R={RemoteRouter} defer (-1): {NoRemoteTransport}");
                }
                continue;
            }

            var result = await _maildir.DeliverAsync(envelope, i, () => _spool.OpenData(id), maybeRepeated).ConfigureAwait(false);
            switch (result)
            {
                case LocalDeliveryResult.Delivered:
                    await Finish(i, RecipientState.Delivered).ConfigureAwait(false);
                    _log.Write($"{id} => {rcpt} R={LocalRouter} T={LocalTransport}");
                    break;
                case LocalDeliveryResult.Failed failed:
                    await Finish(i, RecipientState.Failed).ConfigureAwait(false);
                    _log.Write($"{id} ** {rcpt} R={LocalRouter} T={LocalTransport}: {failed.Reason}");
                    break;
                case LocalDeliveryResult.Deferred deferred when expired:
                    await Finish(i, RecipientState.Failed).ConfigureAwait(false);
                    _log.Write($"{id} ** {rcpt} R={LocalRouter} T={LocalTransport}: retry timeout exceeded ({deferred.Reason})");
                    break;
                case LocalDeliveryResult.Deferred deferred:
                    _log.Write($"{id} == {rcpt} R={LocalRouter} T={LocalTransport} defer (-1): {deferred.Reason}");
                    break;
            }
        }

        if (after.All(static s => s != RecipientState.Pending))
        {
            // Failed recipients would get a bounce here; bounces (DSNs) are the next issue, so for now
            // a failure is only logged with ** and the message goes once every recipient is done.
            _spool.Remove(id);
            _log.Write($"{id} Completed");
            return new AttemptOutcome(id, after, null, Completed: true);
        }

        var next = DateTimeOffset.UtcNow + _settings.Queue.RetryInterval;
        await _spool.SetNextAttemptAsync(id, next).ConfigureAwait(false);
        return new AttemptOutcome(id, after, next, Completed: false);

        // The journal record is durable before the state changes and before the log line.
        async Task Finish(int index, RecipientState state)
        {
            await _spool.MarkRecipientAsync(id, index, state).ConfigureAwait(false);
            after[index] = state;
        }
    }
}
