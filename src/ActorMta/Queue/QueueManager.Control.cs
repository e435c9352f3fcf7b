using Akka.Actor;
using ActorMta.Spool;

namespace ActorMta.Queue;

/// <summary>The operator's commands (<see cref="QueueCommands"/>): deliver now, remove, bounce, freeze, thaw.</summary>
public sealed partial class QueueManager
{
    private sealed record GaveUp(AttemptOutcome Outcome, IActorRef ReplyTo, string User);

    private sealed record FreezeJournaled(string MessageId, bool Freeze, string User, IActorRef ReplyTo, string? Error);

    private void ReceiveControl()
    {
        Receive<DeliverNow>(OnDeliverNow);
        Receive<RemoveMessage>(OnRemove);
        Receive<BounceMessage>(OnBounce);
        Receive<FreezeMessage>(OnFreeze);
        Receive<FreezeJournaled>(OnFreezeJournaled);
        Receive<GaveUp>(OnGaveUp);
    }

    /// <summary>Finds an idle message or answers NotFound/Busy and returns null.</summary>
    private Entry? Idle(string id)
    {
        if (!_entries.TryGetValue(id, out var entry))
        {
            Sender.Tell(new QueueCommandResult(QueueCommandStatus.NotFound, $"message {id} is not in the queue"));
            return null;
        }
        if (entry.InFlight)
        {
            Sender.Tell(new QueueCommandResult(QueueCommandStatus.Busy, $"message {id} has a delivery attempt running; try again when it ends"));
            return null;
        }
        return entry;
    }

    private void OnDeliverNow(DeliverNow m)
    {
        if (m.MessageId is null)
        {
            int count = _entries.Values.Count(static e => !e.InFlight && !e.Frozen);
            OnRunQueue();
            Sender.Tell(new QueueCommandResult(QueueCommandStatus.Done, $"delivery attempts started for {count} message{(count == 1 ? "" : "s")}"));
            return;
        }
        if (Idle(m.MessageId) is not { } entry) return;
        entry.Forced = true;
        MakeReady(m.MessageId, entry);
        Dispatch();
        Sender.Tell(new QueueCommandResult(QueueCommandStatus.Done, $"delivery attempt started for {m.MessageId}"));
    }

    private void OnRemove(RemoveMessage m)
    {
        if (Idle(m.MessageId) is null) return;
        try
        {
            // An operator's command, rare: waiting here for the log's next flush (about a
            // millisecond) keeps the actor's order of events simple. Durably: its recipients are
            // not done, so a removal a crash undid would bring the message back and deliver it.
            _spool.RemoveDurablyAsync(m.MessageId).GetAwaiter().GetResult();
        }
        catch (SpoolException e)
        {
            Sender.Tell(new QueueCommandResult(QueueCommandStatus.Failed, e.Message));
            return;
        }
        _entries.Remove(m.MessageId);
        // Exim's wording, so exigrep and eximstats read it: the message's life ends with Completed.
        _mainLog.Write($"{m.MessageId} removed by {m.User}");
        _mainLog.Write($"{m.MessageId} Completed");
        QueueChanged();
        Sender.Tell(new QueueCommandResult(QueueCommandStatus.Done, $"message {m.MessageId} removed"));
    }

    private void OnBounce(BounceMessage m)
    {
        if (Idle(m.MessageId) is not { } entry) return;
        // Runs like an attempt (it journals, spools a bounce), so nothing else touches the message meanwhile.
        entry.InFlight = true;
        _inFlight++;
        string id = m.MessageId;
        var replyTo = Sender;
        TellWhenDone(id, _attempt.GiveUpAsync(entry.Envelope, entry.Book, m.User), outcome => new GaveUp(outcome, replyTo, m.User));
    }

    private void OnGaveUp(GaveUp gaveUp)
    {
        var outcome = gaveUp.Outcome;
        OnOutcome(outcome);
        var bounces = outcome.Bounces ?? [];
        string text = outcome.Completed
            ? $"message {outcome.MessageId} cancelled; " + (bounces.Count > 0 ? $"bounce {bounces[0].MessageId} sent to the sender" : "no bounce sent (null sender or NOTIFY)")
            : $"message {outcome.MessageId} could not be cancelled completely; see the main log";
        gaveUp.ReplyTo.Tell(new QueueCommandResult(outcome.Completed ? QueueCommandStatus.Done : QueueCommandStatus.Failed, text));
    }

    private void OnFreeze(FreezeMessage m)
    {
        if (Idle(m.MessageId) is not { } entry) return;
        if (entry.Frozen == m.Freeze)
        {
            Sender.Tell(new QueueCommandResult(QueueCommandStatus.Done, $"message {m.MessageId} is already {(m.Freeze ? "frozen" : "not frozen")}"));
            return;
        }
        var replyTo = Sender;
        _spool.SetFrozenAsync(m.MessageId, m.Freeze, m.User).PipeTo(Self,
            success: () => new FreezeJournaled(m.MessageId, m.Freeze, m.User, replyTo, null),
            failure: e => new FreezeJournaled(m.MessageId, m.Freeze, m.User, replyTo, e.GetBaseException().Message));
    }

    private void OnFreezeJournaled(FreezeJournaled m)
    {
        if (m.Error is not null)
        {
            m.ReplyTo.Tell(new QueueCommandResult(QueueCommandStatus.Failed, $"cannot journal the change of {m.MessageId}: {m.Error}"));
            return;
        }
        if (!_entries.TryGetValue(m.MessageId, out var entry))
        {
            m.ReplyTo.Tell(new QueueCommandResult(QueueCommandStatus.NotFound, $"message {m.MessageId} is not in the queue"));
            return;
        }
        entry.Frozen = m.Freeze;
        _mainLog.Write($"{m.MessageId} {(m.Freeze ? "frozen" : "unfrozen")} by {m.User}");
        // A frozen message skipped by a retry has no retry time left: thawing makes it due now.
        if (!m.Freeze && entry.NextAttempt is null && !entry.InFlight)
        {
            MakeReady(m.MessageId, entry);
            Dispatch();
        }
        m.ReplyTo.Tell(new QueueCommandResult(QueueCommandStatus.Done, $"message {m.MessageId} {(m.Freeze ? "frozen" : "thawed")}"));
    }
}
