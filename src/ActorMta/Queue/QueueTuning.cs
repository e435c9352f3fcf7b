namespace ActorMta.Queue;

/// <summary>
/// Queue options beyond <see cref="Configuration.QueueSettings"/>: the retry schedule and how many
/// messages may be attempted at once. Proposed configuration keys: <c>actormta.queue.retry</c> (a list of
/// rules, see <see cref="RetrySchedule"/>) and <c>actormta.queue.parallel-attempts</c>.
/// </summary>
/// <param name="RetryRules">When deferred recipients are retried and when they bounce; Exim's schedule by default.</param>
/// <param name="ParallelAttempts">Messages with an attempt running at the same time (local and remote).</param>
public sealed record QueueTuning(IReadOnlyList<RetryRule> RetryRules, int ParallelAttempts)
{
    public static QueueTuning Default { get; } = new(RetrySchedule.EximDefault, 1000);
}
